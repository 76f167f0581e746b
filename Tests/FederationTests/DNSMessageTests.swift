import Federation
import Testing

private typealias F = DNSFixtures

/// The labels of `_xmpp-server._tcp.example.com`, the question of most tests here.
private let serviceLabels = ["_xmpp-server", "_tcp", "example", "com"]

/// A NOERROR response to an SRV query for `_xmpp-server._tcp.example.com` (id 0xBEEF), compressed
/// as a real server would: both SRV owners point at the question, each target is one label plus a
/// pointer to `example.com` inside the question, and the additional A and AAAA records point at the
/// first target.
private func srvResponse() -> [UInt8] {
    var packet = DNSPacketBuilder()
    packet.header(id: 0xBEEF, flags: 0x8180, questions: 1, answers: 2, additionals: 2)
    let question = packet.offset
    packet.name(serviceLabels)
    packet.u16(33)
    packet.u16(1)
    let exampleCom = question + 1 + "_xmpp-server".utf8.count + 1 + "_tcp".utf8.count
    var firstTarget = 0
    packet.pointer(to: question)
    packet.record(type: 33) { rdata in
        rdata.u16(10)
        rdata.u16(60)
        rdata.u16(5269)
        firstTarget = rdata.name(["xmpp"], pointer: exampleCom)
    }
    packet.pointer(to: question)
    packet.record(type: 33) { rdata in
        rdata.u16(20)
        rdata.u16(0)
        rdata.u16(5270)
        rdata.name(["backup"], pointer: exampleCom)
    }
    packet.pointer(to: firstTarget)
    packet.record(type: 1, rdata: [192, 0, 2, 1])
    packet.pointer(to: firstTarget)
    packet.record(type: 28, ttl: 0x8000_0000, rdata: [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1])
    return packet.bytes
}

/// A response with the given id, flags and question, and answers written by `answers`.
private func response(
    id: UInt16 = 0x1234,
    flags: UInt16 = 0x8180,
    question: [String],
    type: UInt16,
    answerCount: UInt16 = 0,
    answers: (inout DNSPacketBuilder, Int) -> Void = { _, _ in }
) -> [UInt8] {
    var packet = DNSPacketBuilder()
    packet.header(id: id, flags: flags, questions: 1, answers: answerCount)
    let questionOffset = packet.name(question)
    packet.u16(type)
    packet.u16(1)
    answers(&packet, questionOffset)
    return packet.bytes
}

@Suite("DNS message codec (RFC 1035)")
struct DNSMessageCodecTests {
    // MARK: - Queries

    @Test("an SRV query encodes as RFC 1035 lays it out")
    func srvQueryBytes() throws {
        let query = DNSQuery(id: 0xBEEF, name: try F.name("_xmpp-server._tcp.example.com"), type: .srv)
        let expected: [UInt8] = [
            0xBE, 0xEF,  // ID
            0x01, 0x00,  // QR=0, OPCODE=0, AA=0, TC=0, RD=1, RA=0, Z=0, RCODE=0
            0x00, 0x01,  // QDCOUNT
            0x00, 0x00,  // ANCOUNT
            0x00, 0x00,  // NSCOUNT
            0x00, 0x00,  // ARCOUNT
            12, 0x5F, 0x78, 0x6D, 0x70, 0x70, 0x2D, 0x73, 0x65, 0x72, 0x76, 0x65, 0x72,  // "_xmpp-server"
            4, 0x5F, 0x74, 0x63, 0x70,  // "_tcp"
            7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65,  // "example"
            3, 0x63, 0x6F, 0x6D,  // "com"
            0,  // root
            0x00, 0x21,  // QTYPE SRV (33)
            0x00, 0x01,  // QCLASS IN
        ]
        #expect(query.encoded() == expected)
        #expect(try query.message.encoded() == expected)
    }

