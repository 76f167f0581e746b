/// An activity refines an availability range: "Busy" becomes "In a meeting", "Away" becomes "Off work".
/// Custom states carry their own text.
public enum Activity: Sendable, Hashable, CustomStringConvertible {
    case inAMeeting
    case inAConference
    case onThePhone
    case presenting
    case outOfOffice
    case offWork
    case urgentInterruptionsOnly
    case outToLunch
    /// An organisation-defined state with its display text.
    case custom(String)

    public static let known: [Activity] = [
        .inAMeeting, .inAConference, .onThePhone, .presenting, .outOfOffice, .offWork, .urgentInterruptionsOnly, .outToLunch,
    ]

    /// Reads a token; any text that is not a known token is a custom state.
    public init(token: String) {
        self = Self.known.first { $0.token == token } ?? .custom(token)
    }

    /// The stable token (for custom states, their text).
    public var token: String {
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

    public var isCustom: Bool {
        if case .custom = self { true } else { false }
    }

    public var description: String { token }
}
