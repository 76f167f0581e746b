import Logging
public import PresenceModel
import Storage
public import Translation
public import XMPP

/// What one input of the gateway's inbox changed that the store must keep: the user's presence,
/// one contact's entry, or a held subscription request. Computed by `DirectoryPersistence` from
/// the translator's outputs and the directory it left, so the translator stays pure and the API
/// routes write nothing themselves.
public enum DirectoryWrite: Sendable, Hashable {
    case presence(RichPresence, of: JID)
    /// The contact as the directory now holds it (subscription, access level, name, groups).
    case contact(Contact, of: JID)
    case removeContact(JID, of: JID)
    case hold(from: JID, to: JID)
    case release(from: JID, to: JID)
}

/// Derives the store writes of one inbox input: pure, so that what is persisted after each kind of
/// action and stanza is tested without a store.
///
/// Contacts are written as the directory holds them after the input, never as an event carried
/// them, so the store ends in the directory's state even when one input changes a contact twice.
/// Which contacts to look at comes from the action itself (the user's own change, reported or not:
/// a new access level or name has no event) and from the `contactUpdated` / `contactRemoved`
/// events the translator reports (what inbound subscription stanzas change). Held requests are
/// compared as a whole, since holding one from an unverified partner is silent by design.
public enum DirectoryPersistence {
    public static func writes(
        after action: InternalAction?,
        outputs: [TranslatorOutput],
        heldBefore: Set<HeldSubscriptionRequest>,
        directory: PresenceDirectory
    ) -> [DirectoryWrite] {
        var writes: [DirectoryWrite] = []
        var contacts: [(user: JID, contact: JID)] = []
        switch action {
        case .setPresence(let user, _):
            if let presence = directory.user(user.bare.description)?.presence { writes.append(.presence(presence, of: user.bare)) }
        case .addContact(let user, let contact, _, _, _), .removeContact(let user, let contact),
            .setAccessLevel(let user, let contact, _), .approveSubscription(let user, let contact),
            .denySubscription(let user, let contact), .unsubscribe(let user, let contact),
            .revokeSubscription(let user, let contact):
            contacts.append((user.bare, contact.bare))
        case .sendMessage, .linkDown, .linkUp, nil:
            break
        }
        for case .notify(let user, let event) in outputs {
            switch event {
            case .contactUpdated(let contact):
                if let jid = try? JID(contact.jid) { contacts.append((user.bare, jid.bare)) }
            case .contactRemoved(let contact):
                contacts.append((user.bare, contact.bare))
            default:
                break
            }
        }
        var seen: Set<[JID]> = []
        for (user, contact) in contacts where seen.insert([user, contact]).inserted {
            guard directory.user(user.description) != nil else { continue }
            if let entry = directory.contact(contact.description, of: user.description) {
                writes.append(.contact(entry, of: user))
            } else {
                writes.append(.removeContact(contact, of: user))
            }
        }
        let heldAfter = directory.heldRequests
        for request in heldAfter.subtracting(heldBefore).sorted() {
            if let (user, contact) = jids(request) { writes.append(.hold(from: contact, to: user)) }
        }
        for request in heldBefore.subtracting(heldAfter).sorted() {
            if let (user, contact) = jids(request) { writes.append(.release(from: contact, to: user)) }
        }
        return writes
    }

    private static func jids(_ request: HeldSubscriptionRequest) -> (user: JID, contact: JID)? {
        guard let user = try? JID(request.userJID), let contact = try? JID(request.contactJID) else { return nil }
        return (user, contact)
    }
}
