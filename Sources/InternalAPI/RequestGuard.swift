import FederationLinks
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Counts the API's open connections against `InternalAPI.Limits.connectionLimit`; shared by
/// every connection of one server.
package final class HTTPConnectionCounter: Sendable {
    private let open = NIOLockedValueBox(0)
    package let limit: Int

    package init(limit: Int) {
        self.limit = limit
    }

    /// Takes a slot, or `false` when the limit is reached.
    func admit() -> Bool {
        open.withLockedValue { open in
            guard open < limit else { return false }
            open += 1
            return true
        }
    }

    func release() {
        open.withLockedValue { $0 -= 1 }
    }

    package var count: Int { open.withLockedValue { $0 } }
}

/// Stands right after NIO's HTTP/1 decoder on every API connection and answers what Hummingbird
/// would leave hanging or turn into a 500: a request NIO cannot parse (a NUL in a header, both
/// `Content-Length` and `Transfer-Encoding`, two `Content-Length`s, a header over NIO's limit,
/// bad chunked encoding) gets 400; a `Content-Length` over the limit gets 413 from the head
/// alone, `Expect: 100-continue` or not; a request whose body has not arrived within
/// `requestTimeout` gets 408; a connection with no request for `idleTimeout` is closed. Each
/// error answer closes the connection, since the rest of its bytes cannot be trusted to frame a
/// next request. It leaves the pipeline once the connection switches to WebSocket.
final class RequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a request's head (the idle timer runs).
        case idle
        /// A request's body is arriving (the request timer runs).
        case receiving
        /// The request is in; its response is not yet complete.
        case responding
        /// The response is complete but the request's body is still arriving (a route may answer
        /// before it reads the body, a 401 for one): the request timer still runs.
        case answeredEarly
        /// We answered an error and close: nothing more is read.
        case closing
        /// The connection switched to WebSocket: everything passes until the handler has left.
        case upgraded
    }

    private let limits: InternalAPI.Limits
    private let metrics: FederationMetrics
    private let logger: Logger
    private var state = State.idle
    /// Whether the response to the current request has begun (its head was written): then an
    /// error can no longer be answered, only the connection closed.
    private var responseStarted = false
    private var timer: Scheduled<Void>?

    init(limits: InternalAPI.Limits, metrics: FederationMetrics, logger: Logger) {
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armIdleTimer(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state == .upgraded {
            context.fireChannelRead(data)
            return
        }
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case (.closing, _):
            return
        case (_, .head(let head)):
            timer?.cancel()
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > limits.maxBodyBytes {
                refuse(
                    context, .payloadTooLarge, code: "body-too-large",
                    "the request body may be at most \(limits.maxBodyBytes) bytes; this one announces \(length)"
                )
                return
            }
            state = .receiving
            responseStarted = false
            armTimer(context, after: limits.requestTimeout) { handler, context in
                handler.refuse(context, .requestTimeout, code: "request-timeout", "the request did not arrive whole within \(handler.limits.requestTimeout)")
            }
        case (_, .end):
            timer?.cancel()
            switch state {
            case .receiving: state = .responding
            case .answeredEarly: becomeIdle(context)
            case .idle, .responding, .closing, .upgraded: break
            }
        case (_, .body):
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // After an error answer, what the router still writes for that request would follow it.
        guard state != .closing else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(let head):
            responseStarted = true
            guard head.status == .switchingProtocols else {
                context.write(data, promise: promise)
                return
            }
            // The WebSocket has its own rules (frames, pings, the event stream's buffer). The
            // handler leaves once the 101 is written, not while it is being written.
            timer?.cancel()
            state = .upgraded
            let written = promise ?? context.eventLoop.makePromise()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.assumeIsolated().whenComplete { _ in
                loopBound.value.pipeline.syncOperations.removeHandler(context: loopBound.value, promise: nil)
            }
            context.write(data, promise: written)
        case .end:
            context.write(data, promise: promise)
            switch state {
            case .responding: becomeIdle(context)
            case .receiving: state = .answeredEarly
            case .idle, .answeredEarly, .closing, .upgraded: break
            }
        case .body:
            context.write(data, promise: promise)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        refuse(context, .badRequest, code: "malformed-request", "the request is not valid HTTP/1.1 (\(error))")
    }

    /// Answers `status` with the API's JSON error and closes, or only closes when a response has
    /// already begun.
    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, code: String, _ message: String) {
        guard state != .closing else { return }
        let bodyWasArriving = state == .receiving || state == .answeredEarly
        state = .closing
        timer?.cancel()
        metrics.apiConnectionClosed(code)
        logger.notice("internal API request refused", metadata: ["status": "\(status.code)", "code": "\(code)", "remote-address": "\(context.remoteAddress.map { "\($0)" } ?? "-")"])
        // The router is reading this body: it must end in an error, not look complete.
        if bodyWasArriving { context.fireErrorCaught(RequestRefused(status: status)) }
        guard !responseStarted else {
            Self.close(context)
            return
        }
        let body = APIError.jsonBody(code: code, message: message)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in Self.close(loopBound.value) }
    }

    /// The request and its response are both complete: the connection waits for the next one.
    private func becomeIdle(_ context: ChannelHandlerContext) {
        state = .idle
        armIdleTimer(context)
    }

    private func armIdleTimer(_ context: ChannelHandlerContext) {
        armTimer(context, after: limits.idleTimeout) { handler, context in
            handler.metrics.apiConnectionClosed("idle-timeout")
            Self.close(context)
        }
    }

    /// Closes a connection we end ourselves. The handlers behind are told first that no more input
    /// comes, so that a connection still awaiting its first request ends as one whose client left,
    /// not as a failed WebSocket upgrade (which hummingbird-websocket logs as an error).
    static func close(_ context: ChannelHandlerContext) {
        context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        context.close(promise: nil)
    }

    private func armTimer(_ context: ChannelHandlerContext, after duration: Duration, _ fire: @escaping (RequestGuard, ChannelHandlerContext) -> Void) {
        timer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(duration)) {
            let (handler, context) = loopBound.value
            fire(handler, context)
        }
    }
}

/// What the router's reading of a request body ends with when `RequestGuard` refused the request
/// while its body was arriving.
struct RequestRefused: Error {
    var status: HTTPResponseStatus
}
