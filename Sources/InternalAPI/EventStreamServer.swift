import HTTPTypes
package import Hummingbird
package import HummingbirdCore
package import HummingbirdWebSocket
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
    package static func server(
        router: Router<APIRequestContext>,
        configuration: HTTP1WebSocketUpgradeChannel.Configuration = .init()
    ) -> HTTPServerBuilder {
        let responder = router.buildResponder()
        return HTTPServerBuilder { httpResponder in
            RefusedUpgradeAnsweringChannel(
                base: HTTP1WebSocketUpgradeChannel(responder: httpResponder, webSocketResponder: responder, configuration: configuration),
                wouldUpgrade: { request, channel, logger in
                    let context = APIRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
                    let response = try? await responder.respond(to: Request(head: request, body: RequestBody(buffer: ByteBuffer())), context: context)
                    return response?.status == .ok
                }
            )
        }
    }
}

/// Hummingbird's HTTP/1.1 + WebSocket child channel, with `UpgradeRefusalHandler` in front of the
/// upgrade negotiation.
struct RefusedUpgradeAnsweringChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let base: HTTP1WebSocketUpgradeChannel
    let wouldUpgrade: UpgradeRefusalHandler.Probe

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let wouldUpgrade = wouldUpgrade
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let upgrader = try operations.handler(type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
            try operations.addHandler(UpgradeRefusalHandler(wouldUpgrade: wouldUpgrade, logger: logger), position: .before(upgrader))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
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
/// Until that first request, Hummingbird's connection handler (idle timeout, graceful shutdown) is
/// not in the pipeline yet, so this handler stands in for it: a connection that sends no request
/// within `firstRequestTimeout` is closed, and so is one still waiting for its first request when
/// the server quiesces. Otherwise a client that connects and says nothing would hold a graceful
/// shutdown open for ever.
final class UpgradeRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias Probe = @Sendable (HTTPRequest, any Channel, Logger) async -> Bool

    private let wouldUpgrade: Probe
    private let logger: Logger
    /// The parts that arrived while the probe ran, passed on in order after it.
    private var held: [HTTPServerRequestPart] = []
    private var probing = false
    private let firstRequestTimeout: TimeAmount
    private var firstRequestDeadline: Scheduled<Void>?

    init(wouldUpgrade: @escaping Probe, logger: Logger, firstRequestTimeout: TimeAmount = .seconds(30)) {
        self.wouldUpgrade = wouldUpgrade
        self.logger = logger
        self.firstRequestTimeout = firstRequestTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        firstRequestDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: firstRequestTimeout) {
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        firstRequestDeadline?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !probing {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        firstRequestDeadline?.cancel()
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
