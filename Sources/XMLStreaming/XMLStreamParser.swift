internal import CExpat
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The namespace of the `<stream:stream>` root, the only root an XMPP stream may have.
package let xmppStreamNamespace = "http://etherx.jabber.org/streams"

/// An incremental XMPP stream parser over libexpat.
///
/// Bytes go in as they arrive, in chunks of any size; events come out as soon as a stream header,
/// a whole depth-1 element or the stream close has been read. Feeding one byte at a time yields the
/// same events as feeding the whole input at once. RFC 6120 §11 restrictions and the configured
/// `limits` are enforced while parsing, and memory stays bounded by those limits whatever the input.
///
/// One parser belongs to one connection; it is deliberately not `Sendable`.
package final class XMLStreamParser {
    /// The mutable state lives behind a stable pointer, which is also expat's user data: callbacks
    /// reach it without retaining anything, and without the dynamic exclusivity checks that class
    /// properties would cost on every access (about 7 % of parse time).
    private let state: UnsafeMutablePointer<ParserState>

    /// expat buffers an incomplete token without limit, so input is handed over in slices no larger
    /// than this and the stanza-size limit is checked between slices.
    private static let sliceSize = 64 * 1024

    /// Limits in force; assign `.postAuthentication` (or configured values) once the peer has authenticated.
    package var limits: XMLStreamLimits {
        get { state.pointee.limits }
        set { state.pointee.limits = newValue }
    }

    /// Whether the installed expat had reparse deferral and it was turned off (expat ≥ 2.6).
    package var reparseDeferralDisabled: Bool { state.pointee.reparseDeferralDisabled }

    /// True once `</stream:stream>` has been read.
    package var isClosed: Bool { state.pointee.streamClosedSeen }

    /// Bytes fed since the end of the last complete top-level element (or whitespace): what a peer
    /// sent beyond it. After `<starttls/>` this must be zero, or the peer slipped plaintext in
    /// behind the TLS switch (RFC 6120 §5.4.3.3 command injection).
    package var bytesAfterLastElement: Int { state.pointee.bytesFed - state.pointee.stanzaStart }

    package init(limits: XMLStreamLimits = .preAuthentication) {
        guard let parser = XML_ParserCreateNS("UTF-8", 0x01) else {
            fatalError("XML_ParserCreateNS failed: out of memory")
        }
        state = .allocate(capacity: 1)
        state.initialize(to: ParserState(parser: parser, limits: limits))
        ParserState.installHandlers(state)
    }

    deinit {
        XML_ParserFree(state.pointee.parser)
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Parses `bytes`, appending every event completed by them to `output`. Events completed before
    /// an error are appended before the error is thrown, so a stanza that arrived whole is never lost
    /// because garbage followed it. Errors are final: every later call throws the same error.
    package func feed(_ bytes: UnsafeRawBufferPointer, into output: inout [XMLStreamEvent]) throws(XMLStreamError) {
        if let failure = state.pointee.failure { throw failure }
        var offset = 0
        repeat {
            let length = min(Self.sliceSize, bytes.count - offset)
            let slice = bytes.baseAddress.map { $0 + offset }
            state.pointee.bytesFed += length
            let status = XML_Parse(state.pointee.parser, slice?.assumingMemoryBound(to: CChar.self), Int32(length), 0)
            state.pointee.flushEvents(into: &output)
            if status == XML_STATUS_ERROR {
                let error = state.pointee.failure ?? state.pointee.translateExpatError()
                state.pointee.failure = error
                throw error
            }
            if state.pointee.bytesFed - state.pointee.stanzaStart > state.pointee.limits.maxStanzaBytes {
                let error = ParserState.limitError(.stanzaBytes, state.pointee.limits)
                state.pointee.failure = error
                throw error
            }
            offset += length
        } while offset < bytes.count
    }

    /// Convenience for callers holding an array.
    package func feed(_ bytes: [UInt8], into output: inout [XMLStreamEvent]) throws(XMLStreamError) {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(XMLStreamError) in try self.feed(buffer, into: &output) }
        }
        try result.get()
    }

    /// Starts a new stream on the same connection, as XMPP does after STARTTLS and SASL success.
    /// Call it only between `feed` calls, never from event handling inside one.
    package func restart() {
        XML_ParserReset(state.pointee.parser, "UTF-8")
        state.pointee.reset()
        ParserState.installHandlers(state)
    }
}

