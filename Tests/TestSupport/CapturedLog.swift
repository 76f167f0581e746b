package import InMemoryLogging
package import Logging

/// A logger whose records a test reads back: swift-log's `InMemoryLogHandler` at `trace`, injected
/// into the gateway directly (no process-wide bootstrap), and a wait for records that event loops
/// write some time after the traffic that causes them.
package struct CapturedLog: Sendable {
    package typealias Entry = InMemoryLogHandler.Entry

    /// For the gateways of tests that do not look at logs: nothing on the test output.
    package static let silent = Logger(label: "consulate.test") { _ in SwiftLogNoOpLogHandler() }

    private let handler = InMemoryLogHandler()

    package init() {}

    package var logger: Logger {
        let handler = self.handler
        var logger = Logger(label: "consulate.test") { _ in handler }
        logger.logLevel = .trace
        return logger
    }

    package var entries: [Entry] { handler.entries }

    /// The first record with this message, waiting up to `seconds` for it.
    package func first(_ message: String, seconds: Int = 10) async throws -> Entry {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while true {
            if let entry = entries.first(where: { $0.message.description == message }) { return entry }
            guard ContinuousClock.now < deadline else {
                throw ScriptedPeer.Timeout(marker: "a log record '\(message)'", received: entries.map(\.message.description).joined(separator: "; "))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension InMemoryLogHandler.Entry {
    /// A metadata value as text, `nil` when absent.
    package subscript(_ key: String) -> String? {
        metadata[key].map { "\($0)" }
    }
}
