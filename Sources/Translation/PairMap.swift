import Federation
import XMPP

extension Translator {
    /// Values per (user, contact) pair, also found by the link the pair's stanzas travel on (the
    /// user's domain to the contact's), so that a link going down touches only its own pairs
    /// instead of every pair of every link.
    struct PairMap<Value: Sendable>: Sendable {
        private var values: [Pair: Value] = [:]
        private var byLink: [LinkKey: Set<Pair>] = [:]

        subscript(pair: Pair) -> Value? {
            get { values[pair] }
            set {
                guard let newValue else {
                    removeValue(forKey: pair)
                    return
                }
                updateValue(newValue, forKey: pair)
            }
        }

        /// Stores `value` for `pair` and returns what was there: one lookup where reading and then
        /// writing would take two (a presence change does this once per watcher).
        @discardableResult
        mutating func updateValue(_ value: Value, forKey pair: Pair) -> Value? {
            let previous = values.updateValue(value, forKey: pair)
            if previous == nil { byLink[Self.link(of: pair), default: []].insert(pair) }
            return previous
        }

        @discardableResult
        mutating func removeValue(forKey pair: Pair) -> Value? {
            guard let removed = values.removeValue(forKey: pair) else { return nil }
            let link = Self.link(of: pair)
            byLink[link]?.remove(pair)
            if byLink[link]?.isEmpty == true { byLink[link] = nil }
            return removed
        }

        /// The pairs whose user is on `link.local` and whose contact is on `link.remote`.
        func pairs(on link: LinkKey) -> Set<Pair> {
            byLink[link] ?? []
        }

        mutating func removeAll(on link: LinkKey) {
            for pair in byLink.removeValue(forKey: link) ?? [] { values[pair] = nil }
        }

        /// Every pair of `user` (a user removed: rare, so it may go through them all).
        mutating func removeAll(user: JID) {
            for pair in values.keys where pair.user == user { removeValue(forKey: pair) }
        }

        private static func link(of pair: Pair) -> LinkKey {
            LinkKey(local: pair.user.domainpart, remote: pair.contact.domainpart)
        }
    }
}