/// Everything the expat callbacks touch. Only ever used through `XMLStreamParser.state`.
struct ParserState {
    let parser: XML_Parser
    var limits: XMLStreamLimits
    var reparseDeferralDisabled = false
    var failure: XMLStreamError?
    var events: [XMLStreamEvent] = []
    var stack: [XMLElement] = []
    var pendingText: [UInt8] = []
    var depth = 0
    var streamClosedSeen = false
    var pendingDeclarations: [String: String] = [:]
    var bytesFed = 0
    var stanzaStart = 0
    var stanzaElements = 0
    var stanzaTextBytes = 0
    var names = NameInterner()

    init(parser: XML_Parser, limits: XMLStreamLimits) {
        self.parser = parser
        self.limits = limits
    }

    mutating func reset() {
        failure = nil
        events.removeAll(keepingCapacity: true)
        stack.removeAll(keepingCapacity: true)
        pendingText.removeAll(keepingCapacity: true)
        pendingDeclarations.removeAll()
        depth = 0
        streamClosedSeen = false
        bytesFed = 0
        stanzaStart = 0
        stanzaElements = 0
        stanzaTextBytes = 0
    }

    // MARK: - Handlers

    static func installHandlers(_ state: UnsafeMutablePointer<ParserState>) {
        let parser = state.pointee.parser
        XML_SetUserData(parser, UnsafeMutableRawPointer(state))
        XML_SetElementHandler(
            parser,
            { context, name, attributes in
                ParserState.from(context).pointee.startElement(name!, attributes!)
            },
            { context, _ in
                ParserState.from(context).pointee.endElement()
            }
        )
        XML_SetCharacterDataHandler(parser) { context, bytes, length in
            ParserState.from(context).pointee.characters(bytes!, Int(length))
        }
        XML_SetStartNamespaceDeclHandler(parser) { context, prefix, uri in
            ParserState.from(context).pointee.namespaceDeclared(prefix: prefix, uri: uri)
        }
        XML_SetXmlDeclHandler(parser) { context, version, encoding, _ in
            ParserState.from(context).pointee.xmlDeclaration(version: version, encoding: encoding)
        }
        XML_SetStartDoctypeDeclHandler(parser) { context, _, _, _, _ in
            ParserState.from(context).pointee.fail(.restrictedXML, "document type declarations are not allowed (RFC 6120 §11.1)")
        }
        XML_SetEntityDeclHandler(parser) { context, _, _, _, _, _, _, _, _ in
            ParserState.from(context).pointee.fail(.restrictedXML, "entity declarations are not allowed (RFC 6120 §11.1)")
        }
        XML_SetCommentHandler(parser) { context, _ in
            ParserState.from(context).pointee.fail(.restrictedXML, "comments are not allowed (RFC 6120 §11.1)")
        }
        XML_SetProcessingInstructionHandler(parser) { context, _, _ in
            ParserState.from(context).pointee.fail(.restrictedXML, "processing instructions are not allowed (RFC 6120 §11.1)")
        }
        XML_SetSkippedEntityHandler(parser) { context, _, _ in
            ParserState.from(context).pointee.fail(.restrictedXML, "references to undeclared entities are not allowed (RFC 6120 §11.1)")
        }
        XML_SetParamEntityParsing(parser, XML_PARAM_ENTITY_PARSING_NEVER)
        state.pointee.reparseDeferralDisabled = consulate_disable_reparse_deferral(parser) == 1
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<ParserState> {
        context!.assumingMemoryBound(to: ParserState.self)
    }

    mutating func fail(_ kind: XMLStreamError.Kind, _ detail: String) {
        guard failure == nil else { return }
        failure = XMLStreamError(kind, detail)
        XML_StopParser(parser, XML_FALSE)
    }

    static func limitError(_ limit: XMLStreamLimits.Limit, _ limits: XMLStreamLimits) -> XMLStreamError {
        XMLStreamError(.limitExceeded(limit), "\(limit.rawValue) exceeded (limit \(limits.value(of: limit)))")
    }

    private mutating func failLimit(_ limit: XMLStreamLimits.Limit) {
        guard failure == nil else { return }
        failure = Self.limitError(limit, limits)
        XML_StopParser(parser, XML_FALSE)
    }

    /// The stream offset just past the token expat is reporting.
    private var currentTokenEnd: Int { Int(XML_GetCurrentByteIndex(parser)) + Int(XML_GetCurrentByteCount(parser)) }

    private mutating func readAttributes(_ raw: UnsafeMutablePointer<UnsafePointer<XML_Char>?>, count: Int) -> [XMLAttribute] {
        var attributes: [XMLAttribute] = []
        attributes.reserveCapacity(count)
        for index in 0..<count {
            let (namespace, name) = names.split(raw[2 * index]!)
            attributes.append(XMLAttribute(name, namespace: namespace, value: String(cString: raw[2 * index + 1]!)))
        }
        return attributes
    }

    mutating func startElement(_ rawName: UnsafePointer<XML_Char>, _ rawAttributes: UnsafeMutablePointer<UnsafePointer<XML_Char>?>) {
        guard failure == nil else { return }
        if depth == 0 {
            openStream(rawName, rawAttributes)
            return
        }
        if depth == 1 {
            stanzaElements = 0
            stanzaTextBytes = 0
            pendingText.removeAll(keepingCapacity: true)
        } else {
            flushText()
        }
        if currentTokenEnd - stanzaStart > limits.maxStanzaBytes { return failLimit(.stanzaBytes) }
        if depth > limits.maxDepth { return failLimit(.depth) }
        stanzaElements += 1
        if stanzaElements > limits.maxElements { return failLimit(.elements) }
        let count = Int(XML_GetSpecifiedAttributeCount(parser)) / 2
        if count > limits.maxAttributes { return failLimit(.attributes) }
        let (namespace, name) = names.split(rawName)
        stack.append(XMLElement(name, namespace: namespace, attributes: readAttributes(rawAttributes, count: count)))
        depth += 1
    }

    private mutating func openStream(_ rawName: UnsafePointer<XML_Char>, _ rawAttributes: UnsafeMutablePointer<UnsafePointer<XML_Char>?>) {
        let (namespace, name) = names.split(rawName)
        let declarations = pendingDeclarations
        pendingDeclarations.removeAll()
        guard name == "stream", namespace == xmppStreamNamespace else {
            let shown = namespace.isEmpty ? name : "{\(namespace)}\(name)"
            return fail(.invalidNamespace, "the root element must be {\(xmppStreamNamespace)}stream, not \(shown)")
        }
        let count = Int(XML_GetSpecifiedAttributeCount(parser)) / 2
        if count > limits.maxAttributes { return failLimit(.attributes) }
        let attributes = readAttributes(rawAttributes, count: count)
        depth = 1
        stanzaStart = currentTokenEnd
        events.append(
            .streamOpened(XMLStreamHeader(name: name, namespace: namespace, attributes: attributes, namespaceDeclarations: declarations))
        )
    }

    mutating func endElement() {
        guard failure == nil else { return }
        if depth == 1 {
            pendingText.removeAll(keepingCapacity: true)
            depth = 0
            streamClosedSeen = true
            events.append(.streamClosed)
            return
        }
        flushText()
        depth -= 1
        let element = stack.removeLast()
        if depth == 1 {
            let end = currentTokenEnd
            if end - stanzaStart > limits.maxStanzaBytes { return failLimit(.stanzaBytes) }
            events.append(.element(element))
            stanzaStart = end
        } else {
            stack[stack.count - 1].children.append(.element(element))
        }
    }

    mutating func characters(_ bytes: UnsafePointer<XML_Char>, _ length: Int) {
        guard failure == nil else { return }
        let buffer = UnsafeRawBufferPointer(start: bytes, count: length)
        if depth == 1 {
            guard buffer.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
                return fail(.badFormat, "character data is not allowed between stanzas")
            }
            // Whitespace keepalives end where they are; they never count towards the next stanza.
            stanzaStart = currentTokenEnd
            return
        }
        stanzaTextBytes += length
        if stanzaTextBytes > limits.maxTextBytes { return failLimit(.textBytes) }
        pendingText.append(contentsOf: buffer)
    }

