import Gateway
import PresenceModel
import Testing
import Translation
import XMPP

/// What the gateway hands to its store after each input, derived from a real translator's outputs.
@Suite("DirectoryPersistence: the store writes of one inbox input")
struct DirectoryPersistenceTests {
    static let alice = try! JID("alice@contoso.example")
    static let bob = try! JID("bob@fabrikam.example")
    static let mallory = try! JID("mallory@unverified.example")

    var translator: Translator

    init() {
        var directory = PresenceDirectory()
        directory.add(
            InternalUser(
                jid: Self.alice.description,
                contacts: [Self.bob.description: Contact(jid: Self.bob.description, accessLevel: .colleagues, subscription: SubscriptionState(.both))]
            )
        )
        translator = Translator(
            configuration: TranslationConfiguration(
                localDomains: ["contoso.example"],
                partners: [
                    Partner(domain: DomainPattern(exactly: "fabrikam.example"), trust: .federated),
                    Partner(domain: DomainPattern(exactly: "unverified.example"), trust: .publicUnverified),
                ]
            ),
            directory: directory
        )
    }

    /// Runs `input` on the translator and returns the writes it leads to.
    mutating func writes(_ input: Either) -> [DirectoryWrite] {
        let held = translator.directory.heldRequests
        switch input {
        case .action(let action):
            let outputs = translator.perform(action)
            return DirectoryPersistence.writes(after: action, outputs: outputs, heldBefore: held, directory: translator.directory)
        case .stanza(let type, let from):
            let stanza = try! #require(try Stanza(Presence(type: type).element(from: from, to: Self.alice)))
            let outputs = translator.receive(stanza)
            return DirectoryPersistence.writes(after: nil, outputs: outputs, heldBefore: held, directory: translator.directory)
        }
    }

    enum Either {
        case action(InternalAction)
        case stanza(Presence.PresenceType, from: JID)
    }

    @Test("a presence change writes the presence the directory now holds")
    mutating func presence() throws {
        let busy = RichPresence(availability: Availability(6500))
        #expect(writes(.action(.setPresence(user: Self.alice, busy))) == [.presence(translator.directory.user(Self.alice.description)!.presence, of: Self.alice)])
        #expect(translator.directory.user(Self.alice.description)?.presence.availability.range == .busy)
    }

    @Test("a new access level is written though the translator reports no event for it")
    mutating func accessLevel() {
        let written = writes(.action(.setAccessLevel(user: Self.alice, contact: Self.bob, .workgroup)))
        let contact = translator.directory.contact(Self.bob.description, of: Self.alice.description)!
        #expect(contact.accessLevel == .workgroup)
        #expect(written == [.contact(contact, of: Self.alice)])
    }

    @Test("removing a contact writes the removal")
    mutating func removal() {
        #expect(writes(.action(.removeContact(user: Self.alice, contact: Self.bob))) == [.removeContact(Self.bob, of: Self.alice)])
    }

    @Test("an inbound cancellation writes the contact's new subscription state")
    mutating func inboundCancellation() {
        let written = writes(.stanza(.unsubscribed, from: Self.bob))
        let contact = translator.directory.contact(Self.bob.description, of: Self.alice.description)!
        #expect(contact.subscription != SubscriptionState(.both))
        #expect(written == [.contact(contact, of: Self.alice)])
    }

    @Test("a held request is written though holding it is silent, and released when alice adds the contact")
    mutating func heldRequest() {
        #expect(writes(.stanza(.subscribe, from: Self.mallory)) == [.hold(from: Self.mallory, to: Self.alice)])
        let written = writes(.action(.addContact(user: Self.alice, contact: Self.mallory, name: nil, groups: [], accessLevel: nil)))
        let contact = translator.directory.contact(Self.mallory.description, of: Self.alice.description)!
        #expect(written == [.contact(contact, of: Self.alice), .release(from: Self.mallory, to: Self.alice)])
    }

    @Test("messages and inputs for unknown users write nothing")
    mutating func nothing() throws {
        let stranger = try JID("nobody@contoso.example")
        #expect(writes(.action(.setPresence(user: stranger, RichPresence(availability: Availability(3500))))).isEmpty)
        #expect(writes(.action(.sendMessage(user: Self.alice, to: Self.bob, Message(type: .chat, bodies: [LocalizedText("hi")])))).isEmpty)
        #expect(writes(.action(.linkDown(domain: "fabrikam.example"))).isEmpty)
    }
}
