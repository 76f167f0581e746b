/// A user of the organisation, whose presence and contacts live in the internal model.
public struct InternalUser: Sendable, Hashable {
    /// The user's bare JID, normalised.
    public var jid: String
    public var name: String?
    public var presence: RichPresence
    /// Keyed by the contact's bare JID.
    public var contacts: [String: Contact]

    public init(jid: String, name: String? = nil, presence: RichPresence = .offline, contacts: [String: Contact] = [:]) {
        self.jid = jid
        self.name = name
        self.presence = presence
        self.contacts = contacts
    }
}

/// All internal users, as the translator sees them.
public struct PresenceDirectory: Sendable, Hashable {
    /// Keyed by the user's bare JID.
    public var users: [String: InternalUser]

    public init(users: [String: InternalUser] = [:]) {
        self.users = users
    }

    public mutating func add(_ user: InternalUser) {
        users[user.jid] = user
    }
}
