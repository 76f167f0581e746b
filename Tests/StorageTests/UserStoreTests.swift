import Foundation
import PresenceModel
import Storage
import Testing
import XMPP

@Suite("Store: users, contacts, presence, tokens")
struct UserStoreTests {
    static let alice = InternalUser(
        jid: "alice@contoso.example",
        name: "Alice",
        presence: RichPresence(
            availability: .busy, activity: .inAMeeting, note: "Quarterly review", location: "Building 4",
            idleSince: Timestamp(secondsSinceEpoch: 1_750_000_000, milliseconds: 250), meetingSubject: "Q3",
            meetingLocation: "Room 12"
        ),
        contacts: [
            "bob@fabrikam.example": Contact(
                jid: "bob@fabrikam.example", name: "Bob", groups: ["Partners", "Project X"], accessLevel: .workgroup,
                subscription: SubscriptionState(.both)
            ),
            "carol@jabber.example": Contact(
                jid: "carol@jabber.example", accessLevel: .external,
                subscription: SubscriptionState(.none, pendingOut: true, pendingIn: true)
            ),
        ]
    )

    @Test("a new file gets the whole schema, and reopening applies nothing twice")
    func migrationsFromEmpty() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try database.open()
        #expect(try await store.appliedMigrations() == ["v1-users-contacts-queue-messages"])
        #expect(try await store.loadDirectory() == PresenceDirectory())
        try store.close()
        let reopened = try database.open()
        #expect(try await reopened.appliedMigrations() == ["v1-users-contacts-queue-messages"])
        try await reopened.saveUser(Self.alice)
        #expect(FileManager.default.fileExists(atPath: database.path + "-wal"), "the file is in WAL mode")
    }

    @Test("users, contacts (groups in order, levels, subscription states), presence and held requests survive reopening")
    func reopenKeepsUsers() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        var expected = PresenceDirectory()
        do {
            let store = try database.open()
            try await store.saveUser(Self.alice)
            try await store.saveUser(InternalUser(jid: "dave@contoso.example"))
            try await store.holdSubscriptionRequest(from: jid("eve@jabber.example"), to: jid("dave@contoso.example"))
            try store.close()
            expected.add(Self.alice)
            expected.add(InternalUser(jid: "dave@contoso.example"))
            expected.holdSubscriptionRequest(from: "eve@jabber.example", to: "dave@contoso.example")
        }
        let store = try database.open()
        let loaded = try await store.loadDirectory()
        #expect(loaded == expected)
        #expect(loaded.contact("bob@fabrikam.example", of: "alice@contoso.example")?.groups == ["Partners", "Project X"])
        #expect(try await store.user(jid("alice@contoso.example")) == Self.alice)
        #expect(try await store.user(jid("nobody@contoso.example")) == nil)
    }

    @Test("presence and single contacts are persisted one at a time")
    func perContactChanges() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try database.open()
        let user = jid("alice@contoso.example")
        try await store.saveUser(Self.alice)

        let away = RichPresence(availability: .away, note: "back at 2")
        try await store.savePresence(away, of: user)
        var carol = try #require(Self.alice.contact("carol@jabber.example"))
        carol.accessLevel = .blocked
        carol.addGroup("Blocked people")
        try await store.saveContact(carol, of: user)
        #expect(try await store.removeContact(jid("bob@fabrikam.example"), of: user))
        #expect(try await store.removeContact(jid("bob@fabrikam.example"), of: user) == false)
        try store.close()

        let loaded = try await database.open().user(user)
        #expect(loaded?.presence == away)
        #expect(loaded?.contacts == ["carol@jabber.example": carol])
    }

    @Test("removing a user removes their contacts, tokens and held requests")
    func removeUser() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try database.open()
        try await store.saveUser(Self.alice)
        let token = try await store.issueToken(for: .user(jid("alice@contoso.example")), at: time(0))
        #expect(try await store.removeUser(jid("alice@contoso.example")))
        #expect(try await store.removeUser(jid("alice@contoso.example")) == false)
        #expect(try await store.owner(ofToken: token) == nil)
        try await store.saveUser(InternalUser(jid: "alice@contoso.example"))
        #expect(try await store.user(jid("alice@contoso.example"))?.contacts.isEmpty == true)
    }

    @Test("only a hash of the token is stored, and a lookup finds its owner")
    func tokens() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try database.open()
        let alice = jid("alice@contoso.example")
        try await store.saveUser(Self.alice)
        let token = try await store.issueToken(for: .user(alice), at: time(0))
        let second = try await store.issueToken(for: .user(alice), at: time(1))
        let admin = try await store.issueToken(for: .admin, at: time(2))
        #expect(Set([token, second, admin]).count == 3)

        let secret = try #require(token.split(separator: ".").last.map(String.init))
        #expect(secret.count == 64)
        let onDisk = try database.bytesOnDisk()
        #expect(!onDisk.isEmpty)
        #expect(!onDisk.contains(secret), "the secret part never reaches the file")
        #expect(!onDisk.contains(token))

        #expect(try await store.owner(ofToken: token) == .user(alice))
        #expect(try await store.owner(ofToken: second) == .user(alice))
        #expect(try await store.owner(ofToken: admin) == .admin)
        #expect(try await store.hasAdminToken())

        // One wrong character, a truncated token, junk: nobody.
        let last = token.last == "0" ? "1" : "0"
        #expect(try await store.owner(ofToken: String(token.dropLast()) + last) == nil)
        #expect(try await store.owner(ofToken: String(token.dropLast())) == nil)
        #expect(try await store.owner(ofToken: "") == nil)
        #expect(try await store.owner(ofToken: "Bearer " + token) == nil)

        #expect(try await store.revokeTokens(of: .user(alice)) == 2)
        #expect(try await store.owner(ofToken: token) == nil)
        #expect(try await store.owner(ofToken: admin) == .admin)
        try store.close()
        #expect(try await database.open().owner(ofToken: admin) == .admin, "tokens survive reopening")
    }

    @Test("a token for a user who does not exist is refused")
    func tokenForUnknownUser() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try database.open()
        await #expect(throws: StorageError.unknownUser("ghost@contoso.example")) {
            try await store.issueToken(for: .user(jid("ghost@contoso.example")), at: time(0))
        }
    }

    @Test(
        "malformed, full or unnormalised JIDs are refused with a clear error and nothing is written",
        arguments: [
            InternalUser(jid: "not a jid@@contoso.example"),
            InternalUser(jid: "alice@contoso.example/desk"),
            InternalUser(jid: "Alice@Contoso.example"),
            InternalUser(jid: ""),
            InternalUser(
                jid: "alice@contoso.example",
                contacts: ["bob@@fabrikam": Contact(jid: "bob@@fabrikam")]
            ),
            InternalUser(
                jid: "alice@contoso.example",
                contacts: ["bob@fabrikam.example": Contact(jid: "carol@fabrikam.example")]
            ),
            InternalUser(jid: "alice@contoso.example", presence: RichPresence(availability: .away, activity: .custom("Gone fishing"))),
        ]
    )
    func badUsersRefused(user: InternalUser) async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try database.open()
        await #expect(throws: StorageError.self) { try await store.saveUser(user) }
        #expect(try await store.loadDirectory() == PresenceDirectory())
    }

    @Test("the error names the field, the value and the reason")
    func errorMessage() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try database.open()
        let error = await #expect(throws: StorageError.self) {
            try await store.saveUser(InternalUser(jid: "Alice@contoso.example"))
        }
        #expect(error?.description == "user 'Alice@contoso.example' is not a valid JID: not in normalised form; use 'alice@contoso.example'")
    }

    @Test("a bad contact leaves the existing contact list as it was")
    func badContactRefused() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try database.open()
        let alice = jid("alice@contoso.example")
        try await store.saveUser(Self.alice)
        await #expect(throws: StorageError.self) {
            try await store.saveContact(Contact(jid: "bob@fabrikam.example/phone"), of: alice)
        }
        await #expect(throws: StorageError.unknownUser("ghost@contoso.example")) {
            try await store.saveContact(Contact(jid: "bob@fabrikam.example"), of: jid("ghost@contoso.example"))
        }
        await #expect(throws: StorageError.self) {
            try await store.savePresence(RichPresence(availability: .away, activity: .custom("")), of: alice)
        }
        #expect(try await store.user(alice) == Self.alice)
        #expect(try await store.loadDirectory().users.count == 1)
    }
}
