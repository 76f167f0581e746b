/// A subscription request from an external contact that the gateway keeps to itself instead of
/// delivering: PublicUnverified partners may only subscribe once the internal user has added them
/// (Lync's "add me first"), and then the held request becomes a real one.
public struct HeldSubscriptionRequest: Sendable, Hashable, Comparable {
    /// The internal user asked (bare JID).
    public var userJID: String
    /// The external contact asking (bare JID).
    public var contactJID: String

    public init(userJID: String, contactJID: String) {
        self.userJID = userJID
        self.contactJID = contactJID
    }

    /// By user, then contact, so held requests can be listed deterministically.
    public static func < (lhs: HeldSubscriptionRequest, rhs: HeldSubscriptionRequest) -> Bool {
        (lhs.userJID, lhs.contactJID) < (rhs.userJID, rhs.contactJID)
    }
}
