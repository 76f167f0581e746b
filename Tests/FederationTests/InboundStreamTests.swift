import Federation
import Testing
import XMLStreaming
import XMPP

/// Drives `InboundStreamStateMachine` with what a peer would write, parsed by the real parser.
struct InboundHarness {
    var machine: InboundStreamStateMachine
    var parser = XMLStreamParser(limits: .preAuthentication)
    var streamNumber = 0

    static let secret = DialbackSecret("a shared secret for the test gateway")

    init(partners: [PartnerPolicy], transport: InboundStreamStateMachine.Transport = .startTLS) {
        machine = InboundStreamStateMachine(configuration: Self.configuration(partners), transport: transport)
    }

    /// A stream whose peer has just authenticated `domain` with SASL EXTERNAL.
    init(partners: [PartnerPolicy], authenticatedFor domain: String) {
        machine = InboundStreamStateMachine(configuration: Self.configuration(partners), authenticatedFor: domain)
        parser = XMLStreamParser(limits: .postAuthentication)
    }

    static func configuration(_ partners: [PartnerPolicy]) -> InboundStreamStateMachine.Configuration {
        .init(localDomains: ["contoso.example"], policy: FederationPolicy(partners: partners), dialbackSecret: secret)
    }

    /// Feeds peer text; returns every action the machine asked for.
    mutating func peer(_ text: String) -> [InboundStreamStateMachine.Action] {
        var events: [XMLStreamEvent] = []
        var actions: [InboundStreamStateMachine.Action] = []
        do throws(XMLStreamError) {
            try parser.feed(Array(text.utf8), into: &events)
        } catch {
            return actionsFor(events) + machine.parseFailed(error)
        }
        actions += actionsFor(events)
        return actions
    }

    private mutating func actionsFor(_ events: [XMLStreamEvent]) -> [InboundStreamStateMachine.Action] {
        var actions: [InboundStreamStateMachine.Action] = []
        for event in events {
            switch event {
            case .streamOpened(let header):
                streamNumber += 1
                actions += machine.streamHeaderReceived(header, streamID: "stream-\(streamNumber)")
            case .element(let element):
                actions += machine.elementReceived(element)
            case .streamClosed:
                actions += machine.peerClosedStream()
            }
            if actions.contains(.restartStream) { parser.restart() }
        }
        return actions
    }

    static func header(from: String = "fabrikam.example", to: String = "contoso.example", version: Bool = true) -> String {
        "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='\(from)' to='\(to)'\(version ? " version='1.0'" : "")>"
    }
}

extension [InboundStreamStateMachine.Action] {
    var sentElements: [XMLElement] {
        compactMap { if case .sendElement(let element) = $0 { element } else { nil } }
    }

    var features: XMLElement? {
        sentElements.first { $0.name == "features" && $0.namespace == Namespace.streams }
    }

    var closeError: StreamError?? {
        for action in self { if case .close(let error) = action { return .some(error) } }
        return .none
    }

    var delivered: [Stanza] {
        compactMap { if case .deliver(let stanza) = $0 { stanza } else { nil } }
    }
}

func partner(_ domain: String, tls: NegotiationRequirement = .required, sasl: NegotiationRequirement = .required, dialback: Bool = true) -> PartnerPolicy {
    PartnerPolicy(domain: DomainPattern(exactly: domain), negotiation: NegotiationPolicy(tls: tls, sasl: sasl, supportDialback: dialback))
}

@Suite("Inbound stream")
struct InboundStreamTests {
    static let message = "<message from='bob@fabrikam.example/a' to='alice@contoso.example' type='chat'><body>hi</body></message>"

    @Test("a domain that may not federate is refused at the stream level, after our header")
    func refusedDomain() {
        var harness = InboundHarness(partners: [partner("fabrikam.example")])
        let actions = harness.peer(InboundHarness.header(from: "evil.example"))
        guard case .sendBytes = actions.first else {
            Issue.record("our header must come first: \(actions)")
            return
        }
        #expect(actions.closeError??.condition == .policyViolation)
        #expect(actions.closeError??.text?.contains("not on the allowlist") == true)
    }

