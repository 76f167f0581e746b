import ArgumentParser
import Foundation
import InternalAPI

/// `consulate links`: the running server's federation links. Live links exist only in the
/// gateway's memory, so this asks the server over its internal API (`[api]`), with an admin token.
struct Links: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the running gateway's federation links: domain, direction, state, authentication, TLS, age and queued stanzas.",
        discussion: """
            Asks the server running with this configuration over its internal API ([api] address and port), \
            with an admin token from --token or the CONSULATE_ADMIN_TOKEN environment variable (`consulate admin-token` issues one). \
            Outbound links are ours to the peer and carry our stanzas; inbound streams are the peer's and carry its stanzas to us. \
            An outbound link that is not established shows its connection attempt or when it retries, with what waits for it.
            """
    )

    @Option(name: .long, help: "The admin token (default: $CONSULATE_ADMIN_TOKEN).")
    var token: String?

    @Flag(name: .long, help: "Print the API's JSON answer instead of a table.")
    var json = false

    @OptionGroup var options: AdminOptions

    func run() async throws {
        let configuration = try options.load()
        guard let token = token ?? ProcessInfo.processInfo.environment["CONSULATE_ADMIN_TOKEN"], !token.isEmpty else {
            printError("consulate: links asks the running server over its internal API, which needs an admin token: set CONSULATE_ADMIN_TOKEN or pass --token (`consulate admin-token` issues one)")
            throw ExitCode(2)
        }
        let client = AdminClient(address: configuration.api.address, port: configuration.api.port, token: token)
        let list: LinkList
        do throws(AdminClientError) {
            list = try await client.links()
        } catch {
            printError("consulate: \(error)")
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(list), as: UTF8.self))
        } else if list.links.isEmpty {
            print("no links")
        } else {
            print(list.table())
        }
    }
}
