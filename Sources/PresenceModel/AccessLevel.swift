/// A contact's privacy relationship (a Lync container), deciding how much of the user's presence
/// the contact sees. Raw values are the Lync container ids, so levels can be stored and compared
/// with what a Lync server reports.
///
/// Ordered by how much a level may see, Blocked lowest, so "the lesser of two levels" (`min`) is the
/// safe combination when two rules disagree.
package enum AccessLevel: Int, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case external = 100
    case colleagues = 200
    case workgroup = 300
    case friendsAndFamily = 400
    case blocked = 32000

    /// What a contact outside the organisation starts as: Lync puts federated users in External.
    package static let defaultForExternalContacts = AccessLevel.external

    /// What a contact inside the organisation starts as.
    package static let defaultForInternalContacts = AccessLevel.colleagues

    /// Reads the stable token used in configuration and fixtures (`friends-and-family`, …).
    package init?(token: String) {
        guard let level = Self.allCases.first(where: { $0.token == token }) else { return nil }
        self = level
    }

    /// The level a Lync container stands for, or `nil` for containers that are not relationships
    /// (Default, Self, the aggregation containers).
    package init?(containerID: ContainerID) {
        self.init(rawValue: containerID.rawValue)
    }

    package var token: String {
        switch self {
        case .external: "external"
        case .colleagues: "colleagues"
        case .workgroup: "workgroup"
        case .friendsAndFamily: "friends-and-family"
        case .blocked: "blocked"
        }
    }

    /// The Lync container this level publishes into.
    package var containerID: ContainerID {
        // Every level's raw value is one of the container ids.
        ContainerID(rawValue: rawValue)!
    }

    // MARK: - What the level may see

    /// Blocked contacts always see Offline (the Blocked container publishes 18500), whatever the real
    /// state; every other level sees the real availability and activity.
    package var seesRealState: Bool { self != .blocked }

    /// Name, title, company and photo: everyone except Blocked (who gets display name and email only).
    package var canSeePhoto: Bool { self != .blocked }

    /// Personal and out-of-office notes: Colleagues and above. External never sees notes.
    package var canSeeNote: Bool { self == .colleagues || self == .workgroup || self == .friendsAndFamily }

    /// Location: the same levels as notes.
    package var canSeeLocation: Bool { canSeeNote }

    /// Free/busy and working hours: Lync publishes them to Colleagues and above, and empty to External
    /// and Blocked.
    package var canSeeCalendar: Bool { canSeeNote }

    /// Meeting subject and location: Workgroup only (not even Friends and Family).
    package var canSeeMeetingDetails: Bool { self == .workgroup }

    /// Breaking through Do Not Disturb: Workgroup only, which is why Lync gives Workgroup its own
    /// aggregation container.
    package var canInterruptDoNotDisturb: Bool { self == .workgroup }

    package static func < (lhs: AccessLevel, rhs: AccessLevel) -> Bool {
        lhs.visibilityRank < rhs.visibilityRank
    }

    private var visibilityRank: Int {
        self == .blocked ? 0 : rawValue
    }

    package var description: String { token }
}

/// The Lync container ids (container semantics defined by Lync). Only some are relationships
/// (`AccessLevel`); the others are kept so ids read from a Lync deployment can be recognised.
package enum ContainerID: Int, Sendable, Hashable, CaseIterable {
    /// Container 0, the default container.
    case defaultContainer = 0
    /// Container 1, what the user publishes to their own endpoints.
    case selfContainer = 1
    /// Container 2, feeding the aggregate state External, Colleagues and Friends and Family see.
    case aggregation = 2
    /// Container 3, feeding the aggregate state Workgroup sees (for example DND breakthrough).
    case workgroupAggregation = 3
    case external = 100
    case colleagues = 200
    case workgroup = 300
    case friendsAndFamily = 400
    case blocked = 32000
}
