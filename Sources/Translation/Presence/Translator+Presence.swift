package import Federation
import PresenceModel
import XMLStreaming
import XMPP

extension Translator {
    // MARK: Outbound: internal presence → watchers

    /// Sends each external watcher of `user` its view of the user's presence, where it changed.
    mutating func broadcastPresence(of user: JID) -> [TranslatorOutput] {
        guard let internalUser = directory.user(user.description) else { return [] }
        return internalUser.watchers.flatMap { sendView(user: user, watcher: $0, force: false) }
    }

    /// The presence `watcher` (at `watcherJID`) should see of `user`, or `nil` when the watcher's
    /// domain may not federate.
    func view(of user: JID, for watcher: Contact, at watcherJID: JID) -> Presence? {
        guard let internalUser = directory.user(user.description), let trust = trust(of: watcherJID.domainpart) else { return nil }
        return WatcherView.presence(
            of: internalUser.presence,
            contactLevel: watcher.accessLevel,
            trust: trust,
            mapping: configuration.outbound
        )
    }

    /// Sends the watcher's view when it differs from what was last sent (or always, when `force`
    /// is set, as for probes and fresh approvals).
    mutating func sendView(user: JID, watcher: Contact, force: Bool) -> [TranslatorOutput] {
        guard let watcherJID = try? JID(watcher.jid), let presence = view(of: user, for: watcher, at: watcherJID) else { return [] }
        let previous = sentViews.updateValue(presence, forKey: Pair(user: user, contact: watcherJID))
        if !force, let previous {
            if previous == presence { return [] }
        } else if !force, presence.type == .unavailable {
            // Nothing was ever sent, so the watcher already sees us as unavailable.
            return []
        }
        let from = endpoint(of: user)
        return [send(presence.element(from: from, to: watcherJID), from: from, to: watcherJID)]
    }

    /// Tells a watcher we are gone, as RFC 6121 §3.2.2 asks when a subscription is cancelled.
    mutating func sendUnavailable(user: JID, to watcher: JID) -> [TranslatorOutput] {
        let pair = Pair(user: user, contact: watcher)
        guard let previous = sentViews.removeValue(forKey: pair), previous.type != .unavailable else { return [] }
        let from = endpoint(of: user)
        return [send(Presence(type: .unavailable).element(from: from, to: watcher), from: from, to: watcher)]
    }

    // MARK: Inbound: contacts' presence → internal users

    mutating func receivePresence(_ stanza: Stanza, from: JID, to: JID) -> [TranslatorOutput] {
        guard let presence = Presence(stanza.element) else {
            return reject(stanza, StanzaError(.badRequest, text: "unknown presence type or show value"))
        }
        let user = to.bare
        guard directory.user(user.description) != nil else {
            // RFC 6121 §8.5.2.2: ignore, except that a probe may learn "unsubscribed", which is also
            // what a non-contact learns, so nothing leaks about who exists.
            if presence.type == .probe { return [send(Presence(type: .unsubscribed).element(from: user, to: from.bare), from: user, to: from.bare)] }
            return []
        }
        switch presence.type {
        case nil, .unavailable, .error:
            return updateContactPresence(user: user, from: from, presence)
        case .probe:
            return answerProbe(user: user, from: from.bare)
        case .subscribe, .subscribed, .unsubscribe, .unsubscribed:
            return receiveSubscription(presence.type!, user: user, contact: from.bare, stanza: stanza)
        }
    }

    /// RFC 6121 §4.3.2: a subscribed watcher gets the current view (unavailable if offline); anyone
    /// else gets `unsubscribed` and learns nothing.
    mutating func answerProbe(user: JID, from watcher: JID) -> [TranslatorOutput] {
        guard let contact = contact(watcher, of: user), contact.subscription.contactReceivesPresence else {
            return [send(Presence(type: .unsubscribed).element(from: user, to: watcher), from: user, to: watcher)]
        }
        return sendView(user: user, watcher: contact, force: true)
    }

