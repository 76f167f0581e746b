/// An instant in UTC: whole seconds since the Unix epoch plus an optional millisecond part, written
/// and read as XEP-0082 DateTime (`CCYY-MM-DDThh:mm:ss[.sss]Z`).
///
/// Pure Swift so the model needs neither Foundation nor a clock: callers inject "now", which keeps the
/// translator deterministic for fixture replay. The millisecond part is optional so a time read
/// without a fraction is written back without one; equality and ordering compare instants only, so
/// `…T09:30:00Z` and `…T09:30:00.000Z` are equal.
package struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before it).
    package let secondsSinceEpoch: Int64
    /// The fraction of the second in milliseconds (0…999), or `nil` when the time has none.
    package let milliseconds: Int?

    /// An instant from seconds and an optional millisecond part; milliseconds outside 0…999 carry
    /// into the seconds, so every value is normalised.
    package init(secondsSinceEpoch: Int64, milliseconds: Int? = nil) {
        guard let milliseconds else {
            self.secondsSinceEpoch = secondsSinceEpoch
            self.milliseconds = nil
            return
        }
        let carry = Int64(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        self.secondsSinceEpoch = secondsSinceEpoch + carry
        self.milliseconds = milliseconds - Int(carry) * 1000
    }

    /// An instant from milliseconds since the epoch; a zero fraction is dropped so the time is
    /// written without one.
    package init(millisecondsSinceEpoch: Int64) {
        let (quotient, remainder) = millisecondsSinceEpoch.quotientAndRemainder(dividingBy: 1000)
        let seconds = remainder < 0 ? quotient - 1 : quotient
        let fraction = Int(remainder < 0 ? remainder + 1000 : remainder)
        self.init(secondsSinceEpoch: seconds, milliseconds: fraction == 0 ? nil : fraction)
    }

    /// The instant in milliseconds since the epoch.
    package var millisecondsSinceEpoch: Int64 {
        secondsSinceEpoch * 1000 + Int64(milliseconds ?? 0)
    }

    package static func == (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.secondsSinceEpoch == rhs.secondsSinceEpoch && (lhs.milliseconds ?? 0) == (rhs.milliseconds ?? 0)
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(secondsSinceEpoch)
        hasher.combine(milliseconds ?? 0)
    }

    package static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.secondsSinceEpoch, lhs.milliseconds ?? 0) < (rhs.secondsSinceEpoch, rhs.milliseconds ?? 0)
    }

    // MARK: - XEP-0082

    /// Parses an XEP-0082 DateTime, `CCYY-MM-DDThh:mm:ss[.s…](Z|±hh:mm)`, converting any offset to UTC.
    ///
    /// Fractions longer than milliseconds are truncated (XEP-0082 allows any precision); a leap
    /// second (`:60`) is read as the last second of the minute, since Unix time has no leap seconds.
    /// Returns `nil` for anything else, including impossible dates such as February 30.
    package init?(xmppDateTime text: String) {
        var reader = DigitReader(text)
        guard let year = reader.number(digits: 4), reader.skip("-"),
            let month = reader.number(digits: 2), reader.skip("-"),
            let day = reader.number(digits: 2), reader.skip("T"),
            let hour = reader.number(digits: 2), reader.skip(":"),
            let minute = reader.number(digits: 2), reader.skip(":"),
            let second = reader.number(digits: 2),
            (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60, second <= 60
        else { return nil }

        var milliseconds: Int?
        if reader.skip(".") {
            var value = 0
            var digits = 0
            while let digit = reader.digit() {
                if digits < 3 { value = value * 10 + digit }
                digits += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 3) { value *= 10 }
            milliseconds = value
        }

        var offsetSeconds = 0
        if reader.skip("Z") {
            offsetSeconds = 0
        } else if let sign = reader.sign() {
            guard let offsetHour = reader.number(digits: 2), reader.skip(":"), let offsetMinute = reader.number(digits: 2),
                offsetHour < 24, offsetMinute < 60
            else { return nil }
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
        } else {
            return nil
        }
        guard reader.isAtEnd else { return nil }

        let days = Int64(Self.daysSinceEpoch(year: year, month: month, day: day))
        let secondOfDay = Int64(hour * 3600 + minute * 60 + min(second, 59))
        self.init(secondsSinceEpoch: days * 86_400 + secondOfDay - Int64(offsetSeconds), milliseconds: milliseconds)
    }

    /// XEP-0082 DateTime in UTC, `CCYY-MM-DDThh:mm:ss[.sss]Z`; the fraction is written when the
    /// timestamp has one (always three digits).
    package var xmppDateTime: String {
        let (days, secondOfDay) = secondsSinceEpoch.quotientAndRemainder(dividingBy: 86_400)
        let dayNumber = secondOfDay < 0 ? days - 1 : days
        let second = Int(secondOfDay < 0 ? secondOfDay + 86_400 : secondOfDay)
        let (year, month, day) = Self.civilDate(daysSinceEpoch: Int(dayNumber))
        var text = "\(Self.pad(year, 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))"
        text += "T\(Self.pad(second / 3600, 2)):\(Self.pad(second / 60 % 60, 2)):\(Self.pad(second % 60, 2))"
        if let milliseconds { text += "." + Self.pad(milliseconds, 3) }
        return text + "Z"
    }

    package var description: String { xmppDateTime }

    // MARK: - Calendar arithmetic (proleptic Gregorian)

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value.magnitude)
        return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a date (Howard Hinnant's `days_from_civil`).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `daysSinceEpoch` (Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// Reads ASCII digits and punctuation from the front of a string, for the DateTime parser.
private struct DigitReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    var isAtEnd: Bool { index == bytes.count }

    mutating func digit() -> Int? {
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else { return nil }
        defer { index += 1 }
        return Int(bytes[index] - UInt8(ascii: "0"))
    }

    /// Exactly `digits` digits as a number, or `nil` (the parse has failed then, so what was consumed
    /// does not matter).
    mutating func number(digits: Int) -> Int? {
        var value = 0
        for _ in 0..<digits {
            guard let digit = digit() else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    mutating func skip(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
        index += 1
        return true
    }

    /// `+1` or `-1` for a leading sign.
    mutating func sign() -> Int? {
        if skip("+") { return 1 }
        if skip("-") { return -1 }
        return nil
    }
}
