import Federation
import PresenceModel
import Testing
import Translation
import XMPP

@Suite("WatcherView")
struct WatcherViewTests {
    static let rich = RichPresence(
        availability: .busy, activity: .inAMeeting, note: "Q3 review", location: "Building 4",
        meetingSubject: "Budget", meetingLocation: "Room 12"
    )

    struct Case: Sendable, CustomStringConvertible {
        var trust: PartnerTrust
        var level: AccessLevel
        var status: String?
        var description: String { "\(trust.rawValue) × \(level.token)" }
    }

    /// Every partner trust × access level pair: what the watcher's `<status/>` may reveal.
    static let cases: [Case] = [
        Case(trust: .federated, level: .external, status: "In a meeting"),
        Case(trust: .federated, level: .colleagues, status: "In a meeting — Q3 review — Building 4"),
        Case(trust: .federated, level: .workgroup, status: "In a meeting (Budget, Room 12) — Q3 review — Building 4"),
        Case(trust: .federated, level: .friendsAndFamily, status: "In a meeting — Q3 review — Building 4"),
        Case(trust: .federated, level: .blocked, status: nil),
        Case(trust: .publicVerified, level: .external, status: "In a meeting"),
        Case(trust: .publicVerified, level: .colleagues, status: "In a meeting"),
        Case(trust: .publicVerified, level: .workgroup, status: "In a meeting"),
        Case(trust: .publicVerified, level: .friendsAndFamily, status: "In a meeting"),
        Case(trust: .publicVerified, level: .blocked, status: nil),
        Case(trust: .publicUnverified, level: .external, status: "In a meeting"),
        Case(trust: .publicUnverified, level: .colleagues, status: "In a meeting"),
        Case(trust: .publicUnverified, level: .workgroup, status: "In a meeting"),
        Case(trust: .publicUnverified, level: .friendsAndFamily, status: "In a meeting"),
        Case(trust: .publicUnverified, level: .blocked, status: nil),
    ]

    @Test("trust caps the level, the level filters the view", arguments: cases)
    func matrix(testCase: Case) {
        let view = WatcherView.presence(of: Self.rich, contactLevel: testCase.level, trust: testCase.trust, mapping: .defaults)
        if testCase.level == .blocked {
            #expect(view == Presence(type: .unavailable))
        } else {
            #expect(view.type == nil)
            #expect(view.show == .dnd)
            #expect(view.statuses.first?.text == testCase.status)
        }
    }

    @Test("every availability range has an outbound rule; offline has none", arguments: AvailabilityRange.allCases)
    func everyRange(range: AvailabilityRange) {
        let rule = OutboundPresenceMapping.defaults.rule(for: RichPresence(availability: range.representative))
        #expect((rule == nil) == (range == .offline))
    }

    @Test("range boundaries map to the right show")
    func boundaries() {
        let mapping = OutboundPresenceMapping.defaults
        func show(_ value: UInt32) -> Presence.Show?? { mapping.rule(for: RichPresence(availability: Availability(value))).map(\.show) }
        #expect(show(4499) == .some(nil))
        #expect(show(4500) == .some(.away))
        #expect(show(5999) == .some(.away))
        #expect(show(6000) == .some(.dnd))
        #expect(show(11999) == .some(.dnd))
        #expect(show(12000) == .some(.away))
        #expect(show(17999) == .some(.away))
        #expect(show(18000) == .none)
    }
}

@Suite("Translator")
struct TranslatorTests {
    func translator(trust: PartnerTrust = .federated, subscription: SubscriptionState = SubscriptionState(.both)) throws -> Translator {
        var directory = PresenceDirectory()
        var user = InternalUser(jid: "alice@contoso.example")
        user.contacts["bob@fabrikam.example"] = Contact(jid: "bob@fabrikam.example", accessLevel: .colleagues, subscription: subscription)
        directory.add(user)
        return Translator(
            configuration: TranslationConfiguration(localDomains: ["contoso.example"]),
            policy: FederationPolicy(partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), trust: trust)]),
            directory: directory
        )
    }

    @Test("is deterministic: the same inputs give the same outputs")
    func deterministic() throws {
        let alice = try JID("alice@contoso.example")
        var first = try translator()
        var second = try translator()
        for availability in [Availability.busy, .away, .available, .offline] {
            let action = InternalAction.setPresence(user: alice, RichPresence(availability: availability))
            #expect(first.perform(action) == second.perform(action))
        }
    }

    @Test("the state machine survives a contact list that changes under it")
    func removedUser() throws {
        var translator = try translator()
        let alice = try JID("alice@contoso.example")
        let bob = try JID("bob@fabrikam.example")
        _ = translator.perform(.removeContact(user: alice, contact: bob))
        #expect(translator.perform(.setPresence(user: alice, RichPresence(availability: .busy))).allSatisfy { if case .send = $0 { false } else { true } })
        #expect(translator.directory.users["alice@contoso.example"]?.contacts.isEmpty == true)
    }
}