    /// Records one resource's presence, mapped into the internal model, and tells the user when the
    /// contact's shown presence changed. Presence from people the user is not subscribed to, or has
    /// blocked, is ignored.
    mutating func updateContactPresence(user: JID, from: JID, _ presence: Presence) -> [TranslatorOutput] {
        guard let contact = contact(from.bare, of: user), contact.subscription.userReceivesPresence,
            contact.accessLevel != .blocked
        else { return [] }
        let contactJID = from.bare.description
        if presence.type == .error {
            directory.users[user.description]?.removePresence(of: contactJID)
        } else {
            directory.users[user.description]?.recordPresence(
                configuration.inbound.richPresence(for: presence),
                priority: Int(presence.priority),
                of: contactJID,
                resource: from.resourcepart ?? ""
            )
        }
        return notifyContactPresence(Pair(user: user, contact: from.bare))
    }

    /// Tells the user how the contact appears now, if that differs from what they were last told.
    mutating func notifyContactPresence(_ pair: Pair) -> [TranslatorOutput] {
        let current = directory.user(pair.user.description)?.shownPresence(of: pair.contact.description) ?? .offline
        let previous = toldPresence[pair] ?? .offline
        guard current != previous else { return [] }
        toldPresence[pair] = current.isOffline ? nil : current
        return [.notify(user: pair.user, .contactPresence(contact: pair.contact, current))]
    }

    /// Forgets a contact's resources, telling the user they went offline if they were shown otherwise.
    mutating func forgetContactPresence(user: JID, contact: JID) -> [TranslatorOutput] {
        directory.users[user.description]?.removePresence(of: contact.description)
        return notifyContactPresence(Pair(user: user, contact: contact))
    }

    // MARK: Links

    /// The link from our `link.local` domain to `link.remote` was lost: every contact on the remote
    /// domain becomes unavailable to our users on the local one, and what we told the watchers
    /// there is forgotten, so everything is re-sent when the link returns. Users on our other
    /// domains have links of their own.
    package mutating func linkDown(_ link: LinkKey) -> [TranslatorOutput] {
        var outputs = linkChanged(link, isUp: false)
        let told = Dictionary(grouping: toldPresence.pairs(on: link), by: \.user)
        let local = directory.users.keys.filter { PresenceDirectory.domain(ofBareJID: $0) == link.local[...] }
        for userJID in local.sorted() {
            guard let user = try? JID(userJID), user.domainpart == link.local else { continue }
            let gone = directory.users[userJID]?.removePresence(onDomain: link.remote) ?? []
            for contactJID in Set(gone + (told[user] ?? []).map(\.contact.description)).sorted() {
                guard let contact = try? JID(contactJID) else { continue }
                outputs += notifyContactPresence(Pair(user: user, contact: contact))
            }
        }
        sentViews.removeAll(on: link)
        return outputs
    }

    /// The users on the link's local domain with contacts on its remote one, each once.
    private func users(concernedBy link: LinkKey) -> [(user: JID, contact: Contact)] {
        directory.contacts(onDomain: link.remote).compactMap { userJID, contact in
            guard let user = try? JID(userJID), user.domainpart == link.local else { return nil }
            return (user, contact)
        }
    }

    /// Tells each user the link concerns that it went down or came back, once each.
    private func linkChanged(_ link: LinkKey, isUp: Bool) -> [TranslatorOutput] {
        var told: Set<JID> = []
        return users(concernedBy: link).compactMap { user, _ in
            guard told.insert(user).inserted else { return nil }
            return .notify(user: user, .linkChanged(domain: link.remote, isUp: isUp))
        }
    }

    /// When a link returns: probe every contact there that our users on its local domain are
    /// subscribed to, and send every watcher there our current presence.
    package mutating func linkUp(_ link: LinkKey) -> [TranslatorOutput] {
        var outputs = linkChanged(link, isUp: true)
        for (user, contact) in users(concernedBy: link) {
            guard let contactJID = try? JID(contact.jid) else { continue }
            if contact.subscription.userReceivesPresence {
                outputs.append(send(Presence(type: .probe).element(from: user, to: contactJID), from: user, to: contactJID))
            }
            if contact.isWatcher {
                outputs += sendView(user: user, watcher: contact, force: false)
            }
        }
        return outputs
    }
}
