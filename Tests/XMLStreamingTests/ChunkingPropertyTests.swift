import Testing
import XMLStreaming

/// Whatever the chunking, the parser must report the same events and the same error: the property
/// every network read depends on. Inputs are generated streams, valid and then corrupted at random.
@Suite("Chunking")
struct ChunkingPropertyTests {
    static func stream(seed: UInt64) -> [UInt8] {
        var generator = TreeGenerator(random: SeededGenerator(state: seed))
        let serializer = XMLSerializer(defaultNamespace: "jabber:server", prefixes: ["http://etherx.jabber.org/streams": "stream"])
        var bytes = XMLSerializer.streamHeader(attributes: [XMLAttribute("to", value: "contoso.example")], defaultNamespace: "jabber:server")
        for index in 0..<20 {
            bytes += serializer.bytes(generator.element())
            if index % 3 == 0 { bytes += Array(" \n".utf8) }
        }
        return bytes + XMLSerializer.streamClose
    }

    /// Feeds `bytes` in random chunk sizes (1 to 64) drawn from `random`.
    static func parse(_ bytes: [UInt8], random: inout SeededGenerator) -> ([XMLStreamEvent], XMLStreamError?) {
        let parser = XMLStreamParser(limits: .postAuthentication)
        var events: [XMLStreamEvent] = []
        var offset = 0
        do throws(XMLStreamError) {
            while offset < bytes.count {
                let end = min(bytes.count, offset + Int.random(in: 1...64, using: &random))
                try parser.feed(Array(bytes[offset..<end]), into: &events)
                offset = end
            }
        } catch {
            return (events, error)
        }
        return (events, nil)
    }

    static func whole(_ bytes: [UInt8]) -> ([XMLStreamEvent], XMLStreamError?) {
        let parser = XMLStreamParser(limits: .postAuthentication)
        var events: [XMLStreamEvent] = []
        do throws(XMLStreamError) {
            try parser.feed(bytes, into: &events)
        } catch {
            return (events, error)
        }
        return (events, nil)
    }

    @Test("random chunkings of valid streams give the same events as one read", arguments: 0..<25)
    func valid(seed: UInt64) {
        let bytes = Self.stream(seed: seed)
        let reference = Self.whole(bytes)
        #expect(reference.1 == nil)
        #expect(reference.0.last == .streamClosed)
        var random = SeededGenerator(state: seed &+ 1000)
        for _ in 0..<4 {
            let chunked = Self.parse(bytes, random: &random)
            #expect(chunked.0 == reference.0, "seed \(seed)")
            #expect(chunked.1 == nil)
        }
    }

    static func corruptedStream(seed: UInt64, random: inout SeededGenerator) -> [UInt8] {
        var bytes = Self.stream(seed: seed)
        let replacements: [UInt8] = [0x00, 0x26, 0x3C, 0x3E, 0x21, 0x3F, 0xC3, 0xFF, 0x80, 0x27, 0x22, 0x2F]
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            bytes[Int.random(in: 0..<bytes.count, using: &random)] = replacements.randomElement(using: &random)!
        }
        return bytes
    }

    @Test("the corruption really breaks most streams, so the error paths are exercised")
    func corruptionBreaks() {
        let failures = (0..<40).filter { (seed: UInt64) in
            var random = SeededGenerator(state: seed)
            return Self.whole(Self.corruptedStream(seed: seed, random: &random)).1 != nil
        }
        #expect(failures.count >= 30)
    }

    @Test("corrupted streams fail the same way and keep the same events, however they are chunked", arguments: 0..<40)
    func corrupted(seed: UInt64) {
        var random = SeededGenerator(state: seed)
        let bytes = Self.corruptedStream(seed: seed, random: &random)
        let reference = Self.whole(bytes)
        for _ in 0..<3 {
            let chunked = Self.parse(bytes, random: &random)
            #expect(chunked.0 == reference.0, "seed \(seed)")
            #expect(chunked.1?.kind == reference.1?.kind, "seed \(seed): \(String(describing: chunked.1)) vs \(String(describing: reference.1))")
        }
    }
}
