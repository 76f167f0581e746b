import Federation
import Testing
import XMLStreaming
import XMPP

/// The checks every stanza passes once a peer has authenticated (RFC 6120 §4.9.3, §8.1), on the
/// machine the gateway runs, from the state SASL EXTERNAL leaves it in.
@Suite("Inbound streams after authentication")
struct InboundAuthenticatedStreamTests {
    static func harness() -> InboundHarness {
        InboundHarness(partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), trust: .federated)], authenticatedFor: "fabrikam.example")
    }

    static func closing(_ actions: [InboundStreamStateMachine.Action]) -> StreamError.Condition? {
        for case .close(let error?) in actions { return error.condition }
        return nil
    }

    @Test("the restarted stream's header gets our header and empty features; a good stanza is delivered")
    func good() throws {
        var harness = Self.harness()
        let opened = harness.peer(InboundHarness.header())
        #expect(opened.count == 2)
        #expect(opened.last == .sendElement(XMLElement("features", namespace: Namespace.streams)), "nothing left to negotiate")
        let delivered = harness.peer("<message from='bob@fabrikam.example/a' to='alice@contoso.example'/>")
        guard case .deliver(let stanza)? = delivered.first, delivered.count == 1 else {
            Issue.record("expected one delivery, got \(delivered)")
            return
        }
        #expect(stanza.kind == .message)
        #expect(stanza.to?.description == "alice@contoso.example")
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
        var harness = Self.harness()
        _ = harness.peer(InboundHarness.header())
        let actions = harness.peer(stanza)
        #expect(Self.closing(actions) == expected)
        #expect(harness.peer("<presence from='bob@fabrikam.example' to='alice@contoso.example'/>").isEmpty, "nothing is handled after the close")
    }

    @Test("a header to someone else's domain or from another peer than the authenticated one is refused")
    func headers() {
        var wrongHost = Self.harness()
        #expect(Self.closing(wrongHost.peer(InboundHarness.header(to: "x.example"))) == .hostUnknown)
        var wrongPeer = Self.harness()
        #expect(Self.closing(wrongPeer.peer(InboundHarness.header(from: "evil.example"))) == .invalidFrom)
    }

    @Test("a malformed 'to' is answered with jid-malformed and the stream goes on")
    func malformedTo() throws {
        var harness = Self.harness()
        _ = harness.peer(InboundHarness.header())
        let actions = harness.peer(
            "<message from='bob@fabrikam.example' to='a@b@c' id='1'/><presence from='bob@fabrikam.example' to='alice@contoso.example'/>"
        )
        #expect(actions.count == 2)
        guard case .sendElement(let reply)? = actions.first else {
            Issue.record("expected a reply, got \(actions)")
            return
        }
        #expect(reply["type"] == "error")
        #expect(StanzaError(stanza: reply)?.condition == .jidMalformed)
        if case .deliver = actions.last {} else { Issue.record("the stream should go on: \(actions)") }
    }

    @Test("the peer's closing tag is answered with ours, and what follows it is not read (RFC 6120 §4.4)")
    func closingTag() {
        var harness = Self.harness()
        _ = harness.peer(InboundHarness.header())
        #expect(harness.peer("</stream:stream>") == [.close(nil)])
        #expect(harness.peer("<presence/>").isEmpty)
    }
}
