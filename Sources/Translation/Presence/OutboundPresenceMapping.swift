package import PresenceModel
package import XMPP

/// How one internal state looks on XMPP: the `<show/>` (nil is plain available) and the human label
/// sent as `<status/>`.
package struct OutboundPresenceRule: Sendable, Hashable {
    package var show: Presence.Show?
    package var label: String?

    package init(show: Presence.Show?, label: String?) {
        self.show = show
        self.label = label
    }
}

/// Internal rich presence → what a remote XMPP contact sees (the outbound table of
/// `shared/reference/presence-and-partners.md` §2.1). Activities refine availability ranges:
/// an activity rule wins over the range rule, so "Busy + in-a-meeting" reads "In a meeting".
/// Every row can be overridden in `federation.toml` under `[presence.outbound]`.
package struct OutboundPresenceMapping: Sendable, Hashable {
    package var ranges: [AvailabilityRange: OutboundPresenceRule]
    /// Keyed by activity token (`in-a-meeting`, `off-work`, …).
    package var activities: [String: OutboundPresenceRule]

    package init(ranges: [AvailabilityRange: OutboundPresenceRule], activities: [String: OutboundPresenceRule]) {
        self.ranges = ranges
        self.activities = activities
    }

    package static let defaults = OutboundPresenceMapping(
        ranges: [
            .available: OutboundPresenceRule(show: nil, label: nil),
            .inactive: OutboundPresenceRule(show: .away, label: "Inactive"),
            .busy: OutboundPresenceRule(show: .dnd, label: "Busy"),
            .busyIdle: OutboundPresenceRule(show: .dnd, label: "Busy (inactive)"),
            .doNotDisturb: OutboundPresenceRule(show: .dnd, label: "Do not disturb"),
            .beRightBack: OutboundPresenceRule(show: .away, label: "Be right back"),
            .away: OutboundPresenceRule(show: .away, label: "Away"),
        ],
        activities: [
            "in-a-meeting": OutboundPresenceRule(show: .dnd, label: "In a meeting"),
            "in-a-conference": OutboundPresenceRule(show: .dnd, label: "In a conference"),
            "on-the-phone": OutboundPresenceRule(show: .dnd, label: "In a call"),
            "presenting": OutboundPresenceRule(show: .dnd, label: "Presenting"),
            "urgent-interruptions-only": OutboundPresenceRule(show: .dnd, label: "Urgent interruptions only"),
            "off-work": OutboundPresenceRule(show: .xa, label: "Off work"),
            "out-of-office": OutboundPresenceRule(show: .xa, label: "Out of office"),
            "out-to-lunch": OutboundPresenceRule(show: .away, label: "Out to lunch"),
        ]
    )

    /// The rule for a presence, or `nil` when the user is offline (the watcher gets `unavailable`).
    /// A custom state keeps the `<show/>` of its availability range and uses its own text as label.
    package func rule(for presence: RichPresence) -> OutboundPresenceRule? {
        let range = presence.availability.range
        if range == .offline { return nil }
        if presence.availability == .urgentInterruptionsOnly, let rule = activities["urgent-interruptions-only"] {
            return rule
        }
        let rangeRule = ranges[range] ?? OutboundPresenceRule(show: nil, label: nil)
        switch presence.activity {
        case .custom(let text)?:
            return OutboundPresenceRule(show: rangeRule.show, label: text)
        case let activity?:
            return activities[activity.token] ?? rangeRule
        case nil:
            return rangeRule
        }
    }
}
