/// `consulate-bench --parser stream.xml` or `consulate-bench --translator presence.xml`, inputs from
/// `Benchmarks/generate-stream.py`; `consulate-bench --store new-file.sqlite` for the store. Prints one machine-readable line per figure
/// (`name key=value …`), which `Benchmarks/report.py` turns into the table; `make bench` runs both
/// next to the raw expat reference.
let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2 else {
    die("usage: consulate-bench --parser stream.xml | --translator presence.xml | --store new-file.sqlite", status: 2)
}
let (mode, path) = (arguments[0], arguments[1])

switch mode {
case "--parser":
    let bytes = readFile(path)
    let (stanzas, seconds) = try ParserBenchmark.run(stream: bytes)
    print(
        "consulate-parser bytes=\(bytes.count) stanzas=\(stanzas) seconds=\(format(seconds, decimals: 4)) "
            + "mbps=\(format(Double(bytes.count) / seconds / 1e6, decimals: 1)) "
            + "stanzas_per_s=\(format(Double(stanzas) / seconds, decimals: 0))"
    )
case "--translator":
    let result = try TranslatorBenchmark.run(stream: readFile(path))
    print(
        "translator-inbound stanzas=\(result.inboundStanzas) seconds=\(format(result.inboundSeconds, decimals: 4)) "
            + "stanzas_per_s=\(format(Double(result.inboundStanzas) / result.inboundSeconds, decimals: 0))"
    )
    print(
        "translator-outbound changes=\(result.outboundChanges) views=\(result.outboundViews) "
            + "seconds=\(format(result.outboundSeconds, decimals: 4)) "
            + "changes_per_s=\(format(Double(result.outboundChanges) / result.outboundSeconds, decimals: 0)) "
            + "views_per_s=\(format(Double(result.outboundViews) / result.outboundSeconds, decimals: 0))"
    )
case "--store":
    for result in try await StoreBenchmark.run(file: path) {
        print(
            "store-batch-\(result.batch) batch=\(result.batch) messages=\(result.messages) seconds=\(format(result.seconds, decimals: 4)) "
                + "messages_per_s=\(format(Double(result.messages) / result.seconds, decimals: 0))"
        )
    }
default:
    die("unknown mode \(mode); usage: consulate-bench --parser stream.xml | --translator presence.xml | --store new-file.sqlite", status: 2)
}
