import Administration
import ArgumentParser

/// `consulate check`: what is wrong with the configuration and how to fix it, before `serve` fails.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check federation.toml, the TLS files and the store path, and say how to fix what is wrong.",
        discussion: "Prints one line per finding ('ok:', 'warning:' or 'problem:'). Exits with 2 if there is a problem."
    )

    @Option(name: .long, help: "The configuration file.")
    var config: String = "federation.toml"

    func run() throws {
        let (findings, _) = ConfigurationCheck.run(path: config)
        for finding in findings { print(finding) }
        if findings.contains(where: { $0.severity == .problem }) { throw ExitCode(2) }
    }
}
