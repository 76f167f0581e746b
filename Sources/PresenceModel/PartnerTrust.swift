/// How far a federated organisation is trusted (Lync PartnerType).
public enum PartnerTrust: String, Sendable, Hashable, CaseIterable {
    /// Same enterprise or an established relationship: may subscribe and message freely, sees notes.
    case federated
    /// A provider trusted to verify its users: may subscribe and message freely, never sees notes.
    case publicVerified = "public-verified"
    /// The default: its users can neither subscribe to nor message an internal user who has not
    /// added them first, and never see notes.
    case publicUnverified = "public-unverified"

    public var autoApprovesInboundSubscriptions: Bool { self != .publicUnverified }
    public var mayMessageNonContacts: Bool { self != .publicUnverified }
    public var allowsNotes: Bool { self == .federated }

    /// The most a contact on this partner may see.
    public var ceiling: AccessLevel { self == .federated ? .friendsAndFamily : .external }

    /// Effective level = min(partner ceiling, contact level); Blocked always wins.
    public func effectiveLevel(for contactLevel: AccessLevel) -> AccessLevel {
        min(ceiling, contactLevel)
    }
}
