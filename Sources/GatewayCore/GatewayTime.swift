package import Federation
package import PresenceModel

/// When an input happens, as the runtime's injected clock says: the monotonic instant timers and
/// the link table count with, and the wall time stored messages and reports are stamped with.
/// The core never reads a clock; every input comes with one of these.
package struct GatewayTime: Sendable, Hashable {
    package var now: LinkInstant
    package var wall: Timestamp

    package init(now: LinkInstant, wall: Timestamp) {
        self.now = now
        self.wall = wall
    }

    /// The wall time of `instant`, as of this time: how a retry's instant is shown to an operator.
    package func wallTime(of instant: LinkInstant) -> Timestamp {
        let (seconds, attoseconds) = (instant - now).components
        return Timestamp(millisecondsSinceEpoch: wall.millisecondsSinceEpoch + seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}

/// One open event stream of an internal user (a WebSocket of the internal API), named by the
/// runtime when it opens it.
package struct SubscriberID: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var number: UInt64

    package init(_ number: UInt64) {
        self.number = number
    }

    package static func < (lhs: SubscriberID, rhs: SubscriberID) -> Bool { lhs.number < rhs.number }

    package var description: String { "subscriber-\(number)" }
}
