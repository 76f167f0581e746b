package import XMPP

/// Why an outbound stream ended without (or after) being established: what to log, what was sent
/// to the peer, and the stanza error to return queued stanzas with.
///
/// Bounce conditions follow RFC 6120 §8.3.3.17, which names failed TLS, SASL or dialback
/// negotiation as `remote-server-timeout`, with type `wait` for what may clear up by itself and
/// `cancel` "if the error is of a more permanent nature, e.g., the remote server is found but it
/// cannot be authenticated or it violates security policies". Only a peer saying the domain is not
/// there (`host-unknown`, `host-gone`) becomes `remote-server-not-found` (§8.3.3.16), and dialback
/// refusals keep the conditions XEP-0220 §2.1.1 gives them (`DialbackRefusal.bounceCondition`).
package struct OutboundFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, in a form the link layer can act on (retry another server, back off, give
    /// up on the domain).
    package enum Cause: Sendable, Hashable {
        /// The peer offers nothing this partner's negotiation policy accepts, requires what the
        /// policy forbids, or the policy itself cannot work.
        case policy
        /// TLS could not be set up: `<failure/>` after `<starttls/>`, or the handshake failed.
        case tlsFailed
        /// The peer refused SASL EXTERNAL and the policy left nothing to fall back to.
        case saslRefused(SASLFailure)
        /// The peer did not authorize us with dialback.
        case dialbackRefused(DialbackRefusal)
        /// The peer ended the stream with this stream error (its `otherHost` says where to go for
        /// `see-other-host`).
        case peerStreamError(StreamError)
        /// The peer broke the protocol; `sentStreamError` is what we told it.
        case protocolViolation
        /// The peer closed its stream.
        case closedByPeer
        /// The connection went away under the stream.
        case connectionLost
        /// Negotiation did not finish before the link layer's timer.
        case timedOut
        /// The link layer asked for the stream to close before negotiation finished.
        case closeRequested
        /// The handler reported an event that cannot happen in the machine's state: a bug on our
        /// side, so the stream is abandoned rather than trusted.
        case internalError
    }

    package var cause: Cause
    /// A sentence for logs naming the remote domain and what happened.
    package var reason: String
    /// The stream error we sent the peer, if any.
    package var sentStreamError: StreamError?

    package init(cause: Cause, reason: String, sentStreamError: StreamError? = nil) {
        self.cause = cause
        self.reason = reason
        self.sentStreamError = sentStreamError
    }

    /// The error to return stanzas with that were queued for this stream, its text the reason.
    package var bounceError: StanzaError {
        let (condition, type) = bounce
        return StanzaError(condition, type: type, text: reason)
    }

    /// Whether the failure may clear up by itself (the bounce type is `wait`), so that a retry
    /// later could succeed and the link layer may keep what is queued for it.
    package var isTemporary: Bool { bounce.1 == .wait }

    package var description: String { reason }

    /// What inbound streams are told whose `<db:verify/>` requests this stream was carrying
    /// (XEP-0220 §2.5): the Authoritative Server was not found when the peer said the domain is
    /// not served there (the failures that bounce with `remote-server-not-found`), and timed out
    /// otherwise, since §2.1.2 treats a stream that ends before the answer like an error.
    package var verificationFailure: DialbackVerificationFailure {
        bounce.0 == .remoteServerNotFound ? .authoritativeServerNotFound : .authoritativeServerTimedOut
    }

    private var bounce: (StanzaError.Condition, StanzaError.ErrorType) {
        switch cause {
        case .policy, .protocolViolation:
            (.remoteServerTimeout, .cancel)
        case .saslRefused(let failure):
            (.remoteServerTimeout, failure == .temporaryAuthFailure ? .wait : .cancel)
        case .dialbackRefused(let refusal):
            (refusal.bounceCondition, refusal.bounceCondition.defaultType)
        case .peerStreamError(let error):
            Self.bounce(forPeerCondition: error.condition)
        case .tlsFailed, .closedByPeer, .connectionLost, .timedOut, .closeRequested:
            (.remoteServerTimeout, .wait)
        case .internalError:
            (.internalServerError, .cancel)
        }
    }

    /// Conditions that say the domain is not served there are `remote-server-not-found`; those
    /// about load, restarts or timing may clear up (`wait`); the rest say the two servers cannot
    /// talk as configured (`cancel`).
    private static func bounce(forPeerCondition condition: StreamError.Condition) -> (StanzaError.Condition, StanzaError.ErrorType) {
        switch condition {
        case .hostUnknown, .hostGone:
            (.remoteServerNotFound, .cancel)
        case .connectionTimeout, .systemShutdown, .resourceConstraint, .reset, .remoteConnectionFailed,
            .internalServerError, .seeOtherHost, .conflict, .undefinedCondition:
            (.remoteServerTimeout, .wait)
        case .badFormat, .badNamespacePrefix, .improperAddressing, .invalidFrom, .invalidNamespace, .invalidXML,
            .notAuthorized, .notWellFormed, .policyViolation, .restrictedXML, .unsupportedEncoding,
            .unsupportedFeature, .unsupportedStanzaType, .unsupportedVersion:
            (.remoteServerTimeout, .cancel)
        }
    }
}
