import PresenceModel
import Testing

@Suite("Activity tokens")
struct ActivityTests {
    static let tokens: [(Activity, String)] = [
        (.inAMeeting, "in-a-meeting"),
        (.inAConference, "in-a-conference"),
        (.onThePhone, "on-the-phone"),
        (.presenting, "presenting"),
        (.outOfOffice, "out-of-office"),
        (.offWork, "off-work"),
        (.urgentInterruptionsOnly, "urgent-interruptions-only"),
        (.outToLunch, "out-to-lunch"),
    ]

    @Test("standard tokens round-trip", arguments: tokens)
    func roundTrip(activity: Activity, token: String) {
        #expect(activity.token == token)
        #expect(Activity(token: token) == activity)
        #expect(Activity(knownToken: token) == activity)
        #expect(!activity.isCustom)
        #expect(activity.customText == nil)
        #expect(activity.description == token)
    }

    @Test("`known` lists every standard activity once")
    func known() {
        #expect(Activity.known == Self.tokens.map(\.0))
        #expect(Set(Activity.known.map(\.token)).count == Activity.known.count)
    }

    @Test("any other text is a custom state, and round-trips as one")
    func custom() {
        let activity = Activity(token: "Working from the lake")
        #expect(activity == .custom("Working from the lake"))
        #expect(activity.isCustom)
        #expect(activity.customText == "Working from the lake")
        #expect(activity.token == "Working from the lake")
        #expect(Activity(token: activity.token) == activity)
        #expect(Activity(knownToken: "Working from the lake") == nil)
        #expect(Activity(knownToken: "In-A-Meeting") == nil)
    }

    @Test("only meetings and conferences carry meeting details")
    func meetingDetails() {
        #expect(Activity.known.filter(\.carriesMeetingDetails) == [.inAMeeting, .inAConference])
        #expect(!Activity.custom("Planning").carriesMeetingDetails)
    }
}
