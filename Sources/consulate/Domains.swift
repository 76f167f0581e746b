import Administration
import ArgumentParser
import Configuration

/// `consulate domains`: runtime allowlist changes, kept in the store and applied over the
/// `[[partner]]` entries of `federation.toml`.
struct Domains: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show and change the federation allowlist without editing federation.toml.",
        discussion: "Changes are kept in the store and win over federation.toml for the same domain pattern.",
        subcommands: [List.self, Show.self, Allow.self, Block.self, Remove.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List partners and blocks: federation.toml's, with the runtime changes over them.")

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let (configuration, administration) = try options.open()
            let partners = configuration.federation.partners
            for entry in try await orExit({ () async throws(AdminError) in try await administration.domains(filePartners: partners) }) {
                print(entry.summary)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every setting of one domain pattern.")

        @Argument(help: "A domain or *.domain pattern.")
        var domain: String

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let (configuration, administration) = try options.open()
            let partners = configuration.federation.partners
            guard let entry = try await orExit({ () async throws(AdminError) in try await administration.domain(domain, filePartners: partners) })
            else {
                printError("consulate: \(domain) is neither a partner in federation.toml nor changed at runtime")
                throw ExitCode.failure
            }
            for line in entry.details { print(line) }
        }
    }

    struct Allow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Allow a partner domain, or change its settings.",
            discussion: "The options are those of a [[partner]] entry (README, configuration reference) and are checked by the same rules; an invalid combination is refused with exit code 2 and nothing is stored."
        )

        @Argument(help: "The partner's domain or *.domain pattern.")
        var domain: String

        @Option(name: .customLong("additional-domain"), help: "Another domain or *.domain pattern of the same partner; repeat for several.")
        var additionalDomains: [String] = []

        @Option(help: "federated, public-verified or public-unverified (default).")
        var trust: String?

        @Option(help: "required (default), optional or not-supported.")
        var tls: String?

        @Option(help: "required (default), optional or not-supported.")
        var sasl: String?

        @Flag(inversion: .prefixedNo, help: "Whether dialback may authenticate the partner (default: yes).")
        var dialback: Bool?

        @Option(help: "Connect to host:port instead of looking up SRV records ([IPv6]:port for IPv6).")
        var route: String?

        @Flag(name: .customLong("keep-alive"), inversion: .prefixedNo, help: "Whether to keep idle links open with pings (default: yes).")
        var keepAlive: Bool?

        @Option(name: .customLong("connection-limit"), help: "At most this many links with the partner.")
        var connectionLimit: Int?

        @Option(help: "A note for operators.")
        var description: String?

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let (configuration, administration) = try options.open()
            let settings = PartnerSettings(
                domain: domain, additionalDomains: additionalDomains, trust: trust, tls: tls, sasl: sasl, dialback: dialback,
                route: route, keepAlive: keepAlive, connectionLimit: connectionLimit, description: description
            )
            let (partner, warnings) = try await orExit { () async throws(AdminError) in try await administration.allow(settings) }
            for warning in warnings { printError("warning: \(warning)") }
            print("allowed \(partner.domain)")
            options.applyToRunningServer(configuration, .allowlist)
        }
    }

    struct Block: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse a domain or *.domain pattern, whatever federation.toml says.")

        @Argument(help: "A domain or *.domain pattern.")
        var domain: String

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let (configuration, administration) = try options.open()
            try await orExit { () async throws(AdminError) in try await administration.block(domain) }
            print("blocked \(domain)")
            options.applyToRunningServer(configuration, .allowlist)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget a domain pattern: its runtime allow or block, and its [[partner]] entry in federation.toml."
        )

        @Argument(help: "A domain or *.domain pattern.")
        var domain: String

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let (configuration, administration) = try options.open()
            try await orExit { () async throws(AdminError) in try await administration.remove(domain) }
            print("removed \(domain)")
            options.applyToRunningServer(configuration, .allowlist)
        }
    }
}
