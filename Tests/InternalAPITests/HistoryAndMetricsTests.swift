import CoreMetrics
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import InternalAPI
import PresenceModel
import Storage
import Testing
import XMPP

/// `GET /v1/me/history` over the real SQLite store (each filter, ordering, the limit, refusals) and
/// `GET /metrics` over a real `PrometheusExposition`.
@Suite("Internal API: history and metrics")
struct HistoryAndMetricsTests {
    struct Message: Decodable, Equatable {
        var id: Int64
        var contact: String
        var direction: String
        var body: String
        var message_id: String?
        var at: String
    }

    struct History: Decodable {
        var messages: [Message]
    }

    static let carol = try! JID("carol@contoso.example")

    /// alice's conversations with bob and erin, stored out of time order so that the order answered
    /// comes from the query.
    static let conversation: [MessageRecord] = {
        func record(_ contact: JID, _ direction: MessageDirection, _ body: String, _ id: String?, _ at: String) -> MessageRecord {
            MessageRecord(user: APIHarness.alice, contact: contact, direction: direction, body: body, messageID: id, at: Timestamp(xmppDateTime: at)!)
        }
        return [
            record(APIHarness.erin, .outbound, "Sure, lunch at noon", "e5", "2026-11-26T08:00:00Z"),
            record(APIHarness.bob, .outbound, "Meeting at ten?", "b1", "2026-11-25T09:00:00Z"),
            record(APIHarness.erin, .inbound, "Lunch tomorrow?", nil, "2026-11-25T10:00:00Z"),
            record(APIHarness.bob, .inbound, "Yes, see you in the meeting room", "b2", "2026-11-25T09:05:00Z"),
            record(APIHarness.bob, .outbound, "Running late", "b4", "2026-11-25T10:30:00.250Z"),
        ]
    }()

    /// Fills the harness's store with `conversation` and one message of carol's, which alice must
    /// never see; returns alice's history as the store itself reports it, for checking that
    /// refusals change nothing.
    static func record(in harness: APIHarness) async throws -> [MessageRecord] {
        for record in conversation { try await harness.store.recordMessage(record) }
        try await harness.store.saveUser(InternalUser(jid: carol.description))
        try await harness.store.recordMessage(
            MessageRecord(user: carol, contact: APIHarness.bob, direction: .inbound, body: "Meeting notes for carol", at: Timestamp(xmppDateTime: "2026-11-25T09:30:00Z")!)
        )
        let stored = try await harness.store.history(HistoryQuery(user: APIHarness.alice))
        #expect(stored.count == conversation.count)
        return stored
    }

