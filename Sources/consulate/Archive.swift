import Administration
import ArgumentParser
import Foundation

/// `consulate archive`: the compliance archive of the store `federation.toml` names.
struct Archive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the compliance archive.",
        subcommands: [Export.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the archived messages as JSON Lines, oldest first.",
            discussion: """
                One JSON object per line: id, at (XEP-0082), user, contact, direction (in or out), body, message_id. \
                Which users are archived and for how long is [store] archive and archive-retention-days. \
                The count goes to standard error.
                """
        )

        @Option(help: "Only messages at or after this XEP-0082 date-time (2026-11-01T00:00:00Z).")
        var since: String?

        @Option(help: "Only messages before this date-time.")
        var until: String?

        @Option(name: .shortAndLong, help: "The file to write (created or replaced); standard output by default.")
        var output: String?

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let (_, administration) = try options.open()
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil), let opened = FileHandle(forWritingAtPath: output) else {
                    printError("consulate: cannot write '\(output)'")
                    throw ExitCode(AdminError.failure)
                }
                handle = opened
            } else {
                handle = FileHandle.standardOutput
            }
            defer { if output != nil { try? handle.close() } }
            let count = try await orExit { () async throws(AdminError) in try await administration.exportArchive(to: handle, since: since, until: until) }
            printError("consulate: \(count) archived message\(count == 1 ? "" : "s") exported")
        }
    }
}
