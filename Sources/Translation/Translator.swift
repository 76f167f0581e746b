package import Federation
package import PresenceModel
import XMLStreaming
package import XMPP

/// The heart of the gateway: XMPP stanzas from federated servers and actions of internal users in,
/// stanzas for federated servers and events for internal users out.
///
/// Pure: no I/O, no clock, no randomness. Everything it decides is a function of its configuration,
/// the federation policy, its state and the input, which is what lets fixtures replay it exactly.
package struct Translator: Sendable {
    /// Local domains and presence settings. A reloaded configuration is assigned here; the
    /// directory and what each watcher last got carry over.
    package var configuration: TranslationConfiguration
    /// Who may federate and how far each domain is trusted: the very policy the links negotiate
    /// under, so a domain the streams accept (an unlisted one in open mode, say) is one the
    /// translator relays to, with the trust the policy gives it.
    package var policy: FederationPolicy
    package internal(set) var directory: PresenceDirectory

    /// (user, watcher) → the last presence sent, so only changed views go out.
    var sentViews = PairMap<Presence>()
    /// (user, contact) → what the user was last told about the contact, so only changes are told.
    var toldPresence = PairMap<RichPresence>()
    /// What the input being handled changed for the store (see `Translator+Changes.swift`).
    var changes = ChangeLog()

    struct Pair: Hashable, Sendable {
        var user: JID
        var contact: JID
    }

    package init(configuration: TranslationConfiguration, policy: FederationPolicy, directory: PresenceDirectory = PresenceDirectory()) {
        self.configuration = configuration
        self.policy = policy
        self.directory = directory
    }

    /// Seeds what a user already sees of a contact (fixtures and restarts), without telling anyone.
    package mutating func assumeContactPresence(user: JID, contact: JID, _ presence: RichPresence) {
        toldPresence[Pair(user: user.bare, contact: contact.bare)] = presence
    }

    /// An internal user created while the gateway runs (`consulate users add`, the admin API): known
    /// from now on, with whatever contacts and presence the store gave them. Nothing is sent: a new
    /// user's presence goes out when they set it.
    package mutating func userAdded(_ user: InternalUser) {
        guard directory.user(user.jid) == nil else { return }
        directory.add(user)
    }

    /// An internal user removed while the gateway runs: contacts who could see them see them go
    /// offline, then the user is forgotten (their held requests too), so stanzas for them get
    /// `service-unavailable` like those for any unknown user. Nothing is for the store: whoever
    /// removed the user removed their rows.
    package mutating func userRemoved(_ user: JID) -> [TranslatorOutput] {
        let jid = user.bare
        guard directory.user(jid.description) != nil else { return [] }
        let farewell = perform(.setPresence(user: jid, RichPresence(availability: .offline)))
        _ = directory.removeUser(jid.description)
        toldPresence.removeAll(user: jid)
        return farewell.filter { if case .store = $0 { false } else { true } }
    }

    /// Handles a stanza from a federated server. The caller has checked that `from` is
    /// authenticated on the stream and `to` is one of our domains.
    package mutating func receive(_ stanza: Stanza) -> [TranslatorOutput] {
        guard let from = stanza.from, let to = stanza.to else { return [] }
        var outputs: [TranslatorOutput]
        switch stanza.kind {
        case .message: outputs = receiveMessage(stanza, from: from, to: to)
        case .presence: outputs = receivePresence(stanza, from: from, to: to)
        case .iq: outputs = receiveIQ(stanza, from: from, to: to)
        }
        appendChanges(to: &outputs)
        return outputs
    }

    /// Handles an internal user's action.
    package mutating func perform(_ action: InternalAction) -> [TranslatorOutput] {
        var outputs: [TranslatorOutput]
        switch action {
        case .setPresence(let user, let presence):
            outputs = setPresence(presence, of: user.bare) ? broadcastPresence(of: user.bare) : []
        case .addContact(let user, let contact, let name, let groups, let accessLevel):
            outputs = addContact(user: user.bare, contact: contact.bare, name: name, groups: groups, accessLevel: accessLevel)
        case .removeContact(let user, let contact):
            outputs = removeContact(user: user.bare, contact: contact.bare)
        case .setAccessLevel(let user, let contact, let level):
            outputs = setAccessLevel(user: user.bare, contact: contact.bare, level)
        case .approveSubscription(let user, let contact):
            outputs = sendSubscription(.subscribed, user: user.bare, contact: contact.bare)
        case .denySubscription(let user, let contact), .revokeSubscription(let user, let contact):
            outputs = sendSubscription(.unsubscribed, user: user.bare, contact: contact.bare)
        case .unsubscribe(let user, let contact):
            outputs = sendSubscription(.unsubscribe, user: user.bare, contact: contact.bare)
        case .sendMessage(let user, let to, let message):
            outputs = sendMessage(from: user.bare, to: to, message)
        }
        appendChanges(to: &outputs)
        return outputs
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

    /// How far `domain` (a JID's domainpart) is trusted, or `nil` if it may not federate: the
    /// policy's decision, with the open-mode default (PublicUnverified) for a domain no partner lists.
    func trust(of domain: String) -> PartnerTrust? {
        guard case .allowed(let partner) = policy.decision(forDomainpart: domain) else { return nil }
        return partner.trust
    }

    /// Why a stanza for `domain` cannot go out, in the words the links use for the same refusal;
    /// `nil` if the domain may federate.
    func refusal(of domain: String) -> String? {
        guard case .refused(let reason) = policy.decision(forDomainpart: domain) else { return nil }
        return "\(domain) may not federate with this gateway: \(reason)"
    }

    /// `element` to a federated server.
    func send(_ element: XMLElement, from: JID, to: JID) -> TranslatorOutput {
        .send(OutgoingStanza(element, from: from, to: to))
    }

    /// The error reply to a received stanza, if it may have one: addressed back to its sender.
    func reject(_ stanza: Stanza, _ error: StanzaError) -> [TranslatorOutput] {
        guard let from = stanza.from, let to = stanza.to, let reply = stanza.errorReply(error) else { return [] }
        return [send(reply, from: to, to: from)]
    }
}
