package import PresenceModel
package import XMPP

/// What one external watcher may see of an internal user, computed per watcher: the partner's trust
/// caps the contact's access level (effective level = min(ceiling, level)), and the effective level
/// filters the rich presence before it is mapped to XMPP.
///
/// - Blocked watchers always see `unavailable`, whatever the real state.
/// - External sees the state (show and label) and the photo, never the note or location.
/// - Notes and location appear only when the effective level allows them, which needs a Federated
///   partner and a contact promoted to Colleagues or above.
/// - Meeting subject and location are for Workgroup only.
package enum WatcherView {
    /// The presence stanza content (without addressing) this watcher should have.
    package static func presence(
        of presence: RichPresence,
        contactLevel: AccessLevel,
        trust: PartnerTrust,
        mapping: OutboundPresenceMapping
    ) -> Presence {
        let level = trust.effectiveLevel(for: contactLevel)
        guard level.seesRealState, let rule = mapping.rule(for: presence) else {
            return Presence(type: .unavailable)
        }
        var parts: [String] = []
        if var label = rule.label {
            if level.canSeeMeetingDetails, presence.activity?.isMeeting == true {
                let details = [presence.meetingSubject, presence.meetingLocation].compactMap { $0 }.filter { !$0.isEmpty }
                if !details.isEmpty { label += " (\(details.joined(separator: ", ")))" }
            }
            parts.append(label)
        }
        if level.canSeeNote, let note = presence.note, !note.isEmpty { parts.append(note) }
        if level.canSeeLocation, let location = presence.location, !location.isEmpty { parts.append(location) }
        return Presence(
            show: rule.show,
            statuses: parts.isEmpty ? [] : [LocalizedText(parts.joined(separator: " — "))],
            idleSince: presence.idleSince?.xmppDateTime,
            photoHash: presence.photoHash
        )
    }
}

extension Activity {
    /// Activities that carry a meeting subject and location.
    var isMeeting: Bool {
        self == .inAMeeting || self == .inAConference
    }
}
