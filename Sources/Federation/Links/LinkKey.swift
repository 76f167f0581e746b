public import XMLStreaming

/// Which outbound link a stanza leaves on: the one our `local` domain authenticated on towards the
/// `remote` one. Each of our domains authenticates for itself (SASL EXTERNAL where our certificate
/// names it, dialback for the pair otherwise), so a gateway serving two domains holds a link per
/// (local, remote) pair, and a stanza from `carol@second.example` never travels on a stream
/// authenticated for `first.example`, which a conforming peer would refuse (`invalid-from`).
/// Both are normalised domainparts.
public struct LinkKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var local: String
    public var remote: String

    public init(local: String, remote: String) {
        self.local = local
        self.remote = remote
    }

    /// The pair as XEP-0220 names it for the stream we initiate: we are the Sender Domain.
    public var dialbackPair: DialbackDomainPair { DialbackDomainPair(sender: local, target: remote) }

    public static func < (lhs: LinkKey, rhs: LinkKey) -> Bool {
        (lhs.remote, lhs.local) < (rhs.remote, rhs.local)
    }

    public var description: String { "\(local) → \(remote)" }
}

/// One connection the gateway knows of, named where it is decided: the link table names the
/// attempts it asks for, dialback verification names its verification-only connections, and the
/// runtime names what its listeners accept. Every event about a connection and every action on one
/// carries its identity, so a late report of a superseded attempt is recognised as such instead of
/// being matched to whatever now holds the same domain.
public struct ConnectionID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A connection a peer opened to one of our listeners.
        case inbound = "in"
        /// An outbound link, or an attempt at one.
        case link
        /// An outbound connection only for `<db:verify/>` requests (XEP-0220 §2.1.2).
        case verification = "verify"
    }

    public var kind: Kind
    /// Unique per kind for the process's lifetime.
    public var number: UInt64

    public init(_ kind: Kind, _ number: UInt64) {
        self.kind = kind
        self.number = number
    }

    public static func < (lhs: ConnectionID, rhs: ConnectionID) -> Bool {
        (lhs.kind.rawValue, lhs.number) < (rhs.kind.rawValue, rhs.number)
    }

    public var description: String { "\(kind.rawValue)-\(number)" }
}

/// What ties a stanza the link table carries to something outside it that must hear how the
/// stanza's stay ended (a stored message, which leaves the store once written or bounced). Opaque
/// to the table, which hands it back on the `.send`, `.bounce` or `.discard` of that very stanza.
public struct Ticket: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var number: UInt64

    public init(_ number: UInt64) {
        self.number = number
    }

    public static func < (lhs: Ticket, rhs: Ticket) -> Bool { lhs.number < rhs.number }

    public var description: String { "ticket \(number)" }
}

/// A stanza on its way out: the link it is for, the element, and its ticket if something waits
/// to hear of it.
public struct OutboundStanza: Sendable, Hashable {
    public var key: LinkKey
    public var element: XMLElement
    public var ticket: Ticket?

    public init(_ element: XMLElement, on key: LinkKey, ticket: Ticket? = nil) {
        self.key = key
        self.element = element
        self.ticket = ticket
    }
}