    private mutating func flushText() {
        guard !pendingText.isEmpty else { return }
        stack[stack.count - 1].children.append(.text(String(decoding: pendingText, as: UTF8.self)))
        pendingText.removeAll(keepingCapacity: true)
    }

    mutating func namespaceDeclared(prefix: UnsafePointer<XML_Char>?, uri: UnsafePointer<XML_Char>?) {
        guard depth == 0 else { return }
        let prefixString = prefix.map { String(cString: $0) } ?? ""
        pendingDeclarations[prefixString] = uri.map { String(cString: $0) } ?? ""
    }

    mutating func xmlDeclaration(version: UnsafePointer<XML_Char>?, encoding: UnsafePointer<XML_Char>?) {
        if let version, String(cString: version) != "1.0" {
            return fail(.notWellFormed, "only XML 1.0 is supported, not version \(String(cString: version))")
        }
        if let encoding {
            let name = String(cString: encoding)
            if name.lowercased() != "utf-8" {
                return fail(.unsupportedEncoding, "XMPP streams are UTF-8, not \(name)")
            }
        }
    }

    mutating func flushEvents(into output: inout [XMLStreamEvent]) {
        guard !events.isEmpty else { return }
        if output.isEmpty {
            swap(&output, &events)
        } else {
            output.append(contentsOf: events)
            events.removeAll(keepingCapacity: true)
        }
    }

