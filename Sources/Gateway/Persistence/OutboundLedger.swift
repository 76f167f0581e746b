import XMLStreaming
import XMPP

/// Which messages handed to the link table the store still holds, so that each leaves the store
/// exactly when it leaves the gateway: written on its link (delivered) or bounced to its sender.
///
/// The link table knows nothing of the store; what ties a store row to a stanza is a ticket the
/// ledger hands out when the gateway accepts a message. The table's actions are then matched back:
/// `.send` by the element itself (the table hands on the very element it was given), a bounce by
/// the addresses and id its error reply carries. Pure, so every path is tested without a store.
struct OutboundLedger: Sendable {
    /// A durable message between acceptance and the end of its stay.
    struct Entry: Sendable, Hashable {
        var ticket: UInt64
        var element: XMLElement
    }

    /// Per normalised remote domain, in the order the messages were accepted.
    private var waiting: [String: [Entry]] = [:]
    private var nextTicket: UInt64 = 1

    /// How many messages wait, over all domains: the durable queue depth, kept as entries come and
    /// go since the gateway reports it after every batch of link actions.
    private(set) var count = 0

    /// A message accepted for `domain` (stored under the returned ticket) is about to go to the
    /// link table.
    mutating func accept(_ element: XMLElement, for domain: String) -> UInt64 {
        let ticket = nextTicket
        nextTicket += 1
        waiting[domain, default: []].append(Entry(ticket: ticket, element: element))
        count += 1
        return ticket
    }

    /// A message a failed write handed back keeps its ticket: its row never left the store.
    mutating func readmit(_ element: XMLElement, ticket: UInt64, for domain: String) {
        waiting[domain, default: []].append(Entry(ticket: ticket, element: element))
        count += 1
    }

    /// The table sends `element` on `domain`'s link: its ticket, if it is a durable message. The
    /// entry leaves the ledger now; the store row leaves once the write has completed.
    mutating func sending(_ element: XMLElement, on domain: String) -> UInt64? {
        guard let index = waiting[domain]?.firstIndex(where: { $0.element == element }) else { return nil }
        return remove(at: index, of: domain)
    }

    /// The table bounced a stanza with `reply`: the ticket of the durable message it answers, if
    /// any. A reply swaps the addresses and keeps the id and the stanza kind (`Stanza.errorReply`).
    mutating func bounced(_ reply: XMLElement) -> UInt64? {
        guard let remote = reply["from"], let domain = (try? JID.parse(remote))??.domainpart,
            let index = waiting[domain]?.firstIndex(where: {
                $0.element.name == reply.name && $0.element["id"] == reply["id"] && $0.element["to"] == remote
                    && $0.element["from"] == reply["to"]
            })
        else { return nil }
        return remove(at: index, of: domain)
    }

    private mutating func remove(at index: Int, of domain: String) -> UInt64 {
        let ticket = waiting[domain]!.remove(at: index).ticket
        if waiting[domain]!.isEmpty { waiting[domain] = nil }
        count -= 1
        return ticket
    }
}
