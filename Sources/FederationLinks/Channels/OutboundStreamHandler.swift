public import Federation
public import Foundation
public import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
public import XMLStreaming
import XMPP

/// What an outbound stream tells the rest of the gateway.
public struct OutboundStreamCallbacks: Sendable {
    /// The stream is authenticated; stanzas may be sent with `OutboundStreamHandler.send` on this channel.
    public var established: @Sendable (OutboundEstablishedStream, any Channel) -> Void
    /// The stream failed before or after establishment; queued stanzas are bounced with
    /// `failure.bounceError`.
    public var failed: @Sendable (OutboundFailure) -> Void

    public init(established: @escaping @Sendable (OutboundEstablishedStream, any Channel) -> Void, failed: @escaping @Sendable (OutboundFailure) -> Void) {
        self.established = established
        self.failed = failed
    }
}

/// Runs one outbound server-to-server connection: `OutboundStreamStateMachine` decides, this does
/// the I/O (writes, the TLS client handler after `<proceed/>`, closing).
public final class OutboundStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private var machine: OutboundStreamStateMachine
    private var io: StreamIO
    private var parser: XMLStreamParser { io.parser }
    private let tls: FederationTLS?
    private let callbacks: OutboundStreamCallbacks
    private let now: @Sendable () -> Date
    private let certificateRecord = PeerCertificateRecord()
    private var context: ChannelHandlerContext?

    public init(
        machine: OutboundStreamStateMachine,
        limits: XMLStreamLimits,
        tls: FederationTLS?,
        callbacks: OutboundStreamCallbacks,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.machine = machine
        self.io = StreamIO(limits: limits)
        self.tls = tls
        self.callbacks = callbacks
        self.now = now
    }

    /// Sends a stanza if the stream is established; otherwise says what to do with it. Call on the
    /// channel's event loop.
    public func send(_ stanza: XMLElement) -> OutboundStreamStateMachine.StanzaDecision {
        let decision = machine.stanzaSendRequested(stanza)
        if case .send(let element) = decision, let context {
            StreamIO.write(element, context: context)
        }
        return decision
    }

    /// Writes a whitespace keep-alive (RFC 6120 §4.6.1). Call on the channel's event loop.
    public func sendKeepAlive() {
        guard let context, machine.establishedStream != nil else { return }
        StreamIO.write([0x20], context: context)
    }

    /// Ends the stream politely. Call on the channel's event loop.
    public func close() {
        guard let context else { return }
        run(machine.closeRequested(), context: context)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { run(machine.connectionEstablished(), context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        run(machine.connectionEstablished(), context: context)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let (events, failure) = io.read(unwrapInboundIn(data))
        for event in events {
            run(machine.streamEventReceived(event), context: context)
        }
        if let failure {
            run(machine.parseFailed(failure), context: context)
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            let remote = machine.remoteDomain
            let valid = certificateRecord.validation.provenDomains(among: [remote]).contains(remote)
            run(machine.tlsEstablished(peerCertificateValidForRemote: valid), context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            run(machine.tlsFailed(reason: "\(error)"), context: context)
        } else {
            run(machine.connectionClosed(), context: context)
        }
        context.close(promise: nil)
    }

    public func channelInactive(context: ChannelHandlerContext) {
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
                callbacks.established(stream, context.channel)
            case .failed(let failure), .ended(let failure):
                callbacks.failed(failure)
            case .close(let error):
                StreamIO.write(StreamIO.closingBytes(error), context: context)
            case .closeConnection:
                context.close(promise: nil)
            }
        }
    }

    /// `<proceed/>` arrived: plaintext after it is refused unparsed (STARTTLS injection), the parser
    /// starts afresh for the stream that follows the handshake, and the TLS client goes in front.
    private func startTLS(serverName: String, context: ChannelHandlerContext) {
        guard parser.bytesAfterLastElement == 0 else {
            return run(machine.tlsFailed(reason: "the peer sent data after <proceed/> before TLS"), context: context)
        }
        parser.restart()
        guard let tls else {
            return run(machine.tlsFailed(reason: "TLS is not configured"), context: context)
        }
        do {
            let handler = try NIOSSLClientHandler(
                context: try tls.makeClientContext(),
                serverHostname: serverName,
                customVerificationCallback: tls.verificationCallback(record: certificateRecord, now: now)
            )
            try context.pipeline.syncOperations.addHandler(handler, position: .first)
        } catch {
            run(machine.tlsFailed(reason: "TLS could not start: \(error)"), context: context)
        }
    }
}

/// Opens outbound server-to-server connections.
public enum FederationConnector {
    /// Connects to `host:port` and runs a fresh `OutboundStreamHandler` on the connection;
    /// `makeHandler` runs on the connection's event loop.
    public static func connect(
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
