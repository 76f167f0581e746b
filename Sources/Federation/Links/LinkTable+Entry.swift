import XMPP

extension LinkTable {
    /// One link's state and queue.
    struct Entry: Sendable {
        enum Phase: Sendable {
            /// Nothing running. With stanzas queued, the link waits for a connection slot.
            case idle
            case connecting(attempt: Int, ConnectionID)
            case established(Established)
            case retryScheduled(at: LinkInstant)
        }

        /// An established link's connection and timers.
        struct Established: Sendable {
            var connection: ConnectionID
            /// The last stanza written: drives the inactivity timeout. Keep-alives and pings do not
            /// count, so a link kept open only by them is still closed as idle.
            var lastStanza: LinkInstant
            /// The last write of any kind (stanza, ping, whitespace): drives the keep-alive interval.
            var lastWrite: LinkInstant
            /// The XEP-0199 ping written on the link and not yet answered, if any.
            var ping: OutstandingPing?

            /// A link that has just come up: nothing outstanding, every timer starting now.
            init(connection: ConnectionID, now: LinkInstant) {
                self.connection = connection
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
        /// The partner whose connection count this link adds to while it holds a slot
        /// (connecting or established); `nil` otherwise.
        var slot: DomainPattern?

        init(partner: PartnerPolicy) {
            self.partner = partner
        }

        /// The attempt or established link, if any.
        var connection: ConnectionID? {
            switch phase {
            case .connecting(_, let connection): connection
            case .established(let link): link.connection
            case .idle, .retryScheduled: nil
            }
        }

        /// Whether the table can forget the link: nothing running, scheduled or queued. Its
        /// failure count goes with it, so a link that fails again starts its backoff afresh.
        var isForgettable: Bool {
            if case .idle = phase, queue.isEmpty { return true }
            return false
        }
    }

    /// A FIFO of stanzas with their total size. Stanzas leave from the front only (sent, expired,
    /// or all at once), so the front is an index and the storage is compacted when half is dead.
    /// Stanzas whose write failed come back to the front, in the order they were sent.
    struct Queue: Sendable {
        private var items: [QueuedStanza] = []
        private var head = 0
        /// How many stanzas at the front came back since anything last left: the next one that
        /// comes back goes behind them, so a run of failed writes keeps its order.
        private var returned = 0
        private(set) var bytes = 0

        var count: Int { items.count - head }
        var isEmpty: Bool { head == items.count }
        var first: QueuedStanza? { isEmpty ? nil : items[head] }

        mutating func append(_ stanza: QueuedStanza) {
            items.append(stanza)
            bytes += stanza.size
        }

        /// Puts a stanza whose write failed back ahead of everything queued since it was sent.
        mutating func returnToFront(_ stanza: QueuedStanza) {
            items.insert(stanza, at: head + returned)
            returned += 1
            bytes += stanza.size
        }

        /// Removes the stanzas queued at or before `deadline` (the queue is in time order, as `now`
        /// never goes backwards and returned stanzas were queued before the rest).
        mutating func removeQueued(atOrBefore deadline: LinkInstant) -> [QueuedStanza] {
            var removed: [QueuedStanza] = []
            while let front = first, front.queuedAt <= deadline {
                removed.append(front)
                bytes -= front.size
                head += 1
            }
            if !removed.isEmpty { returned = max(0, returned - removed.count) }
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
