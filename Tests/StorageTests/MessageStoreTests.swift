import Federation
import Foundation
import PresenceModel
import Storage
import Testing
import XMLStreaming
import XMPP

@Suite("Store: outbound queue, offline messages, history, archive, allowlist")
struct MessageStoreTests {
    static let alice = jid("alice@contoso.example")
    static let bob = jid("bob@fabrikam.example")
    static let carol = jid("carol@jabber.example")

    func storeWithAlice(_ database: TemporaryDatabase, archivePolicy: ArchivePolicy = .everyone) async throws -> SQLiteStore {
        let store = try database.open(archivePolicy: archivePolicy)
        try await store.saveUser(InternalUser(jid: Self.alice.description))
        return store
    }

    // MARK: - Outbound queue

    @Test("queued stanzas come back per domain in order; delivered and bounced ones are gone, the rest survive reopening")
    func queue() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        var sequences: [Int64] = []
        do {
            let store = try database.open()
            for index in 1...5 {
                let to = index == 3 ? Self.carol : Self.bob
                let stanza = chat("message \(index)", from: "alice@contoso.example/desk", to: to.description, id: "m\(index)")
                sequences.append(try await store.enqueue(stanza, from: jid("alice@contoso.example/desk"), to: to, at: time(Int64(index))))
            }
            #expect(sequences == sequences.sorted() && Set(sequences).count == 5)
            #expect(try await store.markDelivered(sequences[0]))
            #expect(try await store.markBounced(sequences[3]))
            #expect(try await store.markDelivered(sequences[0]) == false, "a second acknowledgement changes nothing")
            try store.close()
        }
        let store = try database.open()
        #expect(try await store.pendingDomains() == ["fabrikam.example", "jabber.example"])
        let pending = try await store.pending(for: "fabrikam.example")
        #expect(pending.map(\.sequence) == [sequences[1], sequences[4]])
        #expect(pending.map { $0.stanza.attribute("id") } == ["m2", "m5"])
        #expect(pending.first?.stanza == chat("message 2", from: "alice@contoso.example/desk", to: "bob@fabrikam.example", id: "m2"))
        #expect(pending.first?.from == jid("alice@contoso.example/desk"))
        #expect(pending.first?.to == Self.bob)
        #expect(pending.first?.acceptedAt == time(2))
        #expect(try await store.pending(for: "jabber.example").map(\.sequence) == [sequences[2]])
        #expect(try await store.pending(for: "nowhere.example").isEmpty)

