/// A user of the organisation, whose presence and contacts live in the internal (Lync-style) model.
package struct InternalUser: Sendable, Hashable {
    /// The user's bare JID, normalised.
    package var jid: String
    /// The user's display name.
    package var name: String?
    /// What the user publishes; each watcher sees it filtered by their effective access level.
    package var presence: RichPresence
    /// Keyed by the contact's bare JID (the same string as the contact's `jid`). Assigning it (or
    /// one entry through it) rebuilds the by-domain index; the translator's paths use
    /// `setContact`, `removeContact` and `updateContact`, which keep it as they go.
    package var contacts: [String: Contact] {
        get { contactsByJID }
        set {
            contactsByJID = newValue
            contactJIDsByDomain = Self.byDomain(newValue.keys)
        }
    }
    private var contactsByJID: [String: Contact]
    /// The contacts' JIDs by domain: what a link to that domain concerns when it goes down or
    /// comes back, found without going through every contact (a user may have thousands).
    private var contactJIDsByDomain: [String: Set<String>]
    /// Contact (bare JID) → resource → what that resource last sent this user, already translated.
    /// Only online resources are kept; a contact with no entry is offline as far as the user knows.
    package private(set) var contactPresence: [String: [String: ResourcePresence]]
    /// The keys of `contactPresence` by domain, for the same reason.
    private var presenceJIDsByDomain: [String: Set<String>]

    package init(
        jid: String,
        name: String? = nil,
        presence: RichPresence = .offline,
        contacts: [String: Contact] = [:],
        contactPresence: [String: [String: ResourcePresence]] = [:]
    ) {
        self.jid = jid
        self.name = name
        self.presence = presence
        contactsByJID = contacts
        contactJIDsByDomain = Self.byDomain(contacts.keys)
        self.contactPresence = contactPresence
        presenceJIDsByDomain = Self.byDomain(contactPresence.keys)
    }

    private static func byDomain(_ jids: some Sequence<String>) -> [String: Set<String>] {
        jids.reduce(into: [:]) { $0[String(PresenceDirectory.domain(ofBareJID: $1)), default: []].insert($1) }
    }

    private static func file(_ jid: String, in index: inout [String: Set<String>]) {
        index[String(PresenceDirectory.domain(ofBareJID: jid)), default: []].insert(jid)
    }

    private static func unfile(_ jid: String, from index: inout [String: Set<String>]) {
        let domain = String(PresenceDirectory.domain(ofBareJID: jid))
        guard index[domain]?.remove(jid) != nil, index[domain]?.isEmpty == true else { return }
        index[domain] = nil
    }

    package func hasContacts(onDomain domain: String) -> Bool {
        contactJIDsByDomain[domain] != nil
    }

    /// The contacts on `domain` (not its subdomains), by JID.
    package func contacts(onDomain domain: String) -> [Contact] {
        (contactJIDsByDomain[domain] ?? []).sorted().compactMap { contactsByJID[$0] }
    }

    /// The entry for a contact, if the user has one.
    package func contact(_ jid: String) -> Contact? {
        contactsByJID[jid]
    }

    /// Adds a contact, or replaces the entry with the same JID.
    package mutating func setContact(_ contact: Contact) {
        if contactsByJID.updateValue(contact, forKey: contact.jid) == nil { Self.file(contact.jid, in: &contactJIDsByDomain) }
    }

    /// Removes a contact and returns the entry it had.
    @discardableResult
    package mutating func removeContact(_ jid: String) -> Contact? {
        guard let removed = contactsByJID.removeValue(forKey: jid) else { return nil }
        Self.unfile(jid, from: &contactJIDsByDomain)
        return removed
    }

    /// Changes an existing contact in place; returns `false` (and changes nothing) if there is none.
    /// The entry stays filed under `jid` even if `change` edits the contact's `jid`.
    @discardableResult
    package mutating func updateContact(_ jid: String, _ change: (inout Contact) -> Void) -> Bool {
        guard var contact = contactsByJID[jid] else { return false }
        change(&contact)
        contactsByJID[jid] = contact
        return true
    }

    /// Contacts subscribed to the user's presence and not blocked, by JID: who gets a presence
    /// broadcast when the user's presence changes.
    package var watchers: [Contact] {
        contactsByJID.values.filter(\.isWatcher).sorted { $0.jid < $1.jid }
    }

    /// Contacts whose presence the user receives, by JID.
    package var watchedContacts: [Contact] {
        contactsByJID.values.filter(\.subscription.userReceivesPresence).sorted { $0.jid < $1.jid }
    }

    // MARK: - What the user sees of contacts

    /// Records what one resource of a contact sent. Offline presence removes the resource instead.
    package mutating func recordPresence(_ presence: RichPresence, priority: Int = 0, of contactJID: String, resource: String) {
        if presence.isOffline {
            removePresence(of: contactJID, resource: resource)
        } else {
            if contactPresence[contactJID] == nil { Self.file(contactJID, in: &presenceJIDsByDomain) }
            contactPresence[contactJID, default: [:]][resource] = ResourcePresence(presence, priority: priority)
        }
    }

    /// Forgets one resource of a contact, or all of them when `resource` is `nil` (an error, the end
    /// of the subscription, the contact removed).
    package mutating func removePresence(of contactJID: String, resource: String? = nil) {
        guard let resource else {
            if contactPresence.removeValue(forKey: contactJID) != nil { Self.unfile(contactJID, from: &presenceJIDsByDomain) }
            return
        }
        contactPresence[contactJID]?[resource] = nil
        if contactPresence[contactJID]?.isEmpty == true {
            contactPresence[contactJID] = nil
            Self.unfile(contactJID, from: &presenceJIDsByDomain)
        }
    }

    /// Forgets every contact on `domain` (subdomains have links of their own); returns their JIDs, in
    /// order. After a link went down nothing they sent can be trusted to be current.
    @discardableResult
    package mutating func removePresence(onDomain domain: String) -> [String] {
        let gone = (presenceJIDsByDomain.removeValue(forKey: domain) ?? []).sorted()
        for contactJID in gone { contactPresence[contactJID] = nil }
        return gone
    }

    /// How a contact appears to the user: the resource with the highest priority, then the most
    /// available one (the lowest availability number), then the first by name; Offline if none.
    package func shownPresence(of contactJID: String) -> RichPresence {
        guard let resources = contactPresence[contactJID] else { return .offline }
        let best = resources.min { lhs, rhs in
            if lhs.value.priority != rhs.value.priority { return lhs.value.priority > rhs.value.priority }
            if lhs.value.presence.availability != rhs.value.presence.availability {
                return lhs.value.presence.availability < rhs.value.presence.availability
            }
            return lhs.key < rhs.key
        }
        return best?.value.presence ?? .offline
    }
}
