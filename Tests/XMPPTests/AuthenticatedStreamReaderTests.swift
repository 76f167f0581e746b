import Testing
import XMLStreaming
import XMPP

@Suite("AuthenticatedStreamReader")
struct AuthenticatedStreamReaderTests {
    static let header =
        "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' from='fabrikam.example' to='contoso.example' version='1.0'>"

    func reader() -> AuthenticatedStreamReader {
        AuthenticatedStreamReader(peerDomain: "fabrikam.example", localDomains: ["contoso.example"], limits: .postAuthentication)
    }

    func condition(_ events: [AuthenticatedStreamReader.Event]) -> StreamError.Condition? {
        if case .failed(let error)? = events.last { error.condition } else { nil }
    }

    @Test("a good stanza comes out parsed")
    func good() {
        var reader = reader()
        let events = reader.read(Array((Self.header + "<message from='bob@fabrikam.example/a' to='alice@contoso.example'/>").utf8))
        #expect(events.count == 2)
        if case .stanza(let stanza) = events.last {
            #expect(stanza.kind == .message)
            #expect(stanza.to?.description == "alice@contoso.example")
        } else {
            Issue.record("expected a stanza, got \(events)")
        }
    }

    @Test("addressing rules end the stream with the RFC 6120 condition", arguments: [
        ("<message to='alice@contoso.example'/>", StreamError.Condition.improperAddressing),
        ("<message from='x@evil.example' to='alice@contoso.example'/>", .invalidFrom),
        ("<message from='bob@fabrikam.example' to='carol@other.example'/>", .hostUnknown),
        ("<message from='bob@@fabrikam.example' to='alice@contoso.example'/>", .invalidFrom),
        ("<foo xmlns='urn:x'/>", .unsupportedStanzaType),
        ("<message from='bob@fabrikam.example' to='alice@contoso.example'><!-- x --></message>", .restrictedXML),
    ])
    func addressing(stanza: String, expected: StreamError.Condition) {
        var reader = reader()
        let events = reader.read(Array((Self.header + stanza).utf8))
        #expect(condition(events) == expected)
        #expect(reader.hasFailed)
        #expect(reader.read(Array("<presence/>".utf8)).isEmpty, "nothing is read after a failure")
    }

    @Test("a header to someone else's domain or from another peer is refused")
    func headers() {
        var wrongHost = reader()
        #expect(condition(wrongHost.read(Array(Self.header.replacingOccurrences(of: "to='contoso.example'", with: "to='x.example'").utf8))) == .hostUnknown)
        var wrongPeer = reader()
        #expect(condition(wrongPeer.read(Array(Self.header.replacingOccurrences(of: "from='fabrikam.example'", with: "from='evil.example'").utf8))) == .invalidFrom)
    }

    @Test("a malformed 'to' is answered with jid-malformed and the stream goes on")
    func malformedTo() {
        var reader = reader()
        let events = reader.read(Array((Self.header + "<message from='bob@fabrikam.example' to='a@b@c' id='1'/><presence from='bob@fabrikam.example' to='alice@contoso.example'/>").utf8))
        #expect(events.count == 3)
        if case .reply(let reply) = events[1] {
            #expect(reply["type"] == "error")
            #expect(StanzaError(stanza: reply)?.condition == .jidMalformed)
        } else {
            Issue.record("expected a reply, got \(events[1])")
        }
        #expect(!reader.hasFailed)
    }
}
