/// IP address literals as domainparts (RFC 7622 §3.2, using the RFC 3986 `IPv4address` and
/// `IP-literal` syntax; IPvFuture and zone identifiers are not accepted).
enum IPLiteral {
    /// A dotted quad with every part in 0–255 and no leading zeros, which RFC 3986 forbids because
    /// some resolvers would read them as octal.
    static func isIPv4(_ text: some Collection<UInt8>) -> Bool {
        parseIPv4(text) != nil
    }

    /// The RFC 5952 canonical text of an IPv6 address given without its brackets, or `nil` if it is
    /// not one: lowercase hex, no leading zeros, the longest run of two or more zero groups (the
    /// first, on a tie) written `::`, and IPv4-mapped addresses as `::ffff:a.b.c.d`.
    static func canonicalIPv6(_ text: some Collection<UInt8>) -> String? {
        guard let groups = parseIPv6(Array(text)) else { return nil }
        return format(groups)
    }

    private static func parseIPv4(_ text: some Collection<UInt8>) -> UInt32? {
        var address: UInt32 = 0
        var parts = 0
        var value: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for byte in text {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits == 1 && leadingZero { return nil }
                if digits == 0 { leadingZero = byte == UInt8(ascii: "0") }
                value = value * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard value <= 255 else { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, parts < 3 else { return nil }
                address = address << 8 | value
                parts += 1
                value = 0
                digits = 0
            default:
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return address << 8 | value
    }

    private static func parseIPv6(_ bytes: [UInt8]) -> [UInt16]? {
        guard !bytes.isEmpty, bytes.count <= 45 else { return nil }
        let colon = UInt8(ascii: ":")
        var groups: [UInt16] = []
        var gap: Int?
        var index = 0
        if bytes[0] == colon {
            guard bytes.count >= 2, bytes[1] == colon else { return nil }
            gap = 0
            index = 2
        }
        while index < bytes.count {
            let start = index
            var value: UInt16 = 0
            while index < bytes.count, let digit = hexValue(bytes[index]) {
                guard index - start < 4 else { return nil }
                value = value << 4 | digit
                index += 1
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                guard groups.count <= 6, let v4 = parseIPv4(bytes[start...]) else { return nil }
                groups.append(UInt16(v4 >> 16))
                groups.append(UInt16(v4 & 0xFFFF))
                break
            }
            guard index > start else { return nil }
            groups.append(value)
            guard groups.count <= 8 else { return nil }
            if index == bytes.count { break }
            guard bytes[index] == colon else { return nil }
            index += 1
            if index < bytes.count, bytes[index] == colon {
                guard gap == nil else { return nil }
                gap = groups.count
                index += 1
            } else if index == bytes.count {
                return nil
            }
        }
        if let gap {
            guard groups.count <= 7 else { return nil }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gap)
        }
        return groups.count == 8 ? groups : nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt16? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt16(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt16(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt16(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private static func format(_ groups: [UInt16]) -> String {
        if groups[0..<5].allSatisfy({ $0 == 0 }) && groups[5] == 0xFFFF {
            let v4 = [groups[6] >> 8, groups[6] & 0xFF, groups[7] >> 8, groups[7] & 0xFF]
            return "::ffff:" + v4.map { String($0) }.joined(separator: ".")
        }
        var bestStart = -1
        var bestLength = 1
        var runStart = 0
        for index in 0...8 {
            if index < 8 && groups[index] == 0 { continue }
            let length = index - runStart
            if length > bestLength {
                bestStart = runStart
                bestLength = length
            }
            runStart = index + 1
        }
        func hex(_ slice: ArraySlice<UInt16>) -> String {
            slice.map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(groups[...]) }
        return hex(groups[..<bestStart]) + "::" + hex(groups[(bestStart + bestLength)...])
    }
}
