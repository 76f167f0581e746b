/// A point in time for the link table, as a duration since an origin the caller chooses (typically
/// when the process started).
///
/// The table never reads a clock: every event carries `now`, so tests drive time by hand and replay
/// a sequence exactly, and the process can feed it from `ContinuousClock` (or a NIO deadline, which
/// is also a monotonic offset) without the table depending on either. The caller must never let
/// `now` go backwards.
package struct LinkInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// How long after the origin this instant is.
    package var sinceOrigin: Duration

    package init(sinceOrigin: Duration) {
        self.sinceOrigin = sinceOrigin
    }

    /// `instant` measured from `origin`, for a process that keeps the `ContinuousClock` instant it
    /// started at.
    package init(_ instant: ContinuousClock.Instant, origin: ContinuousClock.Instant) {
        self.init(sinceOrigin: origin.duration(to: instant))
    }

    /// The origin itself.
    package static let origin = LinkInstant(sinceOrigin: .zero)

    package static func < (lhs: LinkInstant, rhs: LinkInstant) -> Bool {
        lhs.sinceOrigin < rhs.sinceOrigin
    }

    package static func + (instant: LinkInstant, duration: Duration) -> LinkInstant {
        LinkInstant(sinceOrigin: instant.sinceOrigin + duration)
    }

    package static func - (instant: LinkInstant, duration: Duration) -> LinkInstant {
        LinkInstant(sinceOrigin: instant.sinceOrigin - duration)
    }

    /// How long after `earlier` `later` is (negative if it is not later).
    package static func - (later: LinkInstant, earlier: LinkInstant) -> Duration {
        later.sinceOrigin - earlier.sinceOrigin
    }

    package var description: String { "origin+\(sinceOrigin)" }
}
