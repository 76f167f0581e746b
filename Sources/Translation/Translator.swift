public import PresenceModel
import XMLStreaming
public import XMPP

/// The heart of the gateway: XMPP stanzas from federated servers and actions of internal users in,
/// stanzas for federated servers and events for internal users out.
///
/// Pure: no I/O, no clock, no randomness. Everything it decides is a function of its configuration,
/// its state and the input, which is what lets fixtures replay it exactly.
public struct Translator: Sendable {
    /// Local domains, partners with their trust, and presence settings. A reloaded configuration
    /// is assigned here; the directory and what each watcher last got carry over.
    public var configuration: TranslationConfiguration
    public internal(set) var directory: PresenceDirectory

    /// (user, watcher) → the last presence sent, so only changed views go out.
    var sentViews: [Pair: Presence] = [:]
    /// (user, contact) → what the user was last told about the contact, so only changes are told.
    var toldPresence: [Pair: RichPresence] = [:]

    struct Pair: Hashable, Sendable {
        var user: JID
        var contact: JID
    }

    public init(configuration: TranslationConfiguration, directory: PresenceDirectory = PresenceDirectory()) {
        self.configuration = configuration
        self.directory = directory
    }

    /// Seeds what a user already sees of a contact (fixtures and restarts), without telling anyone.
    public mutating func assumeContactPresence(user: JID, contact: JID, _ presence: RichPresence) {
        toldPresence[Pair(user: user.bare, contact: contact.bare)] = presence
    }

    /// An internal user created while the gateway runs (`consulate users add`, the admin API): known
    /// from now on, with whatever contacts and presence the store gave them. Nothing is sent: a new
    /// user's presence goes out when they set it.
    public mutating func userAdded(_ user: InternalUser) {
        guard directory.user(user.jid) == nil else { return }
        directory.add(user)
    }

    /// An internal user removed while the gateway runs: contacts who could see them see them go
    /// offline, then the user is forgotten (their held requests too), so stanzas for them get
    /// `service-unavailable` like those for any unknown user.
    public mutating func userRemoved(_ user: JID) -> [TranslatorOutput] {
        let jid = user.bare
        guard directory.user(jid.description) != nil else { return [] }
        let farewell = perform(.setPresence(user: jid, RichPresence(availability: .offline)))
        _ = directory.removeUser(jid.description)
        toldPresence = toldPresence.filter { $0.key.user != jid }
        return farewell
    }

    /// Handles a stanza from a federated server. The caller has checked that `from` is
    /// authenticated on the stream and `to` is one of our domains.
    public mutating func receive(_ stanza: Stanza) -> [TranslatorOutput] {
        guard let from = stanza.from, let to = stanza.to else { return [] }
        switch stanza.kind {
        case .message: return receiveMessage(stanza, from: from, to: to)
        case .presence: return receivePresence(stanza, from: from, to: to)
        case .iq: return receiveIQ(stanza, from: from, to: to)
        }
    }

    /// Handles an internal user's action.
    public mutating func perform(_ action: InternalAction) -> [TranslatorOutput] {
        switch action {
        case .setPresence(let user, let presence):
            guard directory.setPresence(presence, of: user.bare.description) else { return [] }
            return broadcastPresence(of: user.bare)
        case .addContact(let user, let contact, let name, let groups, let accessLevel):
            return addContact(user: user.bare, contact: contact.bare, name: name, groups: groups, accessLevel: accessLevel)
        case .removeContact(let user, let contact):
            return removeContact(user: user.bare, contact: contact.bare)
        case .setAccessLevel(let user, let contact, let level):
            return setAccessLevel(user: user.bare, contact: contact.bare, level)
        case .approveSubscription(let user, let contact):
            return sendSubscription(.subscribed, user: user.bare, contact: contact.bare)
        case .denySubscription(let user, let contact), .revokeSubscription(let user, let contact):
            return sendSubscription(.unsubscribed, user: user.bare, contact: contact.bare)
        case .unsubscribe(let user, let contact):
            return sendSubscription(.unsubscribe, user: user.bare, contact: contact.bare)
        case .sendMessage(let user, let to, let message):
            return sendMessage(from: user.bare, to: to, message)
        case .linkDown(let domain):
            return linkDown(domain)
        case .linkUp(let domain):
            return linkUp(domain)
        }
    }

    // MARK: - Shared helpers

    /// The full JID an internal user appears with on XMPP.
    func endpoint(of user: JID) -> JID {
        (try? user.withResource(configuration.resource)) ?? user
    }

    func isLocal(_ jid: JID) -> Bool {
        configuration.localDomains.contains(jid.domainpart)
    }

    func contact(_ contact: JID, of user: JID) -> Contact? {
        directory.contact(contact.description, of: user.description)
    }
}
