/// An IPv4 address: a JID's IP-literal domainpart (RFC 7622 §3.2, the RFC 3986 `IPv4address`
/// syntax), an A record's data, a configured nameserver or static route. The one parser of address
/// text.
package struct IPv4Address: Sendable, Hashable, CustomStringConvertible {
    /// The four octets in network order.
    package let octets: [UInt8]

    /// Wraps exactly four octets; `nil` for any other count.
    package init?(octets: [UInt8]) {
        guard octets.count == 4 else { return nil }
        self.octets = octets
    }

    /// Parses a dotted quad. Leading zeros are refused, as RFC 3986 does, because some parsers read
    /// them as octal and the same text would then name two different addresses.
    package init?(_ text: String) {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(Self.isDigit) else { return nil }
            guard part.count == 1 || part.first != UInt8(ascii: "0") else { return nil }
            let value = part.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            guard value <= 255 else { return nil }
            octets.append(UInt8(value))
        }
        self.octets = octets
    }

    package var description: String {
        octets.map { String($0) }.joined(separator: ".")
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// An IPv6 address, as an AAAA record carries it and as a nameserver or static route is configured.
package struct IPv6Address: Sendable, Hashable, CustomStringConvertible {
    /// The sixteen octets in network order.
    package let octets: [UInt8]

    /// Wraps exactly sixteen octets; `nil` for any other count.
    package init?(octets: [UInt8]) {
        guard octets.count == 16 else { return nil }
        self.octets = octets
    }

    /// Parses RFC 4291 §2.2 text: eight groups of up to four hex digits, at most one `::`, and an
    /// optional dotted-quad tail. Brackets and zone identifiers (`%eth0`) are not accepted: a
    /// configured nameserver or route needs an address that means the same on every host.
    package init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 45 else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        var index = 0
        let colon = UInt8(ascii: ":")
        if bytes.starts(with: [colon, colon]) {
            sawGap = true
            index = 2
        } else if bytes[0] == colon {
            return nil
        }
        while index < bytes.count {
            let start = index
            while index < bytes.count, Self.hexValue(bytes[index]) != nil { index += 1 }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                guard let v4 = IPv4Address(String(decoding: bytes[start...], as: UTF8.self)) else { return nil }
                let groups = [
                    UInt16(v4.octets[0]) << 8 | UInt16(v4.octets[1]),
                    UInt16(v4.octets[2]) << 8 | UInt16(v4.octets[3]),
                ]
                if sawGap { tail += groups } else { head += groups }
                index = bytes.count
                break
            }
            guard (1...4).contains(index - start) else { return nil }
            let value = bytes[start..<index].reduce(UInt16(0)) { $0 << 4 | (Self.hexValue($1) ?? 0) }
            if sawGap { tail.append(value) } else { head.append(value) }
            guard index < bytes.count else { break }
            guard bytes[index] == colon else { return nil }
            index += 1
            if index < bytes.count, bytes[index] == colon {
                guard !sawGap else { return nil }
                sawGap = true
                index += 1
            } else if index == bytes.count {
                return nil
            }
        }
        let count = head.count + tail.count
        let groups: [UInt16]
        if sawGap {
            guard count <= 7 else { return nil }
            groups = head + Array(repeating: 0, count: 8 - count) + tail
        } else {
            guard count == 8 else { return nil }
            groups = head
        }
        octets = groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// RFC 5952 canonical text: lowercase hex without leading zeros, the longest run of two or more
    /// zero groups (the first, on a tie) written `::`, and IPv4-mapped addresses as
    /// `::ffff:a.b.c.d` (§5), so that logs show one spelling.
    package var description: String {
        if octets[..<10].allSatisfy({ $0 == 0 }), octets[10] == 0xFF, octets[11] == 0xFF {
            return "::ffff:" + octets[12...].map { String($0) }.joined(separator: ".")
        }
        let groups = (0..<8).map { UInt16(octets[2 * $0]) << 8 | UInt16(octets[2 * $0 + 1]) }
        var bestStart = -1
        var bestLength = 1
        var runStart = 0
        for index in 0...8 {
            if index < 8, groups[index] == 0 { continue }
            if index - runStart > bestLength {
                bestStart = runStart
                bestLength = index - runStart
            }
            runStart = index + 1
        }
        func hex(_ slice: ArraySlice<UInt16>) -> String {
            slice.map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(groups[...]) }
        return hex(groups[..<bestStart]) + "::" + hex(groups[(bestStart + bestLength)...])
    }

    private static func hexValue(_ byte: UInt8) -> UInt16? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt16(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt16(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt16(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

/// An address of either family: what a connection is finally made to.
package enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// From an A record or a dotted quad.
    case v4(IPv4Address)
    /// From an AAAA record or RFC 4291 text.
    case v6(IPv6Address)

    /// Parses an IPv4 dotted quad or unbracketed IPv6 text; `nil` for anything else, host names
    /// included, which is how configuration tells an address from a name.
    package init?(_ text: String) {
        if let address = IPv4Address(text) {
            self = .v4(address)
        } else if let address = IPv6Address(text) {
            self = .v6(address)
        } else {
            return nil
        }
    }

    package var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }
}
