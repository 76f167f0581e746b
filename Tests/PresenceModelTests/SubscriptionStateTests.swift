import PresenceModel
import Testing

@Suite("Subscription states (RFC 6121 A.1)")
struct SubscriptionStateTests {
    typealias Defined = SubscriptionState.Defined

    /// A.1: each state's roster representation, `subscription` plus `ask='subscribe'`.
    static let roster: [(Defined, SubscriptionState.Kind, Bool)] = [
        (.none, .none, false),
        (.nonePendingOut, .none, true),
        (.nonePendingIn, .none, false),
        (.nonePendingOutIn, .none, true),
        (.to, .to, false),
        (.toPendingIn, .to, false),
        (.from, .from, false),
        (.fromPendingOut, .from, true),
        (.both, .both, false),
    ]

    @Test("there are nine defined states with the RFC's names")
    func nineStates() {
        #expect(Defined.allCases.count == 9)
        #expect(Defined.allCases.map(\.description) == [
            "None", "None + Pending Out", "None + Pending In", "None + Pending Out+In",
            "To", "To + Pending In", "From", "From + Pending Out", "Both",
        ])
    }

    @Test("roster attributes per state", arguments: roster)
    func rosterAttributes(defined: Defined, kind: SubscriptionState.Kind, ask: Bool) {
        let state = SubscriptionState(defined: defined)
        #expect(state.defined == defined)
        #expect(state.kind == kind)
        #expect(state.askSubscribe == ask)
        #expect(state.userReceivesPresence == (kind == .to || kind == .both))
        #expect(state.contactReceivesPresence == (kind == .from || kind == .both))
        #expect(SubscriptionState(kind, pendingOut: defined.hasPendingOut, pendingIn: defined.hasPendingIn) == state)
        #expect(state.description == defined.description)
    }

    @Test("contradictory flags are dropped, so every value is a defined state")
    func normalised() {
        #expect(SubscriptionState(to: true, pendingOut: true) == SubscriptionState(defined: .to))
        #expect(SubscriptionState(from: true, pendingIn: true) == SubscriptionState(defined: .from))
        #expect(SubscriptionState(to: true, from: true, pendingOut: true, pendingIn: true) == SubscriptionState(defined: .both))
        #expect(SubscriptionState(from: true, preApproved: true).preApproved == false)
        #expect(SubscriptionState(pendingIn: true, preApproved: true).preApproved == false)
        #expect(SubscriptionState(.both) == SubscriptionState(defined: .both))
        #expect(SubscriptionState.none == SubscriptionState(defined: .none))
    }

    @Test("pre-approval exists only in None, None + Pending Out and To", arguments: Defined.allCases)
    func preApprovalStates(defined: Defined) {
        let state = SubscriptionState(defined: defined, preApproved: true)
        #expect(defined.allowsPreApproval == [.none, .nonePendingOut, .to].contains(defined))
        #expect(state.preApproved == defined.allowsPreApproval)
        #expect(state.approved == state.preApproved)
        #expect(state.defined == defined)
        if state.preApproved {
            #expect(state.description == "\(defined.description) (pre-approved)")
        }
    }
}
