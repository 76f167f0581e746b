import PresenceModel
import XMPP

/// Every change of the directory the store keeps goes through these few methods, which note what
/// they touched; at the end of an input the notes become `.store` outputs carrying the directory's
/// state after the input. So the store hears of exactly what changed, including what no event
/// reports (a new access level, a request held in silence), and nothing has to diff the directory.
extension Translator {
    /// What the input being handled touched, in the order it did.
    struct ChangeLog: Sendable {
        var presence: [JID] = []
        var contacts: [Pair] = []
        /// Each held request touched, with whether it was held before the input.
        var held: [HeldSubscriptionRequest: Bool] = [:]
        var heldOrder: [HeldSubscriptionRequest] = []

        var isEmpty: Bool { presence.isEmpty && contacts.isEmpty && heldOrder.isEmpty }
    }

    /// At the end of an input: what it changed, as `.store` outputs, and the log emptied for the
    /// next. Most inputs (a contact's presence, a message) change nothing the store keeps.
    mutating func appendChanges(to outputs: inout [TranslatorOutput]) {
        guard !changes.isEmpty else { return }
        let log = changes
        changes = ChangeLog()
        var seenPresence: Set<JID> = []
        for user in log.presence where seenPresence.insert(user).inserted {
            if let presence = directory.user(user.description)?.presence { outputs.append(.store(.presence(presence, of: user))) }
        }
        var seenContacts: Set<Pair> = []
        for pair in log.contacts where seenContacts.insert(pair).inserted {
            guard directory.user(pair.user.description) != nil else { continue }
            if let entry = contact(pair.contact, of: pair.user) {
                outputs.append(.store(.contact(entry, of: pair.user)))
            } else {
                outputs.append(.store(.removeContact(pair.contact, of: pair.user)))
            }
        }
        for request in log.heldOrder {
            let now = directory.heldRequests.contains(request)
            guard now != log.held[request], let user = try? JID(request.userJID), let contact = try? JID(request.contactJID) else { continue }
            outputs.append(.store(now ? .hold(from: contact, to: user) : .release(from: contact, to: user)))
        }
    }

    mutating func setPresence(_ presence: RichPresence, of user: JID) -> Bool {
        guard directory.setPresence(presence, of: user.description) else { return false }
        changes.presence.append(user)
        return true
    }

    mutating func setContact(_ contact: Contact, of user: JID) {
        guard directory.setContact(contact, of: user.description), let jid = try? JID(contact.jid) else { return }
        changes.contacts.append(Pair(user: user, contact: jid))
    }

    mutating func removeContactEntry(_ contact: JID, of user: JID) {
        guard directory.removeContact(contact.description, of: user.description) != nil else { return }
        changes.contacts.append(Pair(user: user, contact: contact))
    }

    mutating func holdSubscriptionRequest(from contact: JID, to user: JID) {
        noteHeld(contact, user)
        directory.holdSubscriptionRequest(from: contact.description, to: user.description)
    }

    @discardableResult
    mutating func releaseSubscriptionRequest(from contact: JID, to user: JID) -> Bool {
        noteHeld(contact, user)
        return directory.releaseSubscriptionRequest(from: contact.description, to: user.description)
    }

    private mutating func noteHeld(_ contact: JID, _ user: JID) {
        let request = HeldSubscriptionRequest(userJID: user.description, contactJID: contact.description)
        guard changes.held[request] == nil else { return }
        changes.held[request] = directory.heldRequests.contains(request)
        changes.heldOrder.append(request)
    }
}
