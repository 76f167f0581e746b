/// A user of the organisation, whose presence and contacts live in the internal (Lync-style) model.
public struct InternalUser: Sendable, Hashable {
    /// The user's bare JID, normalised.
    public var jid: String
    /// The user's display name.
    public var name: String?
    /// What the user publishes; each watcher sees it filtered by their effective access level.
    public var presence: RichPresence
    /// Keyed by the contact's bare JID (the same string as the contact's `jid`).
    public var contacts: [String: Contact]

    public init(jid: String, name: String? = nil, presence: RichPresence = .offline, contacts: [String: Contact] = [:]) {
        self.jid = jid
        self.name = name
        self.presence = presence
        self.contacts = contacts
    }

    /// The entry for a contact, if the user has one.
    public func contact(_ jid: String) -> Contact? {
        contacts[jid]
    }

    /// Adds a contact, or replaces the entry with the same JID.
    public mutating func setContact(_ contact: Contact) {
        contacts[contact.jid] = contact
    }

    /// Removes a contact and returns the entry it had.
    @discardableResult
    public mutating func removeContact(_ jid: String) -> Contact? {
        contacts.removeValue(forKey: jid)
    }

    /// Changes an existing contact in place; returns `false` (and changes nothing) if there is none.
    /// The entry stays filed under `jid` even if `change` edits the contact's `jid`.
    @discardableResult
    public mutating func updateContact(_ jid: String, _ change: (inout Contact) -> Void) -> Bool {
        guard var contact = contacts[jid] else { return false }
        change(&contact)
        contacts[jid] = contact
        return true
    }

    /// Contacts subscribed to the user's presence and not blocked, by JID: who gets a presence
    /// broadcast when the user's presence changes.
    public var watchers: [Contact] {
        contacts.values.filter(\.isWatcher).sorted { $0.jid < $1.jid }
    }

    /// Contacts whose presence the user receives, by JID.
    public var watchedContacts: [Contact] {
        contacts.values.filter(\.subscription.userReceivesPresence).sorted { $0.jid < $1.jid }
    }
}
