import ConsulateTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import InternalAPI
import NIOCore
import NIOPosix
import PresenceModel
import Storage
import Testing

/// The internal API as `consulate serve` runs it, on a real loopback socket, against clients that
/// send what no well-behaved client would: every one of them gets an answer (or a close) in
/// bounded time, never a hang and never a 500.
@Suite("Internal API: hostile clients over real sockets")
struct HostileClientTests {
    /// Short timeouts, so that the tests that wait for them wait little.
    static let limits = InternalAPI.Limits(maxBodyBytes: 64 * 1024, connectionLimit: 4, idleTimeout: .seconds(1), requestTimeout: .seconds(1))

    /// - Parameter keepsMessages: contoso's gateway keeps history in the store, so that a test can
    ///   prove a refused message was never sent.
    static func serving(
        limits: InternalAPI.Limits = Self.limits,
        eventStreamTokens: EventStreamTokens = EventStreamTokens(),
        keepsMessages: Bool = false,
        _ body: @escaping @Sendable (APIHarness, Int) async throws -> Void
    ) async throws {
        try await APIHarness.with(contosoKeepsMessages: keepsMessages) { harness in
            try await harness.liveApplication(limits: limits, eventStreamTokens: eventStreamTokens).test(.live) { client in
                try await body(harness, try #require(client.port))
            }
        }
    }

    static func connect(_ port: Int) async throws -> ScriptedPeer {
        try await ScriptedPeer.connect(port: port, group: MultiThreadedEventLoopGroup.singleton)
    }

    static let closed = "<!--closed-->"

    /// `text` as one chunk of a chunked body.
    static func chunk(_ text: String) -> String {
        String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n"
    }

    /// The JSON error code in a response's text.
    static func code(in response: String) -> String? {
        guard let range = response.range(of: #""code":""#) ?? response.range(of: #""code" : ""#) else { return nil }
        return response[range.upperBound...].split(separator: "\"").first.map(String.init)
    }

    @Test(
        "a request NIO cannot parse is answered 400 malformed-request and the connection closed",
        arguments: [
            ("a NUL in a header", "GET /v1/me/presence HTTP/1.1\r\nHost: x\r\nX-Note: a\u{0}b\r\n\r\n"),
            ("both Content-Length and Transfer-Encoding", "POST /v1/me/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            ("two Content-Lengths", "POST /v1/me/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"),
            ("a 100 KB header", "GET /v1/me/presence HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n"),
            ("a chunk size that is no number", "POST /v1/me/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        ]
    )
    func malformed(what: String, request: String) async throws {
        try await Self.serving { _, port in
            let peer = try await Self.connect(port)
            try await peer.send(request)
            let answer = try await peer.receive(until: Self.closed)
            #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(what): \(answer.prefix(200))")
            #expect(Self.code(in: answer) == "malformed-request", "\(what)")
            #expect(!answer.contains("HTTP/1.1 500"), "\(what)")
        }
    }

    @Test("a bad chunk in an authenticated request's body is answered 400, and nothing is sent")
    func badChunkAuthenticated() async throws {
        try await Self.serving(keepsMessages: true) { harness, port in
            let peer = try await Self.connect(port)
            try await peer.send(
                "POST /v1/me/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(harness.aliceToken)\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n\(Self.chunk(#"{"to": "bob@fabrikam.example", "body": "never sent"}"#))not-hex\r\n"
            )
            let answer = try await peer.receive(until: Self.closed)
            #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(answer.prefix(200))")
            #expect(Self.code(in: answer) == "malformed-request")
            #expect(answer.components(separatedBy: "HTTP/1.1 ").count == 2, "one response only: \(answer)")
            #expect(try await harness.store.history(HistoryQuery(user: APIHarness.alice)).isEmpty, "the router never acted on it")
        }
    }

    @Test("a Content-Length over the limit is answered 413 at once, also with Expect: 100-continue, without 100 Continue")
    func oversizedWithExpect() async throws {
        try await Self.serving { harness, port in
            let peer = try await Self.connect(port)
            try await peer.send(
                "POST /v1/me/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(harness.aliceToken)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 10000000\r\nExpect: 100-continue\r\n\r\n"
            )
            let answer = try await peer.receive(until: Self.closed, seconds: 5)
            #expect(answer.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n"), "\(answer.prefix(200))")
            #expect(!answer.contains("100 Continue"))
            #expect(Self.code(in: answer) == "body-too-large")
        }
    }

    @Test("a connection that sends nothing is closed at the idle timeout, not before")
    func silent() async throws {
        try await Self.serving { _, port in
            let opened = ContinuousClock.now
            let peer = try await Self.connect(port)
            let answer = try await peer.receive(until: Self.closed, seconds: 10)
            #expect(ContinuousClock.now - opened >= Self.limits.idleTimeout)
            #expect(answer == Self.closed, "nothing was asked, so nothing is answered")
        }
    }

    @Test("a kept-alive connection is closed once idle for the idle timeout after its answer")
    func idleKeepAlive() async throws {
        try await Self.serving { harness, port in
            let peer = try await Self.connect(port)
            // The idle timer starts once the answer is written, so after this instant whatever
            // the scheduling of this test.
            let sent = ContinuousClock.now
            try await peer.send("GET /v1/me/presence HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(harness.aliceToken)\r\n\r\n")
            let answer = try await peer.receive(until: "\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
            _ = try await peer.receive(until: Self.closed, seconds: 10)
            #expect(ContinuousClock.now - sent >= Self.limits.idleTimeout)
        }
    }

    @Test("a body trickled slower than the request timeout is answered 408 and the connection closed; nothing is sent")
    func slowBody() async throws {
        try await Self.serving(keepsMessages: true) { harness, port in
            let peer = try await Self.connect(port)
            // A whole, valid message, but one byte short of what the head announced.
            let body = #"{"to": "bob@fabrikam.example", "body": "never sent"}"#
            try await peer.send(
                "POST /v1/me/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(harness.aliceToken)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count + 1)\r\n\r\n\(body)"
            )
            let answer = try await peer.receive(until: Self.closed, seconds: 10)
            #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(answer.prefix(200))")
            #expect(Self.code(in: answer) == "request-timeout")
            #expect(try await harness.store.history(HistoryQuery(user: APIHarness.alice)).isEmpty, "the router never acted on it")
        }
    }

    @Test("one connection over the limit is answered 503 too-many-connections; a slot freed is taken again")
    func connectionLimit() async throws {
        // Three: the `.live` test framework's own client holds one.
        let limits = InternalAPI.Limits(connectionLimit: 3, idleTimeout: .seconds(30))
        try await Self.serving(limits: limits) { harness, port in
            let presence = "GET /v1/me/presence HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(harness.aliceToken)\r\n\r\n"
            let held = [try await Self.connect(port), try await Self.connect(port)]
            for peer in held {
                try await peer.send(presence)
                #expect(try await peer.receive(until: "\r\n").hasPrefix("HTTP/1.1 200"), "admitted: within the limit")
            }
            let refused = try await Self.connect(port)
            let answer = try await refused.receive(until: Self.closed)
            #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), "\(answer.prefix(200))")
            #expect(Self.code(in: answer) == "too-many-connections")
            let again = try await Self.connect(port)
            #expect(try await again.receive(until: Self.closed).hasPrefix("HTTP/1.1 503"), "a refused connection freed no slot")

            await held[0].close()
            try await eventually("a slot is free again") {
                do {
                    let peer = try await Self.connect(port)
                    defer { Task { await peer.close() } }
                    try await peer.send(presence)
                    return try await peer.receive(until: "\r\n").hasPrefix("HTTP/1.1 200")
                } catch {
                    return false
                }
            }
            await held[1].close()
        }
    }

    // MARK: - WebSocket frames (RFC 6455)

    /// A client frame: `opcode` with `payload`, masked unless told otherwise.
    static func frame(fin: Bool = true, opcode: UInt8, _ payload: [UInt8], masked: Bool = true) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger((fin ? 0x80 : 0) | opcode)
        if payload.count < 126 {
            buffer.writeInteger((masked ? 0x80 : 0) | UInt8(payload.count))
        } else {
            buffer.writeInteger((masked ? 0x80 : 0) | UInt8(126))
            buffer.writeInteger(UInt16(payload.count))
        }
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        if masked {
            buffer.writeBytes(key)
            buffer.writeBytes(payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
        } else {
            buffer.writeBytes(payload)
        }
        return buffer
    }

    static let badFrameCases: [(String, [ByteBuffer], UInt16)] = [
        ("an unmasked frame (§5.1)", [frame(opcode: 0x1, Array("{}".utf8), masked: false)], 1002),
        ("a continuation with no start (§5.4)", [frame(opcode: 0x0, Array("{}".utf8))], 1002),
        ("a text frame that is not UTF-8 (§8.1)", [frame(opcode: 0x1, [0x7B, 0xFF, 0xFE, 0x7D])], 1007),
        ("a message over 16 KiB, in fragments", [frame(fin: false, opcode: 0x1, Array(repeating: 0x61, count: 9000)), frame(opcode: 0x0, Array(repeating: 0x61, count: 9000))], 1009),
        ("invalid UTF-8 across fragments (§8.1)", [frame(fin: false, opcode: 0x1, [0x7B, 0xE2]), frame(opcode: 0x0, [0x28, 0x7D])], 1007),
    ]

    @Test("a frame sent in the same write as the handshake is taken as the stream's first (it reaches NIO's upgrade handler as raw bytes)")
    func frameWithHandshake() async throws {
        try await Self.serving { harness, port in
            let peer = try await Self.connect(port)
            var bytes = ByteBuffer(
                string: "GET /v1/me/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer \(harness.aliceToken)\r\n\r\n"
            )
            var ping = Self.frame(opcode: 0x9, Array("early".utf8))
            bytes.writeBuffer(&ping)
            try await peer.channel.writeAndFlush(bytes).get()
            _ = try await peer.receive(until: #""ready""#)
            _ = try await peer.receive(until: "early", seconds: 10)
            let other = try await Self.connect(port)
            try await other.send("GET /v1/me/presence HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(harness.aliceToken)\r\n\r\n")
            #expect(try await other.receive(until: "\r\n").hasPrefix("HTTP/1.1 200"), "the server still serves")
        }
    }

    @Test("a client frame that breaks RFC 6455 closes the event stream with the code the RFC names", arguments: badFrameCases)
    func badFrames(what: String, frames: [ByteBuffer], code: UInt16) async throws {
        try await Self.serving { harness, port in
            let received = try await RawEventStream.session(port: port, token: harness.aliceToken) { outbound in
                for frame in frames { try await outbound.write(frame) }
            }
            #expect(received.compactMap(\.closeCode) == [code], "\(what): \(received.map(\.opcode))")
            try await eventually("the stream is gone") { await harness.contoso.eventStreamCount(for: APIHarness.alice) == 0 }
        }
    }

    // MARK: - Tokens

    @Test("an event stream is closed 1008 when its token is revoked or its user removed; one on a new token is not")
    func revokedToken() async throws {
        let tokens = EventStreamTokens()
        try await Self.serving(limits: InternalAPI.Limits(idleTimeout: .seconds(30)), eventStreamTokens: tokens) { harness, port in
            let store = harness.store
            let first = try await RawEventStream.session(port: port, token: harness.aliceToken) { _ in
                #expect(await tokens.recheck(in: store) == 0, "the token is still alice's")
                _ = try await store.revokeTokens(of: .user(APIHarness.alice))
                #expect(await tokens.recheck(in: store) == 1)
            }
            let closing = try #require(first.last { $0.opcode == 0x8 })
            #expect(closing.closeCode == 1008)
            #expect(String(decoding: closing.payload.dropFirst(2), as: UTF8.self) == "the token was revoked")

            let replacement = try await store.issueToken(for: .user(APIHarness.alice), at: Timestamp(secondsSinceEpoch: 1_800_000_000))
            let second = try await RawEventStream.session(port: port, token: replacement) { _ in
                #expect(await tokens.recheck(in: store) == 0, "a new token is not revoked by the old one's end")
                _ = try await store.removeUser(APIHarness.alice)
                #expect(await tokens.recheck(in: store) == 1)
            }
            #expect(second.compactMap(\.closeCode) == [1008])
            #expect(tokens.count == 0)
        }
    }
}
