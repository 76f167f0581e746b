import Federation
import XMLStreaming
import XMPP

/// Why a fixture file could not be read; reported with its line so the author can fix it.
package struct FixtureSyntaxError: Error, Sendable, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var message: String

    package var description: String { "\(file):\(line): \(message)" }
}

/// Reads the fixture format described in `Fixtures/README.md`.
package enum FixtureParser {
    package static func parse(_ text: String, name: String) throws(FixtureSyntaxError) -> Fixture {
        var reader = LineReader(text: text, file: name)
        var fixture = Fixture(name: name, title: "", description: [], configuration: nil, setup: [], steps: [])

        while let line = reader.peek(), !line.text.hasPrefix("-----") {
            reader.advance()
            let trimmed = line.text.trimmingXMLWhitespace
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("#") {
                let content = String(trimmed.drop { $0 == "#" }).trimmingXMLWhitespace
                if fixture.title.isEmpty { fixture.title = content } else { fixture.description.append(content) }
            } else if trimmed == "[Config]" {
                fixture.configuration = reader.block().joined(separator: "\n")
            } else if trimmed == "[Setup]" {
                let start = line.number + 1
                fixture.setup = try parseElements(reader.block(), line: start, file: name, namespace: "")
            } else {
                throw FixtureSyntaxError(file: name, line: line.number, message: "expected '# title', '[Config]', '[Setup]' or '-----', found '\(trimmed)'")
            }
        }
        guard reader.peek() != nil else {
            throw FixtureSyntaxError(file: name, line: reader.lineNumber, message: "missing the '-----' line that starts the script")
        }
        reader.advance()
        if fixture.title.isEmpty {
            throw FixtureSyntaxError(file: name, line: 1, message: "a fixture starts with a '# title' line")
        }

        while let line = reader.peek() {
            reader.advance()
            let trimmed = line.text.trimmingXMLWhitespace
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if line.text.first == "\t" || line.text.first == " " {
                throw FixtureSyntaxError(file: name, line: line.number, message: "indented line outside a block: '\(trimmed)'")
            }
            fixture.steps.append(try parseStep(trimmed, line: line.number, reader: &reader, file: name))
        }
        if fixture.steps.count > 1, let refusal = fixture.steps.first(where: { if case .configurationIsRefused = $0.action { true } else { false } }) {
            throw FixtureSyntaxError(file: name, line: refusal.line, message: "a fixture whose configuration is refused has no other steps")
        }
        return fixture
    }

    /// The actor name under which the gateway's `<db:verify/>` requests to `domain`'s
    /// authoritative server are queued, and which fixtures write before its steps.
    package static func authoritativeServer(of domain: String) -> String { domain + authoritativeServerSuffix }

    private static let authoritativeServerSuffix = "'s authoritative server"
    private static let linkSuffix = "'s link "
    private static let timePasses = "time passes "
    private static let configurationRefusal = "the configuration is refused with "

    private static func parseStep(_ text: String, line: Int, reader: inout LineReader, file: String) throws(FixtureSyntaxError) -> Fixture.Step {
        func fail(_ message: String) -> FixtureSyntaxError { FixtureSyntaxError(file: file, line: line, message: message) }
        if text.hasPrefix(configurationRefusal) {
            guard let quoted = try quotedText(String(text.dropFirst(configurationRefusal.count)), fail: fail) else {
                throw fail("'\(configurationRefusal.trimmingXMLWhitespace)' needs the text to look for, in double quotes")
            }
            return Fixture.Step(line: line, actor: "the configuration", action: .configurationIsRefused(textContains: quoted))
        }
        if text.hasPrefix(timePasses) {
            return Fixture.Step(line: line, actor: "the clock", action: .timePasses(try duration(String(text.dropFirst(timePasses.count)), fail: fail)))
        }
        if let range = text.range(of: linkSuffix) {
            let domain = String(text[..<range.lowerBound])
            return Fixture.Step(line: line, actor: domain, action: try parseLinkStep(String(text[range.upperBound...]), fail: fail))
        }
        if let range = text.range(of: authoritativeServerSuffix + " ") {
            let domain = String(text[..<range.lowerBound])
            let verb = String(text[range.upperBound...]).trimmingXMLWhitespace
            return Fixture.Step(
                line: line, actor: authoritativeServer(of: domain),
                action: try parseAuthoritativeServerStep(verb, domain: domain, reader: &reader, line: line, file: file, fail: fail)
            )
        }
        guard let space = text.firstIndex(of: " ") else { throw fail("expected '<actor> <verb>', found '\(text)'") }
        let actor = String(text[..<space])
        let verb = String(text[text.index(after: space)...]).trimmingXMLWhitespace
        if verb.hasPrefix("connects") || verb.hasPrefix("completes TLS") || verb.hasPrefix("is authenticated ") {
            return Fixture.Step(line: line, actor: actor, action: try parseNegotiationStep(verb, reader: &reader, fail: fail))
        }
        let action: Fixture.Action
        switch verb {
        case "cannot be reached":
            action = .reachability(.unreachable)
        case "can be reached":
            action = .reachability(.reachable)
        case "does not exist":
            action = .reachability(.notFound)
        case "sends:":
            action = .sends(bytes: Array(reader.block().joined(separator: "\n").utf8), raw: false)
        case "sends raw:":
            action = .sends(bytes: try decodeEscapes(reader.block().joined(separator: "\n"), fail: fail), raw: true)
        case "does:":
            action = .does(try parseElements(reader.block(), line: line + 1, file: file, namespace: ""))
        case "receives:":
            let block = reader.block()
            let namespace = actor.contains("@") ? "" : "jabber:server"
            action = .receives(try parseElements(block, line: line + 1, file: file, namespace: namespace))
        case "receives nothing":
            action = .receivesNothing
        case "restarts the stream":
            action = .restartsStream
        case "is disconnected":
            action = .isDisconnected(condition: nil, textContains: nil)
        case "is dropped":
            action = .isDropped
        case _ where verb.hasPrefix("is disconnected with "):
            let rest = verb.dropFirst("is disconnected with ".count)
            let condition = String(rest.prefix { $0 != " " })
            let textContains = try quotedText(rest.dropFirst(condition.count).trimmingXMLWhitespace, fail: fail)
            action = .isDisconnected(condition: condition, textContains: textContains)
        default:
            throw fail(
                "unknown step '\(verb)'; expected sends:, sends raw:, does:, receives:, receives nothing, connects, restarts the stream, "
                    + "completes TLS with …, is authenticated by …, is disconnected, is disconnected with <condition>, is dropped, cannot be reached, "
                    + "can be reached or does not exist"
            )
        }
        if case .sends(let bytes, _) = action, bytes.isEmpty { throw fail("'\(verb)' needs an indented block") }
        return Fixture.Step(line: line, actor: actor, action: action)
    }

    /// `connects`, `connects:`, `connects with direct TLS and <certificate>[:]`,
    /// `completes TLS with <certificate>`, `is authenticated [for <domain>] by <method>`.
    private static func parseNegotiationStep(
        _ verb: String, reader: inout LineReader, fail: (String) -> FixtureSyntaxError
    ) throws(FixtureSyntaxError) -> Fixture.Action {
        if verb.hasPrefix("connects") {
            var rest = Substring(verb.dropFirst("connects".count))
            let hasBlock = rest.hasSuffix(":")
            if hasBlock { rest = rest.dropLast() }
            var directTLS: Fixture.Certificate?
            if !rest.isEmpty {
                guard rest.hasPrefix(" with direct TLS and ") else {
                    throw fail("expected 'connects', 'connects:' or 'connects with direct TLS and <certificate>', found '\(verb)'")
                }
                directTLS = try certificate(String(rest.dropFirst(" with direct TLS and ".count)), fail: fail)
            }
            guard hasBlock else { return .connects(bytes: nil, directTLS: directTLS) }
            let bytes = try decodeEscapes(reader.block().joined(separator: "\n"), fail: fail)
            if bytes.isEmpty { throw fail("'\(verb)' needs an indented block") }
            return .connects(bytes: bytes, directTLS: directTLS)
        }
        if verb.hasPrefix("completes TLS with ") {
            return .completesTLS(try certificate(String(verb.dropFirst("completes TLS with ".count)), fail: fail))
        }
        var rest = Substring(verb.dropFirst("is authenticated ".count))
        var domain: String?
        if rest.hasPrefix("for ") {
            let name = rest.dropFirst("for ".count).prefix { $0 != " " }
            domain = String(name)
            rest = rest.dropFirst("for ".count + name.count).drop { $0 == " " }
        }
        let methods = AuthenticationMethod.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        guard rest.hasPrefix("by "), let method = AuthenticationMethod(rawValue: String(rest.dropFirst("by ".count))) else {
            throw fail("expected 'is authenticated [for <domain>] by <method>' with a method of \(methods), found '\(verb)'")
        }
        return .isAuthenticated(domain: domain, method: method)
    }

    /// `N seconds`, `N minutes` (`1 second`, `1 minute` too).
    private static func duration(_ text: String, fail: (String) -> FixtureSyntaxError) throws(FixtureSyntaxError) -> Duration {
        let words = text.split(separator: " ")
        guard words.count == 2, let count = Int(words[0]), count > 0 else {
            throw fail("expected 'time passes <N> seconds' or 'time passes <N> minutes', found 'time passes \(text)'")
        }
        switch words[1] {
        case "second", "seconds": return .seconds(count)
        case "minute", "minutes": return .seconds(count * 60)
        default: throw fail("expected seconds or minutes after 'time passes \(count)', found '\(words[1])'")
        }
    }

    /// After `<domain>'s link `: `[from <local> ]is lost`, `[from <local> ]is closed[ as idle| as ping unanswered]`.
    private static func parseLinkStep(_ text: String, fail: (String) -> FixtureSyntaxError) throws(FixtureSyntaxError) -> Fixture.Action {
        var rest = Substring(text)
        var local: String?
        if rest.hasPrefix("from ") {
            let name = rest.dropFirst("from ".count).prefix { $0 != " " }
            local = String(name)
            rest = rest.dropFirst("from ".count + name.count).drop { $0 == " " }
        }
        switch rest {
        case "is lost": return .linkIsLost(local: local)
        case "is closed": return .linkIsClosed(local: local, reason: nil)
        case "is closed as idle": return .linkIsClosed(local: local, reason: LinkTable.CloseReason.idle.description)
        case "is closed as ping unanswered": return .linkIsClosed(local: local, reason: LinkTable.CloseReason.pingUnanswered.description)
        default:
            throw fail("expected '<domain>'s link [from <our domain>] is lost', 'is closed', 'is closed as idle' or 'is closed as ping unanswered', found '\(text)'")
        }
    }

    /// `a certificate for <domain>[, <domain>…]`, `an untrusted certificate` or `no certificate`.
    private static func certificate(_ text: String, fail: (String) -> FixtureSyntaxError) throws(FixtureSyntaxError) -> Fixture.Certificate {
        switch text {
        case "an untrusted certificate": return .untrusted
        case "no certificate": return .none
        case _ where text.hasPrefix("a certificate for "):
            let names = text.dropFirst("a certificate for ".count).split(separator: ",").map { String($0).trimmingXMLWhitespace }
            guard !names.isEmpty, !names.contains(where: \.isEmpty) else { throw fail("'a certificate for' needs domains, separated by commas") }
            return .validFor(Set(names))
        default:
            throw fail("expected 'a certificate for <domain>[, <domain>…]', 'an untrusted certificate' or 'no certificate', found '\(text)'")
        }
    }

    /// The steps of `<domain>'s authoritative server`: what the gateway asked it, and its answer.
    private static func parseAuthoritativeServerStep(
        _ verb: String, domain: String, reader: inout LineReader, line: Int, file: String, fail: (String) -> FixtureSyntaxError
    ) throws(FixtureSyntaxError) -> Fixture.Action {
        switch verb {
        case "receives:": return .receives(try parseElements(reader.block(), line: line + 1, file: file, namespace: "jabber:server"))
        case "receives nothing": return .receivesNothing
        case "answers valid": return .authoritativeServerAnswers(domain: domain, .valid)
        case "answers invalid": return .authoritativeServerAnswers(domain: domain, .invalid)
        case "answers error": return .authoritativeServerAnswers(domain: domain, .error)
        case "does not answer": return .authoritativeServerAnswers(domain: domain, .timesOut)
        case "cannot be reached": return .authoritativeServerAnswers(domain: domain, .cannotBeReached)
        default:
            throw fail(
                "unknown authoritative server step '\(verb)'; expected receives:, receives nothing, answers valid, answers invalid, "
                    + "answers error, does not answer or cannot be reached"
            )
        }
    }

    /// Text in double quotes (`nil` for none at all), as error texts to look for are written.
    private static func quotedText(_ text: String, fail: (String) -> FixtureSyntaxError) throws(FixtureSyntaxError) -> String? {
        guard !text.isEmpty else { return nil }
        guard text.count >= 2, text.first == "\"", text.last == "\"" else {
            throw fail("the error text to look for must be in double quotes")
        }
        return String(text.dropFirst().dropLast())
    }

    /// Parses a block of zero or more elements written at top level. The block is wrapped in an
    /// element carrying `namespace` as the default, which is how stanzas inherit `jabber:server`,
    /// and declaring the `stream:` and `db:` prefixes an s2s stream header declares.
    static func parseElements(_ lines: [String], line: Int, file: String, namespace: String) throws(FixtureSyntaxError) -> [XMLElement] {
        let text = "<stream:stream xmlns:stream='\(xmppStreamNamespace)' xmlns:db='\(Namespace.dialback)' xmlns='\(namespace)'>" + lines.joined(separator: "\n") + "</stream:stream>"
        let parser = XMLStreamParser(limits: .fixtureBlocks)
        var events: [XMLStreamEvent] = []
        do throws(XMLStreamError) {
            try parser.feed(Array(text.utf8), into: &events)
        } catch {
            throw FixtureSyntaxError(file: file, line: line, message: "the XML block does not parse: \(error.detail)")
        }
        guard events.last == .streamClosed else {
            throw FixtureSyntaxError(file: file, line: line, message: "the XML block is incomplete")
        }
        return events.compactMap { if case .element(let element) = $0 { element.normalized(droppingWhitespace: true) } else { nil } }
    }

    /// `sends raw:` blocks may spell bytes XML cannot: `\xNN` for any byte, `\n`, `\r`, `\t`, `\\`,
    /// and `\` at the very end of a line to join it with the next without a newline.
    static func decodeEscapes(_ text: String, fail: (String) -> FixtureSyntaxError) throws(FixtureSyntaxError) -> [UInt8] {
        var output: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                continue
            }
            guard let next = bytes.popFirst() else { throw fail("a lone '\\' ends the raw block") }
            switch next {
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
            case 0x0A: break
            case UInt8(ascii: "x"):
                guard bytes.count >= 2, let value = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) else {
                    throw fail("'\\x' must be followed by two hex digits")
                }
                output.append(value)
                bytes = bytes.dropFirst(2)
            default:
                throw fail("unknown escape '\\\(Character(Unicode.Scalar(next)))'")
            }
        }
        return output
    }
}