        // Sequences are never reused, even once the newest row is gone.
        #expect(try await store.markDelivered(sequences[4]))
        let next = try await store.enqueue(chat("six", from: "alice@contoso.example", to: "bob@fabrikam.example"), from: Self.alice, to: Self.bob, at: time(6))
        #expect(next > sequences[4])
    }

    @Test("a stanza with characters XML must escape comes back equal")
    func queueEscaping() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try database.open()
        var stanza = chat("<b>&amp; \"quotes\" 'and' ünïcödé\r\n", from: "alice@contoso.example", to: "bob@fabrikam.example")
        var extra = XMLElement("active", namespace: "http://jabber.org/protocol/chatstates")
        extra.setAttribute("note", to: "tab\there")
        stanza.append(extra)
        _ = try await store.enqueue(stanza, from: Self.alice, to: Self.bob, at: time(0))
        #expect(try await store.pending(for: "fabrikam.example").first?.stanza == stanza)
    }

    // MARK: - Offline messages

    @Test("offline messages come back in arrival order and go once delivered")
    func offline() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await storeWithAlice(database)
        var sequences: [Int64] = []
        for index in 1...3 {
            let stanza = chat("offline \(index)", from: "bob@fabrikam.example/phone", to: "alice@contoso.example")
            sequences.append(try await store.appendOfflineMessage(stanza, for: Self.alice, from: jid("bob@fabrikam.example/phone"), at: time(Int64(index))))
        }
        try store.close()

        let reopened = try database.open()
        let messages = try await reopened.offlineMessages(for: Self.alice)
        #expect(messages.map(\.sequence) == sequences)
        #expect(messages.map { $0.stanza.firstElement(named: "body", namespace: "jabber:server")?.text } == ["offline 1", "offline 2", "offline 3"])
        #expect(messages.map(\.receivedAt) == [time(1), time(2), time(3)])
        #expect(messages.first?.from == jid("bob@fabrikam.example/phone"))

        #expect(try await reopened.deleteOfflineMessages(for: Self.alice, through: sequences[1]) == 2)
        #expect(try await reopened.offlineMessages(for: Self.alice).map(\.sequence) == [sequences[2]])
        #expect(try await reopened.offlineMessages(for: Self.bob).isEmpty)
    }

    @Test("offline messages for someone who is not an internal user are refused")
    func offlineForUnknownUser() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await storeWithAlice(database)
        await #expect(throws: StorageError.unknownUser("ghost@contoso.example")) {
            try await store.appendOfflineMessage(chat("hi", from: "bob@fabrikam.example", to: "ghost@contoso.example"), for: jid("ghost@contoso.example"), from: Self.bob, at: time(0))
        }
        await #expect(throws: StorageError.self) {
            try await store.appendOfflineMessage(chat("hi", from: "bob@fabrikam.example", to: "alice@contoso.example"), for: jid("alice@contoso.example/desk"), from: Self.bob, at: time(0))
        }
        #expect(try await store.offlineMessages(for: Self.alice).isEmpty)
    }

    // MARK: - History

    func recordConversation(_ store: SQLiteStore) async throws {
        let messages: [(JID, MessageDirection, String, Int64)] = [
            (Self.bob, .outbound, "Shall we meet on Tuesday?", 10),
            (Self.bob, .inbound, "Tuesday works, meeting room 4", 20),
            (Self.carol, .inbound, "Lunch tomorrow?", 30),
            (Self.bob, .outbound, "Great, see you then", 40),
            (Self.carol, .outbound, "Sure, let's meet at noon", 50),
        ]
        for (contact, direction, body, seconds) in messages {
            try await store.recordMessage(
                MessageRecord(user: Self.alice, contact: contact, direction: direction, body: body, messageID: "id\(seconds)", at: time(seconds))
            )
        }
    }

    @Test("history by contact, by time range, by text, and with a limit, oldest first")
    func history() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await storeWithAlice(database)
        try await recordConversation(store)
        try store.close()
        let reopened = try database.open()

        let all = try await reopened.history(HistoryQuery(user: Self.alice))
        #expect(all.map(\.at) == [time(10), time(20), time(30), time(40), time(50)])
        #expect(all.first?.direction == .outbound && all[1].direction == .inbound)
        #expect(all.first?.messageID == "id10")

        let withBob = try await reopened.history(HistoryQuery(user: Self.alice, contact: Self.bob))
        #expect(withBob.map(\.body) == ["Shall we meet on Tuesday?", "Tuesday works, meeting room 4", "Great, see you then"])

        let range = try await reopened.history(HistoryQuery(user: Self.alice, since: time(20), until: time(40)))
        #expect(range.map(\.at) == [time(20), time(30)], "since is inclusive, until exclusive")

        let meet = try await reopened.history(HistoryQuery(user: Self.alice, text: "meet"))
        #expect(meet.map(\.at) == [time(10), time(20), time(50)], "word prefixes, any case: meet, meeting")
        let meetBob = try await reopened.history(HistoryQuery(user: Self.alice, contact: Self.bob, text: "TUESDAY meet"))
        #expect(meetBob.map(\.at) == [time(10), time(20)])
        #expect(try await reopened.history(HistoryQuery(user: Self.alice, text: "dinner")).isEmpty)
        #expect(try await reopened.history(HistoryQuery(user: Self.alice, text: "\"unbalanced OR NEAR(")).isEmpty)

        let latest = try await reopened.history(HistoryQuery(user: Self.alice, limit: 2))
        #expect(latest.map(\.at) == [time(40), time(50)])
        #expect(try await reopened.history(HistoryQuery(user: Self.bob)).isEmpty, "only the user's own history")
    }

    @Test("history for a full JID or an unknown user is refused and nothing is written")
    func badHistory() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await storeWithAlice(database)
        await #expect(throws: StorageError.self) {
            try await store.recordMessage(MessageRecord(user: Self.alice, contact: jid("bob@fabrikam.example/phone"), direction: .inbound, body: "x", at: time(0)))
        }
        await #expect(throws: StorageError.unknownUser("ghost@contoso.example")) {
            try await store.recordMessage(MessageRecord(user: jid("ghost@contoso.example"), contact: Self.bob, direction: .inbound, body: "x", at: time(0)))
        }
        #expect(try await store.history(HistoryQuery(user: Self.alice)).isEmpty)
        let export = database.directory.appendingPathComponent("export.jsonl")
        #expect(FileManager.default.createFile(atPath: export.path, contents: nil))
        let handle = try FileHandle(forWritingTo: export)
        #expect(try await store.exportArchive(to: handle, since: nil, until: nil) == 0, "nor archived")
        try handle.close()
    }

    // MARK: - Compliance archive

    func exportedLines(_ store: SQLiteStore, _ database: TemporaryDatabase, since: Timestamp? = nil, until: Timestamp? = nil) async throws -> [[String: String]] {
        let url = database.directory.appendingPathComponent("export-\(UUID().uuidString).jsonl")
        #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        let count = try await store.exportArchive(to: handle, since: since, until: until)
        try handle.close()
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.isEmpty || text.hasSuffix("\n"))
        let lines = text.split(separator: "\n")
        #expect(lines.count == count)
        return try lines.map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            return object.mapValues { "\($0)" }
        }
    }

    @Test("the archive exports as JSON Lines, one message per line with every field, oldest first")
    func archiveExport() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await storeWithAlice(database)
        try await recordConversation(store)
        let lines = try await exportedLines(store, database)
        #expect(lines.count == 5)
        #expect(
            lines.first == [
                "id": "1", "at": time(10).xmppDateTime, "user": "alice@contoso.example", "contact": "bob@fabrikam.example",
                "direction": "out", "body": "Shall we meet on Tuesday?", "message_id": "id10",
            ]
        )
        #expect(lines.map { $0["at"] } == [10, 20, 30, 40, 50].map { time($0).xmppDateTime })
        let window = try await exportedLines(store, database, since: time(20), until: time(40))
        #expect(window.map { $0["body"] } == ["Tuesday works, meeting room 4", "Lunch tomorrow?"])
    }

    @Test("the retention purge deletes only older archived messages, and leaves history alone")
    func archivePurge() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await storeWithAlice(database)
        try await recordConversation(store)
        #expect(try await store.purgeArchive(before: time(30)) == 2)
        #expect(try await store.purgeArchive(before: time(30)) == 0)
        try store.close()
        let reopened = try database.open()
        #expect(try await exportedLines(reopened, database).map { $0["at"] } == [30, 40, 50].map { time($0).xmppDateTime })
        #expect(try await reopened.history(HistoryQuery(user: Self.alice)).count == 5)
    }

    @Test("only listed users are archived; the archive outlives a removed user")
    func archivePolicy() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await storeWithAlice(database, archivePolicy: .only([Self.alice]))
        try await store.saveUser(InternalUser(jid: "dave@contoso.example"))
        try await store.recordMessage(MessageRecord(user: Self.alice, contact: Self.bob, direction: .inbound, body: "archived", at: time(1)))
        try await store.recordMessage(MessageRecord(user: jid("dave@contoso.example"), contact: Self.bob, direction: .inbound, body: "not archived", at: time(2)))
        try await store.removeUser(Self.alice)
        #expect(try await exportedLines(store, database).map { $0["body"] } == ["archived"])
        #expect(try await store.history(HistoryQuery(user: Self.alice)).isEmpty, "history goes with the user")
        #expect(try await store.history(HistoryQuery(user: jid("dave@contoso.example"))).map(\.body) == ["not archived"])
    }

    // MARK: - Allowlist

    @Test("allowlist changes keep every partner setting, the latest change per pattern wins, and they survive reopening")
    func allowlist() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let fabrikam = PartnerPolicy(
            domain: try DomainPattern("fabrikam.example"),
            additionalDomains: [try DomainPattern("*.fabrikam.example"), try DomainPattern("fabrikam.test")],
            trust: .federated,
            negotiation: NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true),
            route: ServerEndpoint(host: try EndpointHost("[2001:db8::1]"), port: 5270, directTLS: false),
            keepAlive: false,
            connectionLimit: 4,
            description: "Call Dana at Fabrikam"
        )
        let plain = PartnerPolicy(domain: try DomainPattern("northwind.example"))
        do {
            let store = try database.open()
            try await store.recordAllowlistChange(.allow(plain), at: time(1))
            try await store.recordAllowlistChange(.allow(fabrikam), at: time(2))
            try await store.recordAllowlistChange(.block(try DomainPattern("spam.example")), at: time(3))
            try await store.recordAllowlistChange(.allow(PartnerPolicy(domain: try DomainPattern("old.example"))), at: time(4))
            try await store.recordAllowlistChange(.remove(try DomainPattern("old.example")), at: time(5))
            try store.close()
        }
        let changes = try await database.open().allowlistChanges()
        #expect(
            changes == [
                StoredAllowlistChange(change: .allow(fabrikam), changedAt: time(2)),
                StoredAllowlistChange(change: .allow(plain), changedAt: time(1)),
                StoredAllowlistChange(change: .remove(try DomainPattern("old.example")), changedAt: time(5)),
                StoredAllowlistChange(change: .block(try DomainPattern("spam.example")), changedAt: time(3)),
            ]
        )
    }

    @Test("a partner the policy refuses is not recorded")
    func badPartner() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try database.open()
        let unusable = PartnerPolicy(
            domain: try DomainPattern("broken.example"),
            negotiation: NegotiationPolicy(tls: .notSupported, sasl: .notSupported, supportDialback: false)
        )
        await #expect(throws: StorageError.self) { try await store.recordAllowlistChange(.allow(unusable), at: time(0)) }
        var zeroLimit = PartnerPolicy(domain: try DomainPattern("zero.example"))
        zeroLimit.connectionLimit = 0
        await #expect(throws: StorageError.self) { try await store.recordAllowlistChange(.allow(zeroLimit), at: time(0)) }
        #expect(try await store.allowlistChanges().isEmpty)
    }
}
