/// A resource record TYPE (RFC 1035 §3.2.2). A struct rather than an enum so that types this module
/// does not interpret still decode, and round-trip, as their number.
package struct DNSRecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    package let rawValue: UInt16

    package init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// An IPv4 host address (RFC 1035).
    package static let a = DNSRecordType(rawValue: 1)
    /// The canonical name of an alias (RFC 1035).
    package static let cname = DNSRecordType(rawValue: 5)
    /// An IPv6 host address (RFC 3596).
    package static let aaaa = DNSRecordType(rawValue: 28)
    /// A service location (RFC 2782): how XMPP servers are found.
    package static let srv = DNSRecordType(rawValue: 33)

    package var description: String {
        switch self {
        case .a: "A"
        case .cname: "CNAME"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        default: "TYPE\(rawValue)"
        }
    }
}

/// A resource record CLASS (RFC 1035 §3.2.4). Only `IN` is ever asked for; others (and the OPT
/// pseudo-record's payload size, which EDNS puts in this field) decode as their number.
package struct DNSClass: RawRepresentable, Sendable, Hashable {
    package let rawValue: UInt16

    package init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// The Internet.
    package static let internet = DNSClass(rawValue: 1)
}

/// The 4-bit RCODE of a response header (RFC 1035 §4.1.1). Extended codes need EDNS, which the
/// queries built here do not use, so only the header's four bits are ever seen.
package struct DNSResponseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    package let rawValue: UInt8

    /// Keeps the low four bits: the header has no room for more.
    package init(rawValue: UInt8) {
        self.rawValue = rawValue & 0x0F
    }

    package static let noError = DNSResponseCode(rawValue: 0)
    /// FORMERR: the server could not read the query.
    package static let formatError = DNSResponseCode(rawValue: 1)
    /// SERVFAIL: the server could not get an answer, for now.
    package static let serverFailure = DNSResponseCode(rawValue: 2)
    /// NXDOMAIN: the name does not exist (RFC 1035 "name error").
    package static let nameError = DNSResponseCode(rawValue: 3)
    /// NOTIMP: the server does not do this kind of query.
    package static let notImplemented = DNSResponseCode(rawValue: 4)
    /// REFUSED: the server will not answer us.
    package static let refused = DNSResponseCode(rawValue: 5)

    package var description: String {
        switch self {
        case .noError: "NOERROR"
        case .formatError: "FORMERR"
        case .serverFailure: "SERVFAIL"
        case .nameError: "NXDOMAIN"
        case .notImplemented: "NOTIMP"
        case .refused: "REFUSED"
        default: "RCODE\(rawValue)"
        }
    }
}
