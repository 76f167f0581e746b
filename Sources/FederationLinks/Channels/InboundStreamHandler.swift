package import Federation
package import Foundation
package import Logging
package import NIOCore
import NIOSSL
import NIOTLS
package import XMLStreaming
package import XMPP

/// What an inbound stream hands to the rest of the gateway.
package struct InboundStreamCallbacks: Sendable {
    /// An authenticated stanza for the router.
    package var stanzaReceived: @Sendable (Stanza) -> Void
    /// A peer authenticated `pair.remote` for our `pair.local` on this stream (for logs and the
    /// link registry), on `channel`: what the gateway closes with
    /// `InboundStreamHandler.close(_:error:)` when the domain may no longer federate.
    package var authenticated: @Sendable (_ pair: LinkKey, AuthenticationMethod, _ channel: any Channel) -> Void
    /// The TLS handshake completed (after STARTTLS or, on direct TLS, before the stream), with the
    /// ALPN protocol it agreed on, if any (`xmpp-server` when the peer asked for it): for logs.
    package var tlsEstablished: @Sendable (_ negotiatedProtocol: String?) -> Void
    /// Dialback wants the authoritative server for a domain to check a key; report the answer on
    /// `channel` with `InboundStreamHandler.deliverVerificationAnswer`, or the failure to get one
    /// with `deliverVerificationFailure`.
    package var verificationRequested: @Sendable (_ authoritativeDomain: String, _ verify: DialbackVerify, _ channel: any Channel) -> Void
    /// The stream ended; the error is what we sent, if any.
    package var closed: @Sendable (StreamError?) -> Void
    /// A read delivered stanzas, all reported before this: the connection reads no more until
    /// `InboundStreamHandler.readMore(on:)`, so that a peer cannot send faster than the gateway
    /// (and its store) take what it sends.
    package var readDelivered: @Sendable () -> Void

    package init(
        stanzaReceived: @escaping @Sendable (Stanza) -> Void,
        authenticated: @escaping @Sendable (LinkKey, AuthenticationMethod, any Channel) -> Void = { _, _, _ in },
        tlsEstablished: @escaping @Sendable (String?) -> Void = { _ in },
        verificationRequested: @escaping @Sendable (String, DialbackVerify, any Channel) -> Void = { _, _, _ in },
        closed: @escaping @Sendable (StreamError?) -> Void = { _ in },
        readDelivered: (@Sendable () -> Void)? = nil
    ) {
        self.stanzaReceived = stanzaReceived
        self.authenticated = authenticated
        self.tlsEstablished = tlsEstablished
        self.verificationRequested = verificationRequested
        self.closed = closed
        self.readDelivered = readDelivered ?? {}
        self.readsPaced = readDelivered != nil
    }

    /// Whether reads wait for `readMore` after a read that delivered stanzas (a `readDelivered`
    /// callback was given); without one, the connection reads as fast as the peer sends.
    package var readsPaced: Bool
}

