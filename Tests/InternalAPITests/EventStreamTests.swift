import ConsulateTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import InternalAPI
import Logging
import PresenceModel
import Testing
import Translation
import XMPP

/// `GET /v1/me/events` over a real WebSocket on loopback: what happens at the gateway (a message
/// from fabrikam.example, a message that cannot be delivered) arrives as JSON, and a refused
/// upgrade gets the JSON error with its status.
@Suite("Event stream")
struct EventStreamTests {
    /// The fields of an event the tests look at.
    struct Event: Decodable {
        struct MessageFields: Decodable {
            var id: String?
            var type: String
            var body: String?
            var chatState: String?
            var requestReceipt: Bool
        }

        struct ErrorFields: Decodable {
            var condition: String
            var type: String
            var text: String?
        }

        var type: String
        var user: String?
        var from: String?
        var to: String?
        var id: String?
        var message: MessageFields?
        var error: ErrorFields?
        var domain: String?
    }

    /// Reads events until one of `type`; every event before it is returned too, for failure messages.
    static func next(
        _ type: String,
        from messages: inout WebSocketInboundMessageStream.AsyncIterator
    ) async throws -> Event {
        var seen: [String] = []
        while let message = try await messages.next() {
            guard case .text(let text) = message else {
                Issue.record("a binary message: \(message)")
                continue
            }
            let event = try JSONDecoder().decode(Event.self, from: Data(text.utf8))
            if event.type == type { return event }
            seen.append(event.type)
        }
        throw EventTimeout(description: "the stream ended before a \(type) event (after \(seen))")
    }

    /// Connects to alice's event stream and runs `body` with its messages; the connection is closed
    /// after `deadline` whatever happens, which only bounds a failing test (a passing one closes first).
    static func withAlicesEvents(
        port: Int,
        token: String,
        deadline: Duration = .seconds(10),
        _ body: @escaping @Sendable (inout WebSocketInboundMessageStream.AsyncIterator) async throws -> Void
    ) async throws {
        try await WebSocketClient.connect(
            url: "ws://127.0.0.1:\(port)/v1/me/events",
            configuration: WebSocketClientConfiguration(additionalHeaders: [.authorization: "Bearer \(token)"]),
            logger: Logger(label: "event-stream-test")
        ) { inbound, outbound, _ in
            let deadline = Task {
                try await Task.sleep(for: deadline)
                try await outbound.close(.goingAway, reason: "test deadline")
            }
            defer { deadline.cancel() }
            var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            try await body(&messages)
            try await outbound.close(.normalClosure, reason: nil)
        }
    }

    @Test("a message from the external side arrives as a message event, with its chat state and receipt request")
    func messageEvent() async throws {
        try await APIHarness.with { harness in
            try await harness.liveApplication().test(.live) { client in
                let port = try #require(client.port)
                try await Self.withAlicesEvents(port: port, token: harness.aliceToken) { messages in
                    let ready = try await Self.next("ready", from: &messages)
                    #expect(ready.user == "alice@contoso.example")

                    let hello = Message(type: .chat, id: "b1", bodies: [LocalizedText("Hello alice")], chatState: .active, requestsReceipt: true)
                    try await harness.fabrikam.apply(.sendMessage(user: APIHarness.bob, to: APIHarness.alice, hello))

                    let event = try await Self.next("message", from: &messages)
                    #expect(event.from.map { try? JID($0).bare } == APIHarness.bob)
                    #expect(event.message?.body == "Hello alice")
                    #expect(event.message?.id == "b1")
                    #expect(event.message?.type == "chat")
                    #expect(event.message?.chatState == "active")
                    #expect(event.message?.requestReceipt == true)
                }
            }
        }
    }

