import XMLStreaming
import XMPP

/// Carrying our `<db:verify/>` requests as the Receiving Server (XEP-0220 §2.1.2): the
/// `DialbackVerificationRequests` sub-machine holds what was sent, this machine what waits for the
/// stream to be able to carry it.
extension OutboundStreamStateMachine {
    /// A verification-only connection has negotiated TLS as its policy asks and seen the peer's
    /// features (or a pre-1.0 header): the waiting requests go out. With none waiting there is
    /// nothing to ask, and the stream closes at once.
    mutating func startVerifying() -> [Action] {
        state = .verifying
        let actions = sendQueuedVerifications()
        guard outstandingVerifications.isEmpty else { return actions }
        return actions + closeWithoutFailure()
    }

    /// The stream can carry requests now (established, or verifying): those handed in while it
    /// negotiated go out, oldest first.
    mutating func sendQueuedVerifications() -> [Action] {
        let queued = queuedVerifications
        queuedVerifications.removeAll()
        var steps: [DialbackVerificationRequests.Action] = []
        for request in queued {
            steps += verifications.verificationRequested(request)
        }
        return runVerifications(steps)
    }

    /// A `<db:verify/>` on a stream that can carry ours: an answer to one of them is delivered, and
    /// a verification-only connection closes once nothing is outstanding; anything else ends the
    /// stream (`DialbackVerificationRequests.verifyResponseReceived` says with what).
    mutating func verifyElementReceived(_ element: XMLElement) -> [Action] {
        let response: DialbackVerify
        do {
            response = try DialbackVerify(element)
        } catch {
            return fail(.protocolViolation, "\(remoteDomain) sent a malformed <db:verify/>: \(error)", streamError: error, .awaitPeerClose)
        }
        let actions = runVerifications(verifications.verifyResponseReceived(response))
        guard case .verifying = state, outstandingVerifications.isEmpty else { return actions }
        return actions + closeWithoutFailure()
    }

    /// The stream is ending: every request sent and not answered, and every one still waiting to
    /// be sent, fails with `failure`.
    mutating func abandonVerifications(_ failure: DialbackVerificationFailure) -> [Action] {
        let waiting = queuedVerifications.map { Action.verificationFailed($0, failure) }
        queuedVerifications.removeAll()
        return runVerifications(verifications.streamClosed(failure)) + waiting
    }

    /// The decision for a request handed to the sub-machine on a stream that can carry it.
    static func verificationDecision(_ steps: [DialbackVerificationRequests.Action]) -> VerificationDecision {
        switch steps.first {
        case .send(let element)?: .send(element)
        case nil: .ignored
        case .verificationFailed?, .deliverAnswer?, .closeStream?: .streamEnded
        }
    }

    /// Turns the sub-machine's actions into ours, stopping at the first that ends the stream.
    private mutating func runVerifications(_ steps: [DialbackVerificationRequests.Action]) -> [Action] {
        var actions: [Action] = []
        for step in steps {
            switch step {
            case .send(let element):
                actions.append(.sendElement(element))
            case .deliverAnswer(let answer):
                actions.append(.deliverVerificationAnswer(answer))
            case .verificationFailed(let request, let failure):
                actions.append(.verificationFailed(request, failure))
            case .closeStream(let error):
                let reason = "\(remoteDomain) broke dialback verification: \(error)"
                return actions + fail(.protocolViolation, reason, streamError: error, .awaitPeerClose)
            }
        }
        return actions
    }
}
