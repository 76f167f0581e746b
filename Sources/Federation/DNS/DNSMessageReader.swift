import XMPP

/// Why bytes are not a DNS message. Each case names the offset where decoding stopped, so that a
/// log line can point at the byte.
package enum DNSDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The data ended in the middle of something (a zero-length datagram ends at offset 0).
    case unexpectedEnd(offset: Int)
    /// The header announces more questions and records than the remaining bytes could hold even
    /// at their smallest; refused before anything is allocated for them.
    case countsExceedData(announced: Int, available: Int)
    /// A length byte of 64–191: a label over 63 octets or a retired extended label type.
    case invalidLabelLength(UInt8, offset: Int)
    /// A name longer than 255 octets once its compression pointers are followed.
    case nameTooLong(offset: Int)
    /// A compression pointer to a position beyond the end of the message.
    case pointerOutOfBounds(target: Int, offset: Int)
    /// A compression pointer that does not point strictly before the label sequence it ends.
    /// Legitimate compression only points to earlier names (RFC 1035 §4.1.4), and insisting that
    /// each jump goes further back makes loops impossible.
    case compressionLoop(target: Int, offset: Int)
    /// More compression jumps in one name than a legitimate name (at most 127 labels) could need.
    case tooManyCompressionPointers(offset: Int)
    /// RDATA whose length or content does not fit its type: an A record that is not 4 octets, an
    /// SRV record whose target runs past its RDLENGTH, and so on.
    case malformedRecordData(type: DNSRecordType, offset: Int)

    package var description: String {
        switch self {
        case .unexpectedEnd(let offset): "the message ends unexpectedly at offset \(offset)"
        case .countsExceedData(let announced, let available):
            "the header announces \(announced) entries but only \(available) octets follow it"
        case .invalidLabelLength(let byte, let offset):
            "invalid label length byte 0x\(String(byte, radix: 16)) at offset \(offset)"
        case .nameTooLong(let offset): "the name at offset \(offset) is longer than 255 octets"
        case .pointerOutOfBounds(let target, let offset):
            "the compression pointer at offset \(offset) points past the end (to \(target))"
        case .compressionLoop(let target, let offset):
            "the compression pointer at offset \(offset) points forward or into a loop (to \(target))"
        case .tooManyCompressionPointers(let offset): "the name at offset \(offset) has too many compression pointers"
        case .malformedRecordData(let type, let offset): "malformed \(type) record data at offset \(offset)"
        }
    }
}

/// A bounds-checked cursor over a message. Every read checks the bytes remaining first, so that
/// hostile input produces a ``DNSDecodingError`` instead of an out-of-range trap.
struct DNSMessageReader {
    /// The smallest question: a root name (1 octet), TYPE and CLASS.
    private static let minimumQuestionLength = 5
    /// The smallest record: a root name, TYPE, CLASS, TTL and RDLENGTH, with empty RDATA.
    private static let minimumRecordLength = 11
    /// A 255-octet name has at most 127 labels, so it never needs more jumps than that.
    private static let maximumPointerJumps = 127

    private let bytes: [UInt8]
    private(set) var position = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    struct Counts {
        var questions: Int
        var answers: Int
        var authorities: Int
        var additionals: Int
    }

    mutating func readHeader() throws(DNSDecodingError) -> (header: DNSHeader, counts: Counts) {
        let id = try readUInt16()
        let flags = try readUInt16()
        let counts = Counts(
            questions: Int(try readUInt16()),
            answers: Int(try readUInt16()),
            authorities: Int(try readUInt16()),
            additionals: Int(try readUInt16())
        )
        return (DNSHeader(id: id, flags: flags), counts)
    }

    mutating func readMessage() throws(DNSDecodingError) -> DNSMessage {
        let (header, counts) = try readHeader()
        let records = counts.answers + counts.authorities + counts.additionals
        let needed = counts.questions * Self.minimumQuestionLength + records * Self.minimumRecordLength
        let available = bytes.count - position
        guard needed <= available else {
            throw .countsExceedData(announced: counts.questions + records, available: available)
        }
        var questions: [DNSQuestion] = []
        questions.reserveCapacity(counts.questions)
        for _ in 0..<counts.questions {
            let name = try readName()
            let type = DNSRecordType(rawValue: try readUInt16())
            let recordClass = DNSClass(rawValue: try readUInt16())
            questions.append(DNSQuestion(name: name, type: type, recordClass: recordClass))
        }
        return DNSMessage(
            header: header,
            questions: questions,
            answers: try readRecords(counts.answers),
            authorities: try readRecords(counts.authorities),
            additionals: try readRecords(counts.additionals)
        )
    }

