import PresenceModel
import Testing

@Suite("Contacts, users and the directory")
struct DirectoryTests {
    static let alice = "alice@contoso.example"
    static let carol = "carol@contoso.example"
    static let bob = "bob@fabrikam.example"
    static let dave = "dave@fabrikam.example"
    static let erin = "erin@eu.fabrikam.example"

    static func directory() -> PresenceDirectory {
        var directory = PresenceDirectory()
        var alice = InternalUser(jid: alice, name: "Alice")
        alice.setContact(Contact(jid: bob, accessLevel: .colleagues, subscription: SubscriptionState(.both)))
        alice.setContact(Contact(jid: dave, subscription: SubscriptionState(.from)))
        alice.setContact(Contact(jid: erin, subscription: SubscriptionState(.to)))
        directory.add(alice)
        var carol = InternalUser(jid: carol)
        carol.setContact(Contact(jid: bob, subscription: SubscriptionState(.to)))
        directory.add(carol)
        return directory
    }

    @Test("a user's contacts and what they sent are found by domain however they were added, changed or removed")
    func byDomain() {
        var user = InternalUser(jid: Self.alice, contacts: [Self.bob: Contact(jid: Self.bob)])
        user.setContact(Contact(jid: Self.dave))
        user.setContact(Contact(jid: Self.erin))
        #expect(user.contacts(onDomain: "fabrikam.example").map(\.jid) == [Self.bob, Self.dave])
        #expect(user.contacts(onDomain: "eu.fabrikam.example").map(\.jid) == [Self.erin], "a subdomain is a domain of its own")
        user.updateContact(Self.dave) { $0.accessLevel = .workgroup }
        #expect(user.contacts(onDomain: "fabrikam.example").last?.accessLevel == .workgroup)
        user.removeContact(Self.bob)
        #expect(user.contacts(onDomain: "fabrikam.example").map(\.jid) == [Self.dave])
        user.contacts[Self.bob] = Contact(jid: Self.bob)
        #expect(user.contacts(onDomain: "fabrikam.example").map(\.jid) == [Self.bob, Self.dave], "assigning through `contacts` keeps the index")
        user.contacts = [:]
        #expect(user.contacts(onDomain: "fabrikam.example").isEmpty)

        user.recordPresence(RichPresence(availability: .busy), of: Self.bob, resource: "laptop")
        user.recordPresence(RichPresence(availability: .busy), of: Self.dave, resource: "phone")
        user.recordPresence(RichPresence(availability: .busy), of: Self.erin, resource: "phone")
        user.removePresence(of: Self.dave, resource: "phone")
        #expect(user.removePresence(onDomain: "fabrikam.example") == [Self.bob], "dave's only resource went offline before")
        #expect(user.removePresence(onDomain: "fabrikam.example").isEmpty)
        #expect(user.contactPresence.keys.sorted() == [Self.erin])
    }

    @Test("groups are an ordered set")
    func groups() {
        var contact = Contact(jid: Self.bob, groups: ["Partners", "Fabrikam", "Partners"])
        #expect(contact.groups == ["Partners", "Fabrikam"])
        contact.groups = ["A", "B", "A", "C", "B"]
        #expect(contact.groups == ["A", "B", "C"])
        contact.addGroup("A")
        contact.addGroup("D")
        #expect(contact.groups == ["A", "B", "C", "D"])
        contact.removeGroup("B")
        #expect(contact.groups == ["A", "C", "D"])
    }

    @Test("a new contact is External with no subscription")
    func contactDefaults() {
        let contact = Contact(jid: Self.bob)
        #expect(contact.accessLevel == .external)
        #expect(contact.subscription == .none)
        #expect(contact.name == nil)
        #expect(contact.groups.isEmpty)
    }

    @Test("watchers are subscribed, unblocked contacts, in order")
    func watchers() {
        var user = Self.directory().users[Self.alice]!
        #expect(user.watchers.map(\.jid) == [Self.bob, Self.dave])
        #expect(user.watchedContacts.map(\.jid) == [Self.bob, Self.erin])
        user.updateContact(Self.dave) { $0.accessLevel = .blocked }
        #expect(user.watchers.map(\.jid) == [Self.bob])
    }

