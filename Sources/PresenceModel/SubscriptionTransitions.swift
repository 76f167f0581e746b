/// RFC 6121 Appendix A.2 and A.3: what the user's server does with each subscription stanza in each
/// state. The gateway is the internal user's server, so "outbound" is a stanza the internal user
/// sends to the external contact and "inbound" one the contact's server sends to the user.
///
/// These functions only decide the new state and whether the stanza goes on; the translator does
/// the rest (roster pushes to the user, presence sent or withdrawn, partner-trust policy).
extension SubscriptionState {
    /// The outcome of a stanza the user sends (Appendix A.2).
    package struct OutboundTransition: Sendable, Hashable {
        /// The state before the stanza.
        package var previous: SubscriptionState
        /// The state after it; the roster item to push if it differs from `previous`.
        package var state: SubscriptionState
        /// Route the stanza to the contact (the "ROUTE?" column). Pre-approvals, their
        /// cancellation and approvals that have nothing to approve stay local.
        package var forward: Bool

        package init(previous: SubscriptionState, state: SubscriptionState, forward: Bool) {
            self.previous = previous
            self.state = state
            self.forward = forward
        }

        /// The state (or the pre-approval) changed, so the user's roster item must be pushed.
        package var stateChanged: Bool { state != previous }
    }

    /// The outcome of a stanza the contact's server sends (Appendix A.3).
    package struct InboundTransition: Sendable, Hashable {
        /// The state before the stanza.
        package var previous: SubscriptionState
        /// The state after it; the roster item to push if it differs from `previous`.
        package var state: SubscriptionState
        /// Deliver the stanza to the user (the "DELIVER?" column): a request to answer, or the news
        /// that the contact approved, withdrew or revoked.
        package var deliver: Bool
        /// Answer `subscribed` to the contact on the user's behalf without delivering: the contact
        /// already has a subscription (a repeated request, §3.1.3) or was pre-approved (§3.4).
        package var autoReplySubscribed: Bool

        package init(previous: SubscriptionState, state: SubscriptionState, deliver: Bool, autoReplySubscribed: Bool) {
            self.previous = previous
            self.state = state
            self.deliver = deliver
            self.autoReplySubscribed = autoReplySubscribed
        }

        /// The state (or the pre-approval) changed, so the user's roster item must be pushed.
        package var stateChanged: Bool { state != previous }

        /// The contact gained a subscription to the user's presence by a pre-approval, without the
        /// user being asked.
        package var usedPreApproval: Bool { previous.preApproved && !previous.from && state.from }
    }

    /// The user sends `request` to the contact (RFC 6121 A.2).
    ///
    /// - `subscribe` (A.2.1) is always routed, even when the user is already subscribed, because the
    ///   contact's server may have lost the subscription and answers a repeat automatically. "None"
    ///   → "None + Pending Out", "None + Pending In" → "None + Pending Out+In", "From" → "From +
    ///   Pending Out"; no change in the other states.
    /// - `unsubscribe` (A.2.2) is always routed. It ends the user's subscription and any pending
    ///   request of the user's: "To" and "None + Pending Out" → "None", "To + Pending In" and "None +
    ///   Pending Out+In" → "None + Pending In", "Both" and "From + Pending Out" → "From".
    /// - `subscribed` (A.2.3, §3.4) approves a pending request and is routed: "None + Pending In" →
    ///   "From", "None + Pending Out+In" → "From + Pending Out", "To + Pending In" → "Both". With no
    ///   request pending ("None", "None + Pending Out", "To") it records a pre-approval and is not
    ///   routed; where the contact already has a subscription it is ignored.
    /// - `unsubscribed` (A.2.4) denies a pending request or revokes the contact's subscription and is
    ///   routed: "None + Pending In" and "From" → "None", "None + Pending Out+In" and "From + Pending
    ///   Out" → "None + Pending Out", "To + Pending In" and "Both" → "To". Otherwise it is not routed
    ///   and only cancels a pre-approval, if there is one.
    package func outbound(_ request: Request) -> OutboundTransition {
        var next = self
        let forward: Bool
        switch request {
        case .subscribe:
            if !to { next.pendingOut = true }
            forward = true
        case .unsubscribe:
            next.to = false
            next.pendingOut = false
            forward = true
        case .subscribed:
            if from {
                forward = false
            } else if pendingIn {
                next.pendingIn = false
                next.from = true
                forward = true
            } else {
                next.preApproved = true
                forward = false
            }
        case .unsubscribed:
            if from || pendingIn {
                next.from = false
                next.pendingIn = false
                forward = true
            } else {
                next.preApproved = false
                forward = false
            }
        }
        return OutboundTransition(previous: self, state: next, forward: forward)
    }

    /// The contact's server sends `request` to the user (RFC 6121 A.3).
    ///
    /// - `subscribe` (A.3.1): where the contact already has a subscription ("From", "From + Pending
    ///   Out", "Both") nothing changes, nothing is delivered and the server auto-replies `subscribed`.
    ///   With a pre-approval (§3.4) the request is approved at once: "None" → "From", "None + Pending
    ///   Out" → "From + Pending Out", "To" → "Both", auto-reply, no delivery. A repeated request
    ///   (already pending in) is not delivered again. Otherwise it is delivered: "None" → "None +
    ///   Pending In", "None + Pending Out" → "None + Pending Out+In", "To" → "To + Pending In".
    /// - `unsubscribe` (A.3.2): the contact stops receiving the user's presence or withdraws its
    ///   request; delivered when there was one: "None + Pending In" and "From" → "None", "None +
    ///   Pending Out+In" and "From + Pending Out" → "None + Pending Out", "To + Pending In" and
    ///   "Both" → "To". Ignored otherwise.
    /// - `subscribed` (A.3.3): only answers a request of the user's, and is delivered then: "None +
    ///   Pending Out" → "To", "None + Pending Out+In" → "To + Pending In", "From + Pending Out" →
    ///   "Both". Unsolicited approvals are ignored, so a contact cannot push its presence on the user.
    /// - `unsubscribed` (A.3.4): the contact denies the user's request or revokes the user's
    ///   subscription; delivered when there was one: "None + Pending Out" and "To" → "None", "None +
    ///   Pending Out+In" and "To + Pending In" → "None + Pending In", "From + Pending Out" and "Both"
    ///   → "From". Ignored otherwise.
    ///
    /// A pre-approval is the user's own decision, so nothing the contact sends cancels it; it is
    /// consumed when it approves a request.
    package func inbound(_ request: Request) -> InboundTransition {
        var next = self
        var deliver = false
        var autoReply = false
        switch request {
        case .subscribe:
            if from {
                autoReply = true
            } else if preApproved {
                next.preApproved = false
                next.from = true
                autoReply = true
            } else if !pendingIn {
                next.pendingIn = true
                deliver = true
            }
        case .unsubscribe:
            deliver = from || pendingIn
            next.from = false
            next.pendingIn = false
        case .subscribed:
            if pendingOut {
                next.pendingOut = false
                next.to = true
                deliver = true
            }
        case .unsubscribed:
            deliver = to || pendingOut
            next.to = false
            next.pendingOut = false
        }
        return InboundTransition(previous: self, state: next, deliver: deliver, autoReplySubscribed: autoReply)
    }
}
