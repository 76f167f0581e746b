/// An activity refines an availability range: "Busy" becomes "In a meeting", "Away" becomes "Off
/// work". Custom states carry their own text.
///
/// The tokens are the Lync `state/activity` tokens (plus the UCMA ones the gateway needs), so they
/// can be used unchanged as configuration keys and in fixtures.
package enum Activity: Sendable, Hashable, CustomStringConvertible {
    case inAMeeting
    case inAConference
    case onThePhone
    case presenting
    case outOfOffice
    case offWork
    case urgentInterruptionsOnly
    case outToLunch
    /// An organisation- or user-defined state with its display text (Lync custom presence states).
    case custom(String)

    /// Every activity with a standard token, in a stable order.
    package static let known: [Activity] = [
        .inAMeeting, .inAConference, .onThePhone, .presenting, .outOfOffice, .offWork, .urgentInterruptionsOnly, .outToLunch,
    ]

    /// Reads any activity text: a standard token gives its activity, anything else is a custom
    /// state. Never fails because Lync clients publish localized custom strings in the same place as
    /// tokens; use `init?(knownToken:)` when only standard tokens are acceptable.
    package init(token: String) {
        self = Activity(knownToken: token) ?? .custom(token)
    }

    /// Reads a standard token only, or `nil`.
    package init?(knownToken token: String) {
        guard let activity = Self.known.first(where: { $0.token == token }) else { return nil }
        self = activity
    }

    /// The stable token (for custom states, their text).
    package var token: String {
        switch self {
        case .inAMeeting: "in-a-meeting"
        case .inAConference: "in-a-conference"
        case .onThePhone: "on-the-phone"
        case .presenting: "presenting"
        case .outOfOffice: "out-of-office"
        case .offWork: "off-work"
        case .urgentInterruptionsOnly: "urgent-interruptions-only"
        case .outToLunch: "out-to-lunch"
        case .custom(let text): text
        }
    }

    package var isCustom: Bool {
        if case .custom = self { true } else { false }
    }

    /// The text of a custom state, or `nil` for a standard activity.
    package var customText: String? {
        if case .custom(let text) = self { text } else { nil }
    }

    /// Activities that come with a meeting subject and location from the calendar (which only
    /// Workgroup contacts may see).
    package var carriesMeetingDetails: Bool {
        self == .inAMeeting || self == .inAConference
    }

    package var description: String { token }
}
