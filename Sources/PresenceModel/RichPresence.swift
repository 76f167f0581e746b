/// A user's rich presence, Lync style: far more than XMPP's `<show/>`, which is why every external
/// watcher gets a view filtered by its access level (see `Translation.WatcherView`).
public struct RichPresence: Sendable, Hashable {
    public var availability: Availability
    public var activity: Activity?
    /// Personal note (or out-of-office note).
    public var note: String?
    /// A short location text ("Office 4.12", "Home").
    public var location: String?
    /// XEP-0153: SHA-1 of the photo, lowercase hex; `""` means "no photo".
    public var photoHash: String?
    /// When the user was last active, for idle states.
    public var idleSince: Timestamp?
    /// From the calendar; only Workgroup contacts may see these.
    public var meetingSubject: String?
    public var meetingLocation: String?

    public init(
        availability: Availability,
        activity: Activity? = nil,
        note: String? = nil,
        location: String? = nil,
        photoHash: String? = nil,
        idleSince: Timestamp? = nil,
        meetingSubject: String? = nil,
        meetingLocation: String? = nil
    ) {
        self.availability = availability
        self.activity = activity
        self.note = note
        self.location = location
        self.photoHash = photoHash
        self.idleSince = idleSince
        self.meetingSubject = meetingSubject
        self.meetingLocation = meetingLocation
    }

    public static let offline = RichPresence(availability: .offline)

    /// Why this presence cannot be published, or `nil` if it can. Lync defines custom states only on
    /// the available, busy and do-not-disturb availabilities.
    public var validationFailure: String? {
        if case .custom(let text)? = activity {
            if text.isEmpty { return "a custom state needs a text" }
            if !availability.range.allowsCustomStates {
                return "custom states are only allowed on available, busy and do-not-disturb, not \(availability.range.rawValue)"
            }
        }
        return nil
    }
}
