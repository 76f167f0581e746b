import Federation
import PresenceModel
import Storage
package import Translation
package import XMPP

/// Internal users' open event streams and what each is told: every event for a user goes to each
/// of their live streams. Pure; the core feeds it and carries out what it returns.
///
/// A stream that opens while the store keeps messages first catches up on its user's offline
/// messages, a page at a time (`OfflinePage`): each page is handed over (`.handOver`), and the
/// next is read only once the stream's buffer has drained (`.awaitDrain`, answered by
/// `drained(_:writtenThrough:)`), so that a hundred thousand stored messages never sit in memory
/// at once. Messages that arrive meanwhile are kept offline behind the others (the core asks
/// `keepsOffline(_:)`) and come in a later page; other events wait here, a contact's presence
/// only in its latest state. An empty page, with nothing kept offline since it was asked for,
/// makes the stream live.
///
/// Offline messages leave the store only once the stream reports them written; what a stream
/// closing took but never wrote stays stored, and the live messages it never wrote are kept
/// offline unless a live stream of the user got them.
package struct SubscriberFanOut: Sendable {
    /// How much one read of offline messages may bring.
    package struct OfflinePage: Sendable, Hashable {
        package var count: Int
        package var bytes: Int

        package init(count: Int, bytes: Int) {
            self.count = count
            self.bytes = bytes
        }

        /// 100 messages or 256 KiB, whichever comes first (at least one message): a quarter of
        /// the default event-stream buffer.
        package static let `default` = OfflinePage(count: 100, bytes: 256 * 1024)
    }

    private struct CatchUp: Sendable {
        /// The last sequence read so far.
        var readThrough: Int64?
        var reading = true
        var awaitingDrain = false
        /// A message was kept offline since the last read was asked for.
        var keptSinceRead = false
        /// Events other than messages, in order, a contact's presence in its latest state only.
        var waiting: [InternalEvent] = []

        mutating func wait(for event: InternalEvent) {
            // A message is kept offline while a stream catches up: it comes in a later page.
            if case .message(_, let message) = event, !message.bodies.isEmpty { return }
            if case .contactPresence(let contact, _) = event {
                waiting.removeAll { if case .contactPresence(contact, _) = $0 { true } else { false } }
            }
            waiting.append(event)
        }
    }

    private struct Subscriber: Sendable {
        var user: JID
        /// `nil` once live.
        var catchUp: CatchUp?
        /// Offline messages deleted through this sequence, for this stream.
        var deletedThrough: Int64?
    }

    private let page: OfflinePage
    private var subscribers: [SubscriberID: Subscriber] = [:]
    private var byUser: [JID: Set<SubscriberID>] = [:]

    package init(page: OfflinePage = .default) {
        self.page = page
    }

    /// How many event streams `user` has open.
    package func count(for user: JID) -> Int { byUser[user.bare]?.count ?? 0 }

    /// Whether a message for `user` must be kept offline: no stream of theirs is live, or one is
    /// catching up and will read it from the store.
    func keepsOffline(_ user: JID) -> Bool {
        let ids = byUser[user.bare] ?? []
        return ids.isEmpty || ids.contains { subscribers[$0]?.catchUp != nil }
    }

    /// A message for `user` was kept offline: a stream catching up reads once more before it is live.
    mutating func keptOffline(for user: JID) {
        for id in byUser[user.bare] ?? [] where subscribers[id]?.catchUp != nil {
            subscribers[id]?.catchUp?.keptSinceRead = true
        }
    }

    /// A stream opened; with `catchingUp` its offline messages are read first.
    mutating func opened(_ id: SubscriberID, user: JID, catchingUp: Bool) -> [GatewayCore.Action] {
        let user = user.bare
        subscribers[id] = Subscriber(user: user, catchUp: catchingUp ? CatchUp() : nil)
        byUser[user, default: []].insert(id)
        return catchingUp ? [read(for: id, user: user, after: nil)] : []
    }

    /// A page of offline messages was read for a stream catching up: they are handed over, and
    /// the next page waits for the stream to drain; an empty page makes it live.
    mutating func offlineMessagesRead(_ id: SubscriberID, _ messages: [OfflineMessage]) -> [GatewayCore.Action] {
        guard var subscriber = subscribers[id], var catchUp = subscriber.catchUp, catchUp.reading else { return [] }
        catchUp.reading = false
        var actions: [GatewayCore.Action] = messages.map { .handOver(id, .message(from: $0.from, Message($0.stanza)), offlineSequence: $0.sequence) }
        if let last = messages.last {
            catchUp.readThrough = last.sequence
            catchUp.awaitingDrain = true
            actions.append(.awaitDrain(id))
            subscriber.catchUp = catchUp
        } else if catchUp.keptSinceRead {
            catchUp.reading = true
            catchUp.keptSinceRead = false
            actions.append(read(for: id, user: subscriber.user, after: catchUp.readThrough))
            subscriber.catchUp = catchUp
        } else {
            actions += catchUp.waiting.map { .notify(id, $0) }
            subscriber.catchUp = nil
        }
        subscribers[id] = subscriber
        return actions
    }

    /// The stream's buffer drained, having written the offline messages through
    /// `writtenThrough`: those leave the store, and a stream catching up reads its next page.
    mutating func drained(_ id: SubscriberID, writtenThrough: Int64?) -> [GatewayCore.Action] {
        guard var subscriber = subscribers[id] else { return [] }
        var actions = delete(&subscriber, through: writtenThrough)
        if var catchUp = subscriber.catchUp, catchUp.awaitingDrain {
            catchUp.awaitingDrain = false
            catchUp.reading = true
            catchUp.keptSinceRead = false
            actions.append(read(for: id, user: subscriber.user, after: catchUp.readThrough))
            subscriber.catchUp = catchUp
        }
        subscribers[id] = subscriber
        return actions
    }

    /// A stream closed: the offline messages it wrote leave the store, and the live messages it
    /// never wrote are kept offline (`unwritten`).
    mutating func closed(_ id: SubscriberID, _ end: SubscriberEnd, at time: GatewayTime) -> [GatewayCore.Action] {
        guard var subscriber = subscribers.removeValue(forKey: id) else { return [] }
        var actions = delete(&subscriber, through: end.writtenOfflineThrough)
        byUser[subscriber.user]?.remove(id)
        if byUser[subscriber.user]?.isEmpty == true { byUser[subscriber.user] = nil }
        if end.overflowed {
            actions.append(.metric(.eventStreamOverflowed))
            actions.append(
                .log(
                    LogRecord(
                        .notice, "event stream closed: its client did not keep up", ["user": subscriber.user.description, "undelivered": "\(end.undelivered.count)"]
                    )
                )
            )
        }
        return actions + unwritten(end.undelivered, for: subscriber.user, at: time)
    }

    /// Live events for `user` that a stream took but never wrote (`at` is now): the messages among
    /// them are kept offline unless a live stream of the user got them too. A stream catching up
    /// reads them in a later page; one opened since they were notified would not have had them,
    /// so being kept twice (at-least-once) is preferred to being lost.
    mutating func unwritten(_ events: [InternalEvent], for user: JID, at time: GatewayTime) -> [GatewayCore.Action] {
        guard keepsOffline(user) else { return [] }
        let kept: [GatewayCore.Action] = events.compactMap { event in
            guard case .message(let from, let message) = event, !message.bodies.isEmpty else { return nil }
            return .store(.keepOffline(message.element(from: from, to: user), for: user, from: from, at: time.wall))
        }
        if !kept.isEmpty { keptOffline(for: user) }
        return kept
    }

    /// `event` for each of the user's live streams now; streams catching up get it once live
    /// (messages are never given here: they are kept offline while a stream catches up).
    mutating func notify(_ user: JID, _ event: InternalEvent) -> [GatewayCore.Action] {
        var actions: [GatewayCore.Action] = []
        for id in (byUser[user.bare] ?? []).sorted() {
            if subscribers[id]?.catchUp != nil {
                subscribers[id]?.catchUp?.wait(for: event)
            } else {
                actions.append(.notify(id, event))
            }
        }
        return actions
    }

    /// The user is gone: their streams end.
    mutating func userRemoved(_ user: JID) -> [GatewayCore.Action] {
        let ids = (byUser.removeValue(forKey: user.bare) ?? []).sorted()
        for id in ids { subscribers[id] = nil }
        return ids.map { .finish($0) }
    }

    private func read(for id: SubscriberID, user: JID, after sequence: Int64?) -> GatewayCore.Action {
        .store(.readOffline(user, for: id, after: sequence, page: page))
    }

    private func delete(_ subscriber: inout Subscriber, through sequence: Int64?) -> [GatewayCore.Action] {
        guard let sequence, subscriber.deletedThrough.map({ sequence > $0 }) ?? true else { return [] }
        subscriber.deletedThrough = sequence
        return [.store(.deleteOffline(subscriber.user, through: sequence))]
    }
}

/// How an event stream ended, as its consumer's buffer saw it.
package struct SubscriberEnd: Sendable, Hashable {
    /// Live events taken from the gateway but never written to the client (the one being
    /// written included), in order; offline messages handed over but not written are not among
    /// them, as they are still stored.
    package var undelivered: [InternalEvent]
    /// The last offline message written to the client, by sequence.
    package var writtenOfflineThrough: Int64?
    /// The buffer overflowed: the client did not keep up.
    package var overflowed: Bool

    package init(undelivered: [InternalEvent] = [], writtenOfflineThrough: Int64? = nil, overflowed: Bool = false) {
        self.undelivered = undelivered
        self.writtenOfflineThrough = writtenOfflineThrough
        self.overflowed = overflowed
    }
}