    @Test("a message to a domain that is not a partner comes back as a delivery-failed event with its reason")
    func deliveryFailedEvent() async throws {
        try await APIHarness.with { harness in
            try await harness.liveApplication().test(.live) { client in
                let port = try #require(client.port)
                try await Self.withAlicesEvents(port: port, token: harness.aliceToken) { messages in
                    _ = try await Self.next("ready", from: &messages)
                    let sent = try await client.execute(
                        uri: "/v1/me/messages", method: .post, headers: harness.aliceAuthorization,
                        body: .json(#"{"to": "dave@northwind.example", "body": "Hello?", "id": "nw1"}"#)
                    )
                    #expect(sent.status == .accepted, "\(sent.text)")

                    let event = try await Self.next("delivery-failed", from: &messages)
                    #expect(event.to == "dave@northwind.example")
                    #expect(event.id == "nw1")
                    #expect(event.error?.condition == "not-allowed")
                    #expect(event.error?.type == "cancel")
                    #expect(event.error?.text?.contains("northwind.example") == true)
                }
            }
        }
    }

    @Test("a lost link to a domain of alice's contacts and its return come as link-down and link-up events")
    func linkEvents() async throws {
        try await APIHarness.with { harness in
            try await harness.liveApplication().test(.live) { client in
                let port = try #require(client.port)
                try await Self.withAlicesEvents(port: port, token: harness.aliceToken) { messages in
                    _ = try await Self.next("ready", from: &messages)
                    let hello = Message(type: .chat, id: "m1", bodies: [LocalizedText("hello")])
                    try await harness.contoso.apply(.sendMessage(user: APIHarness.alice, to: APIHarness.bob, hello))
                    try await eventually("contoso's link to fabrikam is up") {
                        await harness.contoso.linkSnapshot().links.contains { $0.direction == .outbound && $0.state == .established }
                    }
                    // fabrikam's gateway stops: its end of the link closes, and contoso loses it.
                    await harness.fabrikam.shutdown()
                    #expect(try await Self.next("link-down", from: &messages).domain == "fabrikam.example")
                    // A new fabrikam gateway; the next message reconnects and the link is back.
                    let fabrikam = APIHarness.fabrikam(ports: harness.ports)
                    let fabrikamPort = try await fabrikam.start().startTLS
                    harness.ports.withLockedValue { $0["fabrikam.example"] = fabrikamPort }
                    try await harness.contoso.apply(.sendMessage(user: APIHarness.alice, to: APIHarness.bob, hello))
                    #expect(try await Self.next("link-up", from: &messages).domain == "fabrikam.example")
                    await fabrikam.shutdown()
                }
            }
        }
    }

    @Test(
        "an upgrade without a valid user token gets the JSON error and its status, not a WebSocket",
        arguments: [
            (nil, 401, "missing-token"),
            ("Bearer 0123.not-a-token", 401, "invalid-token"),
            ("admin", 403, "admin-token"),
        ] as [(String?, Int, String)]
    )
    func refusedUpgrade(authorization: String?, status: Int, code: String) async throws {
        try await APIHarness.with { harness in
            try await harness.liveApplication().test(.live) { client in
                let header = authorization == "admin" ? "Bearer \(harness.adminToken)" : authorization
                var headers: HTTPFields = [
                    .upgrade: "websocket", .connection: "Upgrade", .secWebSocketVersion: "13",
                    .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
                ]
                if let header { headers[.authorization] = header }
                let response = try await client.execute(uri: "/v1/me/events", method: .get, headers: headers)
                #expect(response.status.code == status, "\(response.status) \(response.text)")
                #expect(response.errorCode == code, "\(response.text)")

                let port = try #require(client.port)
                await #expect(throws: (any Error).self) {
                    try await WebSocketClient.connect(
                        url: "ws://127.0.0.1:\(port)/v1/me/events",
                        configuration: WebSocketClientConfiguration(additionalHeaders: header.map { [.authorization: $0] } ?? [:]),
                        logger: Logger(label: "event-stream-test")
                    ) { _, _, _ in
                        Issue.record("the upgrade was accepted")
                    }
                }
            }
        }
    }

    @Test("a plain GET of the event stream, with a valid token, is told to upgrade")
    func plainGet() async throws {
        try await APIHarness.with { harness in
            try await harness.liveApplication().test(.live) { client in
                let response = try await client.execute(uri: "/v1/me/events", method: .get, headers: harness.aliceAuthorization)
                #expect(response.status == .upgradeRequired)
                #expect(response.errorCode == "websocket-required")
            }
        }
    }
}
