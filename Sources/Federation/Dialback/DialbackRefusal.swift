package import XMPP

/// Why a domain pair was not authorized on a stream, reported by the Initiating and Receiving
/// Server machines so the link layer can bounce, log and retry.
package enum DialbackRefusal: Sendable, Hashable, CustomStringConvertible {
    /// The Authoritative Server judged the key bogus (`type='invalid'`).
    case keyInvalid
    /// A dialback error (`type='error'`, XEP-0220 §2.5), received or sent.
    case dialbackError(StanzaError)
    /// The stream ended while the answer was outstanding; XEP-0220 §2.1.1 treats this like a
    /// dialback error.
    case streamClosed

    /// The stanza error to return queued stanzas with (XEP-0220 §2.1.1): `internal-server-error`
    /// after an invalid key, `remote-server-timeout` after a dialback error or a lost stream.
    package var bounceCondition: StanzaError.Condition {
        switch self {
        case .keyInvalid: .internalServerError
        case .dialbackError, .streamClosed: .remoteServerTimeout
        }
    }

    /// What happened, for logs and failure reasons; never the key itself.
    package var description: String {
        switch self {
        case .keyInvalid: "the key was judged invalid"
        case .dialbackError(let error): "dialback error \(error)"
        case .streamClosed: "the stream ended before the answer"
        }
    }
}

/// Why the Receiving Server could not get an answer from the Authoritative Server at all; each
/// becomes the dialback error XEP-0220 §2.5 names for it.
package enum DialbackVerificationFailure: Sendable, Hashable {
    /// DNS found no server, no connection could be made, or the Authoritative Server answered
    /// with `host-unknown`: `remote-server-not-found`.
    case authoritativeServerNotFound
    /// The stream to the Authoritative Server ended, or a timeout expired, before it answered:
    /// `remote-server-timeout`.
    case authoritativeServerTimedOut
    /// The gateway holds its `connection-limit` and cannot open a connection to the Authoritative
    /// Server now: `resource-constraint` (the Initiating Server may try again later).
    case noConnectionSlot

    /// The dialback error condition sent to the Initiating Server.
    package var condition: StanzaError.Condition {
        switch self {
        case .authoritativeServerNotFound: .remoteServerNotFound
        case .authoritativeServerTimedOut: .remoteServerTimeout
        case .noConnectionSlot: .resourceConstraint
        }
    }
}
