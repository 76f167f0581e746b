import HeapModule

/// Deadlines by key, earliest first, for state machines that must find their next deadline after
/// every input without walking everything they hold (the link table's links, the inbound
/// streams). Each key with a deadline has one live heap item, never later than its deadline: a
/// deadline that moves earlier gets a new item (the old one is then stale), one that moves later
/// (activity postponing a timeout) keeps its item until that item reaches the top, where it is
/// moved to the deadline. So the top is always exact, and a busy key costs a heap operation per
/// timeout, not per input. Stale items are dropped as they reach the top, and all are rebuilt when
/// they outnumber the live ones.
package struct DeadlineHeap<Key: Hashable & Comparable & Sendable>: Sendable {
    private var deadlines: [Key: LinkInstant] = [:]
    private var queued: [Key: LinkInstant] = [:]
    private var heap = Heap<Item>()

    private struct Item: Comparable, Sendable {
        var at: LinkInstant
        var key: Key

        static func < (a: Item, b: Item) -> Bool { (a.at, a.key) < (b.at, b.key) }
    }

    package init(_ deadlines: [Key: LinkInstant] = [:]) {
        replaceAll(with: deadlines)
    }

    /// The earliest deadline, or `nil` if no key has one.
    package var next: LinkInstant? { heap.min?.at }

    /// Sets `key`'s deadline; `nil` removes it.
    package mutating func schedule(_ key: Key, at deadline: LinkInstant?) {
        guard deadlines[key] != deadline else { return }
        deadlines[key] = deadline
        guard let deadline else {
            queued[key] = nil
            settleTop()
            return
        }
        if let item = queued[key], item <= deadline {
            if heap.min?.key == key { settleTop() }
            return
        }
        queued[key] = deadline
        heap.insert(Item(at: deadline, key: key))
        if heap.count > 2 * deadlines.count + 64 { replaceAll(with: deadlines) }
        settleTop()
    }

    /// The keys due at or before `now`, sorted, with their deadlines removed: the caller schedules
    /// each one's next deadline, if it has one.
    package mutating func takeDue(at now: LinkInstant) -> [Key] {
        var keys: [Key] = []
        while let top = heap.min, top.at <= now {
            heap.removeMin()
            queued[top.key] = nil
            deadlines[top.key] = nil
            keys.append(top.key)
            settleTop()
        }
        return keys.sorted()
    }

    /// Every deadline at once (new timeouts after a reload).
    package mutating func replaceAll(with newDeadlines: [Key: LinkInstant]) {
        deadlines = newDeadlines
        queued = newDeadlines
        heap = Heap(newDeadlines.map { Item(at: $0.value, key: $0.key) })
    }

    /// Drops stale items from the top and moves a postponed one to its deadline, until the top is
    /// a key's exact deadline.
    private mutating func settleTop() {
        while let top = heap.min {
            if queued[top.key] != top.at {
                heap.removeMin()
            } else if let deadline = deadlines[top.key], deadline != top.at {
                heap.removeMin()
                queued[top.key] = deadline
                heap.insert(Item(at: deadline, key: top.key))
            } else {
                return
            }
        }
    }
}
