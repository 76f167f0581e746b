import PresenceModel
import XMLStreaming
import XMPP

extension Translator {
    // MARK: Outbound: internal presence → watchers

    /// Sends each external watcher of `user` its view of the user's presence, where it changed.
    mutating func broadcastPresence(of user: JID) -> [TranslatorOutput] {
        guard let internalUser = directory.users[user.description] else { return [] }
        return internalUser.contacts.values
            .filter { $0.subscription.contactReceivesPresence }
            .sorted { $0.jid < $1.jid }
            .flatMap { sendView(user: user, watcher: $0, force: false) }
    }

    /// The presence `watcher` should see of `user`, or `nil` when the watcher's domain may not federate.
    func view(of user: JID, for watcher: Contact) -> Presence? {
        guard let internalUser = directory.users[user.description],
            let watcherJID = try? JID(watcher.jid),
            let partner = configuration.partner(for: watcherJID.domainpart)
        else { return nil }
        return WatcherView.presence(
            of: internalUser.presence,
            contactLevel: watcher.accessLevel,
            trust: partner.trust,
            mapping: configuration.outbound
        )
    }

    /// Sends the watcher's view when it differs from what was last sent (or always, when `force`
    /// is set, as for probes and fresh approvals).
    mutating func sendView(user: JID, watcher: Contact, force: Bool) -> [TranslatorOutput] {
        guard let watcherJID = try? JID(watcher.jid), let presence = view(of: user, for: watcher) else { return [] }
        let pair = Pair(user: user, contact: watcherJID)
        if !force, let previous = sentViews[pair] {
            if previous == presence { return [] }
        } else if !force, presence.type == .unavailable {
            // Nothing was ever sent, so the watcher already sees us as unavailable.
            sentViews[pair] = presence
            return []
        }
        sentViews[pair] = presence
        return [.send(presence.element(from: endpoint(of: user), to: watcherJID))]
    }

    /// Tells a watcher we are gone, as RFC 6121 §3.2.2 asks when a subscription is cancelled.
    mutating func sendUnavailable(user: JID, to watcher: JID) -> [TranslatorOutput] {
        let pair = Pair(user: user, contact: watcher)
        guard let previous = sentViews.removeValue(forKey: pair), previous.type != .unavailable else { return [] }
        return [.send(Presence(type: .unavailable).element(from: endpoint(of: user), to: watcher))]
    }

    // MARK: Inbound: contacts' presence → internal users

    mutating func receivePresence(_ stanza: Stanza, from: JID, to: JID) -> [TranslatorOutput] {
        guard let presence = Presence(stanza.element) else {
            return stanza.errorReply(StanzaError(.badRequest, text: "unknown presence type or show value")).map { [.send($0)] } ?? []
        }
        let user = to.bare
        guard directory.users[user.description] != nil else {
            // RFC 6121 §8.5.2.2: ignore, except that a probe may learn "unsubscribed", which is also
            // what a non-contact learns, so nothing leaks about who exists.
            if presence.type == .probe { return [.send(Presence(type: .unsubscribed).element(from: user, to: from.bare))] }
            return []
        }
        switch presence.type {
        case nil, .unavailable, .error:
            return updateContactPresence(user: user, from: from, presence)
        case .probe:
            return answerProbe(user: user, from: from.bare)
        case .subscribe, .subscribed, .unsubscribe, .unsubscribed:
            return receiveSubscription(presence.type!, user: user, contact: from.bare)
        }
    }

    /// RFC 6121 §4.3.2: a subscribed watcher gets the current view (unavailable if offline); anyone
    /// else gets `unsubscribed` and learns nothing.
    mutating func answerProbe(user: JID, from watcher: JID) -> [TranslatorOutput] {
        guard let contact = contact(watcher, of: user), contact.subscription.contactReceivesPresence else {
            return [.send(Presence(type: .unsubscribed).element(from: user, to: watcher))]
        }
        return sendView(user: user, watcher: contact, force: true)
    }

