/// The subscription state between an internal user and one contact, from the user's side, as
/// RFC 6121 defines it: `to` means the user receives the contact's presence, `from` means the
/// contact receives the user's. The nine states of Appendix A are the valid combinations of these
/// flags with the two pending flags; `preApproved` records an approval given before any request (§3.4).
public struct SubscriptionState: Sendable, Hashable, CustomStringConvertible {
    public private(set) var to: Bool
    public private(set) var from: Bool
    /// The user asked for the contact's presence and awaits an answer.
    public private(set) var pendingOut: Bool
    /// The contact asked for the user's presence and awaits an answer.
    public private(set) var pendingIn: Bool
    public private(set) var preApproved: Bool

    /// Builds a state; contradictory flags (pending-out while already `to`, pending-in or pre-approval
    /// while already `from`) are dropped, so every value is one of RFC 6121's states.
    public init(to: Bool = false, from: Bool = false, pendingOut: Bool = false, pendingIn: Bool = false, preApproved: Bool = false) {
        self.to = to
        self.from = from
        self.pendingOut = pendingOut && !to
        self.pendingIn = pendingIn && !from
        self.preApproved = preApproved && !from && !pendingIn
    }

    public static let none = SubscriptionState()

    /// The roster `subscription` attribute value.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case none, to, from, both
    }

    public init(_ kind: Kind, pendingOut: Bool = false, pendingIn: Bool = false, preApproved: Bool = false) {
        self.init(
            to: kind == .to || kind == .both,
            from: kind == .from || kind == .both,
            pendingOut: pendingOut,
            pendingIn: pendingIn,
            preApproved: preApproved
        )
    }

    public var kind: Kind {
        switch (to, from) {
        case (true, true): .both
        case (true, false): .to
        case (false, true): .from
        case (false, false): .none
        }
    }

    /// The user is subscribed to the contact's presence.
    public var userReceivesPresence: Bool { to }
    /// The contact is subscribed to the user's presence.
    public var contactReceivesPresence: Bool { from }

    public var description: String {
        var text = kind.rawValue
        if pendingOut { text += "+pending-out" }
        if pendingIn { text += "+pending-in" }
        if preApproved { text += "+pre-approved" }
        return text
    }

    /// The four subscription presence types.
    public enum Request: String, Sendable, Hashable, CaseIterable {
        case subscribe, subscribed, unsubscribe, unsubscribed
    }

    /// What the user's server does when the user sends a subscription stanza (RFC 6121 A.2).
    public struct OutboundResult: Sendable, Hashable {
        public var state: SubscriptionState
        /// Route the stanza to the contact. Pre-approvals and no-op requests stay local.
        public var forward: Bool
    }

    /// What the user's server does when the contact's server sends one (RFC 6121 A.3).
    public struct InboundResult: Sendable, Hashable {
        public var state: SubscriptionState
        /// Tell the user (a request to approve, or a change of state).
        public var deliver: Bool
        /// Answer `subscribed` on the user's behalf: the contact is already subscribed or was pre-approved.
        public var autoReplySubscribed: Bool
    }

    /// RFC 6121 Appendix A.2 (outbound subscribe, unsubscribe, subscribed, unsubscribed).
    public func outbound(_ request: Request) -> OutboundResult {
        var next = self
        switch request {
        case .subscribe:
            guard !to else { return OutboundResult(state: self, forward: false) }
            next.pendingOut = true
            return OutboundResult(state: next, forward: true)
        case .unsubscribe:
            let changed = to || pendingOut
            next.to = false
            next.pendingOut = false
            return OutboundResult(state: next, forward: changed)
        case .subscribed:
            if pendingIn {
                next.pendingIn = false
                next.from = true
                return OutboundResult(state: next, forward: true)
            }
            if !from { next.preApproved = true }
            return OutboundResult(state: next, forward: false)
        case .unsubscribed:
            let changed = from || pendingIn
            next.from = false
            next.pendingIn = false
            next.preApproved = false
            return OutboundResult(state: next, forward: changed)
        }
    }

    /// RFC 6121 Appendix A.3 (inbound subscribe, unsubscribe, subscribed, unsubscribed).
    public func inbound(_ request: Request) -> InboundResult {
        var next = self
        switch request {
        case .subscribe:
            if from { return InboundResult(state: self, deliver: false, autoReplySubscribed: true) }
            if preApproved {
                next.preApproved = false
                next.from = true
                return InboundResult(state: next, deliver: false, autoReplySubscribed: true)
            }
            if pendingIn { return InboundResult(state: self, deliver: false, autoReplySubscribed: false) }
            next.pendingIn = true
            return InboundResult(state: next, deliver: true, autoReplySubscribed: false)
        case .unsubscribe:
            let changed = from || pendingIn
            next.from = false
            next.pendingIn = false
            return InboundResult(state: next, deliver: changed, autoReplySubscribed: false)
        case .subscribed:
            guard pendingOut else { return InboundResult(state: self, deliver: false, autoReplySubscribed: false) }
            next.pendingOut = false
            next.to = true
            return InboundResult(state: next, deliver: true, autoReplySubscribed: false)
        case .unsubscribed:
            let changed = to || pendingOut
            next.to = false
            next.pendingOut = false
            return InboundResult(state: next, deliver: changed, autoReplySubscribed: false)
        }
    }
}
