import Federation
import Testing
import XMLStreaming
import XMPP

/// `InboundStreamStateMachine` on a direct TLS connection (XEP-0368): the handshake is done before
/// the first byte, so STARTTLS is never offered, the stream counts as TLS-protected for policy, and
/// the certificate is asked about once the header names the claimed domain.
@Suite("Inbound stream over direct TLS")
struct InboundDirectTLSTests {
    static let message = InboundStreamTests.message

    /// A machine on the direct TLS port whose handshake has completed.
    static func harness(_ partners: [PartnerPolicy]) -> InboundHarness {
        var harness = InboundHarness(partners: partners, transport: .directTLS)
        #expect(harness.machine.directTLSEstablished().isEmpty)
        return harness
    }

    @Test("the certificate is checked for the claimed domain; no STARTTLS, SASL EXTERNAL, then stanzas")
    func saslExternal() throws {
        var harness = Self.harness([partner("fabrikam.example")])
        #expect(harness.peer(InboundHarness.header()) == [.checkPeerCertificate(domain: "fabrikam.example")], "nothing is sent before the answer")
        let opened = harness.machine.peerCertificateChecked(provenDomains: ["fabrikam.example"])
        guard case .sendBytes = opened.first else {
            Issue.record("our header must come first: \(opened)")
            return
        }
        let features = try #require(opened.features)
        #expect(features.firstElement(named: "starttls", namespace: Namespace.tls) == nil)
        let mechanisms = try #require(features.firstElement(named: "mechanisms", namespace: Namespace.sasl))
        #expect(mechanisms.elements.map(\.text) == ["EXTERNAL"])

        let auth = harness.peer("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
        #expect(auth.sentElements.map(\.name) == ["success"])
        #expect(auth.contains(.authenticated(pair: LinkKey(local: "contoso.example", remote: "fabrikam.example"), method: .saslOverTLS)))
        #expect(auth.contains(.restartStream))
        let reopened = harness.peer(InboundHarness.header())
        #expect(!reopened.contains { if case .checkPeerCertificate = $0 { true } else { false } }, "the certificate is checked once")
        #expect(reopened.features?.elements.isEmpty == true, "nothing left to negotiate")
        #expect(harness.peer(Self.message).delivered.count == 1)
    }

    @Test("a certificate that does not validate for the claimed domain gets no SASL offer, and EXTERNAL fails")
    func invalidCertificate() throws {
        var strict = Self.harness([partner("fabrikam.example", dialback: false)])
        _ = strict.peer(InboundHarness.header())
        let features = try #require(strict.machine.peerCertificateChecked(provenDomains: []).features)
        #expect(features.elements.isEmpty, "neither STARTTLS nor SASL nor dialback: \(features)")
        #expect(strict.peer("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>").sentElements.map(\.name) == ["failure"])
    }

    @Test("tls = required is satisfied: dialback is offered and runs as TLS dialback, without a certificate")
    func dialbackCountsAsTLS() throws {
        var harness = Self.harness([partner("fabrikam.example", sasl: .optional)])
        _ = harness.peer(InboundHarness.header())
        let features = try #require(harness.machine.peerCertificateChecked(provenDomains: []).features)
        #expect(features.firstElement(named: "starttls", namespace: Namespace.tls) == nil)
        #expect(features.firstElement(named: "mechanisms", namespace: Namespace.sasl) == nil)
        #expect(features.firstElement(named: "dialback", namespace: Namespace.dialbackFeature) != nil)
        #expect(harness.peer(Self.message).closeError??.condition == .notAuthorized, "not a TLS policy violation: TLS is up")

        var dialback = Self.harness([partner("fabrikam.example", sasl: .optional)])
        _ = dialback.peer(InboundHarness.header())
        _ = dialback.machine.peerCertificateChecked(provenDomains: [])
        let key = DialbackKey(secret: DialbackSecret("fabrikam's own secret"), receivingServer: "contoso.example", originatingServer: "fabrikam.example", streamID: "stream-1")
        guard case .requestDialbackVerification(_, let verify)? = dialback.peer("<db:result from='fabrikam.example' to='contoso.example'>\(key.rawValue)</db:result>").first else {
            Issue.record("dialback was refused on a direct TLS stream")
            return
        }
        #expect(dialback.machine.dialbackVerificationAnswered(verify.answered(.valid)).contains(.authenticated(pair: LinkKey(local: "contoso.example", remote: "fabrikam.example"), method: .tlsDialback)))
        #expect(dialback.peer(Self.message).delivered.count == 1)
    }

    @Test("a certificate valid for the sender makes dialback immediate, as after STARTTLS")
    func dialbackWithCertificate() {
        var harness = Self.harness([partner("fabrikam.example", sasl: .optional)])
        _ = harness.peer(InboundHarness.header())
        _ = harness.machine.peerCertificateChecked(provenDomains: ["fabrikam.example"])
        let actions = harness.peer("<db:result from='fabrikam.example' to='contoso.example'>anykey</db:result>")
        #expect(actions.contains(.authenticated(pair: LinkKey(local: "contoso.example", remote: "fabrikam.example"), method: .tlsDialback)))
    }

    @Test("a partner set to tls = not-supported is refused on the direct TLS port, after our header")
    func tlsNotSupported() {
        var harness = Self.harness([partner("fabrikam.example", tls: .notSupported, sasl: .notSupported)])
        let actions = harness.peer(InboundHarness.header())
        guard case .sendBytes = actions.first else {
            Issue.record("our header must come first: \(actions)")
            return
        }
        #expect(actions.closeError??.condition == .policyViolation)
        #expect(actions.closeError??.text?.contains("tls = not-supported") == true)
        #expect(!actions.contains(.checkPeerCertificate(domain: "fabrikam.example")))
    }

    @Test("domains that may not federate are refused before any certificate check")
    func refusedDomain() {
        var harness = Self.harness([partner("fabrikam.example")])
        let actions = harness.peer(InboundHarness.header(from: "evil.example"))
        #expect(actions.closeError??.condition == .policyViolation)
        #expect(!actions.contains { if case .checkPeerCertificate = $0 { true } else { false } })
    }

    @Test("a header without 'from' needs no certificate check: no SASL, dialback over TLS")
    func anonymousHeader() throws {
        var harness = Self.harness([partner("fabrikam.example", sasl: .optional)])
        let opened = harness.peer("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' to='contoso.example' version='1.0'>")
        let features = try #require(opened.features)
        #expect(features.firstElement(named: "starttls", namespace: Namespace.tls) == nil)
        #expect(features.firstElement(named: "mechanisms", namespace: Namespace.sasl) == nil)
        #expect(features.firstElement(named: "dialback", namespace: Namespace.dialbackFeature) != nil)
    }

    @Test("STARTTLS on a direct TLS stream gets a TLS failure and the stream closes")
    func noSecondTLS() {
        var harness = Self.harness([partner("fabrikam.example")])
        _ = harness.peer(InboundHarness.header())
        _ = harness.machine.peerCertificateChecked(provenDomains: ["fabrikam.example"])
        let actions = harness.peer("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        #expect(actions.sentElements.map(\.name) == ["failure"])
        #expect(actions.closeError == .some(nil))
    }

    @Test("events out of order close the stream")
    func outOfOrder() {
        var early = InboundHarness(partners: [partner("fabrikam.example")], transport: .directTLS)
        #expect(early.peer(InboundHarness.header()).closeError??.condition == .policyViolation, "a header before the handshake")

        var twice = Self.harness([partner("fabrikam.example")])
        #expect(twice.machine.directTLSEstablished().closeError??.condition == .internalServerError)

        var unasked = Self.harness([partner("fabrikam.example")])
        #expect(unasked.machine.peerCertificateChecked(provenDomains: ["fabrikam.example"]).closeError??.condition == .internalServerError)

        var startTLS = InboundHarness(partners: [partner("fabrikam.example")])
        #expect(startTLS.machine.directTLSEstablished().closeError??.condition == .internalServerError)
    }
}
