import Federation
import Testing
import XMLStreaming
import XMPP

@Suite("Outbound stream: whole conversations")
struct OutboundStreamTests {
    typealias F = DialbackFixtures
    typealias P = OutboundPeer

    @Test("STARTTLS, then SASL EXTERNAL: established by SASL over TLS after two restarts")
    func startTLSThenSASL() throws {
        var c = try OutboundConversation(policy: .default)
        #expect(c.connect() == [.sendBytes(P.ourHeader)])
        #expect(c.machine.phase == .awaitingStreamHeader)
        #expect(c.peer(P.header(id: "plain-1")).isEmpty)
        #expect(c.peer(P.features(starttls: true, dialback: true)) == [.sendElement(P.starttls)])
        #expect(c.peer(P.proceed) == [.startTLS(serverName: F.montague)])
        #expect(c.tlsEstablished(peerCertificateValid: true) == [.sendBytes(P.ourHeader)])
        #expect(c.peer(P.header(id: "tls-1")).isEmpty)
        #expect(c.peer(P.features(external: true, dialback: true)) == [.sendElement(P.auth)])
        #expect(c.peer(P.saslSuccess) == [.restartStream, .sendBytes(P.ourHeader)])
        #expect(c.peer(P.header(id: "sasl-1")).isEmpty)
        let expected = OutboundEstablishedStream(
            localDomain: F.capulet,
            remoteDomain: F.montague,
            method: .saslOverTLS,
            security: .startTLS(peerCertificateValidForRemote: true),
            streamID: "sasl-1"
        )
        #expect(c.peer("<stream:features/>") == [.established(expected)])
        #expect(c.machine.establishedStream == expected)
        #expect(c.machine.failure == nil)
    }

    @Test("our header is from us, to the peer, version 1.0, and declares db:")
    func ourHeader() {
        let text = String(decoding: P.ourHeader, as: UTF8.self)
        #expect(text.hasPrefix("<stream:stream "))
        #expect(text.contains("from='capulet.example'"))
        #expect(text.contains("to='montague.example'"))
        #expect(text.contains("version='1.0'"))
        #expect(text.contains("xmlns='jabber:server'"))
        #expect(text.contains("xmlns:db='jabber:server:dialback'"))
    }

    @Test("an empty challenge gets '=' as the response")
    func saslChallenge() throws {
        var c = try OutboundConversation.inPhase(.authenticatingSASL)
        let response = XMLElement("response", namespace: Namespace.sasl, children: [.text("=")])
        #expect(c.peer(P.saslChallenge) == [.sendElement(response)])
        #expect(c.peer(P.saslSuccess) == [.restartStream, .sendBytes(P.ourHeader)])
    }

