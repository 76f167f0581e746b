/// The subscription state between an internal user and one contact, from the user's side (the
/// user's server is the gateway), as RFC 6121 defines it:
/// - `to`: the user receives the contact's presence;
/// - `from`: the contact receives the user's presence;
/// - `pendingOut`: the user asked for the contact's presence and has no answer yet;
/// - `pendingIn`: the contact asked for the user's presence and the user has not answered yet;
/// - `preApproved`: the user approved a request before it arrived (§3.4), so the next `subscribe`
///   from the contact is answered automatically.
///
/// The nine states of Appendix A.1 are the consistent combinations of the first four flags (see
/// `Defined`); the initialiser drops contradictory flags, so every value is one of them. The state
/// changes only through `outbound(_:)` and `inbound(_:)` (RFC 6121 Appendix A.2 and A.3); the flags
/// are settable only inside this module, by those transitions.
package struct SubscriptionState: Sendable, Hashable, CustomStringConvertible {
    package internal(set) var to: Bool
    package internal(set) var from: Bool
    package internal(set) var pendingOut: Bool
    package internal(set) var pendingIn: Bool
    /// Only possible where the contact neither has nor has asked for a subscription ("None",
    /// "None + Pending Out", "To"), as §3.4 defines.
    package internal(set) var preApproved: Bool

    /// Builds a state; contradictory flags (pending-out while already `to`, pending-in or
    /// pre-approval while already `from`, pre-approval while a request is pending in) are dropped.
    package init(to: Bool = false, from: Bool = false, pendingOut: Bool = false, pendingIn: Bool = false, preApproved: Bool = false) {
        self.to = to
        self.from = from
        self.pendingOut = pendingOut && !to
        self.pendingIn = pendingIn && !from
        self.preApproved = preApproved && !from && !self.pendingIn
    }

    /// One of the nine defined states, plus the pre-approval flag where it is possible.
    package init(defined: Defined, preApproved: Bool = false) {
        self.init(
            to: defined.hasTo,
            from: defined.hasFrom,
            pendingOut: defined.hasPendingOut,
            pendingIn: defined.hasPendingIn,
            preApproved: preApproved
        )
    }

    /// From the roster attributes: `subscription` plus the pending flags.
    package init(_ kind: Kind, pendingOut: Bool = false, pendingIn: Bool = false, preApproved: Bool = false) {
        self.init(
            to: kind == .to || kind == .both,
            from: kind == .from || kind == .both,
            pendingOut: pendingOut,
            pendingIn: pendingIn,
            preApproved: preApproved
        )
    }

    /// "None": no subscription either way, nothing pending.
    package static let none = SubscriptionState()

    /// The user is subscribed to the contact's presence.
    package var userReceivesPresence: Bool { to }
    /// The contact is subscribed to the user's presence.
    package var contactReceivesPresence: Bool { from }

    // MARK: - The nine states

    /// The nine states of RFC 6121 Appendix A.1.
    package enum Defined: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case none = "None"
        case nonePendingOut = "None + Pending Out"
        case nonePendingIn = "None + Pending In"
        case nonePendingOutIn = "None + Pending Out+In"
        case to = "To"
        case toPendingIn = "To + Pending In"
        case from = "From"
        case fromPendingOut = "From + Pending Out"
        case both = "Both"

        /// The user receives the contact's presence ("To", "To + Pending In", "Both").
        package var hasTo: Bool { self == .to || self == .toPendingIn || self == .both }
        /// The contact receives the user's presence ("From", "From + Pending Out", "Both").
        package var hasFrom: Bool { self == .from || self == .fromPendingOut || self == .both }
        package var hasPendingOut: Bool { self == .nonePendingOut || self == .nonePendingOutIn || self == .fromPendingOut }
        package var hasPendingIn: Bool { self == .nonePendingIn || self == .nonePendingOutIn || self == .toPendingIn }

        /// Whether a pre-approval can exist in this state (§3.4: "None", "None + Pending Out", "To").
        package var allowsPreApproval: Bool { !hasFrom && !hasPendingIn }

        /// The RFC's name for the state, e.g. "None + Pending Out+In".
        package var description: String { rawValue }
    }

    /// Which of the nine states this is (the pre-approval flag aside).
    package var defined: Defined {
        switch (to, from, pendingOut, pendingIn) {
        case (false, false, false, false): .none
        case (false, false, true, false): .nonePendingOut
        case (false, false, false, true): .nonePendingIn
        case (false, false, true, true): .nonePendingOutIn
        case (true, false, _, false): .to
        case (true, false, _, true): .toPendingIn
        case (false, true, false, _): .from
        case (false, true, true, _): .fromPendingOut
        case (true, true, _, _): .both
        }
    }

    // MARK: - Roster attributes (RFC 6121 §2.1.2)

    /// The roster `subscription` attribute value.
    package enum Kind: String, Sendable, Hashable, CaseIterable {
        case none, to, from, both
    }

    /// The roster `subscription` attribute.
    package var kind: Kind {
        switch (to, from) {
        case (true, true): .both
        case (true, false): .to
        case (false, true): .from
        case (false, false): .none
        }
    }

    /// The roster `ask='subscribe'` flag: the user's own request is pending. (A pending inbound
    /// request is not shown in the roster item.)
    package var askSubscribe: Bool { pendingOut }

    /// The roster `approved='true'` flag.
    package var approved: Bool { preApproved }

    /// The RFC name, with " (pre-approved)" when there is a pre-approval.
    package var description: String {
        preApproved ? "\(defined.rawValue) (pre-approved)" : defined.rawValue
    }

    // MARK: - Stanzas

    /// The four subscription presence types. Raw values are the XMPP `type` attribute values.
    package enum Request: String, Sendable, Hashable, CaseIterable {
        /// Ask for the other side's presence.
        case subscribe
        /// Approve the other side's request (or pre-approve one).
        case subscribed
        /// Stop receiving the other side's presence, or withdraw a pending request.
        case unsubscribe
        /// Deny the other side's request, revoke its subscription, or cancel a pre-approval.
        case unsubscribed
    }
}
