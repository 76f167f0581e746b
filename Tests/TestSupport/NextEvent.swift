/// `what` did not come within the deadline, or the stream ended first.
package struct EventTimeout: Error, CustomStringConvertible {
    package var description: String

    package init(description: String) {
        self.description = description
    }
}

/// The next element of `stream`; throws `EventTimeout` when none comes within `seconds` or the
/// stream ends first. The deadline only bounds a failing test: a passing one never waits for it.
/// The one way the tests wait for an event of the gateway.
package func nextEvent<Events: AsyncSequence & Sendable>(
    _ stream: Events, within seconds: Int = 10, waitingFor what: String = "an event"
) async throws -> Events.Element where Events.Element: Sendable {
    try await withThrowingTaskGroup(of: Events.Element?.self) { group in
        group.addTask {
            var iterator = stream.makeAsyncIterator()
            return try await iterator.next()
        }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw EventTimeout(description: "no \(what) within \(seconds) s")
        }
        defer { group.cancelAll() }
        guard let element = try await group.next() ?? nil else { throw EventTimeout(description: "the stream ended before \(what)") }
        return element
    }
}
