import PresenceModel
import Testing

@Suite("Rich presence")
struct RichPresenceTests {
    static let photo = "01b87fcd030b72895ff8e88db57ec525450f000d"

    static let full = RichPresence(
        availability: .busy,
        activity: .inAMeeting,
        note: "Back at 3",
        location: "Building 4",
        photoHash: photo,
        idleSince: Timestamp(secondsSinceEpoch: 1_795_000_000),
        meetingSubject: "Q3 planning",
        meetingLocation: "Room 4.12"
    )

    @Test("custom states are accepted only on available, busy and do-not-disturb", arguments: AvailabilityRange.allCases)
    func customStateRanges(range: AvailabilityRange) {
        let presence = RichPresence(availability: range.representative, activity: .custom("Heads down"))
        if range.allowsCustomStates {
            #expect(presence.validationFailure == nil)
            #expect(presence.isValid)
            #expect(throws: Never.self) { try presence.validate() }
        } else {
            #expect(throws: RichPresence.ValidationError.customStateNotAllowed(range)) { try presence.validate() }
            #expect(presence.validationFailure?.contains(range.rawValue) == true)
            #expect(!presence.isValid)
        }
    }

    @Test("a custom state needs text that is not a standard token")
    func customStateText() {
        #expect(throws: RichPresence.ValidationError.emptyCustomState) {
            try RichPresence(availability: .available, activity: .custom("")).validate()
        }
        #expect(throws: RichPresence.ValidationError.customStateIsStandardToken("in-a-meeting")) {
            try RichPresence(availability: .busy, activity: .custom("in-a-meeting")).validate()
        }
    }

    @Test("standard activities are valid on any range", arguments: AvailabilityRange.allCases)
    func standardActivities(range: AvailabilityRange) {
        for activity in Activity.known {
            #expect(RichPresence(availability: range.representative, activity: activity).isValid)
        }
    }

    @Test("a photo hash is empty or a hexadecimal SHA-1")
    func photoHash() {
        #expect(RichPresence(availability: .available, photoHash: Self.photo).isValid)
        #expect(RichPresence(availability: .available, photoHash: Self.photo.uppercased()).isValid)
        #expect(RichPresence(availability: .available, photoHash: "").isValid)
        #expect(RichPresence(availability: .available, photoHash: nil).isValid)
        #expect(throws: RichPresence.ValidationError.malformedPhotoHash("abc")) {
            try RichPresence(availability: .available, photoHash: "abc").validate()
        }
        let notHex = String(repeating: "g", count: 40)
        #expect(!RichPresence(availability: .available, photoHash: notHex).isValid)
    }

    @Test("offline is offline with nothing else")
    func offline() {
        #expect(RichPresence.offline.availability == .offline)
        #expect(RichPresence.offline.isOffline)
        #expect(RichPresence.offline.activity == nil)
        #expect(RichPresence.offline.note == nil)
        #expect(!Self.full.isOffline)
        #expect(RichPresence(availability: 18000).isOffline)
    }

    @Test("each level sees what Lync lets it see", arguments: AccessLevel.allCases)
    func visibility(level: AccessLevel) {
        let view = Self.full.visible(to: level)
        switch level {
        case .blocked:
            #expect(view == .offline)
        case .external:
            #expect(view == RichPresence(
                availability: .busy, activity: .inAMeeting, photoHash: Self.photo, idleSince: Self.full.idleSince))
        case .colleagues, .friendsAndFamily:
            var expected = Self.full
            expected.meetingSubject = nil
            expected.meetingLocation = nil
            #expect(view == expected)
        case .workgroup:
            #expect(view == Self.full)
        }
    }
}
