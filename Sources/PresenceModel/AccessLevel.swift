/// A contact's privacy relationship (Lync container), deciding how much of the user's presence the
/// contact sees. Raw values are the Lync container ids.
public enum AccessLevel: Int, Sendable, Hashable, CaseIterable, Comparable {
    case external = 100
    case colleagues = 200
    case workgroup = 300
    case friendsAndFamily = 400
    case blocked = 32000

    /// What an external contact starts as.
    public static let defaultForExternalContacts = AccessLevel.external

    public init?(token: String) {
        guard let level = Self.allCases.first(where: { $0.token == token }) else { return nil }
        self = level
    }

    public var token: String {
        switch self {
        case .external: "external"
        case .colleagues: "colleagues"
        case .workgroup: "workgroup"
        case .friendsAndFamily: "friends-and-family"
        case .blocked: "blocked"
        }
    }

    /// Blocked contacts always see Offline.
    public var seesRealState: Bool { self != .blocked }
    /// Personal and out-of-office notes: Colleagues and above.
    public var canSeeNote: Bool { self != .external && self != .blocked }
    public var canSeeLocation: Bool { canSeeNote }
    /// Meeting subject and location: Workgroup only.
    public var canSeeMeetingDetails: Bool { self == .workgroup }

    /// Orders by how much a level may see; Blocked sees least.
    public static func < (lhs: AccessLevel, rhs: AccessLevel) -> Bool {
        lhs.visibilityRank < rhs.visibilityRank
    }

    private var visibilityRank: Int {
        self == .blocked ? 0 : rawValue
    }
}