    /// Maps expat's own error to an XMPP-level kind. Invalid UTF-8 is `unsupported-encoding`
    /// (RFC 6120 §4.9.3.22); references to undeclared entities are restricted XML (§11.1).
    func translateExpatError() -> XMLStreamError {
        let code = XML_GetErrorCode(parser)
        let message = XML_ErrorString(code).map { String(cString: $0) } ?? "XML error"
        let line = XML_GetCurrentLineNumber(parser)
        let column = XML_GetCurrentColumnNumber(parser)
        let detail = "\(message) at line \(line), column \(column)"
        switch code {
        case XML_ERROR_UNDEFINED_ENTITY:
            return XMLStreamError(.restrictedXML, "references to undeclared entities are not allowed (RFC 6120 §11.1)")
        case XML_ERROR_INCORRECT_ENCODING, XML_ERROR_UNKNOWN_ENCODING:
            return XMLStreamError(.unsupportedEncoding, detail)
        case XML_ERROR_INVALID_TOKEN, XML_ERROR_PARTIAL_CHAR:
            if errorIsInvalidUTF8() {
                return XMLStreamError(.unsupportedEncoding, "the stream is not valid UTF-8 at line \(line), column \(column)")
            }
            return XMLStreamError(.notWellFormed, detail)
        default:
            return XMLStreamError(.notWellFormed, detail)
        }
    }

    /// Looks at the bytes expat stopped on (its input context) and decides whether they are an
    /// invalid UTF-8 sequence rather than a valid character that XML does not allow.
    private func errorIsInvalidUTF8() -> Bool {
        var offset: Int32 = 0
        var size: Int32 = 0
        guard let context = XML_GetInputContext(parser, &offset, &size), offset >= 0, offset < size else { return false }
        let bytes = UnsafeRawBufferPointer(start: context + Int(offset), count: Int(size - offset))
        return !UTF8Validation.startsWithValidScalar(bytes)
    }
}

/// Turns expat's `namespace U+0001 local` names into strings, reusing strings already made for
/// the same bytes: XMPP repeats a handful of names endlessly, and string creation dominates parsing.
/// The names every XMPP stream uses are made once for the whole process (`wellKnown`); each parser
/// caches only the others its peer sends, in a table made on the first of them, so that a parser
/// (one per connection, thousands of them idle) costs almost nothing until it sees one.
/// The shared table is open-addressed (a name that collides takes the next free slot), so every
/// common name is found; the parser's own is direct-mapped, where a collision replaces the slot.
struct NameInterner {
    private struct Entry: Sendable {
        var bytes: [UInt8]
        var namespace: String
        var local: String

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = Array(bytes)
            if let separator = bytes.firstIndex(of: 0x01) {
                namespace = String(decoding: bytes[..<separator], as: UTF8.self)
                local = String(decoding: bytes[(separator + 1)...], as: UTF8.self)
            } else {
                namespace = ""
                local = String(decoding: bytes, as: UTF8.self)
            }
        }

