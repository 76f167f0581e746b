package import Federation
package import Foundation
package import Logging
package import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
package import XMLStreaming
import XMPP

/// What an outbound stream tells the rest of the gateway.
package struct OutboundStreamCallbacks: Sendable {
    /// The stream is authenticated; stanzas may be sent with `OutboundStreamHandler.send` on this channel.
    package var established: @Sendable (OutboundEstablishedStream, any Channel) -> Void
    /// The stream failed before or after establishment; queued stanzas are bounced with
    /// `failure.bounceError`.
    package var failed: @Sendable (OutboundFailure) -> Void
    /// The peer answered a `<db:verify/>` request made with
    /// `OutboundStreamHandler.requestVerification`: hand it to the inbound stream that asked
    /// (`InboundStreamHandler.deliverVerificationAnswer`).
    package var verificationAnswered: @Sendable (DialbackVerify) -> Void
    /// No answer will come for a request on this stream (it ended, failed or timed out first):
    /// tell the inbound stream that asked (`InboundStreamHandler.deliverVerificationFailure`).
    package var verificationFailed: @Sendable (DialbackVerify, DialbackVerificationFailure) -> Void

    package init(
        established: @escaping @Sendable (OutboundEstablishedStream, any Channel) -> Void,
        failed: @escaping @Sendable (OutboundFailure) -> Void,
        verificationAnswered: @escaping @Sendable (DialbackVerify) -> Void = { _ in },
        verificationFailed: @escaping @Sendable (DialbackVerify, DialbackVerificationFailure) -> Void = { _, _ in }
    ) {
        self.established = established
        self.failed = failed
        self.verificationAnswered = verificationAnswered
        self.verificationFailed = verificationFailed
    }
}

