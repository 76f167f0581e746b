package import GatewayCore
import NIOConcurrencyHelpers
import NIOCore
package import Translation
package import XMPP

/// One internal user's event stream, as its consumer (the WebSocket of `GET /v1/me/events`, the
/// console) reads it: a bounded buffer between the gateway and a client that may be slow.
///
/// The gateway pushes events; the consumer takes them one at a time and writes each before it
/// asks for the next, so taking the next event is how the buffer learns the previous one was
/// written. Events are counted by their estimated size (`InternalEvent.estimatedBytes`): when one
/// more would take the buffer over `capacity`, the stream overflows and ends, and the consumer
/// should close its client as overflowed (the WebSocket route: 1008). Whatever the stream held and never wrote then
/// goes back to the core (`SubscriberEnd`), which keeps the messages among it offline: a slow
/// client costs at most `capacity`, and loses nothing the gateway had not written.
package final class EventSubscription: AsyncSequence, Sendable {
    package typealias Element = InternalEvent

    private struct Item: Sendable {
        var event: InternalEvent
        /// The stored offline message it is, if it is one: it stays stored until written.
        var offlineSequence: Int64?
        var bytes: Int
    }

    private struct State {
        var items = CircularBuffer<Item>()
        var bytes = 0
        /// Taken by the consumer, not yet known to be written.
        var inFlight: Item?
        var writtenOfflineThrough: Int64?
        var waiting: CheckedContinuation<InternalEvent?, Never>?
        var drainWanted = false
        /// No more events are taken; set once.
        var finished = false
        var overflowed = false
        /// The end was reported.
        var reported = false
        /// Waiting in `untilOverflow()`.
        var overflowWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var waitersAdded: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())
    /// Whose events these are.
    package let user: JID
    package let capacity: Int
    private let drained: @Sendable (_ writtenOfflineThrough: Int64?) -> Void
    private let ended: @Sendable (SubscriberEnd) -> Void

    /// - Parameters:
    ///   - capacity: the most bytes of events it holds; a single event larger than that is taken
    ///     into an empty buffer.
    ///   - drained: called, with the last offline message written, once per `awaitDrain()` when
    ///     the buffer is half empty again, and whenever the last offline message it holds is
    ///     written (so that written messages leave the store).
    ///   - ended: called once, when the consumer is done (`close()`) or the stream overflowed.
    package init(
        user: JID, capacity: Int, drained: @escaping @Sendable (Int64?) -> Void, ended: @escaping @Sendable (SubscriberEnd) -> Void
    ) {
        self.user = user
        self.capacity = capacity
        self.drained = drained
        self.ended = ended
    }

    /// Whether the stream ended because its consumer did not keep up.
    package var overflowed: Bool { state.withLockedValue { $0.overflowed } }

    /// Returns once the stream overflows (at once if it has), or the task is cancelled: how a
    /// consumer stuck writing to a client that does not read learns to stop.
    package func untilOverflow() async {
        let id = state.withLockedValue { state -> UInt64 in
            state.waitersAdded += 1
            return state.waitersAdded
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { state -> Bool in
                    if state.overflowed || Task.isCancelled { return true }
                    state.overflowWaiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.overflowWaiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// What became of a pushed event.
    package enum PushOutcome: Sendable, Hashable {
        case taken
        /// It overflowed the buffer: the stream ended, and its end reported it among the undelivered.
        case overflowed
        /// The stream had ended before, and its end was reported without it: it is the caller's.
        case refused
    }

    /// Adds an event for the consumer.
    @discardableResult
    package func push(_ event: InternalEvent, offlineSequence: Int64? = nil) -> PushOutcome {
        let item = Item(event: event, offlineSequence: offlineSequence, bytes: event.estimatedBytes)
        enum Outcome { case taken(CheckedContinuation<InternalEvent?, Never>?), refused, overflowed(SubscriberEnd) }
        let outcome = state.withLockedValue { state -> Outcome in
            guard !state.finished else { return .refused }
            if let waiting = state.waiting {
                state.waiting = nil
                state.inFlight = item
                return .taken(waiting)
            }
            if !state.items.isEmpty, state.bytes + item.bytes > capacity {
                state.items.append(item)
                state.finished = true
                state.overflowed = true
                return .overflowed(Self.end(&state))
            }
            state.items.append(item)
            state.bytes += item.bytes
            return .taken(nil)
        }
        switch outcome {
        case .taken(let waiting):
            waiting?.resume(returning: event)
            return .taken
        case .refused:
            return .refused
        case .overflowed(let end):
            ended(end)
            for waiter in state.withLockedValue({ state in defer { state.overflowWaiters = [:] }; return state.overflowWaiters.values }) { waiter.resume() }
            return .overflowed
        }
    }

    /// The gateway ends the stream (its user was removed, or it shuts down): the consumer takes
    /// what is buffered, then the sequence ends.
    package func finish() {
        let waiting = state.withLockedValue { state -> CheckedContinuation<InternalEvent?, Never>? in
            state.finished = true
            defer { state.waiting = nil }
            return state.items.isEmpty ? state.waiting : nil
        }
        waiting?.resume(returning: nil)
    }

    /// Asks for one `drained` call once the buffer is half empty (at once if it is already).
    package func awaitDrain() {
        let now = state.withLockedValue { state -> Int64?? in
            guard !state.reported else { return .none }
            if state.bytes <= capacity / 2 { return .some(state.writtenOfflineThrough) }
            state.drainWanted = true
            return .none
        }
        if let now { drained(now) }
    }

    /// The consumer is done (its client closed, or it stopped after an overflow): what it never
    /// wrote is reported with the end. Safe to call more than once.
    package func close() {
        let end = state.withLockedValue { state -> (SubscriberEnd, CheckedContinuation<InternalEvent?, Never>?)? in
            guard !state.reported else { return nil }
            state.finished = true
            let waiting = state.waiting
            state.waiting = nil
            return (Self.end(&state), waiting)
        }
        guard let (report, waiting) = end else { return }
        waiting?.resume(returning: nil)
        ended(report)
    }

    /// The consumer took the next event: the one before is written.
    private func next() async -> InternalEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<InternalEvent?, Never>) in
                let (result, drainedThrough) = state.withLockedValue { state -> (InternalEvent??, Int64??) in
                    var drainedThrough: Int64?? = .none
                    if let written = state.inFlight, let sequence = written.offlineSequence {
                        state.writtenOfflineThrough = sequence
                        // The last offline message handed over is written: it may leave the store.
                        if !state.items.contains(where: { $0.offlineSequence != nil }) { drainedThrough = .some(sequence) }
                    }
                    state.inFlight = nil
                    if state.overflowed { return (.some(nil), .none) }
                    if let item = state.items.popFirst() {
                        state.bytes -= item.bytes
                        state.inFlight = item
                        if state.drainWanted, state.bytes <= capacity / 2 {
                            state.drainWanted = false
                            drainedThrough = .some(state.writtenOfflineThrough)
                        }
                        return (.some(item.event), drainedThrough)
                    }
                    if state.drainWanted {
                        state.drainWanted = false
                        drainedThrough = .some(state.writtenOfflineThrough)
                    }
                    if state.finished { return (.some(nil), drainedThrough) }
                    state.waiting = continuation
                    return (.none, drainedThrough)
                }
                if let drainedThrough { drained(drainedThrough) }
                if let result { continuation.resume(returning: result) }
            }
        } onCancel: {
            close()
        }
    }

    /// What the stream never wrote, as it ends: the event in flight and the buffered ones, live
    /// events only (offline messages are still stored).
    private static func end(_ state: inout State) -> SubscriberEnd {
        state.reported = true
        let unwritten = (state.inFlight.map { [$0] } ?? []) + Array(state.items)
        state.items.removeAll()
        state.bytes = 0
        state.inFlight = nil
        return SubscriberEnd(
            undelivered: unwritten.filter { $0.offlineSequence == nil }.map(\.event),
            writtenOfflineThrough: state.writtenOfflineThrough,
            overflowed: state.overflowed
        )
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: EventSubscription

        package mutating func next() async -> InternalEvent? {
            await subscription.next()
        }
    }

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(subscription: self)
    }
}

extension InternalEvent {
    /// Roughly what the event costs held in memory and written as JSON: its texts, and a little
    /// for the rest. What the event-stream buffer counts.
    package var estimatedBytes: Int {
        switch self {
        case .message(_, let message):
            256 + (message.bodies + message.subjects).reduce(0) { $0 + $1.text.utf8.count }
        case .contactPresence(_, let presence):
            256 + (presence.note?.utf8.count ?? 0) + (presence.location?.utf8.count ?? 0)
        default:
            256
        }
    }
}