    @Test("a stream to a domain we do not serve is host-unknown")
    func unknownHost() {
        var harness = InboundHarness(partners: [partner("fabrikam.example")])
        #expect(harness.peer(InboundHarness.header(to: "other.example")).closeError??.condition == .hostUnknown)
    }

    @Test("TLS required: only STARTTLS is offered, and stanzas before TLS are a policy violation")
    func tlsFirst() throws {
        var harness = InboundHarness(partners: [partner("fabrikam.example")])
        let features = try #require(harness.peer(InboundHarness.header()).features)
        #expect(features.firstElement(named: "starttls", namespace: Namespace.tls)?.firstElement(named: "required", namespace: Namespace.tls) != nil)
        #expect(features.elements.count == 1, "no SASL and no dialback before TLS")
        #expect(harness.peer(Self.message).closeError??.condition == .policyViolation)
    }

    @Test("STARTTLS, then SASL EXTERNAL with a valid certificate, then stanzas")
    func tlsThenSASL() throws {
        var harness = InboundHarness(partners: [partner("fabrikam.example")])
        _ = harness.peer(InboundHarness.header())
        let starttls = harness.peer("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        #expect(starttls.sentElements.map(\.name) == ["proceed"])
        #expect(starttls.contains(.startTLS))
        #expect(harness.machine.tlsEstablished(peerCertificateDomains: ["fabrikam.example"]) == [.restartStream])
        harness.parser.restart()
        let features = try #require(harness.peer(InboundHarness.header()).features)
        #expect(features.firstElement(named: "starttls", namespace: Namespace.tls) == nil)
        #expect(features.firstElement(named: "mechanisms", namespace: Namespace.sasl) != nil)
        let auth = harness.peer("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
        #expect(auth.sentElements.map(\.name) == ["success"])
        #expect(auth.contains(.authenticated(pair: LinkKey(local: "contoso.example", remote: "fabrikam.example"), method: .saslOverTLS)))
        let reopened = harness.peer(InboundHarness.header())
        #expect(reopened.features?.elements.isEmpty == true, "nothing left to negotiate")
        #expect(harness.peer(Self.message).delivered.count == 1)
        let spoofed = harness.peer("<message from='ceo@contoso.example' to='alice@contoso.example'/>")
        #expect(spoofed.closeError??.condition == .invalidFrom)
    }

    @Test("no SASL is offered for a certificate that does not cover the claimed domain; dialback is")
    func certificateForAnotherDomain() throws {
        var harness = InboundHarness(partners: [partner("fabrikam.example", sasl: .optional)])
        _ = harness.peer(InboundHarness.header())
        _ = harness.peer("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        _ = harness.machine.tlsEstablished(peerCertificateDomains: ["other.example"])
        harness.parser.restart()
        let features = try #require(harness.peer(InboundHarness.header()).features)
        #expect(features.firstElement(named: "mechanisms", namespace: Namespace.sasl) == nil)
        #expect(features.firstElement(named: "dialback", namespace: Namespace.dialbackFeature) != nil)
    }

    @Test("dialback over TCP where the partner allows it: verify with the authoritative server, then stanzas")
    func tcpDialback() throws {
        var harness = InboundHarness(partners: [partner("fabrikam.example", tls: .notSupported, sasl: .notSupported)])
        let opened = harness.peer(InboundHarness.header())
        let features = try #require(opened.features)
        #expect(features.firstElement(named: "starttls", namespace: Namespace.tls) == nil)
        #expect(features.firstElement(named: "dialback", namespace: Namespace.dialbackFeature) != nil)

        let key = DialbackKey(secret: DialbackSecret("fabrikam's own secret"), receivingServer: "contoso.example", originatingServer: "fabrikam.example", streamID: "stream-1")
        let asked = harness.peer("<db:result from='fabrikam.example' to='contoso.example'>\(key.rawValue)</db:result>")
        guard case .requestDialbackVerification(let authority, let verify)? = asked.first else {
            Issue.record("expected a verification request, got \(asked)")
            return
        }
        #expect(authority == "fabrikam.example")
        #expect(verify.id == "stream-1")
        #expect(harness.peer(Self.message).closeError??.condition == .notAuthorized, "nothing before the pair is authorized")
    }

    @Test("the verification answer authorizes the pair, and stanzas flow")
    func dialbackAnswer() throws {
        var harness = InboundHarness(partners: [partner("fabrikam.example", tls: .notSupported, sasl: .notSupported)])
        _ = harness.peer(InboundHarness.header())
        let key = DialbackKey(secret: DialbackSecret("fabrikam's own secret"), receivingServer: "contoso.example", originatingServer: "fabrikam.example", streamID: "stream-1")
        guard case .requestDialbackVerification(_, let verify)? = harness.peer("<db:result from='fabrikam.example' to='contoso.example'>\(key.rawValue)</db:result>").first else {
            Issue.record("no verification request")
            return
        }
        let answered = harness.machine.dialbackVerificationAnswered(verify.answered(.valid))
        #expect(answered.contains(.authenticated(pair: LinkKey(local: "contoso.example", remote: "fabrikam.example"), method: .tcpDialback)))
        #expect(answered.sentElements.first?["type"] == "valid")
        #expect(harness.peer(Self.message).delivered.count == 1)
    }

    @Test("dialback is refused before TLS when the partner requires TLS")
    func dialbackNeedsTLS() {
        var harness = InboundHarness(partners: [partner("fabrikam.example", sasl: .optional)])
        _ = harness.peer(InboundHarness.header())
        let actions = harness.peer("<db:result from='fabrikam.example' to='contoso.example'>abc</db:result>")
        #expect(!actions.contains { if case .requestDialbackVerification = $0 { true } else { false } })
        #expect(actions.sentElements.first?["type"] == "error")
        let pair = DialbackDomainPair(sender: "fabrikam.example", target: "contoso.example")
        #expect(actions.last == .dialbackRefused(pair, .dialbackError(StanzaError(.policyViolation))))
    }

    @Test("a sender that may not federate, named only in <db:result/>, is refused and reported for the log")
    func dialbackFromRefusedDomain() {
        var harness = InboundHarness(partners: [partner("fabrikam.example", tls: .optional, sasl: .optional)])
        let opened = harness.peer("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' to='contoso.example' version='1.0'>")
        #expect(opened.closeError == nil, "a header without 'from' is answered")
        let actions = harness.peer("<db:result from='evil.example' to='contoso.example'>abc</db:result>")
        #expect(actions.sentElements.first?["type"] == "error")
        let pair = DialbackDomainPair(sender: "evil.example", target: "contoso.example")
        #expect(actions.last == .dialbackRefused(pair, .dialbackError(StanzaError(.forbidden))))
        #expect(!harness.machine.isAuthenticated)
    }

    @Test("a certificate valid for the sender makes dialback over TLS immediate (no dial-back)")
    func dialbackWithCertificate() {
        var harness = InboundHarness(partners: [partner("fabrikam.example", sasl: .optional)])
        _ = harness.peer(InboundHarness.header())
        _ = harness.peer("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        _ = harness.machine.tlsEstablished(peerCertificateDomains: ["fabrikam.example"])
        harness.parser.restart()
        _ = harness.peer(InboundHarness.header())
        let actions = harness.peer("<db:result from='fabrikam.example' to='contoso.example'>anykey</db:result>")
        #expect(actions.contains(.authenticated(pair: LinkKey(local: "contoso.example", remote: "fabrikam.example"), method: .tlsDialback)))
    }

    @Test("as authoritative server: a key we issued verifies, a forged one does not")
    func authoritative() {
        var harness = InboundHarness(partners: [partner("fabrikam.example", tls: .notSupported, sasl: .notSupported)])
        _ = harness.peer(InboundHarness.header())
        let ours = DialbackKey(secret: InboundHarness.secret, receivingServer: "fabrikam.example", originatingServer: "contoso.example", streamID: "s9")
        let good = harness.peer("<db:verify from='fabrikam.example' to='contoso.example' id='s9'>\(ours.rawValue)</db:verify>")
        #expect(good.sentElements.first?["type"] == "valid")
        let forged = harness.peer("<db:verify from='fabrikam.example' to='contoso.example' id='s9'>0000</db:verify>")
        #expect(forged.sentElements.first?["type"] == "invalid")
    }

    @Test("STARTTLS when it was not offered gets a TLS failure and the stream closes")
    func unofferedTLS() {
        var harness = InboundHarness(partners: [partner("fabrikam.example", tls: .notSupported, sasl: .notSupported)])
        _ = harness.peer(InboundHarness.header())
        let actions = harness.peer("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        #expect(actions.sentElements.map(\.name) == ["failure"])
        #expect(actions.closeError == .some(nil))
    }

    @Test("hostile XML and peer stream errors end the stream")
    func endings() {
        var restricted = InboundHarness(partners: [partner("fabrikam.example")])
        _ = restricted.peer(InboundHarness.header())
        #expect(restricted.peer("<!-- hi -->").closeError??.condition == .restrictedXML)

        var peerError = InboundHarness(partners: [partner("fabrikam.example")])
        _ = peerError.peer(InboundHarness.header())
        #expect(peerError.peer("<stream:error><host-gone xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>").closeError == .some(nil))
        #expect(peerError.peer(Self.message).isEmpty, "nothing after the close")

        var unknown = InboundHarness(partners: [partner("fabrikam.example")])
        _ = unknown.peer(InboundHarness.header())
        #expect(unknown.peer("<foo xmlns='urn:x'/>").closeError??.condition == .unsupportedStanzaType)
    }

    @Test("a pre-1.0 peer gets no features and may use dialback")
    func legacyPeer() {
        var harness = InboundHarness(partners: [partner("fabrikam.example", tls: .optional, sasl: .optional)])
        let actions = harness.peer(InboundHarness.header(version: false))
        #expect(actions.features == nil)
        let asked = harness.peer("<db:result from='fabrikam.example' to='contoso.example'>abc</db:result>")
        #expect(asked.contains { if case .requestDialbackVerification = $0 { true } else { false } })
    }

    @Test("the gateway cutting a stream before the peer's header sends our header first, so the error is read in a stream")
    func closeRequestedBeforeHeader() {
        var harness = InboundHarness(partners: [partner("fabrikam.example")])
        let actions = harness.machine.closeRequested(StreamError(.connectionTimeout, text: "too slow"), streamID: "stream-1")
        guard case .sendBytes(let bytes) = actions.first else {
            Issue.record("our header must come first: \(actions)")
            return
        }
        #expect(String(decoding: bytes, as: UTF8.self).contains("id='stream-1'"))
        #expect(actions.closeError??.condition == .connectionTimeout)
        #expect(harness.machine.closeRequested(nil, streamID: "stream-2").isEmpty, "closed once")
    }

    @Test("after our header, a cut is the stream error alone; a polite close is the closing tag alone")
    func closeRequestedOpenStream() {
        var cut = InboundHarness(partners: [partner("fabrikam.example")])
        _ = cut.peer(InboundHarness.header())
        #expect(cut.machine.closeRequested(StreamError(.connectionTimeout), streamID: "unused") == [.close(StreamError(.connectionTimeout))])
        var idle = InboundHarness(partners: [partner("fabrikam.example")], authenticatedFor: "fabrikam.example")
        _ = idle.peer(InboundHarness.header())
        #expect(idle.machine.closeRequested(nil, streamID: "unused") == [.close(nil)])
    }

    @Test("before a direct TLS handshake, or politely before any header of ours, nothing can be written: the connection is dropped")
    func closeRequestedNothingToWrite() {
        var direct = InboundHarness(partners: [partner("fabrikam.example")], transport: .directTLS)
        #expect(direct.machine.closeRequested(StreamError(.connectionTimeout), streamID: "s") == [.disconnect])
        var plain = InboundHarness(partners: [partner("fabrikam.example")])
        #expect(plain.machine.closeRequested(nil, streamID: "s") == [.disconnect])
    }
}
