package import Federation
package import XMPP

/// A record for the operator's log, as the core decides it: the runtime writes it to swift-log
/// unchanged. Nothing from a stanza but its error condition ever goes into one, and never a
/// dialback key.
package struct LogRecord: Sendable, Hashable {
    package enum Level: String, Sendable, Hashable, CaseIterable {
        case debug, info, notice, warning, error
    }

    package var level: Level
    package var message: String
    package var metadata: [String: String]

    package init(_ level: Level, _ message: String, _ metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}

/// A change to one of the operator's metrics (`FederationMetrics` names them), as the core decides
/// it; the runtime records it. Labels are bounded: conditions and results, never a domain or JID.
package enum MetricChange: Sendable, Hashable {
    /// A stanza that could not go out was answered with an error carrying this condition.
    case bounced(StanzaError.Condition)
    /// A stanza that could not go out was dropped without an error reply.
    case dropped(StanzaError.Condition)
    /// A link was given up because a ping went unanswered.
    case pingTimedOut
    /// An inbound stream's dialback key was checked with the authoritative server.
    case dialbackVerification(DialbackVerificationResult)
    /// The outbound links by phase and what is queued for them, when it changed.
    case outboundLinks(LinkGauges)
    /// How many messages of internal users the store holds until they are written or bounced.
    case storedOutboundMessages(Int)
    /// An inbound connection was refused or cut at a limit.
    case inboundLimit(InboundLimit)
    /// A store job of this kind (`StoreJob.kind`) could not be stored.
    case storeFailed(String)
    /// How many inbound connections wait, not reading, for the store to catch up.
    case inboundReadsHeld(Int)
    /// An event stream was closed because its client did not keep up.
    case eventStreamOverflowed
    /// A partner's subscription request was refused as over `subscription-request-rate`.
    case subscriptionRequestsLimited
}