    private mutating func readRecords(_ count: Int) throws(DNSDecodingError) -> [DNSResourceRecord] {
        var records: [DNSResourceRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count {
            records.append(try readRecord())
        }
        return records
    }

    private mutating func readRecord() throws(DNSDecodingError) -> DNSResourceRecord {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let recordClass = DNSClass(rawValue: try readUInt16())
        let rawTTL = UInt32(try readUInt16()) << 16 | UInt32(try readUInt16())
        let length = Int(try readUInt16())
        let start = position
        let end = start + length
        guard end <= bytes.count else { throw .unexpectedEnd(offset: bytes.count) }
        let malformed = DNSDecodingError.malformedRecordData(type: type, offset: start)
        let data: DNSRecordData
        switch type {
        case .a:
            guard let address = IPv4Address(octets: Array(bytes[start..<end])) else { throw malformed }
            data = .a(address)
        case .aaaa:
            guard let address = IPv6Address(octets: Array(bytes[start..<end])) else { throw malformed }
            data = .aaaa(address)
        case .cname:
            let target = try readName()
            guard position == end else { throw malformed }
            data = .cname(target)
        case .srv:
            guard length >= 7 else { throw malformed }
            let priority = try readUInt16()
            let weight = try readUInt16()
            let port = try readUInt16()
            let target = try readName()
            guard position == end else { throw malformed }
            data = .srv(SRVRecord(priority: priority, weight: weight, port: port, target: target))
        default:
            data = .other(type: type, bytes: Array(bytes[start..<end]))
        }
        position = end
        let ttl = rawTTL & 0x8000_0000 == 0 ? rawTTL : 0
        return DNSResourceRecord(name: name, recordClass: recordClass, ttl: ttl, data: data)
    }

    /// Reads a possibly compressed name at the cursor and leaves the cursor after its in-place
    /// part (the labels up to and including the first pointer, or the root byte).
    ///
    /// Each pointer must point strictly before the start of the label run it ends, so every jump
    /// moves backwards and the walk cannot cycle; the jump cap is a second, independent bound.
    mutating func readName() throws(DNSDecodingError) -> DNSName {
        let nameStart = position
        var labels: [[UInt8]] = []
        var wireLength = 1
        var cursor = position
        var runStart = position
        var resumeAt: Int?
        var jumps = 0
        while true {
            guard cursor < bytes.count else { throw .unexpectedEnd(offset: cursor) }
            let lengthByte = bytes[cursor]
            switch lengthByte >> 6 {
            case 0 where lengthByte == 0:
                position = resumeAt ?? cursor + 1
                do {
                    return try DNSName(labels: labels)
                } catch {
                    throw .nameTooLong(offset: nameStart)
                }
            case 0:
                let labelEnd = cursor + 1 + Int(lengthByte)
                guard labelEnd <= bytes.count else { throw .unexpectedEnd(offset: bytes.count) }
                wireLength += 1 + Int(lengthByte)
                guard wireLength <= DNSName.maximumWireLength else { throw .nameTooLong(offset: nameStart) }
                labels.append(Array(bytes[(cursor + 1)..<labelEnd]))
                cursor = labelEnd
            case 3:
                guard cursor + 1 < bytes.count else { throw .unexpectedEnd(offset: bytes.count) }
                let target = Int(lengthByte & 0x3F) << 8 | Int(bytes[cursor + 1])
                guard target < bytes.count else { throw .pointerOutOfBounds(target: target, offset: cursor) }
                guard target < runStart else { throw .compressionLoop(target: target, offset: cursor) }
                jumps += 1
                guard jumps <= Self.maximumPointerJumps else { throw .tooManyCompressionPointers(offset: nameStart) }
                if resumeAt == nil { resumeAt = cursor + 2 }
                cursor = target
                runStart = target
            default:
                throw .invalidLabelLength(lengthByte, offset: cursor)
            }
        }
    }

    private mutating func readUInt16() throws(DNSDecodingError) -> UInt16 {
        guard position + 2 <= bytes.count else { throw .unexpectedEnd(offset: bytes.count) }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }
}
