package import PresenceModel
package import XMLStreaming
package import XMPP

/// Something an internal user (or a system acting for them) does that may concern external contacts.
/// The internal API and the fixtures both speak in these.
package enum InternalAction: Sendable, Hashable {
    /// The user's rich presence changed.
    case setPresence(user: JID, RichPresence)
    /// Adds (or updates) a contact; asks for their presence and authorises them to see ours, which is
    /// what adding a contact means in a Lync-style client.
    case addContact(user: JID, contact: JID, name: String?, groups: [String], accessLevel: AccessLevel?)
    /// Cancels the subscription both ways and forgets the contact.
    case removeContact(user: JID, contact: JID)
    case setAccessLevel(user: JID, contact: JID, AccessLevel)
    /// Answers a pending subscription request, or pre-approves one.
    case approveSubscription(user: JID, contact: JID)
    case denySubscription(user: JID, contact: JID)
    /// Stop receiving the contact's presence.
    case unsubscribe(user: JID, contact: JID)
    /// Stop sharing our presence with the contact.
    case revokeSubscription(user: JID, contact: JID)
    case sendMessage(user: JID, to: JID, Message)

    /// The internal user the action belongs to.
    package var user: JID {
        switch self {
        case .setPresence(let user, _), .addContact(let user, _, _, _, _), .removeContact(let user, _),
            .setAccessLevel(let user, _, _), .approveSubscription(let user, _), .denySubscription(let user, _),
            .unsubscribe(let user, _), .revokeSubscription(let user, _), .sendMessage(let user, _, _):
            user
        }
    }
}

/// Something internal users must be told about.
package enum InternalEvent: Sendable, Hashable {
    /// A message (or a chat state or receipt) from an external user.
    case message(from: JID, Message)
    /// How an external contact now appears, already mapped into the internal model.
    case contactPresence(contact: JID, RichPresence)
    /// An external user asks to see the internal user's presence.
    case subscriptionRequest(from: JID)
    /// An external user's request was approved on the user's behalf, as the partner's trust
    /// allows (Federated, PublicVerified): they now see the user's presence. Told so that nobody
    /// joins a contact list unnoticed; the user may revoke it.
    case subscriptionApproved(from: JID)
    /// The subscription state with a contact changed (a roster push, in XMPP terms).
    case contactUpdated(Contact)
    /// The contact was removed from the user's list.
    case contactRemoved(JID)
    /// A message the user sent could not be delivered.
    case deliveryFailed(to: JID, messageID: String?, StanzaError)
    /// The federation link to a domain where the user has contacts went down (their presence is
    /// unknown until it is back, and messages to them wait) or came back up.
    case linkChanged(domain: String, isUp: Bool)
}

/// A stanza for a federated server, with the addresses it is routed by, parsed once where it was
/// built: the link it leaves on is the one from `from`'s domain (ours) to `to`'s.
package struct OutgoingStanza: Sendable, Hashable {
    package var element: XMLElement
    package var from: JID
    package var to: JID

    package init(_ element: XMLElement, from: JID, to: JID) {
        self.element = element
        self.from = from
        self.to = to
    }
}

/// What one input changed in the directory that the store keeps, with the state the directory
/// holds after the input (a contact changed twice by one input is one change), so the store ends in
/// the directory's state without anyone diffing it.
package enum DirectoryChange: Sendable, Hashable {
    case presence(RichPresence, of: JID)
    /// The contact as the directory now holds it (subscription, access level, name, groups).
    case contact(Contact, of: JID)
    case removeContact(JID, of: JID)
    /// A subscription request held back from the user (holding one is silent: no event says so).
    case hold(from: JID, to: JID)
    case release(from: JID, to: JID)
}

/// What the translator asks the rest of the gateway to do.
package enum TranslatorOutput: Sendable, Hashable {
    /// Send this stanza to the remote server of its `to` domain, on the link of its `from` domain.
    case send(OutgoingStanza)
    /// Tell an internal user (by bare JID) about something.
    case notify(user: JID, InternalEvent)
    /// Keep this change of the directory in the store. Always after the input's other outputs.
    case store(DirectoryChange)
}
