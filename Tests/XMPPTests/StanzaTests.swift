import Testing
import XMLStreaming
import XMPP

/// Parses one stanza written as text inside a jabber:server stream.
func element(_ text: String) throws -> XMLElement {
    let parser = XMLStreamParser(limits: .postAuthentication)
    var events: [XMLStreamEvent] = []
    try parser.feed(
        Array(("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>" + text).utf8),
        into: &events
    )
    guard case .element(let element)? = events.last else { throw XMLStreamError(.notWellFormed, "no element") }
    return element
}

let serializer = XMLSerializer(defaultNamespace: "jabber:server", prefixes: [Namespace.streams: "stream"])

@Suite("Stanza and stream errors")
struct ErrorTests {
    @Test("every stanza error condition serialises with its RFC 6120 type", arguments: StanzaError.Condition.allCases)
    func stanzaErrors(condition: StanzaError.Condition) throws {
        let error = StanzaError(condition)
        let text = serializer.string(error.element())
        #expect(text == "<error type='\(condition.defaultType.rawValue)'><\(condition.rawValue) xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>")
        var stanza = XMLElement("message", namespace: Namespace.server)
        stanza.append(error.element())
        #expect(StanzaError(stanza: stanza) == error)
    }

    @Test("every stream error condition serialises under stream:error and reads back", arguments: StreamError.Condition.allCases)
    func streamErrors(condition: StreamError.Condition) {
        let error = StreamError(condition, text: "why")
        let text = serializer.string(error.element)
        #expect(text.hasPrefix("<stream:error><\(condition.rawValue) xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"))
        #expect(text.hasSuffix("<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>why</text></stream:error>"))
        #expect(StreamError(element: error.element) == error)
    }

    @Test("parser failures map to exactly one condition each")
    func parserMapping() {
        #expect(StreamError(XMLStreamError(.notWellFormed, "")).condition == .notWellFormed)
        #expect(StreamError(XMLStreamError(.restrictedXML, "")).condition == .restrictedXML)
        #expect(StreamError(XMLStreamError(.invalidNamespace, "")).condition == .invalidNamespace)
        #expect(StreamError(XMLStreamError(.unsupportedEncoding, "")).condition == .unsupportedEncoding)
        #expect(StreamError(XMLStreamError(.badFormat, "")).condition == .badFormat)
        #expect(StreamError(XMLStreamError(.limitExceeded(.depth), "")).condition == .policyViolation)
    }

    @Test("errors and IQ results are never answered with errors")
    func noErrorsForErrors() throws {
        let failure = StanzaError(.serviceUnavailable)
        let error = try #require(try Stanza(try element("<message from='a@b' to='c@d' type='error'/>")))
        #expect(error.errorReply(failure) == nil)
        let result = try #require(try Stanza(try element("<iq from='a@b' to='c@d' type='result' id='1'/>")))
        #expect(result.errorReply(failure) == nil)
        let chat = try #require(try Stanza(try element("<message from='a@b/r' to='c@d' type='chat' id='7'><body>x</body></message>")))
        let reply = try #require(chat.errorReply(failure))
        #expect(serializer.string(reply) == "<message from='c@d' to='a@b/r' id='7' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>")
    }
}

@Suite("Typed stanza views")
struct StanzaViewTests {
    @Test("a message with bodies in two languages, thread, chat state and receipt request round-trips")
    func message() throws {
        let parsed = Message(
            try element(
                "<message type='chat' id='m'><body>hi</body><body xml:lang='de'>hallo</body><thread parent='p'>t</thread><composing xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>"
            )
        )
        #expect(parsed.type == .chat)
        #expect(parsed.bodies == [LocalizedText("hi"), LocalizedText("hallo", language: "de")])
        #expect(parsed.thread == "t")
        #expect(parsed.parentThread == "p")
        #expect(parsed.chatState == .composing)
        #expect(parsed.requestsReceipt)
        let rebuilt = Message(parsed.element(from: try JID("a@b/r"), to: try JID("c@d")))
        #expect(rebuilt == parsed)
    }

