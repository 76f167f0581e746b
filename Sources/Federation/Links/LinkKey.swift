package import XMLStreaming

/// Which outbound link a stanza leaves on: the one our `local` domain authenticated on towards the
/// `remote` one. Each of our domains authenticates for itself (SASL EXTERNAL where our certificate
/// names it, dialback for the pair otherwise), so a gateway serving two domains holds a link per
/// (local, remote) pair, and a stanza from `carol@second.example` never travels on a stream
/// authenticated for `first.example`, which a conforming peer would refuse (`invalid-from`).
/// Both are normalised domainparts.
package struct LinkKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var local: String
    package var remote: String

    package init(local: String, remote: String) {
        self.local = local
        self.remote = remote
    }

    /// The pair as XEP-0220 names it for the stream we initiate: we are the Sender Domain.
    package var dialbackPair: DialbackDomainPair { DialbackDomainPair(sender: local, target: remote) }

    package static func < (lhs: LinkKey, rhs: LinkKey) -> Bool {
        (lhs.remote, lhs.local) < (rhs.remote, rhs.local)
    }

    package var description: String { "\(local) → \(remote)" }
}

/// One connection the gateway knows of, named where it is decided: the link table names the
/// attempts it asks for, dialback verification names its verification-only connections, and the
/// runtime names what its listeners accept. Every event about a connection and every action on one
/// carries its identity, so a late report of a superseded attempt is recognised as such instead of
/// being matched to whatever now holds the same domain.
package struct ConnectionID: Sendable, Hashable, Comparable, CustomStringConvertible {
    package enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A connection a peer opened to one of our listeners.
        case inbound = "in"
        /// An outbound link, or an attempt at one.
        case link
        /// An outbound connection only for `<db:verify/>` requests (XEP-0220 §2.1.2).
        case verification = "verify"
    }

    package var kind: Kind
    /// Unique per kind for the process's lifetime.
    package var number: UInt64

    package init(_ kind: Kind, _ number: UInt64) {
        self.kind = kind
        self.number = number
    }

    package static func < (lhs: ConnectionID, rhs: ConnectionID) -> Bool {
        (lhs.kind.rawValue, lhs.number) < (rhs.kind.rawValue, rhs.number)
    }

    package var description: String { "\(kind.rawValue)-\(number)" }
}

/// What ties a stanza the link table carries to something outside it that must hear how the
/// stanza's stay ended (a stored message, which leaves the store once written or bounced). Opaque
/// to the table, which hands it back on the `.send`, `.bounce` or `.discard` of that very stanza.
package struct Ticket: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var number: UInt64

    package init(_ number: UInt64) {
        self.number = number
    }

    package static func < (lhs: Ticket, rhs: Ticket) -> Bool { lhs.number < rhs.number }

    package var description: String { "ticket \(number)" }
}

/// A stanza on its way out: the link it is for, the element, and its ticket if something waits
/// to hear of it.
package struct OutboundStanza: Sendable, Hashable {
    package var key: LinkKey
    package var element: XMLElement
    package var ticket: Ticket?

    package init(_ element: XMLElement, on key: LinkKey, ticket: Ticket? = nil) {
        self.key = key
        self.element = element
        self.ticket = ticket
    }
}
