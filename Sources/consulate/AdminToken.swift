import Administration
import ArgumentParser

/// `consulate admin-token`: a token for the internal API's admin routes, in the store
/// `federation.toml` names.
struct AdminToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-token",
        abstract: "Issue an admin token for the internal API and print it.",
        discussion: "The token is printed once to standard output (only its hash is stored), and where the API listens to standard error. Earlier admin tokens keep working. With --if-none, a token is issued only when the store has none, and nothing is printed otherwise: what `make serve` runs on every start."
    )

    @Flag(name: .customLong("if-none"), help: "Issue a token only if the store has no admin token yet.")
    var ifNone = false

    @OptionGroup var options: AdminOptions

    func run() async throws {
        let (configuration, administration) = try options.open()
        guard let token = try await orExit({ () async throws(AdminError) in try await administration.issueAdminToken(onlyIfNone: ifNone) }) else {
            return
        }
        printError("consulate: an admin token for the internal API at \(apiURL(address: configuration.api.address, port: configuration.api.port)) (shown once):")
        print(token)
    }
}
