import Administration
import ArgumentParser
import Foundation
import NIOPosix

/// `consulate check`: what is wrong with the configuration, the certificate and the DNS records,
/// and how to fix it, before `serve` fails or partners cannot reach us.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check federation.toml, the TLS certificate and key, the store path and DNS, and say how to fix what is wrong.",
        discussion: """
            Prints one finding per line ('error:', 'warning:' or 'note:'), each problem followed by an indented 'fix:' line. \
            DNS is asked through the [dns] nameservers only: the partners' SRV and A/AAAA records (where our links will connect) \
            and our own domains' SRV records (where partners will connect). Exits with 2 if there is an error.
            """
    )

    @Option(name: .long, help: "The configuration file.")
    var config: String = "federation.toml"

    @Flag(name: .customLong("no-dns"), help: "Skip the DNS checks (for a machine without network).")
    var noDNS = false

    func run() async throws {
        let (findings, _) = await ConfigurationCheck.run(
            path: config, now: Date(), dns: noDNS ? nil : MultiThreadedEventLoopGroup.singleton
        )
        for finding in findings { print(finding) }
        let errors = findings.filter { $0.severity == .error }.count
        let warnings = findings.filter { $0.severity == .warning }.count
        print("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
        if errors > 0 { throw ExitCode(AdminError.invalidInput) }
    }
}
