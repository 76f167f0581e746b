import ArgumentParser
import FixtureReplay

/// The `consulate` command: the gateway's single entry point for operators and CI.
@main
struct Consulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An XMPP federation gateway for an organisation's internal presence and IM.",
        subcommands: [Replay.self]
    )
}

/// Replays stanza fixtures against the real parser and translator.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay fixture transcripts and report which pass.",
        discussion: "Prints one line per fixture, a diff for each failure, and a final 'N passed, N failed' line. Exits non-zero if any fixture fails."
    )

    @Argument(help: "Directory searched recursively for *.fixture files.")
    var directory: String = "Fixtures"

    @Option(name: .customLong("chunk-size"), help: "Feed remote bytes this many at a time (1 = one byte at a time). Default: each block whole.")
    var chunkSize: Int?

    func run() throws {
        let fixtures = try FixtureLibrary.load(directory: directory)
        var passed = 0
        var failed = 0
        for fixture in fixtures {
            let result = FixtureRunner.run(fixture, chunkSize: chunkSize)
            if let failure = result.failure {
                failed += 1
                print("FAIL \(result.fixture) — \(result.title)")
                print(failure.split(separator: "\n", omittingEmptySubsequences: false).map { "     " + $0 }.joined(separator: "\n"))
            } else {
                passed += 1
                print("ok   \(result.fixture) — \(result.title)")
            }
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 || fixtures.isEmpty { throw ExitCode.failure }
    }
}