extension XMLStreamLimits {
    /// Fixture files are trusted input: generous limits, only there to keep typos from running away.
    static let fixtureBlocks = XMLStreamLimits(
        maxStanzaBytes: 16 << 20, maxDepth: 64, maxAttributes: 256, maxElements: 1 << 20, maxTextBytes: 16 << 20
    )
}

/// Lines with their numbers, and the indented blocks that follow step lines.
struct LineReader {
    struct Line {
        var number: Int
        var text: String
    }

    private var lines: [Line]
    private var index = 0
    let file: String

    init(text: String, file: String) {
        self.file = file
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map {
            Line(number: $0.offset + 1, text: $0.element.hasSuffix("\r") ? String($0.element.dropLast()) : String($0.element))
        }
    }

    var lineNumber: Int { index < lines.count ? lines[index].number : lines.count }

    func peek() -> Line? { index < lines.count ? lines[index] : nil }

    mutating func advance() { index += 1 }

    /// The indented lines that follow, with one level of indentation (a tab, or the first line's
    /// leading spaces) removed. Blank lines inside a block are kept; trailing ones are not.
    mutating func block() -> [String] {
        var result: [String] = []
        var indent: Substring?
        while let line = peek() {
            let text = Substring(line.text)
            if text.trimmingXMLWhitespace.isEmpty {
                result.append("")
                advance()
                continue
            }
            guard text.first == "\t" || text.first == " " else { break }
            let prefix = indent ?? (text.first == "\t" ? "\t" : text.prefix { $0 == " " })
            indent = prefix
            result.append(text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : String(text.drop { $0 == " " || $0 == "\t" }))
            advance()
        }
        while result.last == "" { result.removeLast() }
        return result
    }
}
