/// One entry in an internal user's contact list.
public struct Contact: Sendable, Hashable {
    /// The contact's bare JID, normalised.
    public var jid: String
    public var name: String?
    public var groups: [String]
    public var accessLevel: AccessLevel
    public var subscription: SubscriptionState

    public init(
        jid: String,
        name: String? = nil,
        groups: [String] = [],
        accessLevel: AccessLevel = .defaultForExternalContacts,
        subscription: SubscriptionState = .none
    ) {
        self.jid = jid
        self.name = name
        self.groups = groups
        self.accessLevel = accessLevel
        self.subscription = subscription
    }
}
