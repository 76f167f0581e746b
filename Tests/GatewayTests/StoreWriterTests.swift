import Federation
import Foundation
import GRDB
@testable import Gateway
import GatewayCore
import Logging
import NIOConcurrencyHelpers
import PresenceModel
@testable import Storage
import Testing
import Translation
import XMPP

/// The store writer on a real SQLite file: group commit, failures kept to the jobs that failed, and
/// what it reports to the core and to those waiting for an acknowledgement.
@Suite("Store writer")
struct StoreWriterTests {
    static let alice = GatewayFederationTests.alice
    static let bob = GatewayFederationTests.bob
    static let ghost = try! JID("ghost@contoso.example")

    /// Counts the transactions committed on the store's own connection.
    final class CommitCounter: TransactionObserver, Sendable {
        private let count = NIOLockedValueBox(0)
        var commits: Int { count.withLockedValue { $0 } }
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { count.withLockedValue { $0 += 1 } }
        func databaseDidRollback(_ db: Database) {}
    }

    /// A writer on a fresh store holding alice, with what it reports and what each flush answered.
    struct Harness {
        let directory: URL
        let store: SQLiteStore
        let writer: StoreWriter
        let reports = NIOLockedValueBox<[StoreReport]>([])
        let acknowledged = NIOLockedValueBox<[Bool]>([])

        init() async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-writer-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            store = try SQLiteStore(path: directory.appendingPathComponent("consulate.sqlite").path)
            try await store.saveUser(InternalUser(jid: StoreWriterTests.alice.description))
            let reports = reports
            writer = StoreWriter(store: store, logger: Logger(label: "test"), reported: { report in reports.withLockedValue { $0.append(report) } }, offlineMessagesRead: { _, _ in })
        }

        func flush(_ acknowledgement: StoreWriter.Acknowledgement?) {
            let acknowledged = acknowledged
            writer.submit(.flushed({ stored in acknowledged.withLockedValue { $0.append(stored) } }, acknowledgement))
        }

        /// Runs the writer over what was submitted, to the end.
        func drain() async {
            writer.finish()
            await writer.run()
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }

        var report: StoreReport {
            reports.withLockedValue { reports in
                reports.reduce(into: StoreReport()) { total, report in
                    total.completed += report.completed
                    total.stored += report.stored
                    total.failures += report.failures
                }
            }
        }
    }

    static func offline(_ id: String, for user: JID) -> StoreJob {
        let message = Message(type: .chat, id: id, bodies: [LocalizedText("kept for later")])
        return .keepOffline(message.element(from: try! bob.withResource("laptop"), to: user), for: user, from: bob, at: Timestamp(secondsSinceEpoch: 1_790_000_000))
    }

    static func outgoing(_ id: String) -> OutgoingStanza {
        let element = Message(type: .chat, id: id, bodies: [LocalizedText("hello")]).element(from: try! alice.withResource("consulate"), to: bob)
        return OutgoingStanza(element, from: try! alice.withResource("consulate"), to: bob)
    }

    @Test("every job that is ready goes in one transaction: 200 offline messages, one commit")
    func groupCommit() async throws {
        let harness = try await Harness()
        defer { harness.remove() }
        let counter = CommitCounter()
        harness.store.pool.add(transactionObserver: counter, extent: .databaseLifetime)
        for index in 1...200 { harness.writer.submit(.core(Self.offline("m\(index)", for: Self.alice), nil)) }
        await harness.drain()
        #expect(counter.commits == 1)
        #expect(try await harness.store.offlineMessages(for: Self.alice).count == 200)
        #expect(harness.report.completed == 200 && harness.report.failures.isEmpty)
    }

    @Test("a batch the store refuses is tried job by job: only the failing job fails, and only its acknowledgement says so")
    func failureKeptToItsJob() async throws {
        let harness = try await Harness()
        defer { harness.remove() }
        let (first, second) = (StoreWriter.Acknowledgement(id: 1), StoreWriter.Acknowledgement(id: 2))
        harness.writer.submit(.core(Self.offline("kept", for: Self.alice), first))
        harness.writer.submit(.core(Self.offline("refused", for: Self.ghost), second))
        harness.writer.submit(.core(.enqueue(Ticket(1), Self.outgoing("sent"), record: nil, at: Timestamp(secondsSinceEpoch: 1_790_000_000)), first))
        harness.flush(first)
        harness.flush(second)
        harness.flush(nil)
        await harness.drain()

        #expect(try await harness.store.offlineMessages(for: Self.alice).map { $0.stanza["id"] } == ["kept"])
        #expect(try await harness.store.pending(for: "fabrikam.example").count == 1)
        let report = harness.report
        #expect(report.completed == 3 && report.stored == [Ticket(1)])
        #expect(report.failures.map(\.job) == [Self.offline("refused", for: Self.ghost)])
        #expect(report.failures.first?.reason.contains("ghost@contoso.example") == true)
        #expect(harness.acknowledged.withLockedValue { $0 } == [true, false, true])
    }

    @Test("a message is stored with its history record or not at all; its delivery in the same batch ends its stay")
    func enqueueWithRecord() async throws {
        let harness = try await Harness()
        defer { harness.remove() }
        let at = Timestamp(secondsSinceEpoch: 1_790_000_000)
        let record = MessageRecord(user: Self.alice, contact: Self.bob, direction: .outbound, body: "hello", messageID: "m1", at: at)
        harness.writer.submit(.core(.enqueue(Ticket(1), Self.outgoing("m1"), record: record, at: at), nil))
        harness.writer.submit(.core(.delivered(Ticket(1)), nil))
        let ghostRecord = MessageRecord(user: Self.ghost, contact: Self.bob, direction: .outbound, body: "hello", messageID: "m2", at: at)
        harness.writer.submit(.core(.enqueue(Ticket(2), Self.outgoing("m2"), record: ghostRecord, at: at), nil))
        await harness.drain()

        #expect(try await harness.store.pending(for: "fabrikam.example").isEmpty, "m1 delivered; m2 never stored, its record refused")
        #expect(try await harness.store.history(HistoryQuery(user: Self.alice)).map(\.messageID) == ["m1"])
        #expect(harness.report.stored == [Ticket(1)])
        #expect(harness.report.failures.map(\.job.kind) == ["enqueue"])
    }

    @Test("after finish a flush is answered as not stored")
    func afterFinish() async throws {
        let harness = try await Harness()
        defer { harness.remove() }
        await harness.drain()
        harness.flush(StoreWriter.Acknowledgement(id: 1))
        #expect(harness.acknowledged.withLockedValue { $0 } == [false])
    }
}
