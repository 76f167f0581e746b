import Federation
import PresenceModel
import Storage
import Translation
package import XMPP

/// Internal users' open event streams and what each is told: every event for a user goes to each
/// of their streams. A stream that opens while the store keeps messages first catches up: its
/// user's offline messages are read (after every job before, so every message kept before it
/// opened is among them) and handed over in order, and only then what came meanwhile, which
/// waits here. Pure; the core feeds it and carries out what it returns.
package struct SubscriberFanOut: Sendable {
    private struct Subscriber: Sendable {
        var user: JID
        /// Events that came while the offline messages were read, in order; `nil` once live.
        var waiting: [InternalEvent]?
    }

    private var subscribers: [SubscriberID: Subscriber] = [:]
    private var byUser: [JID: Set<SubscriberID>] = [:]

    /// How many event streams `user` has open.
    package func count(for user: JID) -> Int { byUser[user.bare]?.count ?? 0 }

    /// Whether `user` has any event stream open (else their messages are kept offline).
    func hasSubscribers(_ user: JID) -> Bool { byUser[user.bare] != nil }

    /// A stream opened; with `catchingUp` its offline messages are read first.
    mutating func opened(_ id: SubscriberID, user: JID, catchingUp: Bool) -> [GatewayCore.Action] {
        let user = user.bare
        subscribers[id] = Subscriber(user: user, waiting: catchingUp ? [] : nil)
        byUser[user, default: []].insert(id)
        return catchingUp ? [.store(.readOffline(user, for: id))] : []
    }

    /// A stream closed. If it was still catching up and was its user's last, the messages that
    /// waited behind the offline ones reached nobody: they are kept offline (`at` is now), so the
    /// next stream gets them.
    mutating func closed(_ id: SubscriberID, at time: GatewayTime) -> [GatewayCore.Action] {
        guard let subscriber = subscribers.removeValue(forKey: id) else { return [] }
        byUser[subscriber.user]?.remove(id)
        guard byUser[subscriber.user]?.isEmpty == true else { return [] }
        byUser[subscriber.user] = nil
        return (subscriber.waiting ?? []).compactMap { event in
            guard case .message(let from, let message) = event, !message.bodies.isEmpty else { return nil }
            return .store(.keepOffline(message.element(from: from, to: subscriber.user), for: subscriber.user, from: from, at: time.wall))
        }
    }

    /// The offline messages of a stream that is catching up were read: they go first, then what
    /// came meanwhile, and the stream is live. They leave the store once handed over; if the
    /// stream closed meanwhile they stay for the next one.
    mutating func offlineMessagesRead(_ id: SubscriberID, _ messages: [OfflineMessage]) -> [GatewayCore.Action] {
        guard var subscriber = subscribers[id], let waiting = subscriber.waiting else { return [] }
        var actions: [GatewayCore.Action] = messages.map { .notify(id, .message(from: $0.from, Message($0.stanza))) }
        actions += waiting.map { .notify(id, $0) }
        subscriber.waiting = nil
        subscribers[id] = subscriber
        if let last = messages.last { actions.append(.store(.deleteOffline(subscriber.user, through: last.sequence))) }
        return actions
    }

    /// `event` for each of the user's streams: now, or after the offline messages of one catching up.
    mutating func notify(_ user: JID, _ event: InternalEvent) -> [GatewayCore.Action] {
        var actions: [GatewayCore.Action] = []
        for id in (byUser[user.bare] ?? []).sorted() {
            if subscribers[id]?.waiting != nil {
                subscribers[id]?.waiting?.append(event)
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
}
