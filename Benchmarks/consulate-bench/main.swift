#if canImport(Glibc)
import Glibc
#endif
import XMLStreaming

/// Writes to standard error (the C `stderr` global is off limits in Swift 6) and exits.
func die(_ message: String, status: Int32 = 1) -> Never {
    var text = message + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}

/// `consulate-bench --parser stream.xml` or `--translator presence.xml`: one machine-readable
/// line per figure, read by `Benchmarks/report.py`.
func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { die("cannot open \(path)") }
    defer { fclose(file) }
    fseek(file, 0, SEEK_END)
    let size = ftell(file)
    fseek(file, 0, SEEK_SET)
    var bytes = [UInt8](repeating: 0, count: size)
    let read = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, size, file) }
    guard read == size else { die("short read on \(path)") }
    return bytes
}

/// Consulate's parser building full element trees, fed in 64 KiB chunks like the C reference. Best of 3.
func parserBenchmark(_ bytes: [UInt8]) throws -> (stanzas: Int, seconds: Double) {
    let clock = ContinuousClock()
    var best = Double.infinity
    var stanzas = 0
    for _ in 0..<3 {
        let parser = XMLStreamParser(limits: .postAuthentication)
        var events: [XMLStreamEvent] = []
        events.reserveCapacity(1024)
        var count = 0
        let elapsed = try clock.measure {
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let end = min(offset + 65536, buffer.count)
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
        best = min(best, elapsed.seconds)
        stanzas = count
    }
    return (stanzas, best)
}

func format(_ value: Double, decimals: Int) -> String {
    let scale = pow(10.0, Double(decimals))
    let rounded = (value * scale).rounded() / scale
    return decimals == 0 ? String(Int(rounded)) : String(rounded)
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2, let mode = arguments.first, let path = arguments.last else {
    die("usage: consulate-bench --parser stream.xml | --translator presence.xml", status: 2)
}
let bytes = readFile(path)
switch mode {
case "--parser":
    let (stanzas, seconds) = try parserBenchmark(bytes)
    print(
        "consulate-parser bytes=\(bytes.count) stanzas=\(stanzas) seconds=\(format(seconds, decimals: 4)) "
            + "mbps=\(format(Double(bytes.count) / seconds / 1e6, decimals: 1)) stanzas_per_s=\(format(Double(stanzas) / seconds, decimals: 0))"
    )
case "--translator":
    let result = try TranslatorBenchmark.run(stream: bytes)
    print(
        "translator-inbound stanzas=\(result.inboundStanzas) seconds=\(format(result.inboundSeconds, decimals: 4)) "
            + "stanzas_per_s=\(format(Double(result.inboundStanzas) / result.inboundSeconds, decimals: 0))"
    )
    print(
        "translator-outbound changes=\(result.outboundChanges) views=\(result.outboundViews) seconds=\(format(result.outboundSeconds, decimals: 4)) "
            + "changes_per_s=\(format(Double(result.outboundChanges) / result.outboundSeconds, decimals: 0)) "
            + "views_per_s=\(format(Double(result.outboundViews) / result.outboundSeconds, decimals: 0))"
    )
default:
    die("unknown mode \(mode)", status: 2)
}