        func matches(_ raw: UnsafePointer<XML_Char>, length: Int) -> Bool {
            bytes.count == length && bytes.withUnsafeBytes { memcmp($0.baseAddress!, raw, length) == 0 }
        }
    }

    private static let wellKnownSlotCount = 256
    private static let ownSlotCount = 64

    /// Stanzas, stream negotiation and errors (RFC 6120), dialback, and the extensions that ride on
    /// nearly every message and presence.
    private static let wellKnown: [Entry?] = {
        let names: [(String, [String])] = [
            ("jabber:server", ["message", "presence", "iq", "body", "subject", "thread", "show", "status", "priority", "error"]),
            ("jabber:client", ["message", "presence", "iq", "body", "subject", "thread", "show", "status", "priority", "error"]),
            ("http://etherx.jabber.org/streams", ["stream", "features", "error"]),
            ("urn:ietf:params:xml:ns:xmpp-tls", ["starttls", "proceed", "failure", "required"]),
            ("urn:ietf:params:xml:ns:xmpp-sasl", ["mechanisms", "mechanism", "auth", "success", "failure"]),
            ("jabber:server:dialback", ["result", "verify"]),
            ("urn:xmpp:features:dialback", ["dialback", "errors"]),
            ("urn:ietf:params:xml:ns:xmpp-stanzas", ["text", "service-unavailable", "item-not-found", "not-allowed", "forbidden", "remote-server-not-found", "feature-not-implemented", "bad-request"]),
            ("urn:ietf:params:xml:ns:xmpp-streams", ["text", "policy-violation", "connection-timeout", "invalid-from", "host-unknown", "not-authorized"]),
            ("http://www.w3.org/XML/1998/namespace", ["lang"]),
            ("http://jabber.org/protocol/chatstates", ["active", "composing", "paused", "inactive", "gone"]),
            ("urn:xmpp:receipts", ["request", "received"]),
            ("urn:xmpp:ping", ["ping"]),
            ("urn:xmpp:delay", ["delay"]),
            ("urn:xmpp:idle:1", ["idle"]),
            ("http://jabber.org/protocol/caps", ["c"]),
            ("vcard-temp:x:update", ["x", "photo"]),
            ("jabber:iq:roster", ["query", "item"]),
            ("urn:xmpp:sid:0", ["stanza-id", "origin-id"]),
        ]
        var slots = [Entry?](repeating: nil, count: wellKnownSlotCount)
        for (namespace, locals) in names {
            for local in locals {
                var bytes = Array(namespace.utf8)
                bytes.append(0x01)
                bytes += local.utf8
                let entry = bytes.withUnsafeBytes { Entry(bytes: $0) }
                var slot = bytes.withUnsafeBytes { Self.hash($0) } % wellKnownSlotCount
                while slots[slot] != nil { slot = (slot + 1) % wellKnownSlotCount }
                slots[slot] = entry
            }
        }
        return slots
    }()

    /// This parser's other names; empty until the first of them.
    private var own: [Entry?] = []

    /// A cheap hash of an expanded name: its length and its last four bytes (the end of the local
    /// name), which tell apart the few dozen names an XMPP stream uses. Collisions only cost a miss.
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hash = UInt32(truncatingIfNeeded: bytes.count) &* 0x9E37_79B1
        for byte in bytes.suffix(4) { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return Int(hash >> 24)
    }

    mutating func split(_ raw: UnsafePointer<XML_Char>) -> (namespace: String, local: String) {
        let length = strlen(raw)
        let bytes = UnsafeRawBufferPointer(start: raw, count: length)
        if length <= 15, memchr(raw, 0x01, length) == nil {
            // Unqualified short names (`from`, `to`, `id`, `type`) fit in a small string, which is
            // cheaper to make than to look up.
            return ("", String(decoding: bytes, as: UTF8.self))
        }
        let hash = Self.hash(bytes)
        var probe = hash % Self.wellKnownSlotCount
        while let entry = Self.wellKnown[probe] {
            if entry.matches(raw, length: length) { return (entry.namespace, entry.local) }
            probe = (probe + 1) % Self.wellKnownSlotCount
        }
        let slot = hash % Self.ownSlotCount
        if own.isEmpty {
            own = [Entry?](repeating: nil, count: Self.ownSlotCount)
        } else if let entry = own[slot], entry.matches(raw, length: length) {
            return (entry.namespace, entry.local)
        }
        let entry = Entry(bytes: bytes)
        own[slot] = entry
        return (entry.namespace, entry.local)
    }
}

/// Small UTF-8 checks the parser needs on its error path.
enum UTF8Validation {
    /// Whether `bytes` begins with a complete, valid UTF-8 encoded scalar (or is too short to tell).
    static func startsWithValidScalar(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let lead = bytes.first else { return true }
        let length: Int
        switch lead {
        case 0x00...0x7F: return true
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return false
        }
        let available = min(length, bytes.count)
        var decoder = UTF8()
        var iterator = bytes.prefix(available).makeIterator()
        switch decoder.decode(&iterator) {
        case .scalarValue: return true
        case .emptyInput: return true
        case .error: return available < length && bytes.dropFirst().prefix(available - 1).allSatisfy { $0 & 0xC0 == 0x80 }
        }
    }
}
