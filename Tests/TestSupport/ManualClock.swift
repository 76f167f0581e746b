import GatewayCore
package import Gateway
import NIOConcurrencyHelpers
package import PresenceModel

/// A clock that moves only when the test says so: what is injected into the gateway to test, where
/// they are wired, the timers the core arms (pings, idle links, retries, queue expiry). Sleepers
/// wake, in deadline order, as `advance(by:)` passes their deadlines.
package final class ManualClock: Clock, Sendable {
    package struct Instant: InstantProtocol, Sendable {
        package var offset: Duration

        package func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        package func duration(to other: Instant) -> Duration { other.offset - offset }
        package static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [UInt64: Sleeper] = [:]
        var next: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())
    /// The wall time at the clock's origin.
    package let wallOrigin: Timestamp

    package init(wallOrigin: Timestamp = Timestamp(secondsSinceEpoch: 1_790_000_000)) {
        self.wallOrigin = wallOrigin
    }

    package var now: Instant { state.withLockedValue { $0.now } }
    package var minimumResolution: Duration { .nanoseconds(1) }

    /// The gateway's clock on this one, with wall time moving with it.
    package var gatewayClock: GatewayClock {
        GatewayClock(self) { [self] in
            let (seconds, attoseconds) = now.offset.components
            return Timestamp(millisecondsSinceEpoch: wallOrigin.millisecondsSinceEpoch + seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        }
    }

    /// How many sleepers wait: a test that must know a timer is armed waits for this.
    package var sleeperCount: Int { state.withLockedValue { $0.sleepers.count } }

    package func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLockedValue { state -> UInt64 in
            state.next += 1
            return state.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let wakeNow = state.withLockedValue { state -> Bool in
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if wakeNow {
                    if Task.isCancelled { continuation.resume(throwing: CancellationError()) } else { continuation.resume() }
                }
            }
        } onCancel: {
            state.withLockedValue { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock on and wakes every sleeper whose deadline it passes, earliest first.
    package func advance(by duration: Duration) {
        let woken = state.withLockedValue { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.sorted { $0.deadline < $1.deadline }
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }
}
