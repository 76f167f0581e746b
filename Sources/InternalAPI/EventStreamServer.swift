import HTTPTypes
package import Hummingbird
package import HummingbirdCore
package import HummingbirdWebSocket
package import FederationLinks
import Logging
import NIOCore
import NIOHTTP1

extension InternalAPI {
    /// The HTTP server to run `router` with: HTTP/1.1, plus the WebSocket upgrade of
    /// `GET /v1/me/events`. `Application(router:)` alone serves every other route but cannot
    /// upgrade, so pass this as its `server:`.
    ///
    /// A refused upgrade (no token, a wrong one, an admin token) gets the router's own answer, the
    /// JSON error with its 401 or 403, where Hummingbird's WebSocket server would answer a bare 400
    /// that tells a client nothing about its token.
    ///
    /// Every connection passes `RequestGuard` (timeouts, malformed requests, bodies announced too
    /// large) and counts against `limits.connectionLimit`: one more is answered 503 and closed
    /// before anything of it is read.
    package static func server(
        router: Router<APIRequestContext>,
        limits: Limits = Limits(),
        metrics: FederationMetrics = FederationMetrics(),
        configuration: HTTP1WebSocketUpgradeChannel.Configuration = .init(ws: WebSocketServerConfiguration(validateUTF8: true))
    ) -> HTTPServerBuilder {
        let responder = router.buildResponder()
        let counter = HTTPConnectionCounter(limit: limits.connectionLimit)
        return HTTPServerBuilder { httpResponder in
            GuardedAPIChannel(
                base: HTTP1WebSocketUpgradeChannel(responder: httpResponder, webSocketResponder: responder, configuration: configuration),
                limits: limits,
                metrics: metrics,
                connections: counter,
                wouldUpgrade: { request, channel, logger in
                    let context = APIRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
                    let response = try? await responder.respond(to: Request(head: request, body: RequestBody(buffer: ByteBuffer())), context: context)
                    return response?.status == .ok
                }
            )
        }
    }
}

/// Hummingbird's HTTP/1.1 + WebSocket child channel, counted against the connection limit, with
/// `RequestGuard` after the HTTP decoder and `UpgradeRefusalHandler` in front of the upgrade
/// negotiation.
struct GuardedAPIChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let base: HTTP1WebSocketUpgradeChannel
    let limits: InternalAPI.Limits
    let metrics: FederationMetrics
    let connections: HTTPConnectionCounter
    let wouldUpgrade: UpgradeRefusalHandler.Probe

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admission = connections.admit()
        switch admission {
        case .admitted:
            let connections = connections
            channel.closeFuture.whenComplete { _ in connections.release() }
        case .refused(first: true):
            logger.notice(
                "internal API connections refused until one closes: the connection limit is reached",
                metadata: ["limit": "\(connections.limit)", "remote-address": "\(channel.remoteAddress.map { "\($0)" } ?? "-")"]
            )
        case .refused(first: false):
            break
        }
        let admitted = admission == .admitted
        let (wouldUpgrade, limits, metrics) = (wouldUpgrade, limits, metrics)
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            guard admitted else {
                try operations.addHandler(ConnectionLimitRefusal(metrics: metrics), position: .first)
                return value
            }
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(RequestGuard(limits: limits, metrics: metrics, logger: logger), position: .after(decoder))
            let upgrader = try operations.handler(type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
            try operations.addHandler(UpgradeRefusalHandler(wouldUpgrade: wouldUpgrade, logger: logger), position: .before(upgrader))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Stands first on a connection over the API's connection limit: answers 503 with the API's JSON
/// error as soon as it is active, discards what the client sends, and closes. The HTTP handlers
/// behind it never see a byte.
final class ConnectionLimitRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var refused = false
    private let metrics: FederationMetrics

    init(metrics: FederationMetrics) {
        self.metrics = metrics
    }

    static let response: ByteBuffer = {
        let body = APIError.jsonBody(code: "too-many-connections", message: "the internal API holds its connection limit; try again later")
        var response = ByteBuffer(
            string: "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.readableBytes)\r\nConnection: close\r\n\r\n"
        )
        response.writeImmutableBuffer(body)
        return response
    }()

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(_ context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        metrics.apiConnectionClosed("too-many-connections")
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(Self.response)).assumeIsolated().whenComplete { _ in
            RequestGuard.close(loopBound.value)
        }
    }
}

