import PresenceModel
import Testing

@Suite("Access levels")
struct AccessLevelTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var level: AccessLevel
        var realState: Bool
        var photo: Bool
        var note: Bool
        var location: Bool
        var calendar: Bool
        var meetingDetails: Bool
        var interruptDND: Bool
        var testDescription: String { level.token }
    }

    /// The visibility matrix of the reference (§3.2): Blocked sees Offline and nothing else, External
    /// the state and the photo, Colleagues and above notes, location and calendar, Workgroup alone
    /// meeting details and DND breakthrough.
    static let matrix: [Row] = [
        Row(level: .external, realState: true, photo: true, note: false, location: false, calendar: false, meetingDetails: false, interruptDND: false),
        Row(level: .colleagues, realState: true, photo: true, note: true, location: true, calendar: true, meetingDetails: false, interruptDND: false),
        Row(level: .workgroup, realState: true, photo: true, note: true, location: true, calendar: true, meetingDetails: true, interruptDND: true),
        Row(level: .friendsAndFamily, realState: true, photo: true, note: true, location: true, calendar: true, meetingDetails: false, interruptDND: false),
        Row(level: .blocked, realState: false, photo: false, note: false, location: false, calendar: false, meetingDetails: false, interruptDND: false),
    ]

    @Test("the matrix covers every level once")
    func matrixComplete() {
        #expect(Self.matrix.map(\.level) == AccessLevel.allCases)
    }

    @Test("what each level may see", arguments: matrix)
    func visibility(row: Row) {
        #expect(row.level.seesRealState == row.realState)
        #expect(row.level.canSeePhoto == row.photo)
        #expect(row.level.canSeeNote == row.note)
        #expect(row.level.canSeeLocation == row.location)
        #expect(row.level.canSeeCalendar == row.calendar)
        #expect(row.level.canSeeMeetingDetails == row.meetingDetails)
        #expect(row.level.canInterruptDoNotDisturb == row.interruptDND)
    }

    @Test("raw values are the Lync container ids")
    func containerIDs() {
        #expect(AccessLevel.allCases.map(\.rawValue) == [100, 200, 300, 400, 32000])
        for level in AccessLevel.allCases {
            #expect(level.containerID.rawValue == level.rawValue)
            #expect(AccessLevel(containerID: level.containerID) == level)
        }
        #expect(ContainerID.allCases.map(\.rawValue) == [0, 1, 2, 3, 100, 200, 300, 400, 32000])
        for container in [ContainerID.defaultContainer, .selfContainer, .aggregation, .workgroupAggregation] {
            #expect(AccessLevel(containerID: container) == nil)
        }
    }

    @Test("tokens round-trip")
    func tokens() {
        #expect(AccessLevel.allCases.map(\.token) == ["external", "colleagues", "workgroup", "friends-and-family", "blocked"])
        for level in AccessLevel.allCases {
            #expect(AccessLevel(token: level.token) == level)
            #expect(level.description == level.token)
        }
        #expect(AccessLevel(token: "Workgroup") == nil)
    }

    @Test("levels order by what they may see, Blocked lowest")
    func ordering() {
        #expect(AccessLevel.allCases.sorted() == [.blocked, .external, .colleagues, .workgroup, .friendsAndFamily])
        #expect(min(AccessLevel.blocked, .friendsAndFamily) == .blocked)
    }

    @Test("external contacts start as External, internal ones as Colleagues")
    func defaults() {
        #expect(AccessLevel.defaultForExternalContacts == .external)
        #expect(AccessLevel.defaultForInternalContacts == .colleagues)
        #expect(Contact(jid: "bob@fabrikam.example").accessLevel == .external)
    }
}