    @Test("a missing or unknown message type is normal")
    func messageType() throws {
        #expect(Message(try element("<message/>")).type == .normal)
        #expect(Message(try element("<message type='weird'/>")).type == .normal)
    }

    @Test("presence: show, statuses, priority, idle and photo; unknown values are refused")
    func presence() throws {
        let parsed = try #require(
            Presence(
                try element(
                    "<presence><show> xa </show><status>gone</status><priority>-1</priority><idle xmlns='urn:xmpp:idle:1' since='2026-01-01T00:00:00Z'/><x xmlns='vcard-temp:x:update'><photo>abc</photo></x></presence>"
                )
            )
        )
        #expect(parsed.show == .xa)
        #expect(parsed.priority == -1)
        #expect(parsed.idleSince == "2026-01-01T00:00:00Z")
        #expect(parsed.photoHash == "abc")
        #expect(Presence(parsed.element(from: try JID("a@b/r"), to: try JID("c@d"))) == parsed)
        #expect(Presence(try element("<presence type='away'/>")) == nil)
        #expect(Presence(try element("<presence><show>sleepy</show></presence>")) == nil)
    }

    @Test("IQs need an id, a known type and one payload for get and set")
    func iq() throws {
        #expect(IQ(try element("<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>"))?.payload?.name == "ping")
        #expect(IQ(try element("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>")) == nil)
        #expect(IQ(try element("<iq type='get' id='1'/>")) == nil)
        #expect(IQ(try element("<iq type='get' id='1'><a xmlns='x'/><b xmlns='x'/></iq>")) == nil)
        #expect(IQ(try element("<iq type='fetch' id='1'><a xmlns='x'/></iq>")) == nil)
    }

    @Test("malformed addresses are reported with the attribute that holds them")
    func addressing() throws {
        #expect(throws: AddressingError.self) { try Stanza(try element("<message to='a@@b'/>")) }
        let source = try element("<message from='@b'/>")
        do throws(AddressingError) {
            _ = try Stanza(source)
            Issue.record("accepted a malformed from")
        } catch {
            #expect(error.attribute == "from")
        }
        #expect(try Stanza(try element("<foo xmlns='urn:x'/>")) == nil)
    }
}

@Suite("StreamHeader")
struct StreamHeaderTests {
    func header(_ text: String) throws -> XMLStreamHeader {
        let parser = XMLStreamParser()
        var events: [XMLStreamEvent] = []
        try parser.feed(Array(text.utf8), into: &events)
        guard case .streamOpened(let header)? = events.first else { throw XMLStreamError(.notWellFormed, "no header") }
        return header
    }

    @Test("a good s2s header validates; our own header parses back the same")
    func good() throws {
        let parsed = try StreamHeader(
            try header("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' from='a.example' to='b.example' version='1.0' id='x'>"),
            expectedContentNamespace: Namespace.server
        )
        #expect(parsed.from == (try JID("a.example")))
        #expect(parsed.version == .current)
        let written = String(decoding: parsed.bytes(declaringDialback: true), as: UTF8.self)
        let reparsed = try StreamHeader(try header(written), expectedContentNamespace: Namespace.server)
        #expect(reparsed.from == parsed.from && reparsed.to == parsed.to && reparsed.id == parsed.id && reparsed.version == parsed.version)
    }

    @Test("bad headers get the RFC 6120 condition", arguments: [
        ("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", StreamError.Condition.invalidNamespace),
        ("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", .invalidNamespace),
        ("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' version='2.0'>", .unsupportedVersion),
        ("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' version='one'>", .unsupportedVersion),
        ("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' from='a b'>", .improperAddressing),
    ])
    func bad(text: String, condition: StreamError.Condition) throws {
        let parsed = try header(text)
        do throws(StreamError) {
            _ = try StreamHeader(parsed, expectedContentNamespace: Namespace.server)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.condition == condition)
        }
    }
}
