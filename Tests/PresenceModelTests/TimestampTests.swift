import PresenceModel
import Testing

@Suite("Timestamps (XEP-0082)")
struct TimestampTests {
    static let knownInstantCases: [(Int64, Int?, String)] = [
        (0, nil, "1970-01-01T00:00:00Z"),
        (-1, nil, "1969-12-31T23:59:59Z"),
        (1_000_000_000, nil, "2001-09-09T01:46:40Z"),
        (951_782_400, nil, "2000-02-29T00:00:00Z"),
        (1_709_164_800, nil, "2024-02-29T00:00:00Z"),
        (1_795_000_000, nil, "2026-11-18T11:06:40Z"),
        (1_795_504_200, 250, "2026-11-24T07:10:00.250Z"),
        (1_795_504_200, 0, "2026-11-24T07:10:00.000Z"),
        (253_402_300_799, 999, "9999-12-31T23:59:59.999Z"),
        (-62_167_219_200, nil, "0000-01-01T00:00:00Z"),
    ]

    @Test("known instants format and parse", arguments: knownInstantCases)
    func knownInstants(seconds: Int64, milliseconds: Int?, text: String) throws {
        let timestamp = Timestamp(secondsSinceEpoch: seconds, milliseconds: milliseconds)
        #expect(timestamp.xmppDateTime == text)
        #expect(timestamp.description == text)
        let parsed = try #require(Timestamp(xmppDateTime: text))
        #expect(parsed == timestamp)
        #expect(parsed.secondsSinceEpoch == seconds)
        #expect(parsed.milliseconds == milliseconds)
        #expect(parsed.xmppDateTime == text)
    }

    @Test("format → parse round-trips over many instants")
    func roundTrip() throws {
        var seconds: Int64 = -2_208_988_800  // 1900-01-01
        while seconds < 4_102_444_800 {  // 2100-01-01
            for milliseconds in [nil, 0, 7, 999] as [Int?] {
                let timestamp = Timestamp(secondsSinceEpoch: seconds, milliseconds: milliseconds)
                let parsed = try #require(Timestamp(xmppDateTime: timestamp.xmppDateTime))
                #expect(parsed.secondsSinceEpoch == timestamp.secondsSinceEpoch)
                #expect(parsed.milliseconds == timestamp.milliseconds)
            }
            seconds += 7_776_061  // about 90 days, so every month and time of day comes up
        }
    }

    static let offsetCases: [(String, String)] = [
        ("2026-11-24T10:30:00+01:00", "2026-11-24T09:30:00Z"),
        ("2026-11-24T04:00:00-05:30", "2026-11-24T09:30:00Z"),
        ("2026-11-24T09:30:00+00:00", "2026-11-24T09:30:00Z"),
        ("2026-11-24T09:30:00-00:00", "2026-11-24T09:30:00Z"),
        ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00Z"),
        ("2025-12-31T23:30:00-01:00", "2026-01-01T00:30:00Z"),
        ("2024-03-01T01:00:00+14:00", "2024-02-29T11:00:00Z"),
        ("2026-11-24T10:30:00.250+01:00", "2026-11-24T09:30:00.250Z"),
    ]

    @Test("offsets are converted to UTC", arguments: offsetCases)
    func offsets(text: String, utc: String) throws {
        let parsed = try #require(Timestamp(xmppDateTime: text))
        #expect(parsed.xmppDateTime == utc)
        #expect(parsed == Timestamp(xmppDateTime: utc))
    }

    static let fractionCases: [(String, Int)] = [
        ("2026-11-24T09:30:00.5Z", 500),
        ("2026-11-24T09:30:00.05Z", 50),
        ("2026-11-24T09:30:00.123Z", 123),
        ("2026-11-24T09:30:00.123456789Z", 123),
        ("2026-11-24T09:30:00.000Z", 0),
    ]

