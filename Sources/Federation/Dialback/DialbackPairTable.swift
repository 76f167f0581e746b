/// Per-domain-pair state for the dialback machines, kept in the order pairs were first seen so that
/// actions covering several pairs (a stream opening or closing) come out in a predictable order.
/// Streams carry a handful of pairs, so a linear order list costs nothing worth avoiding.
struct DialbackPairTable<State: Sendable & Hashable>: Sendable, Hashable {
    private var order: [DialbackDomainPair] = []
    private var states: [DialbackDomainPair: State] = [:]

    /// The pair's state; assigning `nil` forgets the pair.
    subscript(pair: DialbackDomainPair) -> State? {
        get { states[pair] }
        set {
            switch (states[pair], newValue) {
            case (nil, let state?):
                order.append(pair)
                states[pair] = state
            case (_?, nil):
                states[pair] = nil
                order.removeAll { $0 == pair }
            case (_?, let state?):
                states[pair] = state
            case (nil, nil):
                break
            }
        }
    }

    /// The pairs whose state satisfies `predicate`, oldest first.
    func pairs(where predicate: (State) -> Bool) -> [DialbackDomainPair] {
        order.filter { pair in states[pair].map(predicate) ?? false }
    }

    mutating func removeAll() {
        order.removeAll()
        states.removeAll()
    }
}
