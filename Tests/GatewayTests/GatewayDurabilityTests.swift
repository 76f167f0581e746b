import ConsulateTestSupport
import Federation
import FederationLinks
import Foundation
import Gateway
import MetricsTestKit
import PresenceModel
import Storage
import Testing
import Translation
import XMPP

/// The gateway with a real SQLite store between two gateways on loopback: what alice sends is
/// stored before `apply` returns and leaves the store only once written; a restart from the same
/// file sends what the previous run could not; messages for bob wait in the store until his event
/// stream opens; both directions are recorded in history.
@Suite("Gateway durability with a store")
struct GatewayDurabilityTests {
    static let alice = GatewayFederationTests.alice
    static let bob = GatewayFederationTests.bob

    /// A store in a fresh temporary directory holding `user` with `contact` as a colleague, removed
    /// after `body`.
    static func withStore(
        for user: JID, contact: JID, _ body: (_ path: String) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-durability-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("consulate.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.saveUser(
            InternalUser(
                jid: user.description,
                contacts: [contact.description: Contact(jid: contact.description, accessLevel: .colleagues, subscription: SubscriptionState(.both))]
            )
        )
        try await body(path)
    }

    static func chat(_ id: String, _ text: String) -> Message {
        Message(type: .chat, id: id, bodies: [LocalizedText(text)])
    }

    static func bodies(_ events: EventSubscription, count: Int) async throws -> [String] {
        var bodies: [String] = []
        while bodies.count < count {
            if case .message(_, let message) = try await nextEvent(events, waitingFor: "message \(bodies.count + 1)"), let body = message.bodies.first?.text { bodies.append(body) }
        }
        return bodies
    }

    @Test("messages accepted while fabrikam is down are stored, survive a restart, and arrive once, in order")
    func queueSurvivesRestart() async throws {
        let pki = try TestPKI()
        // The first run's route is a closed port, so it cannot reach fabrikam; the second run's is
        // fabrikam's real one. The queue is the domain's, whatever the route.
        let unreachable = ServerEndpoint(host: try EndpointHost("127.0.0.1"), port: 1, directTLS: false)

        try await Self.withStore(for: Self.alice, contact: Self.bob) { path in
            let store = try SQLiteStore(path: path)
            let recorded = TestMetrics()
            let first = try GatewayFederationTests.gateway(
                domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki, route: unreachable,
                metrics: FederationMetrics(factory: recorded), store: store
            )
            _ = try await first.start()
            for index in 1...3 {
                try await first.apply(.sendMessage(user: Self.alice, to: Self.bob, Self.chat("m\(index)", "message \(index)")))
            }
            // Acknowledged means stored: the three are in the queue before any shutdown.
            #expect(try await store.pending(for: "fabrikam.example").map(\.stanza["id"]) == ["m1", "m2", "m3"])
            #expect(try recorded.expectMeter("consulate_stored_outbound_messages").lastValue == 3)
            _ = await first.shutdown()

            let fabrikam = try GatewayFederationTests.gateway(
                domain: "fabrikam.example", user: Self.bob, contact: Self.alice, pki: pki, route: nil
            )
            let port = try await fabrikam.start().startTLS
            let route = ServerEndpoint(host: try EndpointHost("127.0.0.1"), port: UInt16(port), directTLS: false)
            let bobsEvents = await fabrikam.events(for: Self.bob)
            let second = try GatewayFederationTests.gateway(
                domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki, route: route, store: store
            )
            _ = try await second.start()
            try await second.apply(.sendMessage(user: Self.alice, to: Self.bob, Self.chat("m4", "message 4")))
            #expect(try await Self.bodies(bobsEvents, count: 4) == ["message 1", "message 2", "message 3", "message 4"])
            _ = await second.shutdown()
            #expect(try await store.pending(for: "fabrikam.example").isEmpty, "written messages leave the queue")
            _ = await fabrikam.shutdown()

            let history = try await store.history(HistoryQuery(user: Self.alice))
            #expect(history.map(\.body) == ["message 1", "message 2", "message 3", "message 4"])
            #expect(history.allSatisfy { $0.direction == .outbound && $0.contact == Self.bob })
        }
    }

    @Test("a message to a domain that may not federate is bounced and leaves the queue")
    func bounceLeavesQueue() async throws {
        let pki = try TestPKI()
        try await Self.withStore(for: Self.alice, contact: Self.bob) { path in
            let store = try SQLiteStore(path: path)
            // Stored by a run that still allowed nowhere.example; this run's policy refuses it.
            _ = try await store.enqueue(
                Self.chat("old", "left from before").element(from: try JID("alice@contoso.example/consulate"), to: try JID("carol@nowhere.example")),
                from: Self.alice, to: try JID("carol@nowhere.example"), at: Timestamp(secondsSinceEpoch: 1_700_000_000)
            )
            let contoso = try GatewayFederationTests.gateway(
                domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki, route: nil, store: store
            )
            _ = try await contoso.start()
            _ = await contoso.shutdown()
            #expect(try await store.pendingDomains().isEmpty)
        }
    }

    @Test("messages for bob with no event stream wait in the store and come first, in order, when one opens")
    func offlineDelivery() async throws {
        let pki = try TestPKI()
        try await Self.withStore(for: Self.bob, contact: Self.alice) { path in
            let store = try SQLiteStore(path: path)
            let fabrikam = try GatewayFederationTests.gateway(
                domain: "fabrikam.example", user: Self.bob, contact: Self.alice, pki: pki, route: nil, store: store
            )
            let port = try await fabrikam.start().startTLS
            let contoso = try GatewayFederationTests.gateway(
                domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki,
                route: ServerEndpoint(host: try EndpointHost("127.0.0.1"), port: UInt16(port), directTLS: false)
            )
            _ = try await contoso.start()
            contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Self.chat("o1", "while you were out")))
            contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Self.chat("o2", "and again")))
            try await eventually("two offline messages") { try await store.offlineMessages(for: Self.bob).count == 2 }

            let bobsEvents = await fabrikam.events(for: Self.bob)
            contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Self.chat("o3", "welcome back")))
            #expect(try await Self.bodies(bobsEvents, count: 3) == ["while you were out", "and again", "welcome back"])
            // The consumer comes back for more: so the last one was written.
            let reading = Task { try? await nextEvent(bobsEvents, within: 30) }
            try await eventually("written messages leave the store") { try await store.offlineMessages(for: Self.bob).isEmpty }
            reading.cancel()
            _ = await contoso.shutdown()
            _ = await fabrikam.shutdown()
            let history = try await store.history(HistoryQuery(user: Self.bob))
            #expect(history.map(\.body) == ["while you were out", "and again", "welcome back"])
            #expect(history.allSatisfy { $0.direction == .inbound && $0.contact == Self.alice })
        }
    }
}
