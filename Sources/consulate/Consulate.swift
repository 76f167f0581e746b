import Administration
import ArgumentParser
import Configuration
import FederationLinks
import FixtureReplay
import Foundation
import Gateway
import GatewayServer
import NIOPosix

/// The `consulate` command: the gateway's single entry point for operators and CI.
@main
struct Consulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An XMPP federation gateway for an organisation's internal presence and IM.",
        subcommands: [Serve.self, Console.self, Replay.self, Users.self, Domains.self, Links.self, Archive.self, AdminToken.self, Check.self]
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

/// Runs the gateway and the internal API until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway and the internal API with a federation.toml.",
        discussion: "Opens the store of [store] path and serves its internal users: federation on [listen], the internal HTTP API on [api]. Refuses an invalid configuration, an unreadable store or a taken port with a message naming the setting and a non-zero exit. SIGINT or SIGTERM stops the API first, then closes the links and writes the last changes to the store. Status lines go to standard output, the log to standard error."
    )

    @Option(name: .long, help: "The configuration file.")
    var config: String = "federation.toml"

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let configuration = try loadConfigurationOrExit(path: config)
        logging.bootstrap(configuration)
        let metrics = PrometheusExposition.bootstrap()
        // SIGHUP, SIGUSR1 and SIGUSR2 mean "reload" and "the store changed", never the default
        // "terminate", from the moment admin commands can find this process, even before the
        // reload service is listening for them.
        for reload in [SIGHUP, SIGUSR1, SIGUSR2] { signal(reload, SIG_IGN) }
        let claim = try claimStore(configuration)
        defer { claim?.release() }
        let server = try await orExit { () async throws(LaunchError) in
            try await GatewayLauncher.launch(
                configuration: configuration,
                group: MultiThreadedEventLoopGroup.singleton,
                metrics: FederationMetrics(factory: metrics.factory),
                exposition: metrics,
                configurationPath: config
            )
        }
        announce(configuration, listeningOn: server.ports)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                if let address = await server.apiAddress(), let port = address.port {
                    standardOutput.write("consulate: internal API on \(apiURL(address: configuration.api.address, port: port))")
                }
                try await group.waitForAll()
            }
        } catch {
            printError("consulate: the internal API could not be served on [api] \(configuration.api.address):\(configuration.api.port): \(error)")
            throw ExitCode.failure
        }
        standardOutput.write("consulate: stopped")
    }

    /// Takes the store for this server before anything reads it, so that a second server on the
    /// same store is refused instead of sending its queued messages a second time. A file that
    /// cannot be written only costs the admin commands their way to signal this server.
    private func claimStore(_ configuration: GatewayConfiguration) throws -> RunningServer.Claim? {
        let runningServer = RunningServer(storePath: configuration.store.path)
        do {
            return try runningServer.claim()
        } catch let running as RunningServer.AlreadyRunning {
            let who = running.pid.map { "(pid \($0)) " } ?? ""
            printError(
                "consulate: another consulate serve \(who)runs on the store '\(configuration.store.path)' ([store] path): stop it first, or give this server a store of its own"
            )
            throw ExitCode(2)
        } catch {
            printError("warning: cannot lock \(runningServer.path): admin commands cannot tell this gateway about their changes (\(error))")
            return nil
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
