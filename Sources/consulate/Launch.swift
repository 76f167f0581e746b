import GatewayServer
import Administration
import ArgumentParser
import Dispatch
import Foundation
import Configuration
import FederationLinks
import Gateway
import Logging
import NIOPosix
import PresenceModel

/// `--log-level`, shared by the commands that run the gateway; it overrides `[log] level`. Logs go
/// to standard error: the console's standard output is a protocol channel, and `serve`'s few
/// status lines stay apart from the log.
struct LoggingOptions: ParsableArguments {
    @Option(
        name: .customLong("log-level"),
        help: "The lowest level logged to standard error: trace, debug, info, notice, warning, error or critical (default: [log] level, or info).",
        transform: { text in
            guard let level = Logger.Level(rawValue: text) else {
                throw ValidationError("'\(text)' is not a log level: use trace, debug, info, notice, warning, error or critical")
            }
            return level
        }
    )
    var logLevel: Logger.Level?

    /// Sends every logger of the process to standard error at `logLevel`, or else at the
    /// configuration's `[log] level`. Call once, before anything logs.
    func bootstrap(_ configuration: GatewayConfiguration) {
        let level = logLevel ?? Logger.Level(rawValue: configuration.log.level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// A refusal the operator must act on: printed to standard error, and the process ends with its
/// exit code. Launch refusals name a setting to fix (2, as for an invalid configuration); admin
/// refusals say whether the input or the store was at fault.
protocol OperatorError: Error {
    var message: String { get }
    var exitCode: Int32 { get }
}

extension LaunchError: OperatorError {
    var exitCode: Int32 { 2 }
}

extension AdminError: OperatorError {}

/// Runs one step of a command; an `OperatorError` is printed and becomes the exit code.
func orExit<T, Failure: OperatorError>(_ step: () async throws(Failure) -> T) async throws -> T {
    do throws(Failure) {
        return try await step()
    } catch {
        printError("consulate: \(error.message)")
        throw ExitCode(error.exitCode)
    }
}

/// The synchronous form of `orExit`.
func orExit<T, Failure: OperatorError>(_ step: () throws(Failure) -> T) throws -> T {
    do throws(Failure) {
        return try step()
    } catch {
        printError("consulate: \(error.message)")
        throw ExitCode(error.exitCode)
    }
}

/// Reads and validates `federation.toml`, printing its warnings; an invalid file ends the process
/// with exit code 2 and a message naming the setting.
func loadConfigurationOrExit(path: String) throws -> GatewayConfiguration {
    let configuration = try orExit { () throws(LaunchError) in try GatewayLauncher.loadConfiguration(path: path) }
    for warning in configuration.warnings { printError("warning: \(warning)") }
    return configuration
}

/// Builds the gateway and binds its listeners, counting in `metrics`, then logs what it serves and
/// where it listens; the caller runs it.
func startGatewayOrExit(configuration: GatewayConfiguration, directory: PresenceDirectory, metrics: PrometheusExposition) async throws -> Gateway {
    let gateway = try orExit { () throws(LaunchError) in
        try GatewayLauncher.makeGateway(
            configuration: configuration,
            directory: directory,
            group: MultiThreadedEventLoopGroup.singleton,
            metrics: FederationMetrics(factory: metrics.factory)
        )
    }
    announce(configuration, listeningOn: try await gateway.bind())
    return gateway
}

/// The status lines of a started gateway: the domains it serves and where it listens.
func announce(_ configuration: GatewayConfiguration, listeningOn ports: Gateway.ListeningPorts) {
    standardOutput.write("consulate: serving \(configuration.translation.localDomains.sorted().joined(separator: ", "))")
    standardOutput.write("consulate: listening for server-to-server connections on \(configuration.listen.address):\(ports.startTLS) (STARTTLS)")
    if let directTLS = ports.directTLS {
        standardOutput.write("consulate: listening for server-to-server connections on \(configuration.listen.address):\(directTLS) (direct TLS, XEP-0368)")
    }
}

/// `http://address:port/`, with IPv6 addresses in brackets.
func apiURL(address: String, port: Int) -> String {
    let host = address.contains(":") && !address.hasPrefix("[") ? "[\(address)]" : address
    return "http://\(host):\(port)/"
}

/// Whole lines to standard output, written at once and one at a time, so that log readers and a
/// driving process see each line as soon as it is written, never two interleaved.
final class LineWriter: Sendable {
    private let queue = DispatchQueue(label: "consulate.output")

    func write(_ line: String) {
        queue.sync { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }
}

let standardOutput = LineWriter()
