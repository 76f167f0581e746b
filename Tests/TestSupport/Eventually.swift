/// `what` never held within the deadline.
package struct ConditionTimeout: Error, CustomStringConvertible {
    package var what: String
    package var description: String { "\(what) did not hold in time" }
}

/// Waits (at most `seconds`) until `condition` holds, checking again after each short pause: for
/// what other threads record after the traffic a test sees (event loops, the gateway's inbox, the
/// store's writer), where no event marks the moment. Throws `ConditionTimeout` past the deadline.
package func eventually(
    seconds: Double = 10,
    _ what: String = "the condition",
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw ConditionTimeout(what: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}
