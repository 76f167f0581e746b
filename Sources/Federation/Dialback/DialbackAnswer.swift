package import XMPP

/// The verdict in a `type` attribute: what a Receiving Server tells the Initiating Server
/// (`<db:result/>`) and what an Authoritative Server tells the Receiving Server (`<db:verify/>`).
package enum DialbackAnswer: Sendable, Hashable {
    /// The key checks out; for `<db:result/>`, stanzas for the domain pair may now flow.
    case valid
    /// The key is bogus: the Initiating Server is spoofing the Sender Domain or is misconfigured.
    case invalid
    /// Something other than the key went wrong (XEP-0220 §2.5): the condition says what. Not fatal
    /// for the stream.
    case error(StanzaError)

    /// The `type` attribute value.
    package var type: String {
        switch self {
        case .valid: "valid"
        case .invalid: "invalid"
        case .error: "error"
        }
    }
}
