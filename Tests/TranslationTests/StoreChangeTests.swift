import Federation
import PresenceModel
import Testing
import Translation
import XMPP

/// What the translator reports for the store after each input: the `.store` outputs, carrying the
/// directory's state after the input.
@Suite("Translator: what one input changes for the store")
struct StoreChangeTests {
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
            configuration: TranslationConfiguration(localDomains: ["contoso.example"]),
            policy: FederationPolicy(partners: [
                PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), trust: .federated),
                PartnerPolicy(domain: DomainPattern(exactly: "unverified.example"), trust: .publicUnverified),
            ]),
            directory: directory
        )
    }

    /// Runs `input` on the translator and returns the changes it reports for the store, checking
    /// that they come after every other output.
    mutating func writes(_ input: Either) -> [DirectoryChange] {
        let outputs: [TranslatorOutput]
        switch input {
        case .action(let action):
            outputs = translator.perform(action)
        case .stanza(let type, let from):
            outputs = translator.receive(try! #require(try Stanza(Presence(type: type).element(from: from, to: Self.alice))))
        }
        let changes = outputs.compactMap { output -> DirectoryChange? in
            if case .store(let change) = output { return change }
            return nil
        }
        #expect(Array(outputs.suffix(changes.count)) == changes.map(TranslatorOutput.store), "store changes come last")
        return changes
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

    @Test("a withdrawn request is released once; a second withdrawal changes nothing")
    mutating func heldAndWithdrawn() {
        _ = writes(.stanza(.subscribe, from: Self.mallory))
        #expect(writes(.stanza(.unsubscribe, from: Self.mallory)) == [.release(from: Self.mallory, to: Self.alice)])
        #expect(writes(.stanza(.unsubscribe, from: Self.mallory)).isEmpty, "releasing what is not held changes nothing")
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
        #expect(writes(.action(.approveSubscription(user: Self.alice, contact: try JID("nobody@fabrikam.example")))).isEmpty, "nothing to approve")
    }
}
