import Federation
import FederationLinks
import GatewayCore
import Logging
import NIOCore
import XMLStreaming

/// Carrying out the core's actions: the only place the gateway touches channels, tasks, the store
/// writer, the log and the metrics.
extension Gateway {
    func execute(_ action: GatewayCore.Action, group: inout DiscardingTaskGroup) {
        switch action {
        case .send(let stanza, let connection):
            stanzaLog.sent(stanza.element, to: stanza.key.remote)
            batches[connection, default: []].append(action)
        case .write(_, let connection), .writeKeepAlive(let connection):
            batches[connection, default: []].append(action)
        case .flush(let connection):
            flush(connection)
        case .connect(let connection, let key, let partner, let purpose):
            connect(connection, key, partner, purpose, group: &group)
        case .close(let connection, _):
            if !onOutboundHandler(connection, { handler, _ in handler?.close() }) { abandoned.insert(connection) }
        case .closeInbound(let connection, let error):
            if let channel = channels[connection] { InboundStreamHandler.close(channel, error: error) }
        case .readMore(let connection):
            if let channel = channels[connection] { InboundStreamHandler.readMore(on: channel) }
        case .pauseAccepting, .resumeAccepting:
            // The gauge follows the listeners, set once they have stopped (or started) accepting.
            let accepting = action == .resumeAccepting
            let metrics = metrics
            let applied = listeners.map { $0.setOption(ChannelOptions.autoRead, value: accepting) }
            EventLoopFuture.andAllComplete(applied, on: connector.group.any()).whenComplete { _ in metrics.acceptingPaused(!accepting) }
        case .requestVerification(let request, let connection):
            let inbox = inboxContinuation
            let handed = onOutboundHandler(connection) { handler, _ in
                if (handler?.requestVerification(request) ?? .streamEnded) == .streamEnded {
                    inbox.yield(.core(.verificationRedirected(request, from: connection)))
                }
            }
            if !handed { inbox.yield(.core(.verificationRedirected(request, from: connection))) }
        case .answerVerification(let answer, let connection):
            if let channel = channels[connection] { InboundStreamHandler.deliverVerificationAnswer(answer, on: channel) }
        case .failVerification(let request, let failure, let connection):
            if let channel = channels[connection] { InboundStreamHandler.deliverVerificationFailure(request, failure, on: channel) }
        case .notify(let subscriber, let event):
            // A stream that ended since the core last heard of it refuses the event: it goes back
            // to the core, so that a message is kept offline rather than lost.
            if let stream = eventStreams[subscriber], stream.push(event) == .refused {
                inboxContinuation.yield(.core(.eventRefused(event, for: stream.user)))
            }
        case .handOver(let subscriber, let event, let sequence):
            eventStreams[subscriber]?.push(event, offlineSequence: sequence)
        case .awaitDrain(let subscriber):
            eventStreams[subscriber]?.awaitDrain()
        case .finish(let subscriber):
            eventStreams.removeValue(forKey: subscriber)?.finish()
        case .store(let job):
            storeWriter?.submit(.core(job, acknowledging))
        case .armTimer(let deadline):
            let (clock, inbox) = (self.clock, inboxContinuation)
            group.addTask {
                guard (try? await clock.sleep(until: deadline)) != nil else { return }
                inbox.yield(.core(.tick))
            }
        case .log(let record):
            logger.log(level: record.level.swiftLog, "\(record.message)", metadata: record.metadata.mapValues { .string($0) })
        case .metric(let change):
            record(change)
        }
    }

    /// Forgets the channel of a connection, or the continuation of an event stream, the core has
    /// heard is gone.
    func forget(_ input: GatewayCore.Input) {
        switch input {
        case .connectionClosed(let connection), .inboundClosed(let connection):
            channels[connection] = nil
            batches[connection] = nil
            abandoned.remove(connection)
        case .subscriberClosed(let subscriber, _):
            eventStreams[subscriber] = nil
        default:
            break
        }
    }

    /// Writes the connection's batch on its event loop and flushes once. A stanza that is not
    /// written goes back to the core; a stored one leaves the store once its bytes are written,
    /// reported straight from the event loop.
    private func flush(_ connection: ConnectionID) {
        guard let writes = batches.removeValue(forKey: connection) else { return }
        let inbox = inboxContinuation
        let handed = onOutboundHandler(connection) { handler, eventLoop in
            guard let handler else {
                for case .send(let stanza, _) in writes { inbox.yield(.core(.writeFailed(stanza, on: connection))) }
                return
            }
            for write in writes {
                switch write {
                case .send(let stanza, _):
                    let written = eventLoop.makePromise(of: Void.self)
                    written.futureResult.whenComplete { result in
                        switch result {
                        case .success: if let ticket = stanza.ticket { inbox.yield(.core(.written(ticket))) }
                        case .failure: inbox.yield(.core(.writeFailed(stanza, on: connection)))
                        }
                    }
                    handler.send(stanza.element, written: written, flush: false)
                case .write(let element, _):
                    handler.send(element, flush: false)
                case .writeKeepAlive:
                    handler.sendKeepAlive(flush: false)
                default:
                    break
                }
            }
            handler.flush()
        }
        guard !handed else { return }
        for case .send(let stanza, _) in writes { inbox.yield(.core(.writeFailed(stanza, on: connection))) }
    }

