import Foundation
import GRDB
import PresenceModel
import Storage
import Testing
import XMPP

/// `apply(_:)`: a batch of changes is one transaction, stored whole or not at all; and a write
/// that finds the file locked by another process waits for it up to the busy timeout.
@Suite("Store batches and a busy file")
struct BatchWriteTests {
    static let alice = jid("alice@contoso.example")
    static let bob = jid("bob@fabrikam.example")

    static func store(_ database: TemporaryDatabase, busyTimeout: Duration = .seconds(5)) async throws -> SQLiteStore {
        let store = try database.open(busyTimeout: busyTimeout)
        try await store.saveUser(InternalUser(jid: alice.description))
        return store
    }

    @Test("every change of a batch is stored, with each one's result; a dequeue may name an enqueue of the same batch")
    func wholeBatch() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await Self.store(database)
        let results = try await store.apply([
            .enqueue(chat("one", from: "alice@contoso.example", to: "bob@fabrikam.example"), from: Self.alice, to: Self.bob, at: time(1)),
            .enqueue(chat("two", from: "alice@contoso.example", to: "bob@fabrikam.example"), from: Self.alice, to: Self.bob, at: time(2)),
            .dequeue(.enqueued(atIndex: 0)),
            .appendOfflineMessage(chat("hi", from: "bob@fabrikam.example", to: "alice@contoso.example"), for: Self.alice, from: Self.bob, at: time(3)),
            .savePresence(RichPresence(availability: .busy), of: Self.alice),
        ])
        #expect(results.count == 5)
        #expect(results[2] == 1, "the first enqueue was dequeued")
        let pending = try await store.pending(for: "fabrikam.example")
        #expect(pending.map(\.sequence) == [results[1]])
        #expect(try await store.offlineMessages(for: Self.alice).map(\.sequence) == [results[3]])
        #expect(try await store.user(Self.alice)?.presence.availability == .busy)
    }

    @Test("when one change of a batch fails, none is stored")
    func allOrNothing() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let store = try await Self.store(database)
        let ghost = jid("ghost@contoso.example")
        await #expect(throws: StorageError.unknownUser(ghost.description)) {
            try await store.apply([
                .enqueue(chat("one", from: "alice@contoso.example", to: "bob@fabrikam.example"), from: Self.alice, to: Self.bob, at: time(1)),
                .appendOfflineMessage(chat("lost", from: "bob@fabrikam.example", to: "ghost@contoso.example"), for: ghost, from: Self.bob, at: time(2)),
            ])
        }
        #expect(try await store.pending(for: "fabrikam.example").isEmpty, "the enqueue before the failure was rolled back")
    }

    @Test("a write waits while another process holds the file, up to the busy timeout; with none it fails at once")
    func busyFile() async throws {
        let database = try TemporaryDatabase()
        defer { database.remove() }
        let patient = try await Self.store(database, busyTimeout: .seconds(30))
        let impatient = try database.open(busyTimeout: .zero)
        // Another process's write transaction, as `consulate users` would hold it.
        let other = try DatabaseQueue(path: database.path)
        let locked = AsyncStream.makeStream(of: Void.self)
        let release = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await other.write { db in
                try db.execute(
                    sql: "INSERT INTO held_request (user_jid, contact_jid) VALUES (?, 'carol@fabrikam.example')", arguments: [Self.alice.description]
                )
                locked.continuation.yield()
                // Held until the test says so: the transaction is open on this connection.
                let semaphore = DispatchSemaphore(value: 0)
                Task {
                    for await _ in release.stream { break }
                    semaphore.signal()
                }
                semaphore.wait()
            }
        }
        for await _ in locked.stream { break }

        await #expect(throws: StorageError.self, "no busy timeout: the lock is an error at once") {
            try await impatient.savePresence(RichPresence(availability: .away), of: Self.alice)
        }
        let waiting = Task { try await patient.savePresence(RichPresence(availability: .busy), of: Self.alice) }
        release.continuation.yield()
        try await holder.value
        try await waiting.value
        #expect(try await patient.user(Self.alice)?.presence.availability == .busy)
        let held = try await other.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM held_request") }
        #expect(held == 1, "both writes are in, one after the other")
    }
}
