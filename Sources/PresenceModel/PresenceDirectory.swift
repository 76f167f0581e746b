/// Everything the translator knows, as one value: the internal users (with their presence, their
/// contacts and what they see of them) and the subscription requests held back from users.
///
/// A plain value with mutating bookkeeping and lookups only: deciding what to send, deliver or hold
/// is the translator's policy. All JIDs are normalised bare JIDs as strings; the caller normalises.
package struct PresenceDirectory: Sendable, Hashable {
    /// Internal users, keyed by bare JID.
    package var users: [String: InternalUser]
    /// Subscription requests held until the user adds the contact.
    package private(set) var heldRequests: Set<HeldSubscriptionRequest>
    /// How many requests are held for each user, kept with `heldRequests` so that a user's
    /// contact limit is checked without going through everyone's requests.
    private var heldCounts: [String: Int]

    package init(
        users: [String: InternalUser] = [:],
        heldRequests: Set<HeldSubscriptionRequest> = []
    ) {
        self.users = users
        self.heldRequests = heldRequests
        heldCounts = heldRequests.reduce(into: [:]) { $0[$1.userJID, default: 0] += 1 }
    }

    // MARK: - Internal users

    /// Adds a user, or replaces the one with the same JID.
    package mutating func add(_ user: InternalUser) {
        users[user.jid] = user
    }

    /// Removes a user with their contacts and the requests held for them.
    @discardableResult
    package mutating func removeUser(_ jid: String) -> InternalUser? {
        heldRequests = heldRequests.filter { $0.userJID != jid }
        heldCounts[jid] = nil
        return users.removeValue(forKey: jid)
    }

    package func user(_ jid: String) -> InternalUser? {
        users[jid]
    }

    /// All users' JIDs in order, for deterministic iteration.
    package var userJIDs: [String] {
        users.keys.sorted()
    }

    /// Changes a user's presence; returns `false` if there is no such user.
    @discardableResult
    package mutating func setPresence(_ presence: RichPresence, of userJID: String) -> Bool {
        guard users[userJID] != nil else { return false }
        users[userJID]?.presence = presence
        return true
    }

    // MARK: - Contacts

    package func contact(_ contactJID: String, of userJID: String) -> Contact? {
        users[userJID]?.contacts[contactJID]
    }

    /// Adds or replaces a user's contact; returns `false` (and stores nothing) if there is no such user.
    @discardableResult
    package mutating func setContact(_ contact: Contact, of userJID: String) -> Bool {
        guard users[userJID] != nil else { return false }
        users[userJID]?.setContact(contact)
        return true
    }

    /// Removes a user's contact and returns the entry it had. Held requests and what the user saw of
    /// the contact are left alone; they are not per-contact-entry state.
    @discardableResult
    package mutating func removeContact(_ contactJID: String, of userJID: String) -> Contact? {
        users[userJID]?.removeContact(contactJID)
    }

    /// Changes an existing contact in place; returns `false` if the user or the contact is missing.
    @discardableResult
    package mutating func updateContact(_ contactJID: String, of userJID: String, _ change: (inout Contact) -> Void) -> Bool {
        users[userJID]?.updateContact(contactJID, change) ?? false
    }

    /// Users subscribed to an external contact's presence (so an inbound presence from the contact
    /// concerns them), in order.
    package func usersReceivingPresence(of contactJID: String) -> [String] {
        userJIDs.filter { users[$0]?.contacts[contactJID]?.subscription.userReceivesPresence == true }
    }

    /// Every (user, contact) pair whose contact is on `domain`, by user then contact: what a federation
    /// link to that domain concerns when it goes down or comes back. Subdomains have links of their
    /// own, so they do not count.
    package func contacts(onDomain domain: String) -> [(userJID: String, contact: Contact)] {
        // Only the users with contacts there are sorted: a link's loss should not cost a sort of
        // every user.
        users.compactMap { userJID, user in user.hasContacts(onDomain: domain) ? userJID : nil }.sorted().flatMap { userJID in
            users[userJID]!.contacts(onDomain: domain).map { (userJID: userJID, contact: $0) }
        }
    }

    // MARK: - Held subscription requests

    /// Holds a request; returns `false` if it was already held (a repeat).
    @discardableResult
    package mutating func holdSubscriptionRequest(from contactJID: String, to userJID: String) -> Bool {
        guard heldRequests.insert(HeldSubscriptionRequest(userJID: userJID, contactJID: contactJID)).inserted else { return false }
        heldCounts[userJID, default: 0] += 1
        return true
    }

    /// Drops a held request (the user added the contact, or the contact withdrew); returns whether
    /// one was held.
    @discardableResult
    package mutating func releaseSubscriptionRequest(from contactJID: String, to userJID: String) -> Bool {
        guard heldRequests.remove(HeldSubscriptionRequest(userJID: userJID, contactJID: contactJID)) != nil else { return false }
        heldCounts[userJID, default: 1] -= 1
        if heldCounts[userJID] == 0 { heldCounts[userJID] = nil }
        return true
    }

    package func isHeld(from contactJID: String, to userJID: String) -> Bool {
        heldRequests.contains(HeldSubscriptionRequest(userJID: userJID, contactJID: contactJID))
    }

    /// A user's contacts and the requests held for them: what their contact limit counts.
    package func contactListSize(of userJID: String) -> Int {
        (users[userJID]?.contacts.count ?? 0) + heldCounts[userJID, default: 0]
    }

    /// The contacts whose requests are held for a user, in order.
    package func heldRequests(for userJID: String) -> [String] {
        heldRequests.filter { $0.userJID == userJID }.map(\.contactJID).sorted()
    }

    // MARK: - Bare JID text

    /// The domain part of a bare JID: everything after the `@` (a localpart cannot contain one), or
    /// the whole text for a domain JID.
    package static func domain(ofBareJID jid: String) -> Substring {
        guard let at = jid.firstIndex(of: "@") else { return jid[...] }
        return jid[jid.index(after: at)...]
    }
}