/// Runs one outbound server-to-server connection: `OutboundStreamStateMachine` decides, this does
/// the I/O (writes, the TLS client handler after `<proceed/>`, closing) and keeps the machine's
/// one timer: from the connection until establishment, and again while our closing tag waits
/// for the peer's.
///
/// The handler logs how the stream ends up, since the machine only returns it: established (with
/// the authentication method and TLS), failed, lost (with the failure's reason and the condition
/// queued stanzas bounce with). Records carry `direction` (`out`), `peer` (the remote domain),
/// `remote-address`, `stream-id` (the peer's, once established) and, for verification-only
/// connections, `purpose`. It counts in `FederationMetrics` the stanzas it writes (pings
/// included) and the peer's input it could not parse; the link's phase is the link table's, which
/// the gateway reports.
package final class OutboundStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    private var machine: OutboundStreamStateMachine
    private var io: StreamIO
    private var parser: XMLStreamParser { io.parser }
    private let tls: FederationTLS?
    private let callbacks: OutboundStreamCallbacks
    private let now: @Sendable () -> Date
    private let timeout: TimeAmount?
    private var timer: Scheduled<Void>?
    private let certificateRecord = PeerCertificateRecord()
    private var context: ChannelHandlerContext?
    private var logger: Logger
    private let metrics: FederationMetrics

    /// - Parameters:
    ///   - timeout: the stream-establishment timeout (`FederationSettings`), also used for the wait
    ///     for the peer's closing tag; `nil` arms no timer. A verification-only connection is never
    ///     established, so its requests are bounded by this too.
    ///   - logger: where this connection's records go; the handler adds the connection's metadata.
    ///   - metrics: where this connection's stanzas and parse errors are counted.
    package init(
        machine: OutboundStreamStateMachine,
        limits: XMLStreamLimits,
        tls: FederationTLS?,
        callbacks: OutboundStreamCallbacks,
        timeout: TimeAmount? = nil,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "consulate.federation"),
        metrics: FederationMetrics = FederationMetrics()
    ) {
        self.metrics = metrics
        self.machine = machine
        self.io = StreamIO(limits: limits)
        self.tls = tls
        self.callbacks = callbacks
        self.timeout = timeout
        self.now = now
        self.logger = logger
        self.logger[metadataKey: "direction"] = "out"
        self.logger[metadataKey: "peer"] = "\(machine.remoteDomain)"
        if machine.purpose == .verification { self.logger[metadataKey: "purpose"] = "dialback verification" }
    }

    /// Sends a stanza if the stream is established; otherwise says what to do with it. Call on the
    /// channel's event loop.
    /// - Parameter written: completed once the stanza's bytes are written to the socket, failed
    ///   when they are not (the stream is still negotiating, so the caller keeps it; the stream has
    ///   failed or ended; the write failed): how the gateway knows when a stored message has left it.
    /// - Parameter flush: off when the caller writes a batch and calls `flush()` after its last.
    @discardableResult
    package func send(_ stanza: XMLElement, written: EventLoopPromise<Void>? = nil, flush: Bool = true) -> OutboundStreamStateMachine.StanzaDecision {
        let decision = machine.stanzaSendRequested(stanza)
        if case .send(let element) = decision, let context {
            metrics.stanza(.outbound, element)
            StreamIO.write(element, context: context, promise: written, flush: flush)
        } else {
            written?.fail(OutboundStreamNotWritable(decision: decision))
        }
        return decision
    }

    /// Flushes what `send(_:written:flush:)` wrote without flushing. Call on the channel's event loop.
    package func flush() {
        context?.flush()
    }

    /// Hands a `<db:verify/>` request to this stream (XEP-0220 §2.1.2): written now if the stream
    /// can carry it, kept by the machine until it can; the answer or the failure comes through
    /// the callbacks. `.streamEnded` means this stream takes no more: ask over another connection.
    /// Call on the channel's event loop.
    package func requestVerification(_ request: DialbackVerify) -> OutboundStreamStateMachine.VerificationDecision {
        let decision = machine.verificationRequested(request)
        if case .send(let element) = decision, let context {
            StreamIO.write(element, context: context)
        }
        return decision
    }

    /// Writes a whitespace keep-alive (RFC 6120 §4.6.1), if the stream is established. Call on the
    /// channel's event loop.
    package func sendKeepAlive(flush: Bool = true) {
        guard let context, machine.establishedStream != nil else { return }
        StreamIO.write([0x20], context: context, flush: flush)
    }

    /// Ends the stream politely. Call on the channel's event loop.
    package func close() {
        guard let context else { return }
        run(machine.closeRequested(), context: context)
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { connected(context: context) }
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    package func channelActive(context: ChannelHandlerContext) {
        connected(context: context)
        context.fireChannelActive()
    }

    /// A direct TLS connection (XEP-0368) first completes the handshake; the stream starts when
    /// it has, in `userInboundEventTriggered`.
    private func connected(context: ChannelHandlerContext) {
        logger[metadataKey: "remote-address"] = StreamIO.remoteAddress(of: context.channel)
        logger.debug("outbound connection opened", metadata: ["transport": "\(machine.directTLS ? "direct TLS" : "STARTTLS")"])
        armTimer(context: context)
        if machine.directTLS {
            do {
                try addTLSClient(serverName: machine.remoteDomain, context: context)
            } catch {
                run(machine.tlsFailed(reason: "TLS could not start: \(error)"), context: context)
            }
            return
        }
        run(machine.connectionEstablished(), context: context)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let (events, failure) = io.read(unwrapInboundIn(data))
        for event in events {
            run(machine.streamEventReceived(event), context: context)
        }
        if let failure {
            metrics.parseError(.outbound, StreamError(failure).condition)
            run(machine.parseFailed(failure), context: context)
        }
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            let remote = machine.remoteDomain
            let valid = certificateRecord.validation.provenDomains(among: [remote]).contains(remote)
            if machine.directTLS && machine.phase == .idle {
                run(machine.connectionEstablished(peerCertificateValidForRemote: valid), context: context)
            } else {
                run(machine.tlsEstablished(peerCertificateValidForRemote: valid), context: context)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            run(machine.tlsFailed(reason: "\(error)"), context: context)
        } else {
            run(machine.connectionClosed(), context: context)
        }
        context.close(promise: nil)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        run(machine.connectionClosed(), context: context)
        context.fireChannelInactive()
    }

    private func run(_ actions: [OutboundStreamStateMachine.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case .sendBytes(let bytes):
                StreamIO.write(bytes, context: context)
            case .sendElement(let element):
                StreamIO.write(element, context: context)
            case .startTLS(let serverName):
                startTLS(serverName: serverName, context: context)
            case .restartStream:
                parser.restart()
            case .established(let stream):
                cancelTimer()
                if let streamID = stream.streamID { logger[metadataKey: "stream-id"] = "\(streamID)" }
                logger.info(
                    "outbound link established",
                    metadata: ["method": "\(stream.method)", "tls": "\(stream.security.isEncrypted ? "yes" : "no")", "security": "\(stream.security)"]
                )
                callbacks.established(stream, context.channel)
            case .failed(let failure):
                logger.warning("outbound stream failed", metadata: Self.metadata(failure))
                callbacks.failed(failure)
            case .ended(let failure):
                // A peer closing an idle link is ordinary; anything else lost a working link.
                let level: Logger.Level = failure.cause == .closedByPeer ? .notice : .warning
                logger.log(level: level, "outbound link lost", metadata: Self.metadata(failure))
                callbacks.failed(failure)
            case .close(let error):
                StreamIO.write(StreamIO.closingBytes(error), context: context)
                armTimer(context: context)
            case .closeConnection:
                cancelTimer()
                context.close(promise: nil)
            case .deliverVerificationAnswer(let answer):
                callbacks.verificationAnswered(answer)
            case .verificationFailed(let request, let failure):
                callbacks.verificationFailed(request, failure)
            }
        }
    }

    /// The failure's reason, the stream error we sent, and what queued stanzas bounce with.
    private static func metadata(_ failure: OutboundFailure) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "reason": "\(failure.reason)",
            "bounce-condition": "\(failure.bounceError.condition.rawValue)",
            "temporary": "\(failure.isTemporary)",
        ]
        if let sent = failure.sentStreamError { metadata["sent-stream-error"] = "\(sent.condition.rawValue)" }
        return metadata
    }

    /// (Re)starts the machine's timer; on expiry the machine decides (`timedOut`).
    private func armTimer(context: ChannelHandlerContext) {
        cancelTimer()
        guard let timeout else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            timer = nil
            guard let context = self.context else { return }
            run(machine.timedOut(), context: context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    /// `<proceed/>` arrived: plaintext after it is refused unparsed (STARTTLS injection), the parser
    /// starts afresh for the stream that follows the handshake, and the TLS client goes in front.
    private func startTLS(serverName: String, context: ChannelHandlerContext) {
        guard parser.bytesAfterLastElement == 0 else {
            return run(machine.tlsFailed(reason: "the peer sent data after <proceed/> before TLS"), context: context)
        }
        parser.restart()
        do {
            try addTLSClient(serverName: serverName, context: context)
        } catch {
            run(machine.tlsFailed(reason: "TLS could not start: \(error)"), context: context)
        }
    }

    /// Puts the TLS client in front, with SNI and ALPN, recording the peer's certificate.
    private func addTLSClient(serverName: String, context: ChannelHandlerContext) throws {
        guard let tls else { throw TLSNotConfigured() }
        let handler = try NIOSSLClientHandler(
            context: try tls.clientContext(),
            serverHostname: serverName,
            customVerificationCallback: tls.verificationCallback(record: certificateRecord, now: now)
        )
        try context.pipeline.syncOperations.addHandler(handler, position: .first)
    }
}

/// Opens outbound server-to-server connections.
package enum FederationConnector {
    /// Connects to `host:port` and runs a fresh `OutboundStreamHandler` on the connection;
    /// `makeHandler` runs on the connection's event loop.
    package static func connect(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        makeHandler: @escaping @Sendable () -> OutboundStreamHandler
    ) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler())
                }
            }
            .connect(host: host, port: port)
            .get()
    }
}

/// A stanza handed to `OutboundStreamHandler.send` was not written: the machine's decision says why.
package struct OutboundStreamNotWritable: Error, Sendable {
    package var decision: OutboundStreamStateMachine.StanzaDecision
}
