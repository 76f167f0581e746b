package import XMLStreaming
package import XMPP

/// The Receiving Server's outbound half (XEP-0220 §2.1.2): the `<db:verify/>` requests sent on one
/// outbound stream to an Authoritative Server, and the answers that come back on it.
///
/// A pure state machine, to be held by the outbound stream machine next to `DialbackInitiator`.
/// Requests come from `DialbackReceiver.Action.requestVerification` on inbound streams; answers go
/// back to the inbound stream whose ID is the answer's `id`. The stream need not be authorized for
/// any domain pair to carry them: a connection opened only for verification (§2.1.2) never is.
///
/// An answer is accepted only if its `from`, `to` and `id` mirror a request sent on this same
/// stream (§2.1.2, and the "unsolicited dialback" attacks of §3.1); anything else closes the stream.
package struct DialbackVerificationRequests: Sendable, Hashable {
    package enum Action: Sendable, Hashable {
        /// Write this `<db:verify/>` request to the stream.
        case send(XMLElement)
        /// Hand the Authoritative Server's answer to the inbound stream whose ID is `answer.id`
        /// (its `DialbackReceiver.verifyResponseReceived`). If that stream is gone, drop it.
        case deliverAnswer(DialbackVerify)
        /// No answer will come for `request`: tell the inbound stream whose ID is `request.id`
        /// (its `DialbackReceiver.verificationFailed`).
        case verificationFailed(DialbackVerify, DialbackVerificationFailure)
        /// The peer broke the protocol: send this stream error and close the stream. Requests still
        /// waiting are reported when `streamClosed(_:)` is called.
        case closeStream(StreamError)
    }

    /// Requests sent and not yet answered, oldest first.
    package private(set) var pendingRequests: [DialbackVerify] = []
    private var isClosing = false

    package init() {}

    /// An inbound stream needs a key checked by the server at the other end of this stream.
    ///
    /// A request already outstanding with the same `from`, `to` and `id` is not sent twice: the
    /// answer could not say which copy it answers, and one answer settles both. Only requests
    /// (elements carrying a key) are sent; an answer passed in here is ignored. On a stream that is
    /// closing, the request fails at once so that the caller can use another stream.
    package mutating func verificationRequested(_ request: DialbackVerify) -> [Action] {
        guard case .key = request.payload else { return [] }
        guard !isClosing else { return [.verificationFailed(request, .authoritativeServerTimedOut)] }
        guard !pendingRequests.contains(where: { Self.sameQuestion($0, request) }) else { return [] }
        pendingRequests.append(request)
        return [.send(request.element)]
    }

    /// A `<db:verify/>` arrived on this stream.
    ///
    /// - An answer mirroring an outstanding request is passed on (`.deliverAnswer`).
    /// - An answer mirroring none is unsolicited: `not-authorized`, the stream is closed.
    /// - A request is the peer asking *us* to act as Authoritative Server on a stream we
    ///   initiated, which only XEP-0288 bidirectional streams allow: `unsupported-stanza-type`.
    package mutating func verifyResponseReceived(_ response: DialbackVerify) -> [Action] {
        guard !isClosing else { return [] }
        guard case .answer = response.payload else {
            isClosing = true
            return [.closeStream(StreamError(.unsupportedStanzaType, text: "a verification request on a stream this server initiated"))]
        }
        guard let index = pendingRequests.firstIndex(where: { Self.isAnswer(response, to: $0) }) else {
            isClosing = true
            return [.closeStream(StreamError(.notAuthorized, text: "unsolicited verification answer for \(response.domainPair)"))]
        }
        pendingRequests.remove(at: index)
        return [.deliverAnswer(response)]
    }

    /// The stream or its connection ended, or could not be set up: every outstanding request fails
    /// with `failure`. Use `.authoritativeServerNotFound` when the peer answered `host-unknown` or
    /// the connection never came up, `.authoritativeServerTimedOut` when it ended early (XEP-0220
    /// §2.1.2 treats that like an error answer).
    package mutating func streamClosed(_ failure: DialbackVerificationFailure) -> [Action] {
        isClosing = true
        let failed = pendingRequests.map { Action.verificationFailed($0, failure) }
        pendingRequests.removeAll()
        return failed
    }

    private static func sameQuestion(_ lhs: DialbackVerify, _ rhs: DialbackVerify) -> Bool {
        lhs.from == rhs.from && lhs.to == rhs.to && lhs.id == rhs.id
    }

    private static func isAnswer(_ answer: DialbackVerify, to request: DialbackVerify) -> Bool {
        answer.from == request.to && answer.to == request.from && answer.id == request.id
    }
}
