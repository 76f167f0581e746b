/// A Lync availability number (the `state/availability` element).
///
/// The number, not an enum, is the model because Lync itself works in numbers: clients publish a
/// representative value per state (3500, 6500, …), the server aggregates by comparing numbers, and
/// any value inside a range means that range's state. Keeping the raw number lets the gateway pass
/// through values it did not publish itself (for example an idle state computed elsewhere) without
/// losing them, while `range` gives the state to map.
package struct Availability: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    package var rawValue: UInt32

    package init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    package init(_ value: UInt32) {
        self.rawValue = value
    }

    package init(integerLiteral value: UInt32) {
        self.rawValue = value
    }

    /// Available ("Online"), as clients publish it.
    package static let available = Availability(3500)
    /// Available but idle. Clients never publish it (idleness is derived), so Consulate picks a value
    /// inside the 4500–5999 range for the states it has to produce itself.
    package static let inactive = Availability(5000)
    /// Busy, as clients publish it.
    package static let busy = Availability(6500)
    /// Busy with "urgent interruptions only" (the DND variant Workgroup contacts may break through).
    package static let urgentInterruptionsOnly = Availability(6900)
    /// Busy but idle. Like `inactive`, derived rather than published; a value inside 7500–8999.
    package static let busyIdle = Availability(8000)
    /// Do not disturb, as clients publish it.
    package static let doNotDisturb = Availability(9500)
    /// Be right back, as clients publish it.
    package static let beRightBack = Availability(12500)
    /// Away, as clients publish it.
    package static let away = Availability(15500)
    /// Offline or "Appear offline"; also what the Blocked container always shows.
    package static let offline = Availability(18500)

    /// The state this number falls in.
    package var range: AvailabilityRange { AvailabilityRange(self) }

    package static func < (lhs: Availability, rhs: Availability) -> Bool { lhs.rawValue < rhs.rawValue }

    package var description: String { String(rawValue) }
}

/// The Lync availability ranges (the state-availability schema). Raw values are the stable tokens
/// used in configuration (`[presence.outbound.<range>]`) and fixtures.
package enum AvailabilityRange: String, Sendable, Hashable, CaseIterable {
    /// 0–4499.
    case available
    /// 4500–5999: available but idle ("Inactive").
    case inactive
    /// 6000–7499.
    case busy
    /// 7500–8999.
    case busyIdle = "busy-idle"
    /// 9000–11999.
    case doNotDisturb = "do-not-disturb"
    /// 12000–14999.
    case beRightBack = "be-right-back"
    /// 15000–17999.
    case away
    /// 18000 and above.
    case offline

    package init(_ availability: Availability) {
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

    /// Every availability number that means this state, bounds included.
    package var values: ClosedRange<UInt32> {
        switch self {
        case .available: 0...4499
        case .inactive: 4500...5999
        case .busy: 6000...7499
        case .busyIdle: 7500...8999
        case .doNotDisturb: 9000...11999
        case .beRightBack: 12000...14999
        case .away: 15000...17999
        case .offline: 18000...UInt32.max
        }
    }

    /// The value the gateway publishes for this range when it has no more precise number.
    package var representative: Availability {
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

    /// Lync allows custom states only on the available, busy and do-not-disturb availabilities, so a
    /// custom activity on any other range is a modelling error rather than something to map.
    package var allowsCustomStates: Bool {
        self == .available || self == .busy || self == .doNotDisturb
    }

    /// The idle variants, which carry an XEP-0319 idle-since time when mapped to XMPP.
    package var isIdle: Bool {
        self == .inactive || self == .busyIdle
    }
}
