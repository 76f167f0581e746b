/// A user's rich presence, Lync style: far more than XMPP's `<show/>`, which is why every external
/// watcher gets a view filtered by its access level before it is mapped to XMPP.
///
/// Also used for what internal users are shown of external contacts (built from inbound XMPP
/// presence), which is why every field but the availability is optional.
package struct RichPresence: Sendable, Hashable {
    package var availability: Availability
    /// Refines the availability ("In a meeting"), or a custom state.
    package var activity: Activity?
    /// Personal note (or out-of-office note). Colleagues and above only.
    package var note: String?
    /// A short location text ("Office 4.12", "Home"). Colleagues and above only.
    package var location: String?
    /// XEP-0153 photo hash: the SHA-1 of the photo as 40 hex digits; `""` means "no photo" and `nil`
    /// means "not known", which XEP-0153 keeps apart.
    package var photoHash: String?
    /// When the user was last active, for idle states (XEP-0319).
    package var idleSince: Timestamp?
    /// From the calendar; only Workgroup contacts may see these.
    package var meetingSubject: String?
    package var meetingLocation: String?

    package init(
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

    /// Offline with nothing else known: what anyone is before their first presence, and all a
    /// Blocked contact ever sees.
    package static let offline = RichPresence(availability: .offline)

    /// The availability's range is Offline.
    package var isOffline: Bool { availability.range == .offline }

    // MARK: - Validation

    /// Why a presence cannot be published as it is.
    package enum ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
        /// A custom state without text.
        case emptyCustomState
        /// A custom state on an availability Lync does not allow custom states on.
        case customStateNotAllowed(AvailabilityRange)
        /// A custom state whose text is a standard token, which would be read back as that activity.
        case customStateIsStandardToken(String)
        /// A photo hash that is neither empty nor 40 hexadecimal digits.
        case malformedPhotoHash(String)

        package var description: String {
            switch self {
            case .emptyCustomState:
                "a custom state needs a text"
            case .customStateNotAllowed(let range):
                "custom states are only allowed on available, busy and do-not-disturb, not \(range.rawValue)"
            case .customStateIsStandardToken(let token):
                "custom state text '\(token)' is a standard activity token"
            case .malformedPhotoHash(let hash):
                "photo hash '\(hash)' is not a SHA-1 in hexadecimal"
            }
        }
    }

    /// Checks what Lync and XEP-0153 require: custom states only on the available, busy and
    /// do-not-disturb ranges, with a text that cannot be mistaken for a standard token, and a photo
    /// hash that is empty or a hexadecimal SHA-1.
    package func validate() throws(ValidationError) {
        if case .custom(let text)? = activity {
            if text.isEmpty { throw .emptyCustomState }
            if Activity(knownToken: text) != nil { throw .customStateIsStandardToken(text) }
            if !availability.range.allowsCustomStates { throw .customStateNotAllowed(availability.range) }
        }
        if let photoHash, !photoHash.isEmpty, !Self.isSHA1Hex(photoHash) {
            throw .malformedPhotoHash(photoHash)
        }
    }

    /// `validate()` as an optional message, or `nil` if the presence can be published.
    package var validationFailure: String? {
        do {
            try validate()
            return nil
        } catch {
            return error.description
        }
    }

    package var isValid: Bool { validationFailure == nil }

    private static func isSHA1Hex(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }
    }

    // MARK: - Visibility

    /// What a watcher with this access level may see of the presence: Blocked gets plain Offline; the
    /// note, location and meeting details are dropped for levels that may not see them.
    ///
    /// This is the Lync rule for one level; combining the partner trust with the contact's level
    /// (`PartnerTrust.effectiveLevel(for:)`) comes first.
    package func visible(to level: AccessLevel) -> RichPresence {
        guard level.seesRealState else { return .offline }
        var view = self
        if !level.canSeeNote { view.note = nil }
        if !level.canSeeLocation { view.location = nil }
        if !level.canSeeMeetingDetails {
            view.meetingSubject = nil
            view.meetingLocation = nil
        }
        if !level.canSeePhoto { view.photoHash = nil }
        return view
    }
}