    @Test("fractions are read to the millisecond and truncated beyond", arguments: fractionCases)
    func fractions(text: String, milliseconds: Int) throws {
        let parsed = try #require(Timestamp(xmppDateTime: text))
        #expect(parsed.milliseconds == milliseconds)
        #expect(parsed.secondsSinceEpoch == Timestamp(xmppDateTime: "2026-11-24T09:30:00Z")?.secondsSinceEpoch)
    }

    static let invalidCases = [
        "", "2026-11-24", "2026-11-24T09:30:00", "2026-11-24 09:30:00Z", "2026-11-24T09:30Z",
        "2026-11-24t09:30:00Z", "2026-11-24T09:30:00z", "26-11-24T09:30:00Z", "2026-1-24T09:30:00Z",
        "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-00T00:00:00Z",
        "2026-11-24T24:00:00Z", "2026-11-24T09:60:00Z", "2026-11-24T09:30:61Z",
        "2026-11-24T09:30:00.Z", "2026-11-24T09:30:00+0100", "2026-11-24T09:30:00+01", "2026-11-24T09:30:00+24:00",
        "2026-11-24T09:30:00+01:60", "2026-11-24T09:30:00ZZ", "2026-11-24T09:30:00Z ", " 2026-11-24T09:30:00Z",
        "２０２６-11-24T09:30:00Z",
    ]

    @Test("malformed date-times are refused", arguments: invalidCases)
    func refused(text: String) {
        #expect(Timestamp(xmppDateTime: text) == nil)
    }

    @Test("a leap second reads as the last second of the minute")
    func leapSecond() {
        #expect(Timestamp(xmppDateTime: "2016-12-31T23:59:60Z") == Timestamp(xmppDateTime: "2016-12-31T23:59:59Z"))
    }

    @Test("equality and order compare instants; a missing fraction equals .000")
    func equality() throws {
        let bare = try #require(Timestamp(xmppDateTime: "2026-11-24T09:30:00Z"))
        let zero = try #require(Timestamp(xmppDateTime: "2026-11-24T09:30:00.000Z"))
        #expect(bare == zero)
        #expect(bare.hashValue == zero.hashValue)
        #expect(bare.xmppDateTime != zero.xmppDateTime)
        let later = try #require(Timestamp(xmppDateTime: "2026-11-24T09:30:00.001Z"))
        #expect(bare < later)
        #expect(!(later < bare))
        #expect(Timestamp(secondsSinceEpoch: -1, milliseconds: 999) < Timestamp(secondsSinceEpoch: 0))
    }

    @Test("milliseconds since the epoch, either side of it")
    func milliseconds() {
        #expect(Timestamp(millisecondsSinceEpoch: 1_500).secondsSinceEpoch == 1)
        #expect(Timestamp(millisecondsSinceEpoch: 1_500).milliseconds == 500)
        #expect(Timestamp(millisecondsSinceEpoch: 2_000).milliseconds == nil)
        #expect(Timestamp(millisecondsSinceEpoch: -1).secondsSinceEpoch == -1)
        #expect(Timestamp(millisecondsSinceEpoch: -1).milliseconds == 999)
        #expect(Timestamp(millisecondsSinceEpoch: -1).xmppDateTime == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1_000).milliseconds == nil)
        for value: Int64 in [-86_400_001, -1_001, -1, 0, 1, 999, 1_000, 1_795_513_800_250] {
            #expect(Timestamp(millisecondsSinceEpoch: value).millisecondsSinceEpoch == value)
        }
    }

    @Test("milliseconds out of 0…999 carry into the seconds")
    func normalised() {
        #expect(Timestamp(secondsSinceEpoch: 10, milliseconds: 1_250) == Timestamp(secondsSinceEpoch: 11, milliseconds: 250))
        #expect(Timestamp(secondsSinceEpoch: 10, milliseconds: -1).secondsSinceEpoch == 9)
        #expect(Timestamp(secondsSinceEpoch: 10, milliseconds: -1).milliseconds == 999)
        #expect(Timestamp(secondsSinceEpoch: 10, milliseconds: -1_000).milliseconds == 0)
        #expect(Timestamp(secondsSinceEpoch: 10, milliseconds: -1_000).secondsSinceEpoch == 9)
    }
}
