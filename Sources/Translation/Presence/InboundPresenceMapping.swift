package import PresenceModel
package import XMPP

/// What one XMPP `<show/>` value becomes in the internal model.
package struct InboundPresenceRule: Sendable, Hashable {
    package var availability: Availability
    package var activity: Activity?

    package init(availability: Availability, activity: Activity? = nil) {
        self.availability = availability
        self.activity = activity
    }
}

/// Remote XMPP presence → the internal state shown to our users (the inbound table of
/// `shared/reference/presence-and-partners.md` §2.2). `<status/>` becomes the contact's note and
/// XEP-0319 idle their idle-since. Overridable in `federation.toml` under `[presence.inbound]`.
package struct InboundPresenceMapping: Sendable, Hashable {
    /// Keyed by `<show/>`; `nil` is plain available.
    package var shows: [Presence.Show?: InboundPresenceRule]

    package init(shows: [Presence.Show?: InboundPresenceRule]) {
        self.shows = shows
    }

    package static let defaults = InboundPresenceMapping(shows: [
        nil: InboundPresenceRule(availability: .available),
        .chat: InboundPresenceRule(availability: .available),
        .away: InboundPresenceRule(availability: .away),
        .xa: InboundPresenceRule(availability: .away, activity: .custom("Extended away")),
        .dnd: InboundPresenceRule(availability: .busy, activity: .custom("Do not disturb")),
    ])

    /// The internal view of an external contact's presence stanza. Unavailable and error presence
    /// are Offline; the note is the status in the preferred language (or the first one).
    package func richPresence(for presence: Presence, preferredLanguage: String = "en") -> RichPresence {
        guard presence.type == nil else { return .offline }
        let rule = shows[presence.show] ?? InboundPresenceRule(availability: .available)
        var result = RichPresence(availability: rule.availability)
        result.activity = rule.activity
        let status = presence.statuses.first { $0.language == preferredLanguage } ?? presence.statuses.first
        if let status, !status.text.isEmpty { result.note = status.text }
        result.idleSince = presence.idleSince.flatMap(Timestamp.init(xmppDateTime:))
        result.photoHash = presence.photoHash
        return result
    }
}
