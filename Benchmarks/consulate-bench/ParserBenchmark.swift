import XMLStreaming

/// Consulate's parser building full element trees, fed in 64 KiB chunks like the C reference
/// (`Benchmarks/expat-baseline`), counting `.element` events. Best of `rounds`, a fresh parser each.
enum ParserBenchmark {
    static let chunkSize = 64 * 1024

    static func run(stream bytes: [UInt8], rounds: Int = 3) throws -> (stanzas: Int, seconds: Double) {
        let clock = ContinuousClock()
        var best = Double.infinity
        var stanzas = 0
        for _ in 0..<rounds {
            let parser = XMLStreamParser(limits: .postAuthentication)
            var events: [XMLStreamEvent] = []
            events.reserveCapacity(1024)
            var count = 0
            let elapsed = try clock.measure {
                try bytes.withUnsafeBytes { buffer in
                    var offset = 0
                    while offset < buffer.count {
                        let end = min(offset + chunkSize, buffer.count)
                        try parser.feed(UnsafeRawBufferPointer(rebasing: buffer[offset..<end]), into: &events)
                        for case .element(let element) in events {
                            count &+= 1
                            blackHole(element)
                        }
                        events.removeAll(keepingCapacity: true)
                        offset = end
                    }
                }
            }
            guard parser.isClosed else { die("the stream did not close: is \(bytes.count) bytes a whole stream?") }
            best = min(best, elapsed.seconds)
            stanzas = count
        }
        return (stanzas, best)
    }
}