    @Test("SASL refused: dialback on the same stream, with XEP-0220's key for its stream ID")
    func saslFailureFallsBackToDialback() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true))
        _ = c.connect()
        _ = c.peer(P.header(id: "plain-1"))
        _ = c.peer(P.features(starttls: true, dialback: true))
        _ = c.peer(P.proceed)
        _ = c.tlsEstablished(peerCertificateValid: false)
        _ = c.peer(P.header(id: F.capuletToMontagueStreamID))
        #expect(c.peer(P.features(external: true, dialback: true)) == [.sendElement(P.auth)])

        let request = c.peer(P.saslFailure)
        let xep0220Example1 = DialbackResult.request(for: F.capuletToMontague, key: DialbackKey(rawValue: F.capuletKey))
        #expect(request == [.sendElement(xep0220Example1.element)])
        #expect(request == [.sendElement(P.dialbackRequest(streamID: F.capuletToMontagueStreamID))])
        #expect(c.machine.phase == .dialback)

        let established = try #require(c.peer(P.dialbackValid).first?.establishedStream)
        #expect(established.method == .tlsDialback)
        #expect(established.security == .startTLS(peerCertificateValidForRemote: false))
        #expect(established.streamID == F.capuletToMontagueStreamID)
    }

    @Test("TLS required but not offered: policy-violation, and a reason that says so")
    func tlsRequiredNotOffered() throws {
        var c = try OutboundConversation(policy: .default)
        _ = c.connect()
        _ = c.peer(P.header())
        let actions = c.peer(P.features(external: true, dialback: true))
        let failure = try #require(actions.failures.first)
        #expect(actions == [.close(StreamError(.policyViolation, text: "this server requires TLS")), .failed(failure)])
        #expect(failure.cause == .policy)
        #expect(failure.reason.contains("TLS is required"))
        #expect(failure.reason.contains("does not offer STARTTLS"))
        #expect(failure.sentStreamError?.condition == .policyViolation)
        #expect(failure.bounceError.condition == .remoteServerTimeout)
        #expect(failure.bounceError.type == .cancel)
        #expect(!failure.isTemporary)
        #expect(c.machine.phase == .closing)
        #expect(c.peer(P.close) == [.closeConnection])
        #expect(c.machine.phase == .closed)
        #expect(c.machine.failure == failure)
    }

    @Test("SASL required, dialback off, EXTERNAL not offered: no way to authenticate")
    func saslRequiredNotOffered() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .required, sasl: .required, supportDialback: false))
        _ = c.connect()
        _ = c.peer(P.header(id: "plain-1"))
        _ = c.peer(P.features(starttls: true, dialback: true))
        _ = c.peer(P.proceed)
        _ = c.tlsEstablished()
        _ = c.peer(P.header())
        let actions = c.peer(P.features(dialback: true))
        let failure = try #require(actions.failures.first)
        #expect(actions.closes.first??.condition == .unsupportedFeature)
        #expect(failure.cause == .policy)
        #expect(failure.reason.contains("does not offer SASL EXTERNAL"))
        #expect(failure.reason.contains("dialback is off"))
        #expect(!actions.contains { if case .sendElement = $0 { true } else { false } })
    }

    @Test("TLS and SASL both required: a refused EXTERNAL does not fall back to dialback")
    func strictPolicyNoFallback() throws {
        var c = try OutboundConversation(policy: .default)
        _ = c.connect()
        _ = c.peer(P.header(id: "plain-1"))
        _ = c.peer(P.features(starttls: true, dialback: true))
        _ = c.peer(P.proceed)
        _ = c.tlsEstablished()
        _ = c.peer(P.header())
        _ = c.peer(P.features(external: true, dialback: true))
        let actions = c.peer(P.saslFailure)
        let failure = try #require(actions.failures.first)
        #expect(actions == [.close(nil), .failed(failure)])
        #expect(failure.cause == .saslRefused(.notAuthorized))
        #expect(failure.reason.contains("not accepted when TLS and SASL are both required"))
        #expect(failure.bounceError.condition == .remoteServerTimeout)
    }

    @Test("TLS not-supported: offered STARTTLS is ignored, dialback runs over TCP")
    func tlsNotSupported() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .notSupported, sasl: .notSupported, supportDialback: true))
        _ = c.connect()
        _ = c.peer(P.header())
        let request = c.peer(P.features(starttls: true, external: true, dialback: true))
        #expect(request == [.sendElement(P.dialbackRequest(streamID: F.capuletToMontagueStreamID))])
        let established = try #require(c.peer(P.dialbackValid).first?.establishedStream)
        #expect(established.method == .tcpDialback)
        #expect(established.security == .plaintext)
    }

    @Test("TLS not-supported, but the peer requires it: unsupported-feature")
    func peerRequiresTLS() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .notSupported, sasl: .notSupported, supportDialback: true))
        _ = c.connect()
        _ = c.peer(P.header())
        let actions = c.peer(P.features(starttls: true, tlsRequired: true, dialback: true))
        let failure = try #require(actions.failures.first)
        #expect(actions.closes.first??.condition == .unsupportedFeature)
        #expect(failure.cause == .policy)
        #expect(failure.reason.contains("requires TLS"))
    }

    @Test("direct TLS: no STARTTLS step even when offered; SASL at once")
    func directTLS() throws {
        var c = try OutboundConversation(policy: .default, directTLS: true)
        #expect(c.connect(peerCertificateValid: true) == [.sendBytes(P.ourHeader)])
        _ = c.peer(P.header(id: "direct-1"))
        #expect(c.peer(P.features(starttls: true, external: true, dialback: true)) == [.sendElement(P.auth)])
        #expect(c.peer(P.saslSuccess) == [.restartStream, .sendBytes(P.ourHeader)])
        _ = c.peer(P.header(id: "direct-2"))
        let established = try #require(c.peer("<stream:features/>").first?.establishedStream)
        #expect(established.method == .saslOverTLS)
        #expect(established.security == .directTLS(peerCertificateValidForRemote: true))
        #expect(established.security.isEncrypted)
    }

    @Test("direct TLS to a partner whose TLS is not-supported fails before writing anything")
    func directTLSNotSupported() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .notSupported, sasl: .notSupported, supportDialback: true), directTLS: true)
        let actions = c.connect()
        let failure = try #require(actions.failures.first)
        #expect(actions == [.closeConnection, .failed(failure)])
        #expect(failure.cause == .policy)
    }

    @Test("a pre-1.0 peer sends no features: dialback at once, bound to its stream ID")
    func legacyPeer() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .optional, sasl: .optional, supportDialback: true))
        _ = c.connect()
        #expect(c.peer(P.header(id: "old-1", version: nil)) == [.sendElement(P.dialbackRequest(streamID: "old-1"))])
        let established = try #require(c.peer(P.dialbackValid).first?.establishedStream)
        #expect(established.method == .tcpDialback)
    }

    @Test("a pre-1.0 peer cannot satisfy a TLS requirement: unsupported-version")
    func legacyPeerWithTLSRequired() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true))
        _ = c.connect()
        let actions = c.peer(P.header(version: nil))
        let failure = try #require(actions.failures.first)
        #expect(actions.closes.first??.condition == .unsupportedVersion)
        #expect(failure.cause == .policy)
        #expect(failure.reason.contains("version 1.0"))
    }

    @Test("a pre-1.0 peer without a stream ID cannot do dialback: invalid-xml")
    func legacyPeerWithoutID() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .optional, sasl: .optional, supportDialback: true))
        _ = c.connect()
        let actions = c.peer(P.header(id: nil, version: nil))
        #expect(actions.closes.first??.condition == .invalidXML)
        #expect(actions.failures.first?.cause == .protocolViolation)
    }

    @Test("dialback is not tried unless the peer offers it")
    func dialbackNotOffered() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .optional, sasl: .optional, supportDialback: true))
        _ = c.connect()
        _ = c.peer(P.header())
        let actions = c.peer(P.features())
        let failure = try #require(actions.failures.first)
        #expect(failure.reason.contains("the peer does not offer dialback"))
        #expect(failure.reason.contains("SASL EXTERNAL needs TLS"))
    }

    @Test("without a dialback secret, dialback is out")
    func noSecret() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .optional, sasl: .optional, supportDialback: true), secret: nil)
        _ = c.connect()
        _ = c.peer(P.header())
        let failure = try #require(c.peer(P.features(dialback: true)).failures.first)
        #expect(failure.reason.contains("no dialback secret"))
    }

    @Test("dialback refused: invalid bounces with internal-server-error, an error with remote-server-timeout")
    func dialbackRefused() throws {
        var invalid = try OutboundConversation.inPhase(.dialback)
        let refusedInvalid = try #require(invalid.peer(P.dialbackInvalid).failures.first)
        #expect(refusedInvalid.cause == .dialbackRefused(.keyInvalid))
        #expect(refusedInvalid.bounceError.condition == .internalServerError)

        var error = try OutboundConversation.inPhase(.dialback)
        let answer = "<db:result from='\(F.montague)' to='\(F.capulet)' type='error'>"
            + "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>"
        let actions = error.peer(answer)
        let refusedError = try #require(actions.failures.first)
        #expect(actions == [.close(nil), .failed(refusedError)])
        #expect(refusedError.cause == .dialbackRefused(.dialbackError(StanzaError(.itemNotFound, type: .cancel))))
        #expect(refusedError.bounceError.condition == .remoteServerTimeout)
    }

    @Test("a peer's stream error ends negotiation without an answering error", arguments: [
        (OutboundStreamStateMachine.Phase.awaitingFeatures, "host-unknown", StanzaError.Condition.remoteServerNotFound, StanzaError.ErrorType.cancel),
        (.negotiatingTLS, "system-shutdown", .remoteServerTimeout, .wait),
        (.authenticatingSASL, "policy-violation", .remoteServerTimeout, .cancel),
        (.dialback, "see-other-host", .remoteServerTimeout, .wait),
    ])
    func peerStreamError(
        phase: OutboundStreamStateMachine.Phase,
        condition: String,
        bounce: StanzaError.Condition,
        type: StanzaError.ErrorType
    ) throws {
        var c = try OutboundConversation.inPhase(phase)
        let actions = c.peer(P.streamError(condition))
        let failure = try #require(actions.failures.first)
        #expect(actions == [.close(nil), .failed(failure)])
        guard case .peerStreamError(let error) = failure.cause else {
            Issue.record("expected a peer stream error, got \(failure.cause)")
            return
        }
        #expect(error.condition.rawValue == condition)
        #expect(failure.sentStreamError == nil)
        #expect(failure.bounceError.condition == bounce)
        #expect(failure.bounceError.type == type)
        #expect(c.peer(P.close) == [.closeConnection])
    }

    @Test("a stream error on an established stream ends it; new stanzas need a new stream")
    func peerStreamErrorWhenEstablished() throws {
        var c = try OutboundConversation.inPhase(.established)
        let actions = c.peer(P.streamError("connection-timeout"))
        let ending = try #require(actions.endings.first)
        #expect(actions == [.close(nil), .ended(ending)])
        #expect(actions.failures.isEmpty)
        #expect(c.machine.stanzaSendRequested(Self.message) == .streamEnded)
    }

    @Test("the peer's header is checked: a client stream is invalid-namespace")
    func invalidHeader() throws {
        var c = try OutboundConversation()
        _ = c.connect()
        let actions = c.peer(P.header(contentNamespace: "jabber:client"))
        #expect(actions.closes.first??.condition == .invalidNamespace)
        #expect(actions.failures.first?.cause == .protocolViolation)
    }

    @Test("STARTTLS refused with <failure/>: TLS failure, our closing tag, then wait")
    func tlsRefused() throws {
        var c = try OutboundConversation.inPhase(.negotiatingTLS)
        let actions = c.peer(P.tlsFailure)
        let failure = try #require(actions.failures.first)
        #expect(actions == [.close(nil), .failed(failure)])
        #expect(failure.cause == .tlsFailed)
        #expect(failure.bounceError.type == .wait)
    }

    @Test("a failed TLS handshake closes without writing in plaintext")
    func tlsHandshakeFailed() throws {
        var c = try OutboundConversation.inPhase(.awaitingTLSHandshake)
        let actions = c.machine.tlsFailed(reason: "certificate expired")
        let failure = try #require(actions.failures.first)
        #expect(actions == [.closeConnection, .failed(failure)])
        #expect(failure.reason.contains("certificate expired"))
    }

    @Test("data after <proceed/> in the same read is refused unparsed (STARTTLS injection)")
    func startTLSInjection() throws {
        var c = try OutboundConversation.inPhase(.negotiatingTLS)
        let actions = c.peer(P.proceed + P.features(external: true))
        let failure = try #require(actions.failures.first)
        #expect(actions == [.startTLS(serverName: F.montague), .closeConnection, .failed(failure)])
        #expect(failure.cause == .protocolViolation)
        #expect(failure.sentStreamError == nil)
    }

    @Test("negotiation timing out: connection-timeout, close at once, bounce with wait")
    func timeout() throws {
        var c = try OutboundConversation.inPhase(.dialback)
        let actions = c.machine.timedOut()
        let failure = try #require(actions.failures.first)
        #expect(actions == [.close(StreamError(.connectionTimeout, text: "stream negotiation took too long")), .closeConnection, .failed(failure)])
        #expect(failure.cause == .timedOut)
        #expect(failure.bounceError.condition == .remoteServerTimeout)
        #expect(failure.bounceError.type == .wait)
        #expect(failure.isTemporary)
    }

    @Test("timers: ignored once established, close the connection while closing")
    func timers() throws {
        var established = try OutboundConversation.inPhase(.established)
        #expect(established.machine.timedOut().isEmpty)
        #expect(established.machine.phase == .established)
        var closing = try OutboundConversation.inPhase(.closing)
        #expect(closing.machine.timedOut() == [.closeConnection])
        #expect(closing.machine.phase == .closed)
    }

    @Test("the peer closing during negotiation: answer, close, fail")
    func peerClosesDuringNegotiation() throws {
        var c = try OutboundConversation.inPhase(.awaitingFeatures)
        let actions = c.peer(P.close)
        let failure = try #require(actions.failures.first)
        #expect(actions == [.close(nil), .closeConnection, .failed(failure)])
        #expect(failure.cause == .closedByPeer)
    }

    @Test("the peer closing an established stream: answer and close")
    func peerClosesEstablished() throws {
        var c = try OutboundConversation.inPhase(.established)
        let actions = c.peer(P.close)
        let ending = try #require(actions.endings.first)
        #expect(actions == [.close(nil), .closeConnection, .ended(ending)])
        #expect(ending.cause == .closedByPeer)
    }

    @Test("a lost connection: nothing written, the failure reported")
    func connectionLost() throws {
        var negotiating = try OutboundConversation.inPhase(.authenticatingSASL)
        let actions = negotiating.machine.connectionClosed()
        let failure = try #require(actions.failures.first)
        #expect(actions == [.failed(failure)])
        #expect(failure.cause == .connectionLost)

        var established = try OutboundConversation.inPhase(.established)
        let ended = established.machine.connectionClosed()
        #expect(ended.count == 1)
        #expect(ended.endings.first?.cause == .connectionLost)
    }

    @Test("unparseable bytes: the parser's stream error, then close at once")
    func parseFailure() throws {
        var c = try OutboundConversation.inPhase(.awaitingFeatures)
        let actions = c.peer("<!-- no comments in XMPP -->")
        let failure = try #require(actions.failures.first)
        #expect(actions == [.close(failure.sentStreamError), .closeConnection, .failed(failure)])
        #expect(failure.sentStreamError?.condition == .restrictedXML)
        #expect(failure.cause == .protocolViolation)
    }

    @Test("closing an established stream on request: closing tag, then the peer's, then close")
    func closeRequested() throws {
        var c = try OutboundConversation.inPhase(.established)
        #expect(c.machine.closeRequested() == [.close(nil)])
        #expect(c.machine.phase == .closing)
        #expect(c.machine.closeRequested().isEmpty)
        #expect(c.machine.stanzaSendRequested(Self.message) == .streamEnded)
        #expect(c.peer(P.close) == [.closeConnection])
        #expect(c.machine.failure == nil)
    }

    @Test("closing on request before establishment is a failure, so queued stanzas bounce")
    func closeRequestedWhileNegotiating() throws {
        var c = try OutboundConversation.inPhase(.awaitingFeatures)
        let actions = c.machine.closeRequested()
        let failure = try #require(actions.failures.first)
        #expect(actions == [.close(nil), .failed(failure)])
        #expect(failure.cause == .closeRequested)
        #expect(c.machine.stanzaSendRequested(Self.message) == .bounce(failure.bounceError))
    }

    static let message = XMLElement(
        "message",
        namespace: Namespace.server,
        attributes: ["from": "juliet@capulet.example", "to": "romeo@montague.example"],
        children: [.element(XMLElement("body", namespace: Namespace.server, children: [.text("Art thou not Romeo?")]))]
    )

    @Test("stanzas are queued until established, sent once established", arguments: [
        OutboundStreamStateMachine.Phase.idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS,
        .awaitingTLSHandshake, .authenticatingSASL, .dialback,
    ])
    func stanzasQueuedBeforeEstablishment(phase: OutboundStreamStateMachine.Phase) throws {
        let c = try OutboundConversation.inPhase(phase)
        #expect(c.machine.stanzaSendRequested(Self.message) == .queue)
        #expect(c.machine.phase == phase)
    }

    @Test("an established stream sends stanzas as they are")
    func stanzasSentWhenEstablished() throws {
        let c = try OutboundConversation.inPhase(.established)
        #expect(c.machine.stanzaSendRequested(Self.message) == .send(Self.message))
    }

    @Test("after a failed negotiation, stanzas bounce with the failure's error")
    func stanzasBounceAfterFailure() throws {
        var c = try OutboundConversation(policy: .default)
        _ = c.connect()
        _ = c.peer(P.header())
        let failure = try #require(c.peer(P.features(dialback: true)).failures.first)
        #expect(c.machine.stanzaSendRequested(Self.message) == .bounce(failure.bounceError))
        _ = c.peer(P.close)
        #expect(c.machine.stanzaSendRequested(Self.message) == .bounce(failure.bounceError))
    }

    @Test("an invalid policy fails before anything is written", arguments: [
        NegotiationPolicy(tls: .required, sasl: .notSupported, supportDialback: false),
        NegotiationPolicy(tls: .optional, sasl: .notSupported, supportDialback: false),
        NegotiationPolicy(tls: .notSupported, sasl: .required, supportDialback: false),
        NegotiationPolicy(tls: .notSupported, sasl: .optional, supportDialback: false),
        NegotiationPolicy(tls: .notSupported, sasl: .notSupported, supportDialback: false),
    ])
    func invalidPolicy(policy: NegotiationPolicy) throws {
        #expect(!policy.isValid)
        var c = try OutboundConversation(policy: policy)
        let actions = c.connect()
        let failure = try #require(actions.failures.first)
        #expect(actions == [.closeConnection, .failed(failure)])
        #expect(failure.cause == .policy)
        #expect(failure.reason.contains(policy.problem ?? "?"))
    }

    @Test("domains must be bare domains, and are kept in canonical form")
    func domains() throws {
        #expect(throws: JIDError.self) {
            try OutboundStreamStateMachine(
                localDomain: "juliet@capulet.example", remoteDomain: F.montague, policy: .default, dialbackSecret: nil, directTLS: false
            )
        }
        #expect(throws: JIDError.self) {
            try OutboundStreamStateMachine(
                localDomain: F.capulet, remoteDomain: "montague.example/balcony", policy: .default, dialbackSecret: nil, directTLS: false
            )
        }
        let machine = try OutboundStreamStateMachine(
            localDomain: "Capulet.Example", remoteDomain: F.montague, policy: .default, dialbackSecret: nil, directTLS: false
        )
        #expect(machine.localDomain == F.capulet)
    }
}
