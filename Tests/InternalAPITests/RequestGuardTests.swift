@testable import InternalAPI
import FederationLinks
import Logging
import MetricsTestKit
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// `RequestGuard` on an `EmbeddedChannel` with time advanced by hand: its timers, its early 413
/// and its answer to what NIO's decoder cannot parse.
@Suite("Internal API: the request guard")
struct RequestGuardTests {
    static let limits = InternalAPI.Limits(maxBodyBytes: 1000, idleTimeout: .seconds(60), requestTimeout: .seconds(30))

    static func channel(metrics: TestMetrics = TestMetrics()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: RequestGuard(limits: limits, metrics: FederationMetrics(factory: metrics), logger: Logger(label: "test")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return channel
    }

    static func head(_ method: HTTPMethod = .POST, contentLength: Int? = nil) -> HTTPServerRequestPart {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: "/v1/me/messages")
        if let contentLength { head.headers.add(name: "Content-Length", value: "\(contentLength)") }
        return .head(head)
    }

    /// The response the guard wrote: its status and JSON error code.
    static func answer(_ channel: EmbeddedChannel) throws -> (status: HTTPResponseStatus, code: String?)? {
        guard case .head(let head)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
        var code: String?
        if case .body(.byteBuffer(let body))? = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            code = String(buffer: body).split(separator: "\"").drop { $0 != "code" }.dropFirst(2).first.map(String.init)
        }
        #expect(head.headers["connection"] == ["close"])
        return (head.status, code)
    }

    @Test("a connection with no request is closed at the idle timeout, not before")
    func idle() throws {
        let metrics = TestMetrics()
        let channel = try Self.channel(metrics: metrics)
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(metrics.counterTotal(label: "consulate_api_connections_closed_total", dimensions: [("reason", "idle-timeout")]) == 1)
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil, "nothing was asked, so nothing is answered")
    }

    @Test("a body that does not arrive within the request timeout is answered 408 and the connection closed")
    func slowBody() throws {
        let metrics = TestMetrics()
        let channel = try Self.channel(metrics: metrics)
        try channel.writeInbound(Self.head(contentLength: 100))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "{")))
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let answer = try #require(try Self.answer(channel))
        #expect(answer.status == .requestTimeout)
        #expect(answer.code == "request-timeout")
        #expect(!channel.isActive)
        #expect(metrics.counterTotal(label: "consulate_api_connections_closed_total", dimensions: [("reason", "request-timeout")]) == 1)
        #expect(metrics.counterTotal(label: "consulate_api_connections_closed_total", dimensions: [("reason", "idle-timeout")]) == 0)
    }

    @Test("a whole request stops the clock; once answered, the idle timeout runs again")
    func keepAlive() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.head(contentLength: 2))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "{}")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(120))
        #expect(channel.isActive, "the request is being answered: neither timer runs")
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .accepted)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test("a response written before its request's body has arrived: the request timer runs on, then the idle timer")
    func answeredBeforeBody() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.head(contentLength: 2))
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .unauthorized)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "{}")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "idle once both the answer and the body are complete")

        let stalled = try Self.channel()
        try stalled.writeInbound(Self.head(contentLength: 2))
        try stalled.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .unauthorized)))
        try stalled.writeOutbound(HTTPServerResponsePart.end(nil))
        _ = try stalled.readOutbound(as: HTTPServerResponsePart.self)
        _ = try stalled.readOutbound(as: HTTPServerResponsePart.self)
        stalled.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(!stalled.isActive, "the body never came: closed at the request timeout")
        #expect(try stalled.readOutbound(as: HTTPServerResponsePart.self) == nil, "answered already: no 408 after the 401")
    }

    @Test("a second request on a kept-alive connection is refused with its own answer too")
    func secondRequestRefused() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.head(.GET))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        _ = try channel.readOutbound(as: HTTPServerResponsePart.self)
        _ = try channel.readOutbound(as: HTTPServerResponsePart.self)
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) != nil)
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) != nil)
        try channel.writeInbound(Self.head(contentLength: 10_000_000))
        let answer = try #require(try Self.answer(channel))
        #expect(answer.status == .payloadTooLarge)
    }

    @Test("pipelined: a refused request waits for the answers before it, then the connection closes without one")
    func pipelinedRefusal() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.head(.GET))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try channel.writeInbound(Self.head(contentLength: 10_000_000))
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil, "no 413 ahead of the GET's answer")
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        guard case .head(let head)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("the GET was not answered")
            return
        }
        #expect(head.status == .ok)
        #expect(!channel.isActive, "closed once the GET is answered")
    }

    @Test("after an upgrade request, what follows passes unread (NIO hands it on as raw bytes); a refused upgrade closes once answered")
    func upgradeRequest() throws {
        let channel = try Self.channel()
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/me/events")
        head.headers.add(name: "Upgrade", value: "websocket")
        head.headers.add(name: "Connection", value: "Upgrade")
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try channel.writeInbound(ByteBuffer(bytes: [0x81, 0x80, 1, 2, 3, 4]))
        _ = try channel.readInbound(as: HTTPServerRequestPart.self)
        _ = try channel.readInbound(as: HTTPServerRequestPart.self)
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [0x81, 0x80, 1, 2, 3, 4]))
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .unauthorized)))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(!channel.isActive, "the decoder parses nothing after an upgrade request")
    }

    @Test("a client that stops reading its response is cut after the idle timeout")
    func stalledReader() throws {
        let metrics = TestMetrics()
        let channel = try Self.channel(metrics: metrics)
        try channel.writeInbound(Self.head(.GET))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(metrics.counterTotal(label: "consulate_api_connections_closed_total", dimensions: [("reason", "write-stalled")]) == 1)
    }

    @Test("a Content-Length over the limit is answered 413 from the head, before any body")
    func tooLarge() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.head(contentLength: 10_000_000))
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == nil, "the router never sees it")
        let answer = try #require(try Self.answer(channel))
        #expect(answer.status == .payloadTooLarge)
        #expect(answer.code == "body-too-large")
        #expect(!channel.isActive)
    }

    @Test("what NIO cannot parse is answered 400, unless a response has begun: then it ends and the connection is closed")
    func malformed() throws {
        let channel = try Self.channel()
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidHeaderToken)
        let answer = try #require(try Self.answer(channel))
        #expect(answer.status == .badRequest)
        #expect(answer.code == "malformed-request")
        #expect(!channel.isActive)

        let answering = try Self.channel()
        try answering.writeInbound(Self.head(.GET))
        try answering.writeInbound(HTTPServerRequestPart.end(nil))
        try answering.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        _ = try answering.readOutbound(as: HTTPServerResponsePart.self)
        answering.pipeline.fireErrorCaught(HTTPParserError.invalidChunkSize)
        #expect(try answering.readOutbound(as: HTTPServerResponsePart.self) == nil, "no second response")
        #expect(answering.isActive, "the response under way is finished first")
        try answering.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(!answering.isActive)
    }
}
