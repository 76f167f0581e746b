import XMLStreaming

/// Why a fixture file could not be read; reported with its line so the author can fix it.
public struct FixtureSyntaxError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { "\(file):\(line): \(message)" }
}

/// Reads the fixture format described in `Fixtures/README.md`.
public enum FixtureParser {
    public static func parse(_ text: String, name: String) throws(FixtureSyntaxError) -> Fixture {
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
        return fixture
    }

    private static func parseStep(_ text: String, line: Int, reader: inout LineReader, file: String) throws(FixtureSyntaxError) -> Fixture.Step {
        func fail(_ message: String) -> FixtureSyntaxError { FixtureSyntaxError(file: file, line: line, message: message) }
        guard let space = text.firstIndex(of: " ") else { throw fail("expected '<actor> <verb>', found '\(text)'") }
        let actor = String(text[..<space])
        let verb = String(text[text.index(after: space)...]).trimmingXMLWhitespace
        let action: Fixture.Action
        switch verb {
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
        case _ where verb.hasPrefix("is disconnected with "):
            let rest = verb.dropFirst("is disconnected with ".count)
            let condition = String(rest.prefix { $0 != " " })
            let remainder = rest.dropFirst(condition.count).trimmingXMLWhitespace
            var textContains: String?
            if !remainder.isEmpty {
                guard remainder.count >= 2, remainder.first == "\"", remainder.last == "\"" else {
                    throw fail("the error text to look for must be in double quotes")
                }
                textContains = String(remainder.dropFirst().dropLast())
            }
            action = .isDisconnected(condition: condition, textContains: textContains)
        default:
            throw fail("unknown step '\(verb)'; expected sends:, sends raw:, does:, receives:, receives nothing or is disconnected with <condition>")
        }
        if case .sends(let bytes, _) = action, bytes.isEmpty { throw fail("'\(verb)' needs an indented block") }
        return Fixture.Step(line: line, actor: actor, action: action)
    }

    /// Parses a block of zero or more elements written at top level. The block is wrapped in an
    /// element carrying `namespace` as the default, which is how stanzas inherit `jabber:server`.
    static func parseElements(_ lines: [String], line: Int, file: String, namespace: String) throws(FixtureSyntaxError) -> [XMLElement] {
        let text = "<stream:stream xmlns:stream='\(xmppStreamNamespace)' xmlns='\(namespace)'>" + lines.joined(separator: "\n") + "</stream:stream>"
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
