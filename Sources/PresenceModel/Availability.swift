/// A Lync availability number. Clients publish representative values (3500, 6500, …); anything in a
/// range means that range's state, which is how custom states and "idle" variants are expressed.
public struct Availability: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public init(_ value: UInt32) {
        self.rawValue = value
    }

    public static let available = Availability(3500)
    public static let inactive = Availability(5000)
    public static let busy = Availability(6500)
    public static let urgentInterruptionsOnly = Availability(6900)
    public static let busyIdle = Availability(8000)
    public static let doNotDisturb = Availability(9500)
    public static let beRightBack = Availability(12500)
    public static let away = Availability(15500)
    public static let offline = Availability(18500)

    public var range: AvailabilityRange { AvailabilityRange(self) }

    public static func < (lhs: Availability, rhs: Availability) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}

/// The Lync availability ranges (the state-availability schema).
public enum AvailabilityRange: String, Sendable, Hashable, CaseIterable {
    case available
    /// Available but idle ("Inactive").
    case inactive
    case busy
    case busyIdle = "busy-idle"
    case doNotDisturb = "do-not-disturb"
    case beRightBack = "be-right-back"
    case away
    case offline

    public init(_ availability: Availability) {
        switch availability.rawValue {
        case 0..<4500: self = .available
        case 4500..<6000: self = .inactive
        case 6000..<7500: self = .busy
        case 7500..<9000: self = .busyIdle
        case 9000..<12000: self = .doNotDisturb
        case 12000..<15000: self = .beRightBack
        case 15000..<18000: self = .away
        default: self = .offline
        }
    }

    /// The value a client publishes for this range.
    public var representative: Availability {
        switch self {
        case .available: .available
        case .inactive: .inactive
        case .busy: .busy
        case .busyIdle: .busyIdle
        case .doNotDisturb: .doNotDisturb
        case .beRightBack: .beRightBack
        case .away: .away
        case .offline: .offline
        }
    }

    /// Lync allows custom states only on these availabilities.
    public var allowsCustomStates: Bool {
        self == .available || self == .busy || self == .doNotDisturb
    }
}