    @Test("A and AAAA queries carry types 1 and 28; RD can be cleared", arguments: [
        (DNSRecordType.a, true, [UInt8](arrayLiteral: 0x00, 0x01), UInt8(0x01)),
        (DNSRecordType.aaaa, true, [0x00, 0x1C], 0x01),
        (DNSRecordType.a, false, [0x00, 0x01], 0x00),
    ])
    func addressQueryBytes(type: DNSRecordType, recursion: Bool, typeBytes: [UInt8], flagsHigh: UInt8) throws {
        let query = DNSQuery(id: 0x0102, name: try F.name("Example.COM."), type: type, recursionDesired: recursion)
        let expected: [UInt8] = [0x01, 0x02, flagsHigh, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
            + [7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 3, 0x63, 0x6F, 0x6D, 0]
            + typeBytes + [0x00, 0x01]
        #expect(query.encoded() == expected)
    }

    @Test("a query's id comes from the injected generator, so one seed gives one id")
    func queryIDFromGenerator() throws {
        let name = try F.name("example.com")
        var first = SplitMix64(seed: 7)
        var second = SplitMix64(seed: 7)
        let ids = (0..<8).map { _ in DNSQuery(name: name, type: .a, using: &first).id }
        #expect(ids == (0..<8).map { _ in DNSQuery(name: name, type: .a, using: &second).id })
        #expect(Set(ids).count > 1)
    }

    // MARK: - Decoding

    @Test("an SRV response with compressed names decodes to typed records")
    func decodesCompressedSRVResponse() throws {
        let message = try DNSMessage(decoding: srvResponse())
        #expect(message.header.id == 0xBEEF)
        #expect(message.header.isResponse)
        #expect(message.header.recursionDesired && message.header.recursionAvailable)
        #expect(!message.header.isTruncated)
        #expect(message.header.responseCode == .noError)
        #expect(message.questions == [DNSQuestion(name: try F.name("_xmpp-server._tcp.example.com"), type: .srv)])
        #expect(message.answers.map(\.name) == Array(repeating: try F.name("_XMPP-server._tcp.example.com"), count: 2))
        #expect(message.answers.map(\.data) == [
            .srv(try F.srv("xmpp.example.com", priority: 10, weight: 60, port: 5269)),
            .srv(try F.srv("backup.example.com", priority: 20, weight: 0, port: 5270)),
        ])
        #expect(message.answers.map(\.ttl) == [3600, 3600])
        #expect(message.authorities.isEmpty)
        #expect(message.additionals.map(\.name) == Array(repeating: try F.name("xmpp.example.com"), count: 2))
        #expect(message.additionals.map(\.data) == [.a(try F.v4("192.0.2.1")), .aaaa(try F.v6("2001:db8::1"))])
    }

    @Test("a TTL with the top bit set reads as zero (RFC 2181 §8)")
    func ttlTopBit() throws {
        let message = try DNSMessage(decoding: srvResponse())
        #expect(message.additionals.map(\.ttl) == [3600, 0])
    }

    @Test("a CNAME answer decodes its target through a compression pointer")
    func decodesCNAME() throws {
        let bytes = response(question: ["xmpp", "example", "com"], type: 1, answerCount: 2) { packet, question in
            packet.pointer(to: question)
            var target = 0
            packet.record(type: 5) { rdata in target = rdata.name(["host", "example", "net"]) }
            packet.pointer(to: target)
            packet.record(type: 1, rdata: [198, 51, 100, 7])
        }
        let message = try DNSMessage(decoding: bytes)
        #expect(message.answers.map(\.data) == [.cname(try F.name("host.example.net")), .a(try F.v4("198.51.100.7"))])
        #expect(message.answers.map(\.name) == [try F.name("xmpp.example.com"), try F.name("host.example.net")])
    }

    @Test("records of other types keep their RDATA as raw bytes")
    func unknownTypeKeptRaw() throws {
        let bytes = response(question: ["example", "com"], type: 16, answerCount: 1) { packet, question in
            packet.pointer(to: question)
            packet.record(type: 16, rdata: [3, 0x61, 0x62, 0x63])
        }
        let message = try DNSMessage(decoding: bytes)
        #expect(message.answers.map(\.data) == [.other(type: DNSRecordType(rawValue: 16), bytes: [3, 0x61, 0x62, 0x63])])
        #expect(message.answers.first?.type.description == "TYPE16")
    }

    @Test("the header flags and RCODE decode bit by bit", arguments: [
        (UInt16(0x8183), true, false, DNSResponseCode.nameError),
        (0x8182, true, false, .serverFailure),
        (0x8385, true, true, .refused),
        (0x0100, false, false, .noError),
    ])
    func headerFlags(flags: UInt16, isResponse: Bool, truncated: Bool, code: DNSResponseCode) throws {
        let header = try DNSHeader(decoding: [0xAB, 0xCD, UInt8(flags >> 8), UInt8(flags & 0xFF), 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(header.id == 0xABCD)
        #expect(header.isResponse == isResponse)
        #expect(header.isTruncated == truncated)
        #expect(header.responseCode == code)
        #expect(header.opcode == 0)
    }

    @Test("setting header properties writes the right bits")
    func headerSetters() {
        var header = DNSHeader(id: 1)
        header.isResponse = true
        header.isTruncated = true
        header.opcode = 2
        header.responseCode = .serverFailure
        #expect(header.flags == 0x9202)
        header.isTruncated = false
        header.responseCode = .noError
        #expect(header.flags == 0x9000)
    }

    @Test("a message survives encoding and decoding")
    func roundTrip() throws {
        var header = DNSHeader(id: 0x4242)
        header.isResponse = true
        header.isAuthoritativeAnswer = true
        let owner = try F.name("_xmpps-server._tcp.example.org")
        let message = DNSMessage(
            header: header,
            questions: [DNSQuestion(name: owner, type: .srv)],
            answers: [
                DNSResourceRecord(name: owner, ttl: 300, data: .srv(try F.srv("xmpp.example.org", priority: 1, weight: 2, port: 5223))),
            ],
            authorities: [
                DNSResourceRecord(name: try F.name("example.org"), ttl: 5, data: .other(type: DNSRecordType(rawValue: 6), bytes: [1, 2, 3])),
            ],
            additionals: [
                DNSResourceRecord(name: try F.name("xmpp.example.org"), ttl: 60, data: .aaaa(try F.v6("2001:db8::5"))),
                DNSResourceRecord(name: try F.name("alias.example.org"), ttl: 60, data: .cname(try F.name("xmpp.example.org"))),
            ]
        )
        #expect(try DNSMessage(decoding: message.encoded()) == message)
    }

    @Test("trailing bytes after the announced records are ignored")
    func trailingBytesIgnored() throws {
        let message = try DNSMessage(decoding: srvResponse() + [0xFF, 0xFF, 0xFF])
        #expect(message == (try DNSMessage(decoding: srvResponse())))
    }

    @Test("a long chain of backward pointers under the jump limit still decodes")
    func longLegitimatePointerChain() throws {
        #expect(try DNSMessage(decoding: pointerChain(length: 100)).answers.last?.name == (try F.name("a")))
    }

    // MARK: - Hostile and broken input

    @Test("every proper prefix of a valid response is refused, never trapped on")
    func everyPrefixRefused() {
        let bytes = srvResponse()
        for length in 0..<bytes.count {
            #expect(throws: DNSDecodingError.self, "prefix of \(length) bytes") {
                try DNSMessage(decoding: Array(bytes.prefix(length)))
            }
        }
    }

    @Test("an empty datagram and a short header end unexpectedly")
    func emptyAndShortHeader() {
        #expect(throws: DNSDecodingError.unexpectedEnd(offset: 0)) { try DNSMessage(decoding: []) }
        #expect(throws: DNSDecodingError.unexpectedEnd(offset: 11)) {
            try DNSMessage(decoding: Array(repeating: 0, count: 11))
        }
        #expect(throws: DNSDecodingError.unexpectedEnd(offset: 0)) { try DNSHeader(decoding: []) }
    }

    @Test("counts larger than the data are refused before decoding", arguments: [
        (UInt16(1), UInt16(0), 4),
        (0, 0xFFFF, 10),
        (0xFFFF, 0xFFFF, 0),
    ])
    func countsExceedData(questions: UInt16, answers: UInt16, padding: Int) {
        var packet = DNSPacketBuilder()
        packet.header(id: 1, flags: 0x8180, questions: questions, answers: answers)
        packet.raw(Array(repeating: 0, count: padding))
        let announced = Int(questions) + Int(answers)
        #expect(throws: DNSDecodingError.countsExceedData(announced: announced, available: padding)) {
            try DNSMessage(decoding: packet.bytes)
        }
    }

    @Test("a pointer to itself is a loop")
    func selfPointer() {
        var packet = DNSPacketBuilder()
        packet.header(id: 1, flags: 0x8180, questions: 1, answers: 0)
        packet.pointer(to: 12)
        packet.raw([0, 1, 0, 1])
        #expect(throws: DNSDecodingError.compressionLoop(target: 12, offset: 12)) { try DNSMessage(decoding: packet.bytes) }
    }

    @Test("two pointers that point at each other are a loop")
    func mutualPointers() {
        var packet = DNSPacketBuilder()
        packet.header(id: 1, flags: 0x8180, questions: 0, answers: 1)
        let loopStart = packet.offset
        packet.pointer(to: loopStart + 2)
        packet.pointer(to: loopStart)
        packet.raw(Array(repeating: 0, count: 10))
        #expect(throws: DNSDecodingError.compressionLoop(target: loopStart + 2, offset: loopStart)) {
            try DNSMessage(decoding: packet.bytes)
        }
    }

    @Test("a pointer back into a label that runs into the same pointer is a loop")
    func loopThroughLabel() {
        // The second answer's name points back to the first answer's RDATA, a label that ends right
        // where that pointer sits: each pointer points backwards from itself, yet following them
        // never ends. Only "every jump lands before the previous one" catches it.
        var packet = DNSPacketBuilder()
        packet.header(id: 1, flags: 0x8180, questions: 0, answers: 2)
        packet.name([])
        packet.u16(99)
        packet.u16(1)
        packet.u32(0)
        packet.u16(4)
        let label = packet.offset
        packet.raw([3, 0x78, 0x79, 0x7A])
        let pointerAt = packet.offset
        packet.pointer(to: label)
        packet.record(type: 99, rdata: [])
        #expect(throws: DNSDecodingError.compressionLoop(target: label, offset: pointerAt)) {
            try DNSMessage(decoding: packet.bytes)
        }
    }

    @Test("a pointer past the end of the message is refused")
    func pointerPastEnd() {
        var packet = DNSPacketBuilder()
        packet.header(id: 1, flags: 0x8180, questions: 1, answers: 0)
        packet.pointer(to: 0x3FFF)
        packet.raw([0, 1, 0, 1])
        #expect(throws: DNSDecodingError.pointerOutOfBounds(target: 0x3FFF, offset: 12)) {
            try DNSMessage(decoding: packet.bytes)
        }
    }

    @Test("a long chain of pointers beyond the jump limit is refused")
    func tooManyPointers() throws {
        let bytes = pointerChain(length: 130)
        #expect {
            try DNSMessage(decoding: bytes)
        } throws: { error in
            guard case .tooManyCompressionPointers = error as? DNSDecodingError else { return false }
            return true
        }
    }

    @Test("label length bytes 64 to 191 are refused", arguments: [UInt8(0x40), 0x7F, 0x80, 0xBF])
    func invalidLabelLength(byte: UInt8) {
        var packet = DNSPacketBuilder()
        packet.header(id: 1, flags: 0x8180, questions: 1, answers: 0)
        packet.raw([byte] + Array(repeating: 0x61, count: 70) + [0, 0, 1, 0, 1])
        #expect(throws: DNSDecodingError.invalidLabelLength(byte, offset: 12)) { try DNSMessage(decoding: packet.bytes) }
    }

    @Test("a label running past the end is refused")
    func labelPastEnd() {
        var packet = DNSPacketBuilder()
        packet.header(id: 1, flags: 0x8180, questions: 1, answers: 0)
        packet.raw([60, 0x61, 0x62, 0x63, 0x64])
        #expect(throws: DNSDecodingError.unexpectedEnd(offset: 17)) { try DNSMessage(decoding: packet.bytes) }
    }

    @Test("a name over 255 octets is refused, whether written out or assembled by pointers")
    func nameTooLong() {
        let long = String(repeating: "a", count: 63)
        var plain = DNSPacketBuilder()
        plain.header(id: 1, flags: 0x8180, questions: 1, answers: 0)
        plain.name([long, long, long, long])
        plain.raw([0, 1, 0, 1])
        #expect(throws: DNSDecodingError.nameTooLong(offset: 12)) { try DNSMessage(decoding: plain.bytes) }

        var compressed = DNSPacketBuilder()
        compressed.header(id: 1, flags: 0x8180, questions: 2, answers: 0)
        let first = compressed.name([long, long, long])
        compressed.raw([0, 1, 0, 1])
        let second = compressed.name([long], pointer: first)
        compressed.raw([0, 1, 0, 1])
        #expect(throws: DNSDecodingError.nameTooLong(offset: second)) { try DNSMessage(decoding: compressed.bytes) }

        var fits = DNSPacketBuilder()
        fits.header(id: 1, flags: 0x8180, questions: 2, answers: 0)
        let base = fits.name([long, long, long])
        fits.raw([0, 1, 0, 1])
        fits.name([String(repeating: "b", count: 61)], pointer: base)
        fits.raw([0, 1, 0, 1])
        #expect(throws: Never.self) { try DNSMessage(decoding: fits.bytes) }
    }

    @Test("RDATA longer than what is left is refused")
    func rdataPastEnd() {
        var packet = DNSPacketBuilder()
        packet.header(id: 1, flags: 0x8180, questions: 0, answers: 1)
        packet.name([])
        packet.u16(1)
        packet.u16(1)
        packet.u32(60)
        packet.u16(200)
        packet.raw([1, 2, 3, 4])
        #expect(throws: DNSDecodingError.unexpectedEnd(offset: packet.offset)) { try DNSMessage(decoding: packet.bytes) }
    }

    @Test("A and AAAA RDATA of the wrong length is malformed", arguments: [
        (UInt16(1), 3), (1, 5), (1, 0), (28, 4), (28, 17),
    ])
    func addressLengths(type: UInt16, length: Int) {
        var packet = DNSPacketBuilder()
        packet.header(id: 1, flags: 0x8180, questions: 0, answers: 1)
        packet.name([])
        packet.record(type: type, rdata: Array(repeating: 1, count: length))
        #expect(throws: DNSDecodingError.malformedRecordData(type: DNSRecordType(rawValue: type), offset: 11 + 12)) {
            try DNSMessage(decoding: packet.bytes)
        }
    }

    @Test("SRV and CNAME RDATA must hold exactly their fields and one name")
    func nameRecordLengths() {
        // SRV shorter than its fixed fields.
        var short = DNSPacketBuilder()
        short.header(id: 1, flags: 0x8180, questions: 0, answers: 1)
        short.name([])
        short.record(type: 33, rdata: [0, 1, 0, 1, 0x14])
        #expect(throws: DNSDecodingError.malformedRecordData(type: .srv, offset: 23)) { try DNSMessage(decoding: short.bytes) }

        // SRV whose RDLENGTH stops inside the target name.
        var cut = DNSPacketBuilder()
        cut.header(id: 1, flags: 0x8180, questions: 0, answers: 1)
        cut.name([])
        cut.u16(33)
        cut.u16(1)
        cut.u32(60)
        cut.u16(8)
        cut.raw([0, 1, 0, 1, 0x14, 0x95, 4, 0x78, 0x6D, 0x70, 0x70, 0])
        #expect(throws: DNSDecodingError.malformedRecordData(type: .srv, offset: 23)) { try DNSMessage(decoding: cut.bytes) }

        // CNAME with a byte left over after the name.
        var extra = DNSPacketBuilder()
        extra.header(id: 1, flags: 0x8180, questions: 0, answers: 1)
        extra.name([])
        extra.record(type: 5, rdata: [1, 0x61, 0, 0xFF])
        #expect(throws: DNSDecodingError.malformedRecordData(type: .cname, offset: 23)) { try DNSMessage(decoding: extra.bytes) }
    }

    @Test("seeded random corruptions of a valid response never trap")
    func randomCorruption() {
        let original = srvResponse()
        var generator = SplitMix64(seed: 0xD15EA5E)
        var decoded = 0
        var refused = 0
        for _ in 0..<5_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            do {
                _ = try DNSMessage(decoding: bytes)
                decoded += 1
            } catch {
                refused += 1
            }
        }
        #expect(decoded + refused == 5_000)
        #expect(refused > 0 && decoded > 0)
    }

    /// A message whose second answer's name is a chain of `length` pointers, each to the one
    /// before, ending at the question name `a`.
    private func pointerChain(length: Int) -> [UInt8] {
        var packet = DNSPacketBuilder()
        packet.header(id: 1, flags: 0x8180, questions: 1, answers: 2)
        let question = packet.name(["a"])
        packet.raw([0, 1, 0, 1])
        packet.pointer(to: question)
        var last = question
        packet.record(type: 99) { rdata in
            for _ in 0..<length {
                let here = rdata.offset
                rdata.pointer(to: last)
                last = here
            }
        }
        packet.pointer(to: last)
        packet.record(type: 99, rdata: [])
        return packet.bytes
    }
}

