import Federation
import GatewayCore
import PresenceModel
import Testing
import Translation
import XMLStreaming
import XMPP

/// What the core does with the store writer's reports: messages go out once stored, what could not
/// be stored is answered to whoever sent it, and the backlog is counted.
@Suite("GatewayCore: store reports")
struct StoreReportTests {
    typealias H = CoreHarness

    static func enqueued(_ actions: [GatewayCore.Action]) -> StoreJob? {
        actions.storeJobs.first { if case .enqueue = $0 { true } else { false } }
    }

    @Test("a message goes to its link only once the store reports it kept, with its history record in the same job")
    func sentOnceStored() throws {
        var harness = H(keepsMessages: true)
        let accepted = harness.handle(.action(H.chat("m1", "hello")))
        guard case .enqueue(let ticket, _, let record, _)? = Self.enqueued(accepted) else {
            Issue.record("no enqueue in \(accepted)")
            return
        }
        #expect(record?.body == "hello" && record?.direction == .outbound)
        #expect(accepted.storeJobs.count == 1, "the history record travels with the message")
        #expect(H.linkAttempt(in: accepted) == nil)
        #expect(harness.core.storeBacklog == 1)

        let stored = harness.handle(.storeReported(StoreReport(completed: 1, stored: [ticket])))
        #expect(H.linkAttempt(in: stored) != nil)
        #expect(harness.core.storeBacklog == 0)
        #expect(harness.handle(.storeReported(StoreReport(completed: 0, stored: [ticket]))).isEmpty, "reported once, sent once")
    }

    @Test("a message the store could not keep is never sent and comes back to its sender as resource-constraint")
    func enqueueFailed() throws {
        var harness = H(keepsMessages: true)
        _ = harness.handle(.subscriberOpened(SubscriberID(1), user: H.alice))
        _ = harness.handle(.offlineMessagesRead(SubscriberID(1), []))
        let accepted = harness.handle(.action(H.chat("m1", "hello")))
        let job = try #require(Self.enqueued(accepted))
        #expect(harness.core.storedMessages == 1)

        let failed = harness.handle(.storeReported(StoreReport(completed: 1, failures: [StoreFailure(job, reason: "database or disk is full")])))
        #expect(H.linkAttempt(in: failed) == nil)
        guard case .deliveryFailed(let to, "m1", let error)? = failed.notified.first?.1 else {
            Issue.record("expected a delivery failure, got \(failed)")
            return
        }
        #expect(to == H.bob && error.condition == .resourceConstraint && error.type == .wait)
        #expect(failed.contains(.metric(.storeFailed("enqueue"))))
        #expect(failed.contains { if case .log(let record) = $0 { record.level == .error && record.metadata["error"] == "database or disk is full" } else { false } })
        #expect(harness.core.storedMessages == 0)
        #expect(H.linkAttempt(in: harness.handle(.storeReported(StoreReport(completed: 0, stored: [Ticket(1)])))) == nil, "a late report sends nothing")
    }

    @Test("a partner's message for an offline user that the store could not keep is bounced to the partner")
    func offlineMessageFailed() throws {
        var harness = H(keepsMessages: true)
        let stream = harness.inboundStream(1)
        let received = harness.handle(.stanzaReceived(H.messageFromBob("b1", "are you there?"), on: stream))
        let kept = try #require(received.storeJobs.first { if case .keepOffline = $0 { true } else { false } })

        let failed = harness.handle(.storeReported(StoreReport(completed: received.storeJobs.count, failures: [StoreFailure(kept, reason: "disk I/O error")])))
        #expect(failed.contains(.metric(.storeFailed("offline"))))
        #expect(failed.contains(.metric(.bounced(.resourceConstraint))))
        let (_, established) = harness.establish(failed)
        let reply = try #require(established.compactMap { action -> XMLElement? in
            if case .send(let stanza, _) = action { return stanza.element }
            return nil
        }.first)
        #expect(reply["type"] == "error" && reply["id"] == "b1")
        #expect(reply["to"] == "bob@fabrikam.example/laptop" && reply["from"] == "alice@contoso.example")
        #expect(StanzaError(stanza: reply)?.condition == .resourceConstraint)
    }

    @Test("the backlog counts every job handed to the writer until it is reported")
    func backlog() {
        var harness = H(keepsMessages: true)
        let stream = harness.inboundStream(1)
        var handed = 0
        for index in 1...3 {
            handed += harness.handle(.stanzaReceived(H.messageFromBob("b\(index)", "one of three"), on: stream)).storeJobs.count
        }
        #expect(handed >= 3 && harness.core.storeBacklog == handed)
        _ = harness.handle(.storeReported(StoreReport(completed: handed - 1)))
        #expect(harness.core.storeBacklog == 1)
    }
}

/// Inbound connections read at the store's pace: a read that delivered stanzas is answered with
/// `.readMore` unless the store is behind, and held ones read again once it has caught up.
@Suite("GatewayCore: inbound reads paced by the store")
struct ReadPacingTests {
    typealias H = CoreHarness

    static func harness(limit: Int) -> H {
        var harness = H(keepsMessages: true)
        harness.core = GatewayCore(
            configuration: GatewayCore.Configuration(
                translation: harness.core.configuration.translation, policy: harness.core.configuration.policy,
                keepsMessages: true, randomSeed: 7, storeBacklogLimit: limit
            ),
            directory: harness.core.translator.directory
        )
        return harness
    }

    @Test("a connection reads again at once while the store keeps up")
    func keepingUp() {
        var harness = Self.harness(limit: 10)
        let stream = harness.inboundStream(1)
        _ = harness.handle(.stanzaReceived(H.messageFromBob("b1", "hi"), on: stream))
        #expect(harness.handle(.inboundReadHandled(stream)).contains(.readMore(stream)))
    }

    @Test("over the write-queue limit reads are held, and all resume once half the backlog is written")
    func heldUntilHalf() {
        var harness = Self.harness(limit: 4)
        let (one, two) = (harness.inboundStream(1), harness.inboundStream(2))
        var handed = 0
        for index in 1...4 {
            handed += harness.handle(.stanzaReceived(H.messageFromBob("b\(index)", "flood"), on: one)).storeJobs.count
        }
        #expect(harness.core.storeBacklog == handed && handed >= 4)
        let held = harness.handle(.inboundReadHandled(one))
        #expect(!held.contains(.readMore(one)))
        #expect(held.contains(.metric(.inboundReadsHeld(1))))
        #expect(!harness.handle(.inboundReadHandled(two)).contains(.readMore(two)), "every connection waits, not only the flooding one")

        let partly = harness.handle(.storeReported(StoreReport(completed: handed - 3)))
        #expect(!partly.contains(.readMore(one)), "3 of 4 still waiting: more than half")
        let caughtUp = harness.handle(.storeReported(StoreReport(completed: 1)))
        #expect(caughtUp.contains(.readMore(one)) && caughtUp.contains(.readMore(two)))
        #expect(caughtUp.contains(.metric(.inboundReadsHeld(0))))
    }

    @Test("a held connection that closes is forgotten")
    func closedWhileHeld() {
        var harness = Self.harness(limit: 1)
        let stream = harness.inboundStream(1)
        let jobs = harness.handle(.stanzaReceived(H.messageFromBob("b1", "hi"), on: stream)).storeJobs.count
        _ = harness.handle(.inboundReadHandled(stream))
        _ = harness.handle(.inboundClosed(stream))
        #expect(!harness.handle(.storeReported(StoreReport(completed: jobs))).contains(.readMore(stream)))
    }
}
