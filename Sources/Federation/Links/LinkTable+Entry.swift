import XMPP

extension LinkTable {
    /// One remote domain's link and queue.
    struct Entry: Sendable {
        enum Phase: Sendable {
            /// Nothing running. With stanzas queued, the domain waits for a connection slot.
            case idle
            case connecting(attempt: Int)
            case established(Established)
            case retryScheduled(at: LinkInstant)
        }

        /// An established link's timers.
        struct Established: Sendable {
            /// The last stanza written: drives the inactivity timeout. Keep-alives and pings do not
            /// count, so a link kept open only by them is still closed as idle.
            var lastStanza: LinkInstant
            /// The last write of any kind (stanza, ping, whitespace): drives the keep-alive interval.
            var lastWrite: LinkInstant
            /// The XEP-0199 ping written on the link and not yet answered, if any.
            var ping: OutstandingPing?

            /// A link that has just come up: nothing outstanding, every timer starting now.
            init(now: LinkInstant) {
                lastStanza = now
                lastWrite = now
            }
        }

        /// A ping awaiting its answer: the link is presumed dead at `deadline`.
        struct OutstandingPing: Sendable {
            var id: String
            var deadline: LinkInstant
        }

        /// The partner the policy matched, for its keep-alive switch and connection limit.
        var partner: PartnerPolicy
        var phase = Phase.idle
        var queue = Queue()
        var consecutiveFailures = 0
        /// The partner whose connection count this domain adds to while it holds a slot
        /// (connecting or established); `nil` otherwise.
        var slot: DomainPattern?

        init(partner: PartnerPolicy) {
            self.partner = partner
        }

        /// Whether the table can forget the domain: nothing running, scheduled or queued. Its
        /// failure count goes with it, so a domain that fails again starts its backoff afresh.
        var isForgettable: Bool {
            if case .idle = phase, queue.isEmpty { return true }
            return false
        }
    }

    /// A FIFO of stanzas with their total size. Stanzas leave from the front only (sent, expired,
    /// or all at once), so the front is an index and the storage is compacted when half is dead.
    struct Queue: Sendable {
        private var items: [QueuedStanza] = []
        private var head = 0
        private(set) var bytes = 0

        var count: Int { items.count - head }
        var isEmpty: Bool { head == items.count }
        var first: QueuedStanza? { isEmpty ? nil : items[head] }

        mutating func append(_ stanza: QueuedStanza) {
            items.append(stanza)
            bytes += stanza.size
        }

        /// Removes the stanzas queued at or before `deadline` (the queue is in time order, as `now`
        /// never goes backwards).
        mutating func removeQueued(atOrBefore deadline: LinkInstant) -> [QueuedStanza] {
            var removed: [QueuedStanza] = []
            while let front = first, front.queuedAt <= deadline {
                removed.append(front)
                bytes -= front.size
                head += 1
            }
            if head > 32, head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return removed
        }

        mutating func removeAll() -> [QueuedStanza] {
            let all = Array(items[head...])
            self = Queue()
            return all
        }
    }
}