@Suite("DNS response interpretation")
struct DNSResponseTests {
    private var query: DNSQuery {
        get throws { DNSQuery(id: 0x1234, name: try F.name("_xmpp-server._tcp.example.com"), type: .srv) }
    }

    @Test("a NOERROR response gives the SRV records for the question")
    func answers() throws {
        var bytes = srvResponse()
        bytes[0] = 0x12
        bytes[1] = 0x34
        let outcome = try DNSMessage(decoding: bytes).lookupOutcome(for: try query)
        #expect(outcome.srvRecords == .answers([
            try F.srv("xmpp.example.com", priority: 10, weight: 60, port: 5269),
            try F.srv("backup.example.com", priority: 20, weight: 0, port: 5270),
        ]))
        #expect(outcome.ipv4Addresses == .noData)
    }

    @Test("RCODEs map to outcomes", arguments: [
        (UInt16(0x8183), DNSLookupOutcome<DNSRecordData>.noSuchDomain),
        (0x8182, .serverFailure(.serverFailure)),
        (0x8185, .serverFailure(.refused)),
        (0x8181, .serverFailure(.formatError)),
        (0x8180, .noData),
    ])
    func responseCodes(flags: UInt16, expected: DNSLookupOutcome<DNSRecordData>) throws {
        let bytes = response(flags: flags, question: serviceLabels, type: 33)
        let outcome = try DNSMessage(decoding: bytes).lookupOutcome(for: try query)
        #expect(outcome == expected)
        #expect(outcome.isTemporaryFailure == (flags & 0x0F != 0 && flags & 0x0F != 3))
    }

    @Test("the question matches case-insensitively")
    func caseInsensitiveQuestion() throws {
        let bytes = response(question: ["_XMPP-Server", "_TCP", "Example", "COM"], type: 33, answerCount: 1) { packet, question in
            packet.pointer(to: question)
            packet.record(type: 33) { rdata in
                rdata.raw([0, 5, 0, 0, 0x14, 0x95])
                rdata.name(["xmpp", "example", "com"])
            }
        }
        let outcome = try DNSMessage(decoding: bytes).lookupOutcome(for: try query)
        #expect(outcome.srvRecords == .answers([try F.srv("xmpp.example.com", priority: 5)]))
    }

    @Test("stray, spoofed and truncated responses are refused")
    func refusedResponses() throws {
        #expect(throws: DNSResponseError.idMismatch(expected: 0x1234, received: 0x4321)) {
            try DNSMessage(decoding: response(id: 0x4321, question: serviceLabels, type: 33)).lookupOutcome(for: try query)
        }
        #expect(throws: DNSResponseError.notAResponse) {
            try DNSMessage(decoding: response(flags: 0x0100, question: serviceLabels, type: 33)).lookupOutcome(for: try query)
        }
        #expect(throws: DNSResponseError.questionMismatch) {
            let otherName = response(question: ["_xmpp-server", "_tcp", "example", "net"], type: 33)
            return try DNSMessage(decoding: otherName).lookupOutcome(for: try query)
        }
        #expect(throws: DNSResponseError.questionMismatch) {
            try DNSMessage(decoding: response(question: serviceLabels, type: 1)).lookupOutcome(for: try query)
        }
        #expect(throws: DNSResponseError.truncated) {
            try DNSMessage(decoding: response(flags: 0x8380, question: serviceLabels, type: 33)).lookupOutcome(for: try query)
        }
    }

    @Test("the TC bit can be read from a datagram cut short")
    func truncatedHeaderOnly() throws {
        var bytes = srvResponse()
        bytes[2] |= 0x02
        let cut = Array(bytes.prefix(40))
        #expect(throws: DNSDecodingError.self) { try DNSMessage(decoding: cut) }
        #expect(try DNSHeader(decoding: cut).isTruncated)
    }

    @Test("CNAMEs are followed to the records of the canonical name; other owners are ignored")
    func followsCNAME() throws {
        let addressQuery = DNSQuery(id: 0x1234, name: try F.name("xmpp.example.com"), type: .aaaa)
        let bytes = response(question: ["xmpp", "example", "com"], type: 28, answerCount: 3) { packet, question in
            packet.name(["intruder", "example"])
            packet.record(type: 28, rdata: Array(repeating: 0xEE, count: 16))
            packet.pointer(to: question)
            var target = 0
            packet.record(type: 5) { rdata in target = rdata.name(["host", "example", "net"]) }
            packet.pointer(to: target)
            packet.record(type: 28, rdata: [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [9])
        }
        let outcome = try DNSMessage(decoding: bytes).lookupOutcome(for: addressQuery)
        #expect(outcome.ipv6Addresses == .answers([try F.v6("2001:db8::9")]))
    }

    @Test("a CNAME loop, or a chain ending without records, is NODATA")
    func cnameLoop() throws {
        let addressQuery = DNSQuery(id: 0x1234, name: try F.name("a.example"), type: .a)
        let looping = response(question: ["a", "example"], type: 1, answerCount: 2) { packet, question in
            packet.pointer(to: question)
            var b = 0
            packet.record(type: 5) { rdata in b = rdata.name(["b", "example"]) }
            packet.pointer(to: b)
            packet.record(type: 5) { rdata in rdata.pointer(to: question) }
        }
        #expect(try DNSMessage(decoding: looping).lookupOutcome(for: addressQuery) == .noData)

        let dangling = response(question: ["a", "example"], type: 1, answerCount: 1) { packet, question in
            packet.pointer(to: question)
            packet.record(type: 5) { rdata in rdata.name(["elsewhere", "example"]) }
        }
        #expect(try DNSMessage(decoding: dangling).lookupOutcome(for: addressQuery) == .noData)
    }
}
