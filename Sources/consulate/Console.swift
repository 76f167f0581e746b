import ArgumentParser
import Configuration
import Dispatch
import FixtureReplay
import Foundation
import Gateway
import NIOPosix
import PresenceModel
import Translation
import XMPP

/// Runs the gateway with internal users driven from standard input, in the fixture notation: the
/// way to talk to external users before the internal HTTP API exists, and what the interop tests use.
struct Console: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway and drive internal users from standard input.",
        discussion: """
            Each input line is '<user JID> <action/>' in the fixture notation (Fixtures/README.md, "Internal actions"), \
            for example: alice@contoso.example <send-message to='bob@fabrikam.example'><body>Hi</body></send-message>. \
            Each event for a user is printed as one line '<user JID> <event/>' ("Internal events"). \
            A line that cannot be read is answered with 'error: …'. End of input shuts the gateway down. \
            Logs go to standard error.
            """
    )

    @Option(name: .long, help: "The configuration file.")
    var config: String = "federation.toml"

    @Option(name: .customLong("user"), help: "An internal user (bare JID on one of our domains); repeat for several.")
    var users: [String] = []

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let configuration = try loadConfigurationOrExit(path: config)
        logging.bootstrap(configuration)
        // The console serves no API: the metrics are recorded, for parity with `serve`, and not exposed.
        let metrics = PrometheusExposition.bootstrap()
        var directory = PresenceDirectory()
        var userJIDs: [JID] = []
        for text in users {
            guard let jid = try? JID(text), jid.localpart != nil, jid.resourcepart == nil,
                configuration.translation.localDomains.contains(jid.domainpart)
            else {
                printError("consulate: --user \(text) is not a bare JID on one of gateway.domains")
                throw ExitCode(2)
            }
            directory.add(InternalUser(jid: jid.description))
            userJIDs.append(jid)
        }
        let gateway = try await startGatewayOrExit(configuration: configuration, directory: directory, metrics: metrics)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await gateway.run() }
            for user in userJIDs {
                let events = await gateway.events(for: user)
                group.addTask {
                    for await event in events { standardOutput.write(InternalConsoleLine.line(for: event, user: user)) }
                    events.close()
                }
            }
            standardOutput.write("ready")
            for await line in StandardInputLines.stream() where !line.trimmingXMLWhitespace.isEmpty {
                do throws(FixtureNotation.NotationError) {
                    gateway.perform(try InternalConsoleLine.action(from: line))
                } catch {
                    standardOutput.write("error: \(error.message)")
                }
            }
            // End of input: the gateway closes its links and ends the event streams.
            await gateway.shutdown()
        }
    }
}

/// Standard input's lines, read on a thread of their own so that a blocking read never holds one
/// of the concurrency pool's few threads.
enum StandardInputLines {
    static func stream() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        Thread.detachNewThread {
            while let line = readLine(strippingNewline: true) { continuation.yield(line) }
            continuation.finish()
        }
        return stream
    }
}
