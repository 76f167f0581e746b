import Federation
import Testing
import XMLStreaming
import XMPP

/// Our `<db:verify/>` requests as the Receiving Server (XEP-0220 §2.1.2), carried by the outbound
/// stream machine: on a connection opened only for them, and on an established link.
@Suite("Outbound stream: dialback verification requests")
struct OutboundVerificationTests {
    typealias F = DialbackFixtures
    typealias P = OutboundPeer

    static let tlsDialback = NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true)
    static let request = P.verifyRequest()
    static let valid = Self.request.answered(.valid)

    // MARK: - Verification-only connections

    @Test("verification-only: STARTTLS, then the request instead of SASL or db:result; closed once answered")
    func verificationOnly() throws {
        var c = try OutboundConversation(policy: Self.tlsDialback, purpose: .verification)
        #expect(c.machine.verificationRequested(Self.request) == .queued)
        #expect(c.connect() == [.sendBytes(P.ourHeader)])
        #expect(c.peer(P.header(id: "plain-1")).isEmpty)
        #expect(c.peer(P.features(starttls: true, dialback: true)) == [.sendElement(P.starttls)])
        #expect(c.peer(P.proceed) == [.startTLS(serverName: F.montague)])
        #expect(c.tlsEstablished() == [.sendBytes(P.ourHeader)])
        #expect(c.peer(P.header()).isEmpty)
        #expect(c.machine.outstandingVerifications == [Self.request])

        // EXTERNAL and dialback are offered, and neither is used: only the request goes out.
        #expect(c.peer(P.features(external: true, dialback: true)) == [.sendElement(Self.request.element)])
        #expect(c.machine.phase == .verifying)
        #expect(c.machine.establishedStream == nil)

        #expect(c.peer(P.verifyAnswer("valid")) == [.deliverVerificationAnswer(Self.valid), .close(nil)])
        #expect(c.machine.phase == .closing)
        #expect(c.peer(P.close) == [.closeConnection])
        #expect(c.machine.phase == .closed)
        #expect(c.machine.failure == nil, "answering everything is not a failure")
        #expect(c.machine.outstandingVerifications.isEmpty)
    }

    @Test("the request on the wire: from us, to the authoritative domain, the inbound stream's id, the key")
    func requestOnTheWire() throws {
        let text = DialbackWireFormat.string(Self.request.element)
        #expect(text == "<db:verify from='capulet.example' to='montague.example' id='417GAF25'>\(F.montagueKey)</db:verify>")
    }

    @Test("verification-only: an invalid verdict is delivered like a valid one; the inbound side decides")
    func invalidAnswer() throws {
        var c = try OutboundConversation.verifying()
        let invalid = Self.request.answered(.invalid)
        #expect(c.peer(P.verifyAnswer("invalid")) == [.deliverVerificationAnswer(invalid), .close(nil)])
    }

    @Test("verification-only: requests during negotiation wait, go out in order, a duplicate once")
    func queuedWhileNegotiating() throws {
        let second = P.verifyRequest(streamID: "other-stream")
        var c = try OutboundConversation(policy: Self.tlsDialback, purpose: .verification)
        #expect(c.machine.verificationRequested(Self.request) == .queued)
        _ = c.connect()
        _ = c.peer(P.header(id: "plain-1"))
        #expect(c.machine.verificationRequested(second) == .queued)
        #expect(c.machine.verificationRequested(Self.request) == .queued)
        _ = c.peer(P.features(starttls: true))
        _ = c.peer(P.proceed)
        _ = c.tlsEstablished()
        _ = c.peer(P.header())
        #expect(c.peer(P.features()) == [.sendElement(Self.request.element), .sendElement(second.element)])
        #expect(c.machine.outstandingVerifications == [Self.request, second])

        // Once ready, a new request goes out at once, and one already out is not sent twice.
        let third = P.verifyRequest(streamID: "third-stream")
        #expect(c.machine.verificationRequested(third) == .send(third.element))
        #expect(c.machine.verificationRequested(second) == .ignored)

        // The stream stays until the last answer.
        #expect(c.peer(P.verifyAnswer("valid", streamID: "other-stream")) == [.deliverVerificationAnswer(second.answered(.valid))])
        #expect(c.peer(P.verifyAnswer("valid")) == [.deliverVerificationAnswer(Self.valid)])
        #expect(c.machine.phase == .verifying)
        #expect(c.peer(P.verifyAnswer("invalid", streamID: "third-stream")) == [.deliverVerificationAnswer(third.answered(.invalid)), .close(nil)])
    }

    @Test("verification-only: a pre-1.0 peer sends no features and gets the request after its header")
    func legacyPeer() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .optional, sasl: .optional, supportDialback: true), purpose: .verification)
        _ = c.machine.verificationRequested(Self.request)
        _ = c.connect()
        #expect(c.peer(P.header(version: nil)) == [.sendElement(Self.request.element)])
        #expect(c.machine.phase == .verifying)
    }

    @Test("verification-only: TLS optional and not offered, the request goes out in plaintext")
    func plaintextWhereAllowed() throws {
        var c = try OutboundConversation(policy: NegotiationPolicy(tls: .optional, sasl: .optional, supportDialback: true), purpose: .verification)
        _ = c.machine.verificationRequested(Self.request)
        _ = c.connect()
        _ = c.peer(P.header())
        #expect(c.peer(P.features(dialback: true)) == [.sendElement(Self.request.element)])
    }

    @Test("verification-only: TLS required but not offered, the request fails and the stream ends")
    func tlsRequiredNotOffered() throws {
        var c = try OutboundConversation(policy: Self.tlsDialback, purpose: .verification)
        _ = c.machine.verificationRequested(Self.request)
        _ = c.connect()
        _ = c.peer(P.header())
        let actions = c.peer(P.features(dialback: true))
        let failure = try #require(actions.failures.first)
        #expect(failure.cause == .policy)
        #expect(actions == [
            .close(StreamError(.policyViolation, text: "this server requires TLS")),
            .verificationFailed(Self.request, .authoritativeServerTimedOut),
            .failed(failure),
        ])
        #expect(!actions.contains(.sendElement(Self.request.element)))
    }

    @Test("verification-only: the peer does not serve the domain (host-unknown), so the server was not found")
    func hostUnknown() throws {
        var c = try OutboundConversation(policy: Self.tlsDialback, purpose: .verification)
        _ = c.machine.verificationRequested(Self.request)
        _ = c.connect()
        _ = c.peer(P.header())
        let actions = c.peer(P.streamError("host-unknown"))
        #expect(actions.verificationFailures == [.authoritativeServerNotFound])
        #expect(actions.failedVerifications == [Self.request])
    }

    @Test("verification-only: the timer fails what is outstanding with connection-timeout")
    func timedOut() throws {
        var c = try OutboundConversation.verifying()
        let actions = c.machine.timedOut()
        let failure = try #require(actions.failures.first)
        #expect(failure.cause == .timedOut)
        #expect(actions == [
            .close(StreamError(.connectionTimeout, text: "dialback verification took too long")),
            .closeConnection,
            .verificationFailed(Self.request, .authoritativeServerTimedOut),
            .failed(failure),
        ])
        #expect(c.machine.outstandingVerifications.isEmpty)
    }

    @Test("verification-only: the connection drops before the answer, so the request fails as timed out")
    func connectionLost() throws {
        var c = try OutboundConversation.verifying()
        let actions = c.machine.connectionClosed()
        #expect(actions.verificationFailures == [.authoritativeServerTimedOut])
        #expect(actions.failures.first?.cause == .connectionLost)
        #expect(c.machine.verificationRequested(Self.request) == .streamEnded)
    }

    @Test("verification-only: the link layer closes it; what is outstanding fails")
    func closeRequested() throws {
        var c = try OutboundConversation.verifying()
        let actions = c.machine.closeRequested()
        #expect(actions.first == .close(nil))
        #expect(actions.verificationFailures == [.authoritativeServerTimedOut])
        #expect(actions.failures.first?.cause == .closeRequested)
    }

    @Test("verification-only: answers that answer nothing, requests and stanzas from the peer end the stream", arguments: [
        (P.verifyAnswer("valid", streamID: "nobody-asked"), StreamError.Condition.notAuthorized),
        ("<db:verify from='montague.example' to='capulet.example' id='x'>abc</db:verify>", .unsupportedStanzaType),
        (P.dialbackValid, .notAuthorized),
        ("<message from='romeo@montague.example' to='juliet@capulet.example'/>", .notAuthorized),
        (P.features(), .undefinedCondition),
        ("<db:verify from='montague.example' to='capulet.example' type='valid'/>", .invalidXML),
    ])
    func unexpectedWhileVerifying(text: String, condition: StreamError.Condition) throws {
        var c = try OutboundConversation.verifying()
        let actions = c.peer(text)
        #expect(actions.closes.first??.condition == condition)
        #expect(actions.verificationFailures == [.authoritativeServerTimedOut])
        #expect(actions.failures.first?.cause == .protocolViolation)
        #expect(!actions.contains { if case .deliverVerificationAnswer = $0 { true } else { false } })
        #expect(c.machine.phase == .closing)
    }

    @Test("verification-only: once closing, a request is refused for another connection, and nothing is recorded")
    func requestWhileClosing() throws {
        var c = try OutboundConversation.verifying()
        _ = c.peer(P.verifyAnswer("valid"))
        #expect(c.machine.phase == .closing)
        #expect(c.machine.verificationRequested(P.verifyRequest(streamID: "late")) == .streamEnded)
        #expect(c.machine.outstandingVerifications.isEmpty)
        #expect(c.peer(P.close) == [.closeConnection])
    }

    @Test("verification-only: never carries stanzas, whatever the phase", arguments: [
        OutboundStreamStateMachine.Phase.idle, .awaitingFeatures, .verifying,
    ])
    func noStanzas(phase: OutboundStreamStateMachine.Phase) throws {
        var c = try OutboundConversation(policy: Self.tlsDialback, purpose: .verification)
        if phase == .verifying {
            c = try OutboundConversation.verifying()
        } else if phase == .awaitingFeatures {
            _ = c.connect()
            _ = c.peer(P.header())
        }
        try #require(c.machine.phase == phase)
        #expect(c.machine.stanzaSendRequested(XMLElement("message", namespace: Namespace.server)) == .streamEnded)
    }

    @Test("verification-only with nothing to ask closes as soon as it could ask")
    func nothingToAsk() throws {
        var c = try OutboundConversation(policy: Self.tlsDialback, purpose: .verification)
        _ = c.connect()
        _ = c.peer(P.header(id: "plain-1"))
        _ = c.peer(P.features(starttls: true))
        _ = c.peer(P.proceed)
        _ = c.tlsEstablished()
        _ = c.peer(P.header())
        #expect(c.peer(P.features()) == [.close(nil)])
        #expect(c.machine.failure == nil)
    }

    @Test("an answer passed in as a request is not a request")
    func answerIsNoRequest() throws {
        var c = try OutboundConversation.verifying()
        #expect(c.machine.verificationRequested(Self.valid) == .ignored)
        #expect(c.machine.outstandingVerifications == [Self.request])
    }

    // MARK: - On an established link

    @Test("established link: a request goes out at once, its answer is delivered, the link stays")
    func onEstablishedLink() throws {
        var c = try OutboundConversation.inPhase(.established)
        #expect(c.machine.verificationRequested(Self.request) == .send(Self.request.element))
        #expect(c.peer(P.verifyAnswer("valid")) == [.deliverVerificationAnswer(Self.valid)])
        #expect(c.machine.phase == .established)
        let stanza = XMLElement("message", namespace: Namespace.server)
        #expect(c.machine.stanzaSendRequested(stanza) == .send(stanza))
    }

    @Test("link: a request handed in while negotiating goes out right after establishment")
    func queuedUntilEstablished() throws {
        var c = try OutboundConversation.inPhase(.dialback)
        #expect(c.machine.verificationRequested(Self.request) == .queued)
        let actions = c.peer(P.dialbackValid)
        #expect(actions.count == 2)
        #expect(actions.first?.establishedStream != nil)
        #expect(actions.last == .sendElement(Self.request.element))
    }

    @Test("link: negotiation fails, so the requests waiting for it fail")
    func linkFailsWithQueue() throws {
        var c = try OutboundConversation.inPhase(.dialback)
        _ = c.machine.verificationRequested(Self.request)
        let actions = c.peer(P.dialbackInvalid)
        #expect(actions.verificationFailures == [.authoritativeServerTimedOut])
        #expect(actions.failures.count == 1)
    }

    @Test("link: closed by the link layer or ended by the peer, outstanding requests fail")
    func linkEndsWithRequests() throws {
        var closed = try OutboundConversation.inPhase(.established)
        _ = closed.machine.verificationRequested(Self.request)
        #expect(closed.machine.closeRequested() == [.close(nil), .verificationFailed(Self.request, .authoritativeServerTimedOut)])

        var ended = try OutboundConversation.inPhase(.established)
        _ = ended.machine.verificationRequested(Self.request)
        let actions = ended.peer(P.streamError("system-shutdown"))
        #expect(actions.verificationFailures == [.authoritativeServerTimedOut])
        #expect(actions.endings.count == 1)
    }

    @Test("link: a verification request from the peer is refused; only bidi streams allow one")
    func requestFromPeerOnLink() throws {
        var c = try OutboundConversation.inPhase(.established)
        let actions = c.peer("<db:verify from='montague.example' to='capulet.example' id='x'>abc</db:verify>")
        #expect(actions.closes.first??.condition == .unsupportedStanzaType)
        #expect(actions.endings.first?.cause == .protocolViolation)
    }

    @Test("failures name the authoritative server as not found only when the peer says it is not there", arguments: [
        (OutboundFailure.Cause.peerStreamError(StreamError(.hostUnknown)), DialbackVerificationFailure.authoritativeServerNotFound),
        (.peerStreamError(StreamError(.hostGone)), .authoritativeServerNotFound),
        (.peerStreamError(StreamError(.systemShutdown)), .authoritativeServerTimedOut),
        (.policy, .authoritativeServerTimedOut),
        (.connectionLost, .authoritativeServerTimedOut),
        (.timedOut, .authoritativeServerTimedOut),
    ])
    func verificationFailureMapping(cause: OutboundFailure.Cause, expected: DialbackVerificationFailure) {
        #expect(OutboundFailure(cause: cause, reason: "test").verificationFailure == expected)
    }
}
