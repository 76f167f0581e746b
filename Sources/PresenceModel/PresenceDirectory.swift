/// Everything the translator knows, as one value: the internal users (with their presence and
/// contacts), the last presence each external contact's clients sent, and the subscription requests
/// held back from users.
///
/// A plain value with mutating bookkeeping and lookups only: deciding what to send, deliver or hold
/// is the translator's policy. All JIDs are normalised bare JIDs as strings; the caller normalises.
public struct PresenceDirectory: Sendable, Hashable {
    /// Internal users, keyed by bare JID.
    public var users: [String: InternalUser]
    /// External contact (bare JID) → resource → the presence that resource last sent. A contact with
    /// no entry (or no resources) is offline as far as the gateway knows.
    public var externalPresence: [String: [String: ResourcePresence]]
    /// Subscription requests held until the user adds the contact.
    public var heldRequests: Set<HeldSubscriptionRequest>

    public init(
        users: [String: InternalUser] = [:],
        externalPresence: [String: [String: ResourcePresence]] = [:],
        heldRequests: Set<HeldSubscriptionRequest> = []
    ) {
        self.users = users
        self.externalPresence = externalPresence
        self.heldRequests = heldRequests
    }

    // MARK: - Internal users

    /// Adds a user, or replaces the one with the same JID.
    public mutating func add(_ user: InternalUser) {
        users[user.jid] = user
    }

    /// Removes a user with their contacts and the requests held for them.
    @discardableResult
    public mutating func removeUser(_ jid: String) -> InternalUser? {
        heldRequests = heldRequests.filter { $0.userJID != jid }
        return users.removeValue(forKey: jid)
    }

    public func user(_ jid: String) -> InternalUser? {
        users[jid]
    }

    /// All users' JIDs in order, for deterministic iteration.
    public var userJIDs: [String] {
        users.keys.sorted()
    }

    /// Changes a user's presence; returns `false` if there is no such user.
    @discardableResult
    public mutating func setPresence(_ presence: RichPresence, of userJID: String) -> Bool {
        guard users[userJID] != nil else { return false }
        users[userJID]?.presence = presence
        return true
    }

    // MARK: - Contacts

    public func contact(_ contactJID: String, of userJID: String) -> Contact? {
        users[userJID]?.contacts[contactJID]
    }

    /// Adds or replaces a user's contact; returns `false` (and stores nothing) if there is no such user.
    @discardableResult
    public mutating func setContact(_ contact: Contact, of userJID: String) -> Bool {
        guard users[userJID] != nil else { return false }
        users[userJID]?.setContact(contact)
        return true
    }

    /// Removes a user's contact and returns the entry it had. Held requests and the contact's last
    /// presence are left alone; they are not per-contact-entry state.
    @discardableResult
    public mutating func removeContact(_ contactJID: String, of userJID: String) -> Contact? {
        users[userJID]?.removeContact(contactJID)
    }

    /// Changes an existing contact in place; returns `false` if the user or the contact is missing.
    @discardableResult
    public mutating func updateContact(_ contactJID: String, of userJID: String, _ change: (inout Contact) -> Void) -> Bool {
        users[userJID]?.updateContact(contactJID, change) ?? false
    }

    /// Users subscribed to an external contact's presence (so an inbound presence from the contact
    /// concerns them), in order.
    public func usersReceivingPresence(of contactJID: String) -> [String] {
        userJIDs.filter { users[$0]?.contacts[contactJID]?.subscription.userReceivesPresence == true }
    }

    /// Every (user, contact) pair whose contact is on `domain`, by user then contact: what a federation
    /// link to that domain concerns when it goes down or comes back. Subdomains have links of their
    /// own, so they do not count.
    public func contacts(onDomain domain: String) -> [(userJID: String, contact: Contact)] {
        userJIDs.flatMap { userJID -> [(userJID: String, contact: Contact)] in
            guard let user = users[userJID] else { return [] }
            return user.contacts.values
                .filter { Self.domain(ofBareJID: $0.jid) == domain[...] }
                .sorted { $0.jid < $1.jid }
                .map { (userJID: userJID, contact: $0) }
        }
    }

    // MARK: - External contacts' presence

    /// Records what one resource of an external contact sent. Offline presence removes the resource
    /// instead, so only online resources are kept.
    public mutating func recordPresence(_ presence: RichPresence, priority: Int = 0, of contactJID: String, resource: String) {
        if presence.isOffline {
            removePresence(of: contactJID, resource: resource)
        } else {
            externalPresence[contactJID, default: [:]][resource] = ResourcePresence(presence, priority: priority)
        }
    }

    /// Forgets one resource of a contact (it went offline), or all of them when `resource` is `nil`
    /// (an `unavailable` to the bare JID, or the subscription ended).
    public mutating func removePresence(of contactJID: String, resource: String? = nil) {
        guard let resource else {
            externalPresence[contactJID] = nil
            return
        }
        externalPresence[contactJID]?[resource] = nil
        if externalPresence[contactJID]?.isEmpty == true { externalPresence[contactJID] = nil }
    }

    /// Forgets every contact on `domain` (subdomains have links of their own): after the link went
    /// down nothing they sent can be trusted to be current.
    public mutating func removePresence(onDomain domain: String) {
        externalPresence = externalPresence.filter { Self.domain(ofBareJID: $0.key) != domain[...] }
    }

    /// The online resources of a contact and what each last sent; empty when offline.
    public func presence(of contactJID: String) -> [String: ResourcePresence] {
        externalPresence[contactJID] ?? [:]
    }

    /// Whether any resource of the contact is online as far as the gateway knows.
    public func isOnline(_ contactJID: String) -> Bool {
        !(externalPresence[contactJID]?.isEmpty ?? true)
    }

    // MARK: - Held subscription requests

    /// Holds a request; returns `false` if it was already held (a repeat).
    @discardableResult
    public mutating func holdSubscriptionRequest(from contactJID: String, to userJID: String) -> Bool {
        heldRequests.insert(HeldSubscriptionRequest(userJID: userJID, contactJID: contactJID)).inserted
    }

    /// Drops a held request (the user added the contact, or the contact withdrew); returns whether
    /// one was held.
    @discardableResult
    public mutating func releaseSubscriptionRequest(from contactJID: String, to userJID: String) -> Bool {
        heldRequests.remove(HeldSubscriptionRequest(userJID: userJID, contactJID: contactJID)) != nil
    }

    public func isHeld(from contactJID: String, to userJID: String) -> Bool {
        heldRequests.contains(HeldSubscriptionRequest(userJID: userJID, contactJID: contactJID))
    }

    /// The contacts whose requests are held for a user, in order.
    public func heldRequests(for userJID: String) -> [String] {
        heldRequests.filter { $0.userJID == userJID }.map(\.contactJID).sorted()
    }

    // MARK: - Bare JID text

    /// The domain part of a bare JID: everything after the `@` (a localpart cannot contain one), or
    /// the whole text for a domain JID.
    public static func domain(ofBareJID jid: String) -> Substring {
        guard let at = jid.firstIndex(of: "@") else { return jid[...] }
        return jid[jid.index(after: at)...]
    }
}
