package import XMPP

/// Why a connection attempt to a remote domain failed, reduced to what it means for the stanzas
/// waiting for it.
///
/// A permanent failure will not change by waiting, so what is queued is bounced at once with
/// `bounceError`; a temporary one keeps the queue for the retry (each stanza still bounded by
/// `LinkSettings.maxQueueAge`, and bounced with `remote-server-timeout` when that runs out). Both
/// schedule a retry with backoff, so that new stanzas for a failing domain wait for it instead of
/// each opening a connection.
///
/// The bounce error is carried whole so that whoever knows best picks it: DNS gives
/// `remote-server-not-found` (`init(_:)` from `ResolutionFailure`), and a failed negotiation can
/// pass the condition and type it derived from the peer's answer (RFC 6120 §8.3.3.16–17,
/// XEP-0220 §2.1.1) with `init(bounceError:isTemporary:)`.
package struct LinkFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The error queued stanzas are bounced with when the failure is permanent; its text is the
    /// reason, for the sender and for logs.
    package var bounceError: StanzaError
    /// Whether retrying later could help, so that the queue is kept.
    package var isTemporary: Bool

    package init(bounceError: StanzaError, isTemporary: Bool) {
        self.bounceError = bounceError
        self.isTemporary = isTemporary
    }

    /// The peer cannot be reached as things stand: NXDOMAIN, a domain declaring it runs no XMPP
    /// service, no address for any of its hosts, the peer refusing us by policy, failed or refused
    /// authentication. Bounces with `cancel/remote-server-not-found`.
    package static func notFound(reason: String) -> LinkFailure {
        LinkFailure(bounceError: StanzaError(.remoteServerNotFound, text: Self.text(reason)), isTemporary: false)
    }

    /// The attempt may succeed later: timeouts, refused or reset TCP connections, SERVFAIL, a
    /// negotiation that stalled. The condition would be `wait/remote-server-timeout`, though
    /// nothing is bounced for the failure itself.
    package static func temporary(reason: String) -> LinkFailure {
        LinkFailure(bounceError: StanzaError(.remoteServerTimeout, text: Self.text(reason)), isTemporary: true)
    }

    /// The failure a DNS resolution outcome stands for: temporary as `ResolutionFailure.isTemporary`
    /// says, with its `stanzaErrorCondition`.
    package init(_ failure: ResolutionFailure) {
        self = failure.isTemporary ? .temporary(reason: failure.description) : .notFound(reason: failure.description)
    }

    /// The bounce error's text.
    package var reason: String { bounceError.text ?? bounceError.condition.rawValue }

    package var description: String {
        "\(isTemporary ? "temporary" : "permanent") failure (\(bounceError.condition.rawValue)): \(reason)"
    }

    private static func text(_ reason: String) -> String {
        "server-to-server connection failed: \(reason)"
    }
}