    @Test("a user's contacts can be added, updated and removed")
    func userContacts() {
        var user = InternalUser(jid: Self.alice)
        #expect(user.presence == .offline)
        user.setContact(Contact(jid: Self.bob))
        #expect(user.contact(Self.bob)?.accessLevel == .external)
        let updated = user.updateContact(Self.bob) { $0.accessLevel = .workgroup }
        #expect(updated)
        #expect(user.contact(Self.bob)?.accessLevel == .workgroup)
        let updatedMissing = user.updateContact(Self.dave) { $0.accessLevel = .workgroup }
        #expect(!updatedMissing)
        #expect(user.contact(Self.dave) == nil)
        let removed = user.removeContact(Self.bob)
        #expect(removed?.jid == Self.bob)
        let removedAgain = user.removeContact(Self.bob)
        #expect(removedAgain == nil)
        #expect(user.contacts.isEmpty)
    }

    @Test("contacts can only be stored for known users")
    func directoryContacts() {
        var directory = Self.directory()
        #expect(directory.contact(Self.bob, of: Self.alice)?.accessLevel == .colleagues)
        let storedForStranger = directory.setContact(Contact(jid: Self.bob), of: "nobody@contoso.example")
        #expect(!storedForStranger)
        #expect(directory.users["nobody@contoso.example"] == nil)
        let renamed = directory.updateContact(Self.bob, of: Self.alice) { $0.name = "Bob" }
        #expect(renamed)
        #expect(directory.contact(Self.bob, of: Self.alice)?.name == "Bob")
        let renamedMissing = directory.updateContact(Self.bob, of: "nobody@contoso.example") { $0.name = "Bob" }
        #expect(!renamedMissing)
        let removedFromDirectory = directory.removeContact(Self.bob, of: Self.alice)
        #expect(removedFromDirectory != nil)
        #expect(directory.contact(Self.bob, of: Self.alice) == nil)
        let presenceSet = directory.setPresence(RichPresence(availability: .busy), of: Self.alice)
        #expect(presenceSet)
        #expect(directory.user(Self.alice)?.presence.availability == .busy)
        let presenceSetForStranger = directory.setPresence(RichPresence(availability: .busy), of: "nobody@contoso.example")
        #expect(!presenceSetForStranger)
    }

    @Test("who receives an external contact's presence")
    func receivers() {
        let directory = Self.directory()
        #expect(directory.userJIDs == [Self.alice, Self.carol])
        #expect(directory.usersReceivingPresence(of: Self.bob) == [Self.alice, Self.carol])
        #expect(directory.usersReceivingPresence(of: Self.dave).isEmpty)
        #expect(directory.usersReceivingPresence(of: Self.erin) == [Self.alice])
    }

    @Test("contacts on a domain, subdomains excluded")
    func contactsOnDomain() {
        let pairs = Self.directory().contacts(onDomain: "fabrikam.example")
        #expect(pairs.map(\.userJID) == [Self.alice, Self.alice, Self.carol])
        #expect(pairs.map(\.contact.jid) == [Self.bob, Self.dave, Self.bob])
        #expect(Self.directory().contacts(onDomain: "eu.fabrikam.example").map(\.contact.jid) == [Self.erin])
        #expect(PresenceDirectory.domain(ofBareJID: Self.bob) == "fabrikam.example")
        #expect(PresenceDirectory.domain(ofBareJID: "fabrikam.example") == "fabrikam.example")
    }