/// Runs one inbound server-to-server connection: bytes through the parser into
/// `InboundStreamStateMachine`, and the machine's actions onto the channel. All protocol decisions
/// are the machine's; this only does I/O (writes, TLS insertion, closing). On a direct TLS
/// connection `FederationListener` puts this handler's `makeTLSHandler()` in front before the
/// first byte, and the machine starts once the handshake completes.
///
/// The handler logs what the operator needs about the stream, since the machine only returns it:
/// refusals and stream errors with the condition and the machine's reason, authentications with
/// their method, dialback refusals, TLS and connection failures. Records carry `direction` (`in`),
/// `remote-address`, `stream-id` (our header's id) and `peer` (the domain the header claims, once
/// it is a valid JID). Nothing from stanzas and no dialback key is ever logged. Next to those
/// records it counts the stream in `FederationMetrics`: its phase, the stanzas it delivers,
/// refusals and parse errors.
package final class InboundStreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    private var machine: InboundStreamStateMachine
    private var io: StreamIO
    private var parser: XMLStreamParser { io.parser }
    private let limits: (pre: XMLStreamLimits, post: XMLStreamLimits)
    private let tls: FederationTLS?
    private let callbacks: InboundStreamCallbacks
    private let makeStreamID: @Sendable () -> String
    private let now: @Sendable () -> Date
    private let certificateRecord = PeerCertificateRecord()
    private var context: ChannelHandlerContext?
    private var closed = false
    /// Stanzas were delivered since the last read completed.
    private var deliveredInRead = false
    /// Reads wait for `readMore`: the gateway has not yet taken what the last read delivered.
    private var readsHeld = false
    /// A read was asked for (by auto-read, or TLS) while reads were held.
    private var readPending = false
    private var logger: Logger
    private let metrics: FederationMetrics
    /// The phase this connection is counted in (`consulate_links{direction="in"}`), until it is gone.
    private var linkState: FederationMetrics.LinkState?

    /// - Parameters:
    ///   - transport: `.directTLS` for connections to the XEP-0368 port, which need `tls`.
    ///   - makeStreamID: draws the unpredictable id of each response header (randomness is injected).
    ///   - now: the clock certificate validation uses.
    ///   - logger: where this connection's records go; the handler adds the connection's metadata.
    ///   - metrics: where this connection is counted.
    package init(
        configuration: InboundStreamStateMachine.Configuration,
        transport: InboundStreamStateMachine.Transport = .startTLS,
        limits: (pre: XMLStreamLimits, post: XMLStreamLimits),
        tls: FederationTLS?,
        callbacks: InboundStreamCallbacks,
        makeStreamID: @escaping @Sendable () -> String,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "consulate.federation"),
        metrics: FederationMetrics = FederationMetrics()
    ) {
        self.metrics = metrics
        self.machine = InboundStreamStateMachine(configuration: configuration, transport: transport)
        self.io = StreamIO(limits: limits.pre)
        self.limits = limits
        self.tls = tls
        self.callbacks = callbacks
        self.makeStreamID = makeStreamID
        self.now = now
        self.logger = logger
        self.logger[metadataKey: "direction"] = "in"
    }

    /// Whether this connection negotiates TLS with STARTTLS or starts with it.
    package var transport: InboundStreamStateMachine.Transport { machine.transport }

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        logger[metadataKey: "remote-address"] = StreamIO.remoteAddress(of: context.channel)
        logger.debug("inbound connection accepted", metadata: ["transport": "\(transport == .directTLS ? "direct TLS" : "STARTTLS")"])
        moveLink(to: .connecting)
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        moveLink(to: nil)
    }

    /// Counts this connection in its new phase (`nil`: gone), once per change.
    private func moveLink(to state: FederationMetrics.LinkState?) {
        guard state != linkState else { return }
        metrics.inboundStream(from: linkState, to: state)
        linkState = state
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        let (events, failure) = io.read(unwrapInboundIn(data))
        for event in events {
            guard !closed else { return }
            let actions: [InboundStreamStateMachine.Action]
            switch event {
            case .streamOpened(let header):
                let streamID = makeStreamID()
                logger[metadataKey: "stream-id"] = "\(streamID)"
                if let claimed = header.attribute("from").flatMap({ try? JID($0) }) {
                    logger[metadataKey: "peer"] = "\(claimed.domainpart)"
                }
                actions = machine.streamHeaderReceived(header, streamID: streamID)
            case .element(let element):
                actions = machine.elementReceived(element)
            case .streamClosed:
                actions = machine.peerClosedStream()
            }
            run(actions, context: context)
        }
        if let failure, !closed {
            metrics.parseError(.inbound, StreamError(failure).condition)
            run(machine.parseFailed(failure), context: context, closeLevel: .warning)
        }
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        if deliveredInRead, callbacks.readsPaced, !closed {
            deliveredInRead = false
            readsHeld = true
            callbacks.readDelivered()
        }
        context.fireChannelReadComplete()
    }

    /// Auto-read asks here, from the tail of the pipeline, before TLS: held reads wait, while the
    /// TLS handler's own reads (a handshake) are not held.
    package func read(context: ChannelHandlerContext) {
        guard readsHeld else { return context.read() }
        readPending = true
    }

    /// The gateway has taken what the last read delivered: the connection reads again. From any
    /// thread.
    package static func readMore(on channel: any Channel) {
        channel.eventLoop.execute {
            guard let handler = try? channel.pipeline.syncOperations.handler(type: InboundStreamHandler.self),
                let context = handler.context, handler.readsHeld
            else { return }
            handler.readsHeld = false
            if handler.readPending {
                handler.readPending = false
                context.read()
            }
        }
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiatedProtocol) = event {
            logger.debug("inbound TLS established", metadata: ["alpn": "\(negotiatedProtocol ?? "none")"])
            callbacks.tlsEstablished(negotiatedProtocol)
            switch machine.transport {
            case .startTLS:
                let proven = certificateRecord.validation.provenDomains(among: machine.peerDomain.map { [$0] } ?? [])
                run(machine.tlsEstablished(peerCertificateDomains: proven), context: context)
            case .directTLS:
                run(machine.directTLSEstablished(), context: context)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        if !closed {
            closed = true
            logger.debug("inbound connection closed by the peer")
            callbacks.closed(nil)
        }
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS and socket failures: nothing more can be said on this stream.
        if !closed { logger.warning("inbound connection failed", metadata: ["error": "\(error)"]) }
        closed = true
        callbacks.closed(nil)
        context.close(promise: nil)
    }

    /// Reports the authoritative server's answer to a `verificationRequested` callback, from any
    /// thread: the answer is handed to the handler on `channel`'s event loop.
    package static func deliverVerificationAnswer(_ answer: DialbackVerify, on channel: any Channel) {
        channel.eventLoop.execute {
            guard let handler = try? channel.pipeline.syncOperations.handler(type: InboundStreamHandler.self),
                let context = handler.context
            else { return }
            handler.run(handler.machine.dialbackVerificationAnswered(answer), context: context)
        }
    }

    /// Reports that the authoritative server could not be asked, so the peer gets a dialback error
    /// instead of waiting; from any thread.
    package static func deliverVerificationFailure(_ request: DialbackVerify, _ failure: DialbackVerificationFailure, on channel: any Channel) {
        channel.eventLoop.execute {
            guard let handler = try? channel.pipeline.syncOperations.handler(type: InboundStreamHandler.self),
                let context = handler.context
            else { return }
            handler.run(handler.machine.dialbackVerificationFailed(request, failure), context: context)
        }
    }

    /// Ends the stream on `channel` with `error` (our header first if we sent none) and our
    /// closing tag, or with the closing tag alone, from any thread: how the gateway drops a peer at
    /// a limit, a timeout or a reloaded policy.
    package static func close(_ channel: any Channel, error: StreamError?) {
        channel.eventLoop.execute {
            guard let handler = try? channel.pipeline.syncOperations.handler(type: InboundStreamHandler.self),
                let context = handler.context
            else {
                channel.close(promise: nil)
                return
            }
            // The gateway logged why, at the level it chose.
            handler.run(handler.machine.closeRequested(error, streamID: handler.makeStreamID()), context: context, closeLevel: .debug)
        }
    }

    /// Carries out the machine's actions; `closeLevel` is the level a stream error is logged at
    /// (`.warning` when the peer's input could not be parsed).
    private func run(_ actions: [InboundStreamStateMachine.Action], context: ChannelHandlerContext, closeLevel: Logger.Level = .notice) {
        for action in actions {
            guard !closed else { return }
            switch action {
            case .sendBytes(let bytes):
                StreamIO.write(bytes, context: context)
            case .sendElement(let element):
                StreamIO.write(element, context: context)
            case .startTLS:
                startTLS(context: context)
            case .restartStream:
                parser.restart()
            case .checkPeerCertificate(let domain):
                let proven = certificateRecord.validation.provenDomains(among: [domain])
                run(machine.peerCertificateChecked(provenDomains: proven), context: context)
            case .authenticated(let pair, let method):
                parser.limits = limits.post
                logger.info("inbound stream authenticated", metadata: ["peer": "\(pair.remote)", "local": "\(pair.local)", "method": "\(method)"])
                moveLink(to: .established)
                callbacks.authenticated(pair, method, context.channel)
            case .deliver(let stanza):
                metrics.stanza(.inbound, stanza.element)
                deliveredInRead = true
                callbacks.stanzaReceived(stanza)
            case .requestDialbackVerification(let domain, let verify):
                logger.debug("asking the authoritative server to verify a dialback key", metadata: ["peer": "\(domain)", "target": "\(verify.from)"])
                callbacks.verificationRequested(domain, verify, context.channel)
            case .dialbackRefused(let pair, let refusal):
                logger.notice(
                    "inbound dialback refused",
                    metadata: ["peer": "\(pair.sender)", "target": "\(pair.target)", "reason": "\(refusal)"]
                )
            case .close(let error):
                close(error, context: context, level: closeLevel)
            case .disconnect:
                closed = true
                logger.debug("inbound connection closed before its stream opened")
                context.close(promise: nil)
                callbacks.closed(nil)
            }
        }
    }

    /// `<proceed/>` has been written (it was the previous action). Plaintext that followed
    /// `<starttls/>` is refused; otherwise the TLS handler goes in front once `<proceed/>` is out.
    private func startTLS(context: ChannelHandlerContext) {
        guard parser.bytesAfterLastElement == 0 else {
            return close(StreamError(.policyViolation, text: "data after <starttls/> before TLS"), context: context)
        }
        guard let handler = try? makeTLSHandler() else {
            return close(StreamError(.internalServerError, text: "TLS is not configured"), context: context)
        }
        do {
            try context.pipeline.syncOperations.addHandler(handler, position: .first)
        } catch {
            close(StreamError(.internalServerError, text: "TLS could not start"), context: context)
        }
    }

    /// The TLS server side for this connection, after STARTTLS or in front of a direct TLS one: our
    /// certificate and ALPN `xmpp-server` (`FederationTLS`), the peer's certificate requested and
    /// what it proves recorded for the machine. Throws when TLS is not configured.
    func makeTLSHandler() throws -> NIOSSLServerHandler {
        guard let tls else { throw TLSNotConfigured() }
        return NIOSSLServerHandler(
            context: try tls.serverContext(),
            customVerificationCallback: tls.verificationCallback(record: certificateRecord, now: now)
        )
    }

    /// Sends the error (if any) and our closing tag, then closes; a stream error is logged at
    /// `level` (`.error` when it is our own failure), with the machine's reason.
    private func close(_ error: StreamError?, context: ChannelHandlerContext, level: Logger.Level = .notice) {
        guard !closed else { return }
        closed = true
        if let error {
            if !machine.isAuthenticated { metrics.streamRefused(error.condition) }
            logger.log(
                level: error.condition == .internalServerError ? .error : level,
                machine.isAuthenticated ? "inbound stream closed with a stream error" : "inbound stream refused",
                metadata: ["condition": "\(error.condition.rawValue)", "reason": "\(error.text ?? "")"]
            )
        } else {
            logger.debug("inbound stream closed")
        }
        let channel = context.channel
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: StreamIO.closingBytes(error))), promise: promise)
        promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        callbacks.closed(error)
    }
}

/// TLS was needed (STARTTLS or direct TLS, either direction) on a handler made without `FederationTLS`.
struct TLSNotConfigured: Error, CustomStringConvertible {
    var description: String { "TLS is not configured" }
}
