import Administration
import ArgumentParser

/// `consulate users`: internal users and their API tokens, in the store `federation.toml` names.
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, remove and list internal users, and issue their API tokens.",
        subcommands: [Add.self, Remove.self, List.self, Token.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an internal user and print their API token.",
            discussion: "The token is printed once: only its hash is stored. An existing user is refused (use 'users token' for a new token)."
        )

        @Argument(help: "The user's bare JID, on one of gateway.domains.")
        var jid: String

        @Option(name: .long, help: "The display name.")
        var name: String?

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let (configuration, administration) = try options.open()
            let token = try await orExit { () async throws(AdminError) in try await administration.addUser(jid, name: name) }
            print(token)
            options.applyToRunningServer(configuration, .users)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an internal user with their contacts, tokens, offline messages and history.",
            discussion: "The compliance archive keeps their messages until its retention purge."
        )

        @Argument(help: "The user's bare JID.")
        var jid: String

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let (configuration, administration) = try options.open()
            try await orExit { () async throws(AdminError) in try await administration.removeUser(jid) }
            print("removed \(jid)")
            options.applyToRunningServer(configuration, .users)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List internal users: JID, name and number of contacts.")

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let (_, administration) = try options.open()
            for user in try await orExit({ () async throws(AdminError) in try await administration.users() }) {
                print([user.jid, user.name ?? "-", "\(user.contacts.count) contacts"].joined(separator: "  "))
            }
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a user's API tokens and print a new one.",
            discussion: "The old tokens stop working at once; the new one is printed once."
        )

        @Argument(help: "The user's bare JID.")
        var jid: String

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let (configuration, administration) = try options.open()
            print(try await orExit { () async throws(AdminError) in try await administration.replaceToken(of: jid) })
            options.applyToRunningServer(configuration, .users)
        }
    }
}
