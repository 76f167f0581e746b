package import Federation
package import GatewayCore
package import PresenceModel

/// The one source of time the running gateway has, injected: a monotonic clock that stamps every
/// input and paces every timer (the link table's deadlines, the archive purge), and the wall time
/// stored messages and reports are stamped with. Production uses `ContinuousClock` and the system
/// time; tests use a clock they move by hand, so that a ping timeout, a retry or an idle close is
/// tested where it is wired without waiting for it.
package struct GatewayClock: Sendable {
    private let elapsed: @Sendable () -> Duration
    /// Sleeps until this long after the origin, on the clock itself, so that the deadline does not
    /// move with the time it takes to ask.
    private let sleeper: @Sendable (Duration) async throws -> Void
    private let wallTime: @Sendable () -> Timestamp

    /// Instants are measured from `clock.now` at this call, so the core's `LinkInstant`s start at
    /// zero.
    package init<C: Clock>(_ clock: C, wallTime: @escaping @Sendable () -> Timestamp) where C.Duration == Duration, C: Sendable {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleeper = { try await clock.sleep(until: origin.advanced(by: $0), tolerance: nil) }
        self.wallTime = wallTime
    }

    /// `ContinuousClock` and the system's wall time.
    package static var system: GatewayClock { GatewayClock(ContinuousClock(), wallTime: Timestamp.systemNow) }

    /// The time now, as the core takes it with each input.
    package var now: GatewayTime { GatewayTime(now: LinkInstant(sinceOrigin: elapsed()), wall: wallTime()) }

    /// Sleeps until `instant` on the monotonic clock (at once if it has passed); throws when
    /// cancelled.
    package func sleep(until instant: LinkInstant) async throws {
        try await sleeper(instant.sinceOrigin)
    }

    package func sleep(for duration: Duration) async throws {
        try await sleeper(elapsed() + duration)
    }
}
