import XMPP
import Federation
import Testing

/// Builds DNS packets byte by byte, the way RFC 1035 §4.1 lays them out, remembering offsets so that
/// compression pointers can be written to earlier names without counting by hand.
struct DNSPacketBuilder {
    private(set) var bytes: [UInt8] = []

    var offset: Int { bytes.count }

    /// The 12-octet header.
    mutating func header(
        id: UInt16,
        flags: UInt16,
        questions: UInt16,
        answers: UInt16,
        authorities: UInt16 = 0,
        additionals: UInt16 = 0
    ) {
        for value in [id, flags, questions, answers, authorities, additionals] { u16(value) }
    }

    mutating func u8(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func u16(_ value: UInt16) {
        bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
    }

    mutating func u32(_ value: UInt32) {
        u16(UInt16(value >> 16))
        u16(UInt16(value & 0xFFFF))
    }

    mutating func raw(_ values: [UInt8]) {
        bytes += values
    }

    /// Writes `labels` then, if given, a pointer to `pointer`, else the root byte; returns where the
    /// name starts.
    @discardableResult
    mutating func name(_ labels: [String], pointer: Int? = nil) -> Int {
        let start = offset
        for label in labels {
            bytes.append(UInt8(label.utf8.count))
            bytes += Array(label.utf8)
        }
        if let pointer {
            self.pointer(to: pointer)
        } else {
            bytes.append(0)
        }
        return start
    }

    /// A compression pointer: the top two bits set, then the 14-bit offset.
    mutating func pointer(to target: Int) {
        u16(0xC000 | UInt16(target))
    }

    /// A resource record's fixed part after its name, then `rdata` with its length.
    mutating func record(type: UInt16, ttl: UInt32 = 3600, rdata: [UInt8]) {
        u16(type)
        u16(1)
        u32(ttl)
        u16(UInt16(rdata.count))
        raw(rdata)
    }

    /// A record whose RDATA is written by `body` (so it can contain names); RDLENGTH is patched
    /// afterwards.
    mutating func record(type: UInt16, ttl: UInt32 = 3600, body: (inout DNSPacketBuilder) -> Void) {
        u16(type)
        u16(1)
        u32(ttl)
        let lengthAt = offset
        u16(0)
        let start = offset
        body(&self)
        let length = offset - start
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
    }
}

/// Shorthands for building test values; they throw (failing the test) on a typo.
enum DNSFixtures {
    static func name(_ text: String) throws -> DNSName {
        try DNSName(text)
    }

    static func srv(_ target: String, priority: UInt16 = 0, weight: UInt16 = 0, port: UInt16 = 5269) throws -> SRVRecord {
        SRVRecord(priority: priority, weight: weight, port: port, target: try name(target))
    }

    static func v4(_ text: String) throws -> IPv4Address {
        try #require(IPv4Address(text))
    }

    static func v6(_ text: String) throws -> IPv6Address {
        try #require(IPv6Address(text))
    }
}
