import PresenceModel
import Testing

/// RFC 6121 Appendix A.2 and A.3, row by row. The tables are written out as the RFC prints them
/// (existing state, ROUTE?/DELIVER?, new state) rather than derived from the implementation.
@Suite("Subscription transitions (RFC 6121 Appendix A)")
struct SubscriptionTransitionTests {
    typealias Defined = SubscriptionState.Defined
    typealias Request = SubscriptionState.Request

    /// The "NEW STATE" column.
    enum NewState: Sendable, Equatable {
        case state(Defined)
        case noChange
        /// A.2.3: the user's server records a pre-approval and keeps the state.
        case preApproval
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var table: String
        var request: Request
        var existing: Defined
        /// ROUTE? for outbound tables, DELIVER? for inbound ones.
        var passes: Bool
        var new: NewState
        /// A.3.1's "no *": the server auto-replies `subscribed`.
        var autoReply = false

        var testDescription: String { "\(table) \(request.rawValue): \(existing)" }
    }

    static func rows(_ table: String, _ request: Request, _ rows: [(Defined, Bool, NewState)], autoReply: Set<Defined> = []) -> [Row] {
        rows.map { Row(table: table, request: request, existing: $0.0, passes: $0.1, new: $0.2, autoReply: autoReply.contains($0.0)) }
    }

    // MARK: - A.2 Outbound (the user sends)

    static let outbound: [Row] =
        rows("A.2.1", .subscribe, [
            (.none, true, .state(.nonePendingOut)),
            (.nonePendingOut, true, .noChange),
            (.nonePendingIn, true, .state(.nonePendingOutIn)),
            (.nonePendingOutIn, true, .noChange),
            (.to, true, .noChange),
            (.toPendingIn, true, .noChange),
            (.from, true, .state(.fromPendingOut)),
            (.fromPendingOut, true, .noChange),
            (.both, true, .noChange),
        ])
        + rows("A.2.2", .unsubscribe, [
            (.none, true, .noChange),
            (.nonePendingOut, true, .state(.none)),
            (.nonePendingIn, true, .noChange),
            (.nonePendingOutIn, true, .state(.nonePendingIn)),
            (.to, true, .state(.none)),
            (.toPendingIn, true, .state(.nonePendingIn)),
            (.from, true, .noChange),
            (.fromPendingOut, true, .state(.from)),
            (.both, true, .state(.from)),
        ])
        + rows("A.2.3", .subscribed, [
            (.none, false, .preApproval),
            (.nonePendingOut, false, .preApproval),
            (.nonePendingIn, true, .state(.from)),
            (.nonePendingOutIn, true, .state(.fromPendingOut)),
            (.to, false, .preApproval),
            (.toPendingIn, true, .state(.both)),
            (.from, false, .noChange),
            (.fromPendingOut, false, .noChange),
            (.both, false, .noChange),
        ])
        + rows("A.2.4", .unsubscribed, [
            (.none, false, .noChange),
            (.nonePendingOut, false, .noChange),
            (.nonePendingIn, true, .state(.none)),
            (.nonePendingOutIn, true, .state(.nonePendingOut)),
            (.to, false, .noChange),
            (.toPendingIn, true, .state(.to)),
            (.from, true, .state(.none)),
            (.fromPendingOut, true, .state(.nonePendingOut)),
            (.both, true, .state(.to)),
        ])

    // MARK: - A.3 Inbound (the contact's server sends)

    static let inbound: [Row] =
        rows("A.3.1", .subscribe, [
            (.none, true, .state(.nonePendingIn)),
            (.nonePendingOut, true, .state(.nonePendingOutIn)),
            (.nonePendingIn, false, .noChange),
            (.nonePendingOutIn, false, .noChange),
            (.to, true, .state(.toPendingIn)),
            (.toPendingIn, false, .noChange),
            (.from, false, .noChange),
            (.fromPendingOut, false, .noChange),
            (.both, false, .noChange),
        ], autoReply: [.from, .fromPendingOut, .both])
        + rows("A.3.2", .unsubscribe, [
            (.none, false, .noChange),
            (.nonePendingOut, false, .noChange),
            (.nonePendingIn, true, .state(.none)),
            (.nonePendingOutIn, true, .state(.nonePendingOut)),
            (.to, false, .noChange),
            (.toPendingIn, true, .state(.to)),
            (.from, true, .state(.none)),
            (.fromPendingOut, true, .state(.nonePendingOut)),
            (.both, true, .state(.to)),
        ])
        + rows("A.3.3", .subscribed, [
            (.none, false, .noChange),
            (.nonePendingOut, true, .state(.to)),
            (.nonePendingIn, false, .noChange),
            (.nonePendingOutIn, true, .state(.toPendingIn)),
            (.to, false, .noChange),
            (.toPendingIn, false, .noChange),
            (.from, false, .noChange),
            (.fromPendingOut, true, .state(.both)),
            (.both, false, .noChange),
        ])
        + rows("A.3.4", .unsubscribed, [
            (.none, false, .noChange),
            (.nonePendingOut, true, .state(.none)),
            (.nonePendingIn, false, .noChange),
            (.nonePendingOutIn, true, .state(.nonePendingIn)),
            (.to, true, .state(.none)),
            (.toPendingIn, true, .state(.nonePendingIn)),
            (.from, false, .noChange),
            (.fromPendingOut, true, .state(.from)),
            (.both, true, .state(.from)),
        ])

    @Test("every table has one row per state, and there are four tables each way")
    func tablesComplete() {
        for (rows, requests) in [(Self.outbound, Request.allCases), (Self.inbound, Request.allCases)] {
            #expect(rows.count == 36)
            for request in requests {
                #expect(rows.filter { $0.request == request }.map(\.existing) == Defined.allCases)
            }
        }
    }

