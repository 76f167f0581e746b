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
    /// gauges, the next deadline (`DeadlineHeap`) and the links waiting for a connection slot. Every
    /// change to an entry goes through here.
    struct Entries: Sendable {
        private var storage: [LinkKey: Entry] = [:]
        private(set) var gauges = LinkGauges()
        /// Idle links with stanzas queued: those that want a connection slot.
        private(set) var waiting: Set<LinkKey> = []
        private var due = DeadlineHeap<LinkKey>()
        private(set) var timers: Timers

        init(timers: Timers) {
            self.timers = timers
        }

        var keys: Dictionary<LinkKey, Entry>.Keys { storage.keys }

        /// The earliest deadline of any link, or `nil` if none has one.
        var nextDeadline: LinkInstant? { due.next }

        subscript(key: LinkKey) -> Entry? {
            get { storage[key] }
            set {
                if let old = storage[key] { count(old, key, as: -1) }
                storage[key] = newValue
                if let newValue { count(newValue, key, as: 1) }
                due.schedule(key, at: newValue.flatMap(timers.deadline(of:)))
            }
        }

        @discardableResult
        mutating func removeValue(forKey key: LinkKey) -> Entry? {
            guard let old = storage.removeValue(forKey: key) else { return nil }
            count(old, key, as: -1)
            due.schedule(key, at: nil)
            return old
        }

        /// The links whose deadline is at or before `now`, sorted: the caller takes each one out
        /// and stores it again, which schedules its next deadline.
        mutating func takeDue(at now: LinkInstant) -> [LinkKey] {
            due.takeDue(at: now)
        }

        /// New timers (a reloaded policy, new settings): every deadline is recomputed.
        mutating func retime(_ newTimers: Timers) {
            guard newTimers != timers else { return }
            timers = newTimers
            due.replaceAll(with: storage.compactMapValues(newTimers.deadline(of:)))
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
    }
}
