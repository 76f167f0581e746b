/// How far a federated organisation is trusted: the Lync `PartnerType` of an allowed XMPP partner.
///
/// The trust decides two things the gateway enforces for every user on the partner's domains: who
/// may start a conversation (subscriptions and messages from people the internal user has not added)
/// and how much presence may leave (the partner ceiling, combined with each contact's level).
/// Raw values are the tokens used in `federation.toml` and fixtures.
package enum PartnerTrust: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Same enterprise or an established business relationship: may subscribe and message freely,
    /// and is the only trust under which notes can be seen.
    case federated
    /// A provider trusted to verify its users: may subscribe and message freely, never sees notes.
    /// Microsoft calls this "not recommended".
    case publicVerified = "public-verified"
    /// The default, recommended for public providers: its users can neither subscribe to nor message
    /// an internal user who has not added them first, and never see notes.
    case publicUnverified = "public-unverified"

    /// A partner nobody configured a trust for gets the most cautious one, as in Lync.
    package static let `default` = PartnerTrust.publicUnverified

    /// Reads the Lync PowerShell spelling (`Federated`, `PublicVerified`, `PublicUnverified`), so
    /// configurations exported from `Get-CsXmppAllowedPartner` can be read as they are.
    package init?(partnerType: String) {
        guard let trust = Self.allCases.first(where: { $0.partnerType == partnerType }) else { return nil }
        self = trust
    }

    /// The Lync PowerShell spelling.
    package var partnerType: String {
        switch self {
        case .federated: "Federated"
        case .publicVerified: "PublicVerified"
        case .publicUnverified: "PublicUnverified"
        }
    }

    /// A subscription request from the partner's users is approved without asking the internal user.
    /// PublicUnverified requests are held until the user adds the contact, which counts as approval.
    package var autoApprovesInboundSubscriptions: Bool { self != .publicUnverified }

    /// The partner's users may message an internal user who does not have them as a contact.
    package var mayMessageNonContacts: Bool { self != .publicUnverified }

    /// Status notes (and other Colleagues-level details) may ever reach the partner's users.
    package var allowsNotes: Bool { self == .federated }

    /// The most a contact on this partner may see, whatever level the user gave them: Federated
    /// partners are not capped; Public partners see at most what External sees.
    package var ceiling: AccessLevel { self == .federated ? .friendsAndFamily : .external }

    /// The level a contact on this partner actually gets: the lesser of the partner ceiling and the
    /// contact's own level. Blocked always wins, so a blocked contact stays blocked on any partner.
    package func effectiveLevel(for contactLevel: AccessLevel) -> AccessLevel {
        if contactLevel == .blocked { return .blocked }
        return min(ceiling, contactLevel)
    }

    package var description: String { rawValue }
}