    @Test("what a user sees of a contact is kept per online resource")
    func contactPresence() {
        var alice = InternalUser(jid: Self.alice)
        #expect(alice.shownPresence(of: Self.bob) == .offline)
        alice.recordPresence(RichPresence(availability: .away), priority: 5, of: Self.bob, resource: "laptop")
        alice.recordPresence(RichPresence(availability: .available), of: Self.bob, resource: "phone")
        #expect(alice.contactPresence[Self.bob]?["laptop"] == ResourcePresence(RichPresence(availability: .away), priority: 5))
        #expect(alice.shownPresence(of: Self.bob).availability == .away, "the higher priority wins")
        alice.recordPresence(.offline, of: Self.bob, resource: "laptop")
        #expect(alice.contactPresence[Self.bob]?.keys.sorted() == ["phone"])
        #expect(alice.shownPresence(of: Self.bob).availability == .available)
        alice.removePresence(of: Self.bob, resource: "phone")
        #expect(alice.contactPresence[Self.bob] == nil)
        #expect(alice.shownPresence(of: Self.bob) == .offline)

        alice.recordPresence(RichPresence(availability: .busy), of: Self.bob, resource: "b")
        alice.recordPresence(RichPresence(availability: .available), of: Self.bob, resource: "a")
        #expect(alice.shownPresence(of: Self.bob).availability == .available, "equal priority: the most available wins")
        alice.removePresence(of: Self.bob)
        #expect(alice.contactPresence.isEmpty)
    }

    @Test("a link going down forgets that domain's presence only, subdomains excluded")
    func linkDown() {
        var alice = InternalUser(jid: Self.alice)
        for jid in [Self.bob, Self.dave, Self.erin, "frank@contoso.example"] {
            alice.recordPresence(RichPresence(availability: .available), of: jid, resource: "r")
        }
        #expect(alice.removePresence(onDomain: "fabrikam.example") == [Self.bob, Self.dave])
        #expect(alice.contactPresence.keys.sorted() == ["erin@eu.fabrikam.example", "frank@contoso.example"])
    }

    @Test("held subscription requests")
    func heldRequests() {
        var directory = Self.directory()
        let contacts = directory.user(Self.carol)?.contacts.count ?? 0
        let held = directory.holdSubscriptionRequest(from: Self.dave, to: Self.carol)
        #expect(held)
        let heldAgain = directory.holdSubscriptionRequest(from: Self.dave, to: Self.carol)
        #expect(!heldAgain)
        let heldBobForCarol = directory.holdSubscriptionRequest(from: Self.bob, to: Self.carol)
        #expect(heldBobForCarol)
        let heldBobForAlice = directory.holdSubscriptionRequest(from: Self.bob, to: Self.alice)
        #expect(heldBobForAlice)
        #expect(directory.isHeld(from: Self.dave, to: Self.carol))
        #expect(!directory.isHeld(from: Self.dave, to: Self.alice))
        #expect(directory.heldRequests(for: Self.carol) == [Self.bob, Self.dave])
        #expect(directory.heldRequests.sorted().map(\.userJID) == [Self.alice, Self.carol, Self.carol])
        #expect(directory.contactListSize(of: Self.carol) == contacts + 2, "the contact limit counts held requests")
        let released = directory.releaseSubscriptionRequest(from: Self.dave, to: Self.carol)
        #expect(released)
        let releasedAgain = directory.releaseSubscriptionRequest(from: Self.dave, to: Self.carol)
        #expect(!releasedAgain)
        #expect(directory.heldRequests(for: Self.carol) == [Self.bob])
        #expect(directory.contactListSize(of: Self.carol) == contacts + 1)
        let removedUser = directory.removeUser(Self.carol)
        #expect(removedUser?.jid == Self.carol)
        #expect(directory.heldRequests(for: Self.carol).isEmpty)
        #expect(directory.heldRequests.count == 1)
        #expect(directory.contactListSize(of: Self.carol) == 0)
        let removedUserAgain = directory.removeUser(Self.carol)
        #expect(removedUserAgain == nil)
    }

    @Test("directories are values")
    func valueSemantics() {
        let original = Self.directory()
        var copy = original
        copy.updateContact(Self.bob, of: Self.alice) { $0.accessLevel = .blocked }
        #expect(original.contact(Self.bob, of: Self.alice)?.accessLevel == .colleagues)
        #expect(copy != original)
    }
}
