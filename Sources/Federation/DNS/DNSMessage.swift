package import XMPP

/// The fixed 12-octet header's identity and flags (RFC 1035 §4.1.1). The four section counts are
/// not stored: they are the lengths of ``DNSMessage``'s arrays.
package struct DNSHeader: Sendable, Hashable {
    /// Matches a response to its query; queries must use an unpredictable one (RFC 5452), which is
    /// why the caller supplies it from an injected random source.
    package var id: UInt16
    /// The 16 flag bits as on the wire; the properties below read and write them.
    package var flags: UInt16

    package init(id: UInt16, flags: UInt16 = 0) {
        self.id = id
        self.flags = flags
    }

    /// QR: set in responses.
    package var isResponse: Bool {
        get { bit(15) }
        set { setBit(15, newValue) }
    }

    /// OPCODE: 0 for a standard query, the only kind sent here.
    package var opcode: UInt8 {
        get { UInt8(flags >> 11 & 0x0F) }
        set { flags = flags & ~(0x0F << 11) | UInt16(newValue & 0x0F) << 11 }
    }

    /// AA: the answer comes from an authoritative server.
    package var isAuthoritativeAnswer: Bool {
        get { bit(10) }
        set { setBit(10, newValue) }
    }

    /// TC: the response did not fit in the UDP datagram; the query must be repeated over TCP.
    package var isTruncated: Bool {
        get { bit(9) }
        set { setBit(9, newValue) }
    }

    /// RD: asks the server to resolve recursively, which a configured resolver needs.
    package var recursionDesired: Bool {
        get { bit(8) }
        set { setBit(8, newValue) }
    }

    /// RA: the server offers recursion.
    package var recursionAvailable: Bool {
        get { bit(7) }
        set { setBit(7, newValue) }
    }

    /// RCODE: how the server fared.
    package var responseCode: DNSResponseCode {
        get { DNSResponseCode(rawValue: UInt8(flags & 0x0F)) }
        set { flags = flags & ~0x0F | UInt16(newValue.rawValue) }
    }

    /// Reads only the header, so that a transport can drop a datagram whose id does not match, or
    /// see the TC bit, without decoding (or failing to decode) a cut-off body.
    package init(decoding bytes: [UInt8]) throws(DNSDecodingError) {
        var reader = DNSMessageReader(bytes)
        self = try reader.readHeader().header
    }

    private func bit(_ index: UInt16) -> Bool {
        flags & (1 << index) != 0
    }

    private mutating func setBit(_ index: UInt16, _ value: Bool) {
        if value { flags |= 1 << index } else { flags &= ~(1 << index) }
    }
}

/// One entry of the question section (RFC 1035 §4.1.2).
package struct DNSQuestion: Sendable, Hashable {
    /// The name asked about.
    package var name: DNSName
    /// The record type asked for.
    package var type: DNSRecordType
    /// Always `IN` for the queries built here; kept so that a response's question can be compared.
    package var recordClass: DNSClass

    package init(name: DNSName, type: DNSRecordType, recordClass: DNSClass = .internet) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

/// The decoded RDATA of a resource record. Only the types needed to find an XMPP server are
/// interpreted; anything else is kept as raw bytes so that a response carrying, say, RRSIG or OPT
/// records still decodes.
package enum DNSRecordData: Sendable, Hashable {
    /// An IPv4 address (RDATA of exactly 4 octets).
    case a(IPv4Address)
    /// An IPv6 address (RDATA of exactly 16 octets).
    case aaaa(IPv6Address)
    /// A service location.
    case srv(SRVRecord)
    /// The canonical name this owner name is an alias for.
    case cname(DNSName)
    /// A type not listed above, with its RDATA as received.
    case other(type: DNSRecordType, bytes: [UInt8])

    /// The record type these data belong to.
    package var type: DNSRecordType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .srv: .srv
        case .cname: .cname
        case .other(let type, _): type
        }
    }
}

/// One resource record of the answer, authority or additional section (RFC 1035 §4.1.3).
package struct DNSResourceRecord: Sendable, Hashable {
    /// The owner name: which name the record is about.
    package var name: DNSName
    /// `IN` for every record of interest here.
    package var recordClass: DNSClass
    /// Seconds the record may be cached. RFC 2181 §8 says a value with the top bit set is to be
    /// read as zero, and decoding does so.
    package var ttl: UInt32
    /// The typed RDATA, which also gives the record's TYPE.
    package var data: DNSRecordData

    package init(name: DNSName, recordClass: DNSClass = .internet, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }

    /// The record's TYPE, which its data determine.
    package var type: DNSRecordType { data.type }
}

