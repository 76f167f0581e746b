/// One entry in an internal user's contact list: who the contact is, how the user files them, how
/// much they may see, and where the RFC 6121 subscription between the two stands.
package struct Contact: Sendable, Hashable {
    /// The contact's bare JID, normalised by the caller (the translator passes `JID.bare`'s text), so
    /// it can be used as a dictionary key as it is.
    package var jid: String
    /// The display name the user gave the contact, if any (the roster item's `name`).
    package var name: String?
    /// The groups the contact is filed under, in the user's order, each at most once (a roster item's
    /// `<group/>` children form a set, and Lync shows each group once).
    package var groups: [String] {
        didSet { groups = Self.uniqued(groups) }
    }
    /// How much of the user's presence the contact may see, before the partner ceiling applies.
    package var accessLevel: AccessLevel
    package var subscription: SubscriptionState

    package init(
        jid: String,
        name: String? = nil,
        groups: [String] = [],
        accessLevel: AccessLevel = .defaultForExternalContacts,
        subscription: SubscriptionState = .none
    ) {
        self.jid = jid
        self.name = name
        self.groups = Self.uniqued(groups)
        self.accessLevel = accessLevel
        self.subscription = subscription
    }

    /// The contact sees the user's presence: they are subscribed, and not blocked.
    package var isWatcher: Bool { subscription.contactReceivesPresence && accessLevel != .blocked }

    /// Files the contact under one more group (a no-op if already there).
    package mutating func addGroup(_ group: String) {
        groups.append(group)
    }

    /// Takes the contact out of a group.
    package mutating func removeGroup(_ group: String) {
        groups.removeAll { $0 == group }
    }

    private static func uniqued(_ groups: [String]) -> [String] {
        var seen: Set<String> = []
        return groups.filter { seen.insert($0).inserted }
    }
}
