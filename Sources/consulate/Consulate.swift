import ArgumentParser
import Configuration
import Dispatch
import FixtureReplay
import Foundation
import Gateway
import NIOPosix
import PresenceModel

/// The `consulate` command: the gateway's single entry point for operators and CI.
@main
struct Consulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An XMPP federation gateway for an organisation's internal presence and IM.",
        subcommands: [Serve.self, Console.self, Replay.self, Users.self, Domains.self, Check.self]
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

/// Runs the gateway until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway with a federation.toml.",
        discussion: "Refuses an invalid configuration with a message naming the setting and a non-zero exit. Internal users come from the store (not yet available): until then the gateway federates with no internal users. Status lines go to standard output, the log to standard error."
    )

    @Option(name: .long, help: "The configuration file.")
    var config: String = "federation.toml"

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        logging.bootstrap()
        // Kept for the Prometheus endpoint of the internal HTTP API, which will serve `metrics.render()`.
        let metrics = PrometheusExposition.bootstrap()
        let configuration = try loadConfigurationOrExit(path: config)
        let gateway = try await startGatewayOrExit(configuration: configuration, directory: PresenceDirectory(), metrics: metrics)
        await waitForTerminationSignal()
        standardOutput.write("consulate: shutting down")
        await shutDown(gateway)
    }
}

/// Suspends until SIGINT or SIGTERM arrives.
func waitForTerminationSignal() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumed = ResumeOnce(continuation)
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { resumed.resume() }
            source.resume()
            SignalSources.keep(source)
        }
    }
}

/// Resumes a continuation once, whichever signal comes first.
final class ResumeOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?

    init(_ continuation: CheckedContinuation<Void, Never>) {
        self.continuation = continuation
    }

    func resume() {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume()
    }
}

/// Keeps the signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
    private static let lock = NSLock()

    static func keep(_ source: any DispatchSourceSignal) {
        lock.lock()
        sources.append(source)
        lock.unlock()
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