/// A whole DNS message (RFC 1035 §4.1): the codec for the resolver's queries and its responses.
///
/// Decoding assumes hostile input (any host on the path can send a datagram to our port): every
/// length and compression pointer is checked against the bytes actually present, and every failure
/// is a ``DNSDecodingError`` value rather than a trap.
package struct DNSMessage: Sendable, Hashable {
    package var header: DNSHeader
    package var questions: [DNSQuestion]
    package var answers: [DNSResourceRecord]
    package var authorities: [DNSResourceRecord]
    package var additionals: [DNSResourceRecord]

    package init(
        header: DNSHeader,
        questions: [DNSQuestion] = [],
        answers: [DNSResourceRecord] = [],
        authorities: [DNSResourceRecord] = [],
        additionals: [DNSResourceRecord] = []
    ) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// Decodes a message. Bytes after the last record announced by the header are ignored, as
    /// resolvers generally do; a message shorter than its header announces is an error.
    package init(decoding bytes: [UInt8]) throws(DNSDecodingError) {
        var reader = DNSMessageReader(bytes)
        self = try reader.readMessage()
    }

    /// Encodes the message without name compression (which only saves space, and the queries sent
    /// here have a single name). Fails only when a section has more than 65 535 entries or some
    /// RDATA is longer than 65 535 octets, which the wire format cannot express.
    package func encoded() throws(DNSEncodingError) -> [UInt8] {
        var bytes: [UInt8] = []
        Self.append(header.id, to: &bytes)
        Self.append(header.flags, to: &bytes)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            guard let count = UInt16(exactly: count) else { throw .tooManyEntries(count) }
            Self.append(count, to: &bytes)
        }
        for question in questions {
            question.name.write(to: &bytes)
            Self.append(question.type.rawValue, to: &bytes)
            Self.append(question.recordClass.rawValue, to: &bytes)
        }
        for record in answers + authorities + additionals {
            record.name.write(to: &bytes)
            Self.append(record.type.rawValue, to: &bytes)
            Self.append(record.recordClass.rawValue, to: &bytes)
            Self.append(UInt16(record.ttl >> 16), to: &bytes)
            Self.append(UInt16(record.ttl & 0xFFFF), to: &bytes)
            var data: [UInt8] = []
            switch record.data {
            case .a(let address): data = address.octets
            case .aaaa(let address): data = address.octets
            case .cname(let name): name.write(to: &data)
            case .srv(let srv):
                Self.append(srv.priority, to: &data)
                Self.append(srv.weight, to: &data)
                Self.append(srv.port, to: &data)
                srv.target.write(to: &data)
            case .other(_, let raw): data = raw
            }
            guard let length = UInt16(exactly: data.count) else { throw .recordDataTooLong(data.count) }
            Self.append(length, to: &bytes)
            bytes += data
        }
        return bytes
    }

    private static func append(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }
}

/// A standard query for one name and type: the only message the resolver sends.
package struct DNSQuery: Sendable, Hashable {
    /// The query id. RFC 5452 asks for an unpredictable id to resist spoofed answers, so it comes
    /// from the caller's random source rather than from here.
    package var id: UInt16
    /// The one question; the response must repeat it exactly.
    package var question: DNSQuestion
    /// Almost always true: the configured nameserver is a recursive resolver.
    package var recursionDesired: Bool

    package init(id: UInt16, name: DNSName, type: DNSRecordType, recursionDesired: Bool = true) {
        self.id = id
        question = DNSQuestion(name: name, type: type)
        self.recursionDesired = recursionDesired
    }

    /// A query with an id drawn from `generator`.
    package init(
        name: DNSName,
        type: DNSRecordType,
        recursionDesired: Bool = true,
        using generator: inout some RandomNumberGenerator
    ) {
        self.init(
            id: UInt16.random(in: .min ... .max, using: &generator),
            name: name,
            type: type,
            recursionDesired: recursionDesired
        )
    }

    /// The query as a message.
    package var message: DNSMessage {
        var header = DNSHeader(id: id)
        header.recursionDesired = recursionDesired
        return DNSMessage(header: header, questions: [question])
    }

    /// The query's wire form: header, then the question. Cannot fail, unlike a general message,
    /// because one question always fits.
    package func encoded() -> [UInt8] {
        var bytes: [UInt8] = [
            UInt8(id >> 8), UInt8(id & 0xFF),
            recursionDesired ? 0x01 : 0x00, 0x00,
            0, 1, 0, 0, 0, 0, 0, 0,
        ]
        question.name.write(to: &bytes)
        bytes += [
            UInt8(question.type.rawValue >> 8), UInt8(question.type.rawValue & 0xFF),
            UInt8(question.recordClass.rawValue >> 8), UInt8(question.recordClass.rawValue & 0xFF),
        ]
        return bytes
    }
}

/// Why a message could not be encoded.
package enum DNSEncodingError: Error, Sendable, Hashable {
    /// A section holds more entries (given) than a 16-bit count can say.
    case tooManyEntries(Int)
    /// Some RDATA is longer (given) than a 16-bit RDLENGTH can say.
    case recordDataTooLong(Int)
}
