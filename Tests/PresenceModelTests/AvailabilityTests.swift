import PresenceModel
import Testing

@Suite("Availability ranges")
struct AvailabilityTests {
    /// Every boundary of the Lync state-availability schema, from both sides.
    static let boundaries: [(UInt32, AvailabilityRange)] = [
        (0, .available), (3500, .available), (4499, .available),
        (4500, .inactive), (5999, .inactive),
        (6000, .busy), (7499, .busy),
        (7500, .busyIdle), (8999, .busyIdle),
        (9000, .doNotDisturb), (11999, .doNotDisturb),
        (12000, .beRightBack), (14999, .beRightBack),
        (15000, .away), (17999, .away),
        (18000, .offline), (18500, .offline), (UInt32.max, .offline),
    ]

    @Test("each boundary value falls in the right range", arguments: boundaries)
    func boundary(value: UInt32, range: AvailabilityRange) {
        #expect(Availability(value).range == range)
        #expect(AvailabilityRange(Availability(value)) == range)
        #expect(range.values.contains(value))
    }

    @Test("the published values are the documented constants")
    func representativeValues() {
        #expect(Availability.available.rawValue == 3500)
        #expect(Availability.busy.rawValue == 6500)
        #expect(Availability.urgentInterruptionsOnly.rawValue == 6900)
        #expect(Availability.doNotDisturb.rawValue == 9500)
        #expect(Availability.beRightBack.rawValue == 12500)
        #expect(Availability.away.rawValue == 15500)
        #expect(Availability.offline.rawValue == 18500)
        #expect(Availability.urgentInterruptionsOnly.range == .busy)
    }

    @Test("each range's representative lies inside it", arguments: AvailabilityRange.allCases)
    func representativeInside(range: AvailabilityRange) {
        #expect(range.representative.range == range)
        #expect(range.values.contains(range.representative.rawValue))
    }

    @Test("the ranges tile 0…UInt32.max without gaps or overlaps")
    func rangesTile() {
        let ranges = AvailabilityRange.allCases
        #expect(ranges.first?.values.lowerBound == 0)
        #expect(ranges.last?.values.upperBound == UInt32.max)
        for (lower, upper) in zip(ranges, ranges.dropFirst()) {
            #expect(lower.values.upperBound + 1 == upper.values.lowerBound, "\(lower) → \(upper)")
            #expect(Availability(lower.values.upperBound).range == lower)
            #expect(Availability(upper.values.lowerBound).range == upper)
        }
    }

    @Test("custom states only on available, busy and do-not-disturb; idle ranges are the idle ones")
    func rangeProperties() {
        #expect(AvailabilityRange.allCases.filter(\.allowsCustomStates) == [.available, .busy, .doNotDisturb])
        #expect(AvailabilityRange.allCases.filter(\.isIdle) == [.inactive, .busyIdle])
    }

    @Test("tokens are the configuration keys")
    func tokens() {
        #expect(AvailabilityRange.allCases.map(\.rawValue) == [
            "available", "inactive", "busy", "busy-idle", "do-not-disturb", "be-right-back", "away", "offline",
        ])
        for range in AvailabilityRange.allCases {
            #expect(AvailabilityRange(rawValue: range.rawValue) == range)
        }
    }

    @Test("availabilities order by number and read from literals")
    func ordering() {
        let literal: Availability = 6500
        #expect(literal == .busy)
        #expect(Availability.available < .busy)
        #expect(Availability.away < .offline)
        #expect(Availability(rawValue: 9500) == .doNotDisturb)
        #expect(Availability.busy.description == "6500")
    }
}