    /// Records one resource's presence and tells the user when the contact's aggregate view changed.
    /// Presence from people the user is not subscribed to, or has blocked, is ignored.
    mutating func updateContactPresence(user: JID, from: JID, _ presence: Presence) -> [TranslatorOutput] {
        guard let contact = contact(from.bare, of: user), contact.subscription.userReceivesPresence,
            contact.accessLevel != .blocked
        else { return [] }
        let pair = Pair(user: user, contact: from.bare)
        var resources = contactResources[pair] ?? [:]
        let resource = from.resourcepart ?? ""
        switch presence.type {
        case nil: resources[resource] = presence
        case .error: resources.removeAll()
        default: resources[resource] = nil
        }
        contactResources[pair] = resources.isEmpty ? nil : resources
        return notifyContactPresence(pair)
    }

    /// The contact's presence as the user should see it: the most available of its resources.
    func aggregatePresence(_ pair: Pair) -> RichPresence {
        guard let resources = contactResources[pair], !resources.isEmpty else { return .offline }
        let best = resources.min { lhs, rhs in
            if lhs.value.priority != rhs.value.priority { return lhs.value.priority > rhs.value.priority }
            let lhsRank = Self.showRank(lhs.value.show)
            let rhsRank = Self.showRank(rhs.value.show)
            if lhsRank != rhsRank { return lhsRank < rhsRank }
            return lhs.key < rhs.key
        }!
        return configuration.inbound.richPresence(for: best.value)
    }

    private static func showRank(_ show: Presence.Show?) -> Int {
        switch show {
        case .chat: 0
        case nil: 1
        case .dnd: 2
        case .away: 3
        case .xa: 4
        }
    }

    mutating func notifyContactPresence(_ pair: Pair) -> [TranslatorOutput] {
        let current = aggregatePresence(pair)
        let previous = shownPresence[pair] ?? .offline
        guard current != previous else { return [] }
        shownPresence[pair] = current == .offline ? nil : current
        return [.notify(user: pair.user, .contactPresence(contact: pair.contact, current))]
    }

    /// Forgets a contact's resources, telling the user they went offline if they were shown otherwise.
    mutating func forgetContactPresence(user: JID, contact: JID) -> [TranslatorOutput] {
        let pair = Pair(user: user, contact: contact)
        contactResources[pair] = nil
        return notifyContactPresence(pair)
    }

    // MARK: Links

    /// A lost link makes every contact on that domain unavailable to our users, and forgets what we
    /// told the watchers there, so everything is re-sent when the link returns.
    mutating func linkDown(_ domain: String) -> [TranslatorOutput] {
        var outputs: [TranslatorOutput] = []
        let affected = Set(contactResources.keys.filter { $0.contact.domainpart == domain })
            .union(shownPresence.keys.filter { $0.contact.domainpart == domain })
        for pair in affected.sorted(by: { ($0.user.description, $0.contact.description) < ($1.user.description, $1.contact.description) }) {
            outputs += forgetContactPresence(user: pair.user, contact: pair.contact)
        }
        sentViews = sentViews.filter { $0.key.contact.domainpart != domain }
        return outputs
    }

    /// When a link returns: probe every contact there we are subscribed to, and send every watcher
    /// there our current presence.
    mutating func linkUp(_ domain: String) -> [TranslatorOutput] {
        var outputs: [TranslatorOutput] = []
        for userJID in directory.users.keys.sorted() {
            guard let user = try? JID(userJID), let internalUser = directory.users[userJID] else { continue }
            for contact in internalUser.contacts.values.sorted(by: { $0.jid < $1.jid }) {
                guard let contactJID = try? JID(contact.jid), contactJID.domainpart == domain else { continue }
                if contact.subscription.userReceivesPresence {
                    outputs.append(.send(Presence(type: .probe).element(from: user, to: contactJID)))
                }
                if contact.subscription.contactReceivesPresence {
                    outputs += sendView(user: user, watcher: contact, force: false)
                }
            }
        }
        return outputs
    }
}
