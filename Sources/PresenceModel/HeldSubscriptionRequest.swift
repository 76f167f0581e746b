/// A subscription request from an external contact that the gateway keeps to itself instead of
/// delivering: PublicUnverified partners may only subscribe once the internal user has added them
/// (Lync's "add me first"), and then the held request becomes a real one.
package struct HeldSubscriptionRequest: Sendable, Hashable, Comparable {
    /// The internal user asked (bare JID).
    package var userJID: String
    /// The external contact asking (bare JID).
    package var contactJID: String

    package init(userJID: String, contactJID: String) {
        self.userJID = userJID
        self.contactJID = contactJID
    }

    /// By user, then contact, so held requests can be listed deterministically.
    package static func < (lhs: HeldSubscriptionRequest, rhs: HeldSubscriptionRequest) -> Bool {
        (lhs.userJID, lhs.contactJID) < (rhs.userJID, rhs.contactJID)
    }
}