    @Test("outbound (A.2)", arguments: outbound)
    func outboundRow(row: Row) {
        let existing = SubscriptionState(defined: row.existing)
        let result = existing.outbound(row.request)
        #expect(result.forward == row.passes)
        #expect(result.previous == existing)
        switch row.new {
        case .state(let defined):
            #expect(result.state == SubscriptionState(defined: defined))
            #expect(result.stateChanged)
        case .noChange:
            #expect(result.state == existing)
            #expect(!result.stateChanged)
        case .preApproval:
            #expect(result.state == SubscriptionState(defined: row.existing, preApproved: true))
            #expect(result.state.preApproved)
            #expect(result.stateChanged)
        }
    }

    @Test("inbound (A.3)", arguments: inbound)
    func inboundRow(row: Row) {
        let existing = SubscriptionState(defined: row.existing)
        let result = existing.inbound(row.request)
        #expect(result.deliver == row.passes)
        #expect(result.autoReplySubscribed == row.autoReply)
        #expect(result.previous == existing)
        #expect(!result.usedPreApproval)
        switch row.new {
        case .state(let defined):
            #expect(result.state == SubscriptionState(defined: defined))
            #expect(result.stateChanged)
        case .noChange:
            #expect(result.state == existing)
            #expect(!result.stateChanged)
        case .preApproval:
            Issue.record("inbound tables have no pre-approval rows")
        }
    }

    // MARK: - Pre-approval (§3.4)

    static let preApprovable: [Defined] = [.none, .nonePendingOut, .to]

    @Test("a pre-approved contact's request is approved at once: None → From, None + Pending Out → From + Pending Out, To → Both",
          arguments: [(Defined.none, Defined.from), (.nonePendingOut, .fromPendingOut), (.to, .both)])
    func preApprovedRequest(existing: Defined, expected: Defined) {
        let state = SubscriptionState(defined: existing, preApproved: true)
        let result = state.inbound(.subscribe)
        #expect(result.state == SubscriptionState(defined: expected))
        #expect(!result.state.preApproved)
        #expect(result.autoReplySubscribed)
        #expect(!result.deliver)
        #expect(result.usedPreApproval)
    }

    @Test("pre-approving twice changes nothing more and is not routed", arguments: preApprovable)
    func preApproveAgain(existing: Defined) {
        let state = SubscriptionState(defined: existing, preApproved: true)
        let result = state.outbound(.subscribed)
        #expect(result.state == state)
        #expect(!result.forward)
        #expect(!result.stateChanged)
    }

    @Test("unsubscribed cancels a pre-approval without routing (A.2.4 [1])", arguments: preApprovable)
    func cancelPreApproval(existing: Defined) {
        let state = SubscriptionState(defined: existing, preApproved: true)
        let result = state.outbound(.unsubscribed)
        #expect(result.state == SubscriptionState(defined: existing))
        #expect(!result.forward)
        #expect(result.stateChanged)
    }

    struct PreApprovalCase: Sendable, CustomTestStringConvertible {
        var existing: Defined
        var request: Request
        var inbound: Bool
        var testDescription: String { "\(inbound ? "inbound" : "outbound") \(request.rawValue): \(existing)" }
    }

    /// Every stanza other than the contact's request (which uses the pre-approval) and the user's
    /// `unsubscribed` (which cancels it).
    static let preApprovalKeptCases: [PreApprovalCase] = preApprovable.flatMap { existing in
        Request.allCases.flatMap { request in
            [false, true].map { PreApprovalCase(existing: existing, request: request, inbound: $0) }
        }
    }.filter { !($0.inbound && $0.request == .subscribe) && !(!$0.inbound && $0.request == .unsubscribed) }

    @Test("any other stanza keeps the pre-approval and otherwise follows the table", arguments: preApprovalKeptCases)
    func preApprovalKept(testCase: PreApprovalCase) {
        let plain = SubscriptionState(defined: testCase.existing)
        let approved = SubscriptionState(defined: testCase.existing, preApproved: true)
        if testCase.inbound {
            let expected = plain.inbound(testCase.request)
            let result = approved.inbound(testCase.request)
            #expect(result.state == SubscriptionState(defined: expected.state.defined, preApproved: true))
            #expect(result.deliver == expected.deliver)
            #expect(result.autoReplySubscribed == expected.autoReplySubscribed)
        } else {
            let expected = plain.outbound(testCase.request)
            let result = approved.outbound(testCase.request)
            #expect(result.state == SubscriptionState(defined: expected.state.defined, preApproved: true))
            #expect(result.forward == expected.forward)
        }
    }

    @Test("a full handshake: each side subscribes and approves")
    func handshake() {
        // The user adds the contact: subscribe plus pre-approval (what Consulate's add-contact does).
        var state = SubscriptionState.none
        state = state.outbound(.subscribe).state
        state = state.outbound(.subscribed).state
        #expect(state == SubscriptionState(defined: .nonePendingOut, preApproved: true))
        // The contact approves, then asks back; the pre-approval answers for the user.
        state = state.inbound(.subscribed).state
        #expect(state == SubscriptionState(defined: .to, preApproved: true))
        let request = state.inbound(.subscribe)
        #expect(request.autoReplySubscribed && !request.deliver)
        #expect(request.state == SubscriptionState(defined: .both))
        // The contact revokes, then the user unsubscribes.
        state = request.state.inbound(.unsubscribed).state
        #expect(state == SubscriptionState(defined: .from))
        state = state.outbound(.unsubscribed).state
        #expect(state == .none)
    }
}