/// Looks at a connection's first request before the upgrade negotiation does. A WebSocket
/// handshake (RFC 6455 §4.1: `GET` with `Upgrade: websocket`) the router would not upgrade (its
/// probe, the same one Hummingbird runs, does not answer 200) is passed on as a plain request,
/// without `Upgrade`, so that the router answers it: with the JSON error its middleware gives. Any
/// other request with `Upgrade` (another method, or another protocol such as `h2c`) is passed on
/// without it and unprobed, since the probe runs the route and a route that changes something must
/// run once. Anything else passes unchanged. Only the first request can be an
/// upgrade (the negotiation handler leaves after it), so this handler leaves after it too.
///
/// Until that first request, Hummingbird's connection handler (graceful shutdown) is not in the
/// pipeline yet, so this handler stands in for it: a connection still waiting for its first
/// request when the server quiesces is closed. Otherwise a client that connects and says nothing
/// would hold a graceful shutdown open until `RequestGuard`'s idle timeout.
final class UpgradeRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias Probe = @Sendable (HTTPRequest, any Channel, Logger) async -> Bool

    private let wouldUpgrade: Probe
    private let logger: Logger
    /// The parts that arrived while the probe ran, passed on in order after it.
    private var held: [HTTPServerRequestPart] = []
    private var probing = false
    init(wouldUpgrade: @escaping Probe, logger: Logger) {
        self.wouldUpgrade = wouldUpgrade
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !probing {
            RequestGuard.close(context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if probing {
            held.append(part)
            return
        }
        guard case .head(let head) = part, head.headers.contains(name: "upgrade") else {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        guard Self.isWebSocketHandshake(head), let request = Self.request(head) else {
            context.fireChannelRead(wrapInboundOut(.head(Self.withoutUpgrade(head))))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        probing = true
        let (wouldUpgrade, channel, logger) = (self.wouldUpgrade, context.channel, self.logger)
        context.eventLoop.makeFutureWithTask { await wouldUpgrade(request, channel, logger) }
            .assumeIsolated()
            .whenComplete { result in
                let upgrades = (try? result.get()) == true
                context.fireChannelRead(self.wrapInboundOut(.head(upgrades ? head : Self.withoutUpgrade(head))))
                for part in self.held { context.fireChannelRead(self.wrapInboundOut(part)) }
                self.held = []
                context.fireChannelReadComplete()
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            }
    }

    /// `GET` asking to upgrade to `websocket`: the only upgrade this API offers.
    static func isWebSocketHandshake(_ head: HTTPRequestHead) -> Bool {
        head.method == .GET
            && head.headers[canonicalForm: "upgrade"].contains { $0.lowercased().hasPrefix("websocket") }
    }

    /// The head as a plain request: no `Upgrade`, and no `upgrade` token in `Connection`.
    static func withoutUpgrade(_ head: HTTPRequestHead) -> HTTPRequestHead {
        var head = head
        head.headers.remove(name: "upgrade")
        let connection = head.headers[canonicalForm: "connection"].filter { $0.lowercased() != "upgrade" }
        head.headers.remove(name: "connection")
        if !connection.isEmpty { head.headers.add(name: "connection", value: connection.joined(separator: ", ")) }
        return head
    }

    /// The request head as Hummingbird sees it (`HTTPTypes`); `nil` for one it could not route anyway.
    static func request(_ head: HTTPRequestHead) -> HTTPRequest? {
        var fields = HTTPFields()
        for (name, value) in head.headers {
            guard let fieldName = HTTPField.Name(name) else { return nil }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return HTTPRequest(
            method: HTTPRequest.Method(head.method.rawValue) ?? .get,
            scheme: nil,
            authority: head.headers.first(name: "host"),
            path: head.uri,
            headerFields: fields
        )
    }
}
