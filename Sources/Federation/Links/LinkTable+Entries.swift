import HeapModule

extension LinkTable {
    /// The timers an entry's next deadline is computed from: the table's queue age and the
    /// policy's inactivity timeout and keep-alive interval.
    struct Timers: Sendable, Equatable {
        var maxQueueAge: Duration
        var inactivityTimeout: Duration
        var keepAliveInterval: Duration

        init(_ settings: LinkSettings, _ policy: FederationPolicy) {
            maxQueueAge = settings.maxQueueAge
            inactivityTimeout = policy.settings.inactivityTimeout
            keepAliveInterval = policy.settings.keepAliveInterval
        }

        /// The earliest instant at which `tick` has something to do for `entry`: a stanza that
        /// expires, an idle link, a keep-alive, an unanswered ping, a retry.
        func deadline(of entry: Entry) -> LinkInstant? {
            var earliest = entry.queue.first.map { $0.queuedAt + maxQueueAge }
            func consider(_ candidate: LinkInstant) {
                if earliest.map({ candidate < $0 }) ?? true { earliest = candidate }
            }
            switch entry.phase {
            case .established(let link):
                consider(link.lastStanza + inactivityTimeout)
                if entry.partner.keepAlive { consider(link.lastWrite + keepAliveInterval) }
                if let ping = link.ping { consider(ping.deadline) }
            case .retryScheduled(let at):
                consider(at)
            case .idle, .connecting:
                break
            }
            return earliest
        }
    }

    /// The links' entries, and what the table needs to know about all of them after every event,
    /// kept up to date as each entry is stored or removed, so that no event walks every link: the
    /// gauges, the next deadline (a heap) and the links waiting for a connection slot. Every
    /// change to an entry goes through here.
    struct Entries: Sendable {
        private var storage: [LinkKey: Entry] = [:]
        private(set) var gauges = LinkGauges()
        /// Idle links with stanzas queued: those that want a connection slot.
        private(set) var waiting: Set<LinkKey> = []
        /// Each link's current deadline, and the heap that orders them. Each link with a deadline
        /// has one live heap item, at `queued[key]`, never later than its deadline: a deadline
        /// that moves earlier gets a new item (the old one is then stale), one that moves later
        /// (every stanza a link writes postpones its keep-alive) keeps its item until that item
        /// reaches the top, where it is moved to the deadline. So the top is always exact, and
        /// a busy link costs a heap operation per keep-alive interval, not per stanza. Stale
        /// items are dropped as they reach the top, and all are rebuilt when they outnumber
        /// the live ones.
        private var deadlines: [LinkKey: LinkInstant] = [:]
        private var queued: [LinkKey: LinkInstant] = [:]
        private var due = Heap<Due>()
        private(set) var timers: Timers

        private struct Due: Comparable, Sendable {
            var at: LinkInstant
            var key: LinkKey

            static func < (a: Due, b: Due) -> Bool { (a.at, a.key) < (b.at, b.key) }
        }

        init(timers: Timers) {
            self.timers = timers
        }

        var keys: Dictionary<LinkKey, Entry>.Keys { storage.keys }

        /// The earliest deadline of any link, or `nil` if none has one.
        var nextDeadline: LinkInstant? { due.min?.at }

        subscript(key: LinkKey) -> Entry? {
            get { storage[key] }
            set {
                if let old = storage[key] { count(old, key, as: -1) }
                storage[key] = newValue
                if let newValue { count(newValue, key, as: 1) }
                schedule(key, newValue.flatMap(timers.deadline(of:)))
            }
        }

        @discardableResult
        mutating func removeValue(forKey key: LinkKey) -> Entry? {
            guard let old = storage.removeValue(forKey: key) else { return nil }
            count(old, key, as: -1)
            schedule(key, nil)
            return old
        }

        /// The links whose deadline is at or before `now`, sorted, taken off the heap: the caller
        /// takes each one out and stores it again, which schedules its next deadline.
        mutating func takeDue(at now: LinkInstant) -> [LinkKey] {
            var keys: [LinkKey] = []
            while let top = due.min, top.at <= now {
                due.removeMin()
                queued[top.key] = nil
                deadlines[top.key] = nil
                keys.append(top.key)
                settleTop()
            }
            return keys.sorted()
        }

        /// New timers (a reloaded policy, new settings): every deadline is recomputed.
        mutating func retime(_ newTimers: Timers) {
            guard newTimers != timers else { return }
            timers = newTimers
            deadlines = storage.compactMapValues(newTimers.deadline(of:))
            rebuild()
        }

        private mutating func rebuild() {
            queued = deadlines
            due = Heap(deadlines.map { Due(at: $0.value, key: $0.key) })
        }

        /// Drops stale items from the top and moves a postponed one to its deadline, until the
        /// top is a link's exact deadline.
        private mutating func settleTop() {
            while let top = due.min {
                if queued[top.key] != top.at {
                    due.removeMin()
                } else if let deadline = deadlines[top.key], deadline != top.at {
                    due.removeMin()
                    queued[top.key] = deadline
                    due.insert(Due(at: deadline, key: top.key))
                } else {
                    return
                }
            }
        }

        private mutating func count(_ entry: Entry, _ key: LinkKey, as sign: Int) {
            switch entry.phase {
            case .idle: gauges.waiting += sign
            case .connecting: gauges.connecting += sign
            case .established: gauges.established += sign
            case .retryScheduled: gauges.backingOff += sign
            }
            gauges.queuedStanzas += sign * entry.queue.count
            gauges.queuedBytes += sign * entry.queue.bytes
            if case .idle = entry.phase, !entry.queue.isEmpty {
                if sign > 0 { waiting.insert(key) } else { waiting.remove(key) }
            }
        }

        private mutating func schedule(_ key: LinkKey, _ deadline: LinkInstant?) {
            guard deadlines[key] != deadline else { return }
            deadlines[key] = deadline
            guard let deadline else {
                queued[key] = nil
                settleTop()
                return
            }
            if let item = queued[key], item <= deadline {
                if due.min?.key == key { settleTop() }
                return
            }
            queued[key] = deadline
            due.insert(Due(at: deadline, key: key))
            if due.count > 2 * deadlines.count + 64 { rebuild() }
            settleTop()
        }
    }
}
