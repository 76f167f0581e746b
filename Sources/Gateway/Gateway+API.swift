package import Federation
package import GatewayCore
package import PresenceModel
package import Translation
package import XMPP

/// The library API the internal HTTP API and the console call: everything goes through the inbox,
/// in order; what reads the core's state reads it on the actor.
extension Gateway {
    /// An internal user acts.
    package nonisolated func perform(_ action: InternalAction) {
        inboxContinuation.yield(.core(.action(action)))
    }

    /// Performs `action` and returns once the inbox has handled it and, with a store, its changes
    /// are stored: the internal API answers a change with the state it led to, and an
    /// acknowledged change survives a restart. Throws when the store could not keep them (a
    /// message is then not sent, and comes back as a delivery failure) or the gateway has stopped.
    package func apply(_ action: InternalAction) async throws(StoreUnavailable) {
        let stored = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            if case .terminated = inboxContinuation.yield(.applied(.action(action), done)) { done.resume(returning: false) }
        }
        if !stored { throw StoreUnavailable() }
    }

    /// Returns once everything the inbox took before the call has been handled and stored.
    package func settled() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            if case .terminated = inboxContinuation.yield(.settled(done)) { done.resume() }
        }
    }

    /// The internal user as the translator now knows them, or `nil` for a JID that is not one.
    package func user(_ jid: JID) -> InternalUser? {
        core.translator.directory.user(jid.bare.description)
    }

    /// How many entries `user`'s contact list holds, held requests included, and the most it may.
    package func contactList(of user: JID) -> (size: Int, limit: Int) {
        (core.translator.directory.contactListSize(of: user.bare.description), core.translator.configuration.contactLimit)
    }

    /// Everything the gateway tells `user`, from now on (after their offline messages, with a
    /// store), through a buffer of `Settings.eventBufferBytes`. The consumer must `close()` it
    /// when done, and should close its client (with 1008, for a WebSocket) when it
    /// ends having `overflowed`.
    package func events(for user: JID) -> EventSubscription {
        subscribersOpened += 1
        let id = SubscriberID(subscribersOpened)
        let inbox = inboxContinuation
        let subscription = EventSubscription(
            user: user.bare,
            capacity: settings.eventBufferBytes,
            drained: { written in inbox.yield(.core(.subscriberDrained(id, writtenOfflineThrough: written))) },
            ended: { end in inbox.yield(.core(.subscriberClosed(id, end))) }
        )
        eventStreams[id] = subscription
        inbox.yield(.core(.subscriberOpened(id, user: user.bare)))
        return subscription
    }

    /// How many event streams are open for `user`, as the core counts them.
    package func eventStreamCount(for user: JID) -> Int {
        core.subscribers.count(for: user)
    }

    /// Swaps in a reloaded policy and translation settings (see `GatewayCore`'s `.reconfigured`);
    /// new inbound streams negotiate under it at once. Listeners, TLS files, the store and the
    /// local domains' users are not reloaded here.
    package func reconfigure(policy: FederationPolicy, translation: TranslationConfiguration) {
        inboundConfiguration.withLockedValue {
            $0.policy = policy
            $0.localDomains = translation.localDomains
        }
        inboxContinuation.yield(.core(.reconfigured(policy, translation)))
    }

    /// Brings the internal users in line with `stored` (the store's directory) while running.
    package func synchronizeUsers(with stored: PresenceDirectory) {
        inboxContinuation.yield(.core(.usersSynchronized(stored)))
    }

    /// The links as they stand (what `consulate links` shows).
    package func linkSnapshot() -> LinkSnapshot {
        core.linkSnapshot(at: clock.now)
    }

    /// Turns the stanza log on or off, or bodies in or out of it, from the next stanza on.
    package func setStanzaLog(_ mode: StanzaLog.Mode) {
        guard mode != stanzaLog.mode else { return }
        stanzaLog.mode = mode
        logger.notice("stanza log changed", metadata: ["stanzas": "\(mode)"])
    }
}

/// The store could not keep a change, or the gateway has stopped: nothing was acknowledged.
package struct StoreUnavailable: Error, Sendable, CustomStringConvertible {
    package init() {}
    package var description: String { "the store could not keep the change" }
}
