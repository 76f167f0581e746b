import FederationLinks
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Counts the API's open connections against `InternalAPI.Limits.connectionLimit`; shared by
/// every connection of one server. Hummingbird's `availableConnectionsDelegate` would stop
/// accepting instead, leaving clients in the kernel's backlog with no answer; a 503 tells them.
package final class HTTPConnectionCounter: Sendable {
    private struct State {
        var open = 0
        /// Whether a connection was refused since a slot was last free: only the first refusal of
        /// a flood is logged.
        var refusing = false
    }

    enum Admission: Equatable {
        case admitted
        case refused(first: Bool)
    }

    private let state = NIOLockedValueBox(State())
    package let limit: Int

    package init(limit: Int) {
        self.limit = limit
    }

    /// Takes a slot, or says that the limit is reached.
    func admit() -> Admission {
        state.withLockedValue { state in
            guard state.open < limit else {
                defer { state.refusing = true }
                return .refused(first: !state.refusing)
            }
            state.open += 1
            return .admitted
        }
    }

    func release() {
        state.withLockedValue { state in
            state.open -= 1
            state.refusing = false
        }
    }

    package var count: Int { state.withLockedValue { $0.open } }
}

/// Stands right after NIO's HTTP/1 decoder on every API connection and answers what Hummingbird
/// would leave hanging or turn into a 500: a request NIO cannot parse (a NUL in a header, both
/// `Content-Length` and `Transfer-Encoding`, two `Content-Length`s, a header over NIO's limit,
/// bad chunked encoding) gets 400; a `Content-Length` over the limit gets 413 from the head
/// alone, `Expect: 100-continue` or not; a request whose body has not arrived within
/// `requestTimeout` gets 408; a connection with no request for `idleTimeout`, or whose client
/// stops reading its response for as long, is closed. Each error answer closes the connection,
/// since the rest of its bytes cannot be trusted to frame a next request; a client that pipelined
/// requests gets the answers before it first, then the close. It leaves the pipeline once the
/// connection switches to WebSocket.
final class RequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        /// Reading HTTP/1.1 requests.
        case http
        /// A request asked to switch protocols. NIO's decoder parses nothing after it and hands on
        /// what follows as raw bytes, so everything inbound passes unread; the connection becomes a
        /// WebSocket (101) or is closed once the request is answered.
        case upgrading
        /// The 101 is being written; the handler leaves once it is.
        case upgraded
        /// A request was refused while earlier ones still await their responses: nothing more is
        /// read, those responses go out, then the connection is closed.
        case draining
        /// Closing: nothing more is read or written.
        case closing
    }

    private let limits: InternalAPI.Limits
    private let metrics: FederationMetrics
    private let logger: Logger
    private var phase = Phase.http
    /// Requests whose head went to the router and whose response has not ended; a client that
    /// pipelines has several.
    private var unanswered = 0
    /// Whether the newest request's body is still arriving.
    private var bodyArriving = false
    /// Whether the newest request asked to switch protocols.
    private var upgradeAsked = false
    /// Whether the oldest unanswered request's response has begun (its head was written): then an
    /// error can no longer be answered in its place.
    private var responseStarted = false
    /// The idle or request timer, whichever runs.
    private var timer: Scheduled<Void>?
    /// Runs while a response cannot be written because the client does not read.
    private var stalled: Scheduled<Void>?

    /// How long a client that was answered an error is given to read it, while its remaining
    /// bytes are discarded, before the connection is closed: closing at once with unread input
    /// makes the kernel reset the connection, and the client may never see the answer.
    static let lingerTime = TimeAmount.seconds(2)

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
        stalled?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .http: break
        case .upgrading, .upgraded:
            context.fireChannelRead(data)
            return
        case .draining, .closing:
            return
        }
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            timer?.cancel()
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > limits.maxBodyBytes {
                refuse(
                    context, .payloadTooLarge, code: "body-too-large",
                    "the request body may be at most \(limits.maxBodyBytes) bytes; this one announces \(length)"
                )
                return
            }
            unanswered += 1
            bodyArriving = true
            upgradeAsked = Self.asksToSwitchProtocols(head)
            armTimer(context, after: limits.requestTimeout) { handler, context in
                handler.refuse(context, .requestTimeout, code: "request-timeout", "the request did not arrive whole within \(handler.limits.requestTimeout)")
            }
        case .body:
            break
        case .end:
            timer?.cancel()
            bodyArriving = false
            if upgradeAsked {
                phase = .upgrading
            } else if unanswered == 0 {
                // Answered before its body had arrived.
                armIdleTimer(context)
            }
        }
        context.fireChannelRead(data)
    }

    /// What makes NIO's decoder (llhttp) stop parsing after the request: `CONNECT`, or `Upgrade`
    /// with `Connection: upgrade`.
    static func asksToSwitchProtocols(_ head: HTTPRequestHead) -> Bool {
        head.method == .CONNECT
            || (head.headers.contains(name: "upgrade") && head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" })
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch phase {
        case .http, .upgrading, .draining: break
        case .upgraded:
            context.write(data, promise: promise)
            return
        case .closing:
            // After an error answer, what the router still writes for that request would follow it.
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.status == .switchingProtocols {
                // The WebSocket has its own rules (frames, pings, the event stream's buffer). The
                // handler leaves once the 101 is written, not while it is being written.
                phase = .upgraded
                timer?.cancel()
                stalled?.cancel()
                let written = promise ?? context.eventLoop.makePromise()
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                written.futureResult.assumeIsolated().whenComplete { _ in
                    loopBound.value.pipeline.syncOperations.removeHandler(context: loopBound.value, promise: nil)
                }
                context.write(data, promise: written)
                return
            }
            // An informational head (100 Continue) does not begin the response.
            if head.status.code >= 200 { responseStarted = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            unanswered = max(0, unanswered - 1)
            responseStarted = false
            guard unanswered == 0 else {
                context.write(data, promise: promise)
                return
            }
            switch phase {
            case .upgrading, .draining:
                // A refused upgrade leaves a decoder that parses nothing more; a refusal waited
                // for this response.
                phase = .closing
                let written = promise ?? context.eventLoop.makePromise()
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                written.futureResult.assumeIsolated().whenComplete { _ in Self.close(loopBound.value) }
                context.write(data, promise: written)
            case .http:
                context.write(data, promise: promise)
                if !bodyArriving { armIdleTimer(context) }
            case .upgraded, .closing:
                context.write(data, promise: promise)
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stalled?.cancel()
            stalled = nil
        } else if stalled == nil, unanswered > 0 {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            stalled = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limits.idleTimeout)) {
                let (handler, context) = loopBound.value
                handler.phase = .closing
                handler.timer?.cancel()
                handler.metrics.apiConnectionClosed("write-stalled")
                Self.close(context)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch phase {
        case .draining, .closing: return
        case .http, .upgrading, .upgraded: break
        }
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        refuse(context, .badRequest, code: "malformed-request", "the request is not valid HTTP/1.1 (\(error))")
    }

    /// Answers `status` with the API's JSON error and closes. When the refused request is not the
    /// oldest one awaiting an answer (the client pipelined), the answers before it go out first
    /// and the connection is then closed without one.
    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, code: String, _ message: String) {
        guard phase == .http else { return }
        timer?.cancel()
        metrics.apiConnectionClosed(code)
        logger.notice("internal API request refused", metadata: ["status": "\(status.code)", "code": "\(code)", "remote-address": "\(context.remoteAddress.map { "\($0)" } ?? "-")"])
        // The router is reading this body: it must end in an error, not look complete.
        if bodyArriving { context.fireErrorCaught(RequestRefused(status: status)) }
        // The refused request is the newest. Its head reached the router only if its body was
        // arriving; it may be answered in its place only if nothing before it awaits an answer
        // and the router has not begun (or, answering early, finished) answering it.
        let answerable = bodyArriving ? unanswered == 1 && !responseStarted : unanswered == 0
        guard answerable else {
            guard unanswered > 0 else {
                phase = .closing
                Self.close(context)
                return
            }
            phase = .draining
            // The router may never answer the request whose body failed: bounded all the same.
            armTimer(context, after: limits.requestTimeout) { _, context in Self.close(context) }
            return
        }
        phase = .closing
        let body = APIError.jsonBody(code: code, message: message)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            let (handler, context) = loopBound.value
            handler.linger(context)
        }
    }

    /// Ends our side of the connection and gives the client `lingerTime` to read the answer and
    /// close its own, discarding what it still sends.
    private func linger(_ context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.close(mode: .output).assumeIsolated().whenComplete { result in
            guard case .success = result else {
                Self.close(loopBound.value)
                return
            }
            self.timer = loopBound.value.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerTime) { Self.close(loopBound.value) }
        }
    }

    private func armIdleTimer(_ context: ChannelHandlerContext) {
        armTimer(context, after: limits.idleTimeout) { handler, context in
            handler.phase = .closing
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