    /// The bodies of `GET /v1/me/history` with `query`, in the order answered.
    static func bodies(
        _ client: some TestClientProtocol, _ harness: APIHarness, _ query: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [String] {
        let response = try await client.execute(uri: "/v1/me/history\(query)", method: .get, headers: harness.aliceAuthorization)
        #expect(response.status == .ok, "\(query): \(response.text)", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        return try response.json(History.self).messages.map(\.body)
    }

    /// Expects `GET /v1/me/history` with `query` to answer exactly `expected`, in that order.
    static func expect(
        _ client: some TestClientProtocol, _ harness: APIHarness, _ query: String, answers expected: [String], _ why: Comment? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let answered = try await bodies(client, harness, query, sourceLocation: sourceLocation)
        #expect(answered == expected, "\(query)\(why.map { ": \($0)" } ?? "")", sourceLocation: sourceLocation)
    }

    // MARK: - History

    @Test("history answers every field of alice's messages, oldest first, and none of another user's")
    func wholeHistory() async throws {
        try await APIHarness.with { harness in
            let stored = try await Self.record(in: harness)
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: "/v1/me/history", method: .get, headers: harness.aliceAuthorization)
                #expect(response.status == .ok, "\(response.text)")
                let messages = try response.json(History.self).messages
                #expect(messages.map(\.body) == [
                    "Meeting at ten?", "Yes, see you in the meeting room", "Lunch tomorrow?", "Running late", "Sure, lunch at noon",
                ])
                let late = try #require(stored.first { $0.body == "Running late" })
                #expect(messages.first { $0.body == "Running late" } == Message(
                    id: late.id, contact: "bob@fabrikam.example", direction: "out", body: "Running late", message_id: "b4",
                    at: "2026-11-25T10:30:00.250Z"
                ))
                let lunch = try #require(messages.first { $0.body == "Lunch tomorrow?" })
                #expect(lunch.direction == "in")
                #expect(lunch.contact == "erin@fabrikam.example")
                #expect(lunch.message_id == nil)
                #expect(!response.text.contains("carol"), "carol's history is not alice's")
            }
        }
    }

    @Test("history narrows by contact, time range, text and limit, alone and together")
    func filters() async throws {
        try await APIHarness.with { harness in
            _ = try await Self.record(in: harness)
            try await harness.application().test(.router) { client in
                let bob = ["Meeting at ten?", "Yes, see you in the meeting room", "Running late"]
                try await Self.expect(client, harness, "?contact=bob@fabrikam.example", answers: bob)
                try await Self.expect(client, harness, "?contact=BOB@fabrikam.example", answers: bob, "the JID is normalised")
                try await Self.expect(client, harness, "?contact=bob%40fabrikam.example", answers: bob, "percent-encoded")
                try await Self.expect(client, harness, "?contact=frank@fabrikam.example", answers: [])

                try await Self.expect(
                    client, harness, "?since=2026-11-25T09:05:00Z&until=2026-11-25T10:30:00.250Z",
                    answers: ["Yes, see you in the meeting room", "Lunch tomorrow?"], "since is inclusive, until exclusive"
                )
                try await Self.expect(
                    client, harness, "?since=2026-11-25T11:00:00+01:00", answers: ["Lunch tomorrow?", "Running late", "Sure, lunch at noon"],
                    "an offset is converted to UTC, and + is not a space"
                )
                try await Self.expect(client, harness, "?until=2026-11-25T09:05:00Z", answers: ["Meeting at ten?"])
                try await Self.expect(client, harness, "?since=2026-11-25T10:00:00Z&until=2026-11-25T10:00:00Z", answers: [])

                try await Self.expect(client, harness, "?q=meet", answers: ["Meeting at ten?", "Yes, see you in the meeting room"])
                try await Self.expect(client, harness, "?q=meet%20room", answers: ["Yes, see you in the meeting room"])
                try await Self.expect(client, harness, "?q=lunch&contact=erin@fabrikam.example", answers: ["Lunch tomorrow?", "Sure, lunch at noon"])
                try await Self.expect(client, harness, "?q=notes", answers: [], "carol's message stays hers")

                try await Self.expect(client, harness, "?limit=2", answers: ["Running late", "Sure, lunch at noon"], "the most recent, oldest first")
                try await Self.expect(client, harness, "?contact=bob@fabrikam.example&limit=1", answers: ["Running late"])
                let all = try await Self.bodies(client, harness, "?limit=1000")
                #expect(all.count == Self.conversation.count)
                try await Self.expect(
                    client, harness, "?contact=bob@fabrikam.example&since=2026-11-25T09:01:00Z&q=late&limit=5", answers: ["Running late"]
                )
            }
        }
    }

    @Test("without a limit, history answers the most recent 100")
    func defaultLimit() async throws {
        try await APIHarness.with { harness in
            for minute in 0..<101 {
                try await harness.store.recordMessage(
                    MessageRecord(
                        user: APIHarness.alice, contact: APIHarness.bob, direction: .inbound, body: "message \(minute)",
                        at: Timestamp(secondsSinceEpoch: 1_795_000_000 + Int64(minute) * 60)
                    )
                )
            }
            try await harness.application().test(.router) { client in
                let bodies = try await Self.bodies(client, harness, "")
                #expect(bodies.count == 100)
                #expect(bodies.first == "message 1")
                #expect(bodies.last == "message 100")
            }
        }
    }

    @Test(
        "history refuses malformed parameters with 400 and a JSON error code, and changes nothing",
        arguments: [
            ("?contact=bob@fabrikam.example/phone", "invalid-jid"),
            ("?contact=@fabrikam.example", "invalid-jid"),
            ("?contact=", "invalid-jid"),
            ("?since=yesterday", "invalid-time"),
            ("?since=2026-11-25", "invalid-time"),
            ("?until=2026-02-30T00:00:00Z", "invalid-time"),
            ("?until=2026-11-25T10:00:00", "invalid-time"),
            ("?since=2026-11-26T00:00:00Z&until=2026-11-25T00:00:00Z", "invalid-range"),
            ("?q=", "invalid-text"),
            ("?q=%20%20", "invalid-text"),
            ("?limit=0", "invalid-limit"),
            ("?limit=1001", "invalid-limit"),
            ("?limit=-1", "invalid-limit"),
            ("?limit=+5", "invalid-limit"),
            ("?limit=ten", "invalid-limit"),
            ("?limit=1e2", "invalid-limit"),
            ("?limit=", "invalid-limit"),
            ("?limit=99999999999999999999999", "invalid-limit"),
            ("?contacts=bob@fabrikam.example", "unknown-parameter"),
            ("?limit=1&limit=2", "repeated-parameter"),
        ]
    )
    func historyRefused(query: String, code: String) async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: "/v1/me/history\(query)", method: .get, headers: harness.aliceAuthorization)
                #expect(response.status == .badRequest, "\(response.text)")
                #expect(response.errorCode == code, "\(response.text)")
                #expect(response.headers[.contentType] == "application/json")
            }
        }
    }

    // MARK: - Metrics

    @Test("GET /metrics renders what was recorded through the exposition's factory, without a token")
    func metrics() async throws {
        try await APIHarness.with { harness in
            let exposition = PrometheusExposition()
            Counter(label: "consulate_api_test_total", dimensions: [("kind", "scrape")], factory: exposition.factory).increment(by: 3)
            let router = InternalAPI.router(gateway: harness.contoso, store: harness.store, metrics: exposition)
            try await Application(router: router).test(.router) { client in
                let response = try await client.execute(uri: "/metrics", method: .get)
                #expect(response.status == .ok, "\(response.text)")
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                let lines = response.text.split(separator: "\n").map(String.init)
                #expect(lines.contains("# TYPE consulate_api_test_total counter"), "\(response.text)")
                #expect(lines.contains(#"consulate_api_test_total{kind="scrape"} 3"#), "\(response.text)")

                Counter(label: "consulate_api_test_total", dimensions: [("kind", "scrape")], factory: exposition.factory).increment()
                let again = try await client.execute(uri: "/metrics", method: .get)
                #expect(again.text.contains(#"consulate_api_test_total{kind="scrape"} 4"#), "each scrape renders anew")
            }
        }
    }

    @Test("without an exposition there is no /metrics route: 404 with the JSON error")
    func noMetrics() async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: "/metrics", method: .get)
                #expect(response.status == .notFound)
                #expect(response.errorCode == "not-found")
            }
        }
    }
}