    /// Runs `body` on the outbound connection's event loop with its handler, `nil` when the handler
    /// is gone (the channel closed, and its report is on the way); `false` when there is no such
    /// channel, and `body` never runs.
    @discardableResult
    private func onOutboundHandler(_ connection: ConnectionID, _ body: @escaping @Sendable (OutboundStreamHandler?, any EventLoop) -> Void) -> Bool {
        guard let channel = channels[connection] else { return false }
        channel.eventLoop.execute {
            body(try? channel.pipeline.syncOperations.handler(type: OutboundStreamHandler.self), channel.eventLoop)
        }
        return true
    }

    /// Opens an outbound connection as a child task; what happens on it comes back through the
    /// inbox under its connection id. A failure before any stream exists (the domain's DNS, no
    /// target answering) is logged here, since no stream handler saw it.
    private func connect(
        _ connection: ConnectionID, _ key: LinkKey, _ partner: PartnerPolicy, _ purpose: GatewayCore.ConnectionPurpose,
        group: inout DiscardingTaskGroup
    ) {
        let inbox = inboxContinuation
        let callbacks = OutboundStreamCallbacks(
            established: { stream, channel in
                inbox.yield(.opened(connection, channel))
                inbox.yield(.core(.linkEstablished(connection, stream)))
            },
            failed: { failure in
                inbox.yield(.core(.connectionFailed(connection, LinkFailure(bounceError: failure.bounceError, isTemporary: failure.isTemporary))))
            },
            verificationAnswered: { inbox.yield(.core(.verificationAnswered($0))) },
            verificationFailed: { inbox.yield(.core(.verificationFailed($0, $1))) }
        )
        let timeout = core.configuration.policy.settings.streamEstablishmentTimeout
        group.addTask { [connector, logger] in
            switch await connector.open(key, partner: partner, purpose: purpose, establishmentTimeout: timeout, callbacks: callbacks) {
            case .success(let channel):
                guard case .enqueued = inbox.yield(.opened(connection, channel)) else {
                    channel.close(promise: nil)
                    return
                }
                inbox.yield(.core(.connected(connection)))
                channel.closeFuture.whenComplete { _ in inbox.yield(.core(.connectionClosed(connection))) }
            case .failure(let failure):
                let message = purpose == .link ? "outbound link failed" : "could not open a dialback verification connection"
                logger.warning(
                    "\(message)",
                    metadata: [
                        "peer": "\(key.remote)", "local": "\(key.local)", "reason": "\(failure.reason)",
                        "bounce-condition": "\(failure.bounceError.condition.rawValue)", "temporary": "\(failure.isTemporary)",
                    ]
                )
                inbox.yield(.core(.connectionFailed(connection, failure)))
            }
        }
    }

    /// Binds a listener whose connections each get a connection id, reported to the core as
    /// accepted and closed, and an `InboundStreamHandler` whose callbacks name that id.
    func listen(on port: Int, _ transport: InboundStreamStateMachine.Transport) async throws -> any Channel {
        let (inbox, configuration, counter) = (inboxContinuation, inboundConfiguration, inboundConnections)
        let (limits, tls, makeStreamID, logger, metrics) = (settings.limits, settings.tls, makeStreamID, logger, metrics)
        let listener = try await FederationListener.bind(host: settings.listenAddress, port: port, group: connector.group) { channel in
            let connection = ConnectionID(.inbound, counter.withLockedValue { $0 += 1; return $0 })
            inbox.yield(.opened(connection, channel))
            inbox.yield(.core(.inboundAccepted(connection, source: channel.remoteAddress?.ipAddress ?? "unknown")))
            channel.closeFuture.whenComplete { _ in inbox.yield(.core(.inboundClosed(connection))) }
            return InboundStreamHandler(
                configuration: configuration.withLockedValue { $0 },
                transport: transport,
                limits: limits,
                tls: tls,
                callbacks: InboundStreamCallbacks(
                    stanzaReceived: { inbox.yield(.core(.stanzaReceived($0, on: connection))) },
                    authenticated: { pair, method, _ in
                        inbox.yield(.core(.inboundAuthenticated(connection, pair, method, LinkReport.TLS(method, transport: transport))))
                    },
                    verificationRequested: { _, request, _ in inbox.yield(.core(.verificationRequested(request, inbound: connection))) },
                    readDelivered: { inbox.yield(.core(.inboundReadHandled(connection))) }
                ),
                makeStreamID: makeStreamID,
                logger: logger,
                metrics: metrics
            )
        }
        listeners.append(listener)
        return listener
    }

    private func record(_ change: MetricChange) {
        switch change {
        case .bounced(let condition): metrics.bounced(condition)
        case .dropped(let condition): metrics.dropped(condition)
        case .pingTimedOut: metrics.pingTimedOut()
        case .dialbackVerification(let result): metrics.dialbackVerification(result)
        case .outboundLinks(let gauges): metrics.outboundLinks(gauges)
        case .storedOutboundMessages(let count): metrics.storedOutboundMessages(count)
        case .inboundLimit(let limit): metrics.inboundLimit(limit)
        case .storeFailed(let kind): metrics.storeFailed(kind)
        case .inboundReadsHeld(let count): metrics.inboundReadsHeld(count)
        case .eventStreamOverflowed: metrics.eventStreamOverflowed()
        case .subscriptionRequestsLimited: metrics.subscriptionRequestsLimited()
        }
    }
}

extension LogRecord.Level {
    var swiftLog: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        }
    }
}
