import Federation
package import FederationLinks
import GatewayCore
package import Logging
import NIOConcurrencyHelpers
package import NIOCore
package import PresenceModel
import ServiceLifecycle
package import Storage
import Translation
import XMLStreaming
import XMPP

/// The running gateway: the thin driver of `GatewayCore`. Everything that happens (stanzas from
/// peers, internal users' actions, connections made, lost and written to, timers) goes through one
/// serial inbox into the core, stamped with the injected clock's time, and the driver carries out
/// the actions the core returns: writes to channels (batched, one flush per connection per input),
/// connection attempts, timers, store jobs, event-stream notifications, logs and metrics. The
/// driver decides nothing; handlers only move bytes.
///
/// A swift-service-lifecycle `Service`: `bind()` opens the listeners, `run()` serves until graceful
/// shutdown (or `shutdown()`), owning connection attempts, timers, the archive purge and the store
/// writer as child tasks.
package actor Gateway: Service {
    /// What the inbox carries: the core's inputs, and the little the driver keeps itself.
    enum Message: Sendable {
        case core(GatewayCore.Input)
        /// A connection's channel, for the actions that name it.
        case opened(ConnectionID, any Channel)
        /// Resumed once everything before it is handled and stored: how `settled()` waits.
        case settled(CheckedContinuation<Void, Never>)
        /// An input whose store jobs are acknowledged: resumed once they are carried out, with
        /// whether all were stored. How `apply(_:)` waits.
        case applied(GatewayCore.Input, CheckedContinuation<Bool, Never>)
        /// Graceful shutdown, or `shutdown()`.
        case stop
        /// Everything the closed channels reported has been queued before this.
        case drained
    }

    enum Lifecycle {
        /// Made, or listeners bound; not yet running.
        case bound
        case running
        case finished
    }

    package nonisolated let settings: Settings
    var core: GatewayCore
    let connector: OutboundConnector
    let clock: GatewayClock
    let logger: Logger
    var stanzaLog: StanzaLog
    let metrics: FederationMetrics
    private let store: (any GatewayStore)?
    let storeWriter: StoreWriter?
    private let archiveRetentionDays: Int?
    let makeStreamID: @Sendable () -> String
    /// What new inbound streams negotiate under: read by the listeners' handler factory on the
    /// event loops, replaced on reload.
    let inboundConfiguration: NIOLockedValueBox<InboundStreamStateMachine.Configuration>
    let inboundConnections = NIOLockedValueBox<UInt64>(0)
    var channels: [ConnectionID: any Channel] = [:]
    /// Writes decided for each connection since its last flush.
    var batches: [ConnectionID: [GatewayCore.Action]] = [:]
    var eventStreams: [SubscriberID: EventSubscription] = [:]
    var subscribersOpened: UInt64 = 0
    var listeners: [any Channel] = []
    private let inbox: AsyncStream<Message>
    let inboxContinuation: AsyncStream<Message>.Continuation
    private var lifecycle = Lifecycle.bound
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []
    /// Connections the core closed before their channel was known.
    var abandoned: Set<ConnectionID> = []
    /// While an applied input is handled: the acknowledgement its store jobs carry.
    var acknowledging: StoreWriter.Acknowledgement?
    private var acknowledgementsIssued: UInt64 = 0

    /// - Parameter logger: the operator's log: what the core decides to log, what the driver sees
    ///   before a stream exists, and each stream handler's records with its connection's metadata.
    /// - Parameter stanzaLog: every stanza in and out, off unless `[log] stanzas` turns it on.
    /// - Parameter metrics: where the core's metric changes and the handlers' counts go.
    /// - Parameter store: where internal users' changes, the outbound queue, offline messages and
    ///   history are kept; `nil` keeps everything in memory (tests of the links need no store).
    /// - Parameter archiveRetentionDays: with a store, archived messages older than this are purged
    ///   at start and every hour; `nil` keeps them.
    /// - Parameter clock: the one source of time: inputs are stamped and timers sleep on it.
    /// - Parameter randomSeed: seeds the core's backoff jitter.
    /// - Parameter descriptorLimit: the process's file-descriptor limit (`DescriptorLimit.raised()`);
    ///   the listeners stop accepting while open connections would use the policy's reserve of it.
    package init(
        settings: Settings,
        directory: PresenceDirectory,
        group: any EventLoopGroup,
        resolveTargets: @escaping TargetResolver,
        makeStreamID: @escaping @Sendable () -> String,
        logger: Logger = Logger(label: "consulate.gateway"),
        stanzaLog: StanzaLog = StanzaLog(mode: .off),
        metrics: FederationMetrics = FederationMetrics(),
        store: (any GatewayStore)? = nil,
        archiveRetentionDays: Int? = nil,
        clock: GatewayClock = .system,
        randomSeed: UInt64 = UInt64.random(in: .min ... .max),
        descriptorLimit: Int? = nil
    ) {
        self.settings = settings
        core = GatewayCore(
            configuration: GatewayCore.Configuration(
                translation: settings.translation, policy: settings.policy, links: settings.links,
                keepsMessages: store != nil, randomSeed: randomSeed, descriptorLimit: descriptorLimit,
                storeBacklogLimit: settings.storeBacklogLimit,
                // A page is a quarter of the stream's buffer, so that the next is read while it drains.
                offlinePage: SubscriberFanOut.OfflinePage(count: SubscriberFanOut.OfflinePage.default.count, bytes: max(1, settings.eventBufferBytes / 4))
            ),
            directory: directory
        )
        connector = OutboundConnector(
            group: group, resolveTargets: resolveTargets, tls: settings.tls, limits: settings.limits.pre,
            dialbackSecret: settings.dialbackSecret, logger: logger, metrics: metrics
        )
        self.clock = clock
        self.logger = logger
        self.stanzaLog = stanzaLog
        self.metrics = metrics
        self.store = store
        self.archiveRetentionDays = archiveRetentionDays
        self.makeStreamID = makeStreamID
        inboundConfiguration = NIOLockedValueBox(
            InboundStreamStateMachine.Configuration(
                localDomains: settings.translation.localDomains, policy: settings.policy, dialbackSecret: settings.dialbackSecret
            )
        )
        let (inbox, continuation) = AsyncStream.makeStream(of: Message.self)
        self.inbox = inbox
        inboxContinuation = continuation
        storeWriter = store.map { store in
            StoreWriter(
                store: store, logger: logger, reported: { report in continuation.yield(.core(.storeReported(report))) },
                offlineMessagesRead: { id, messages in continuation.yield(.core(.offlineMessagesRead(id, messages))) }
            )
        }
    }

    // MARK: - Lifecycle

    /// Binds the listeners (STARTTLS, and direct TLS when configured) and returns the ports bound;
    /// connections are accepted at once and handled once `run()` runs.
    package func bind() async throws -> ListeningPorts {
        if settings.directTLSPort != nil, settings.tls == nil {
            throw GatewaySettingsError(message: "a direct TLS port needs TLS: configure [tls] with our certificate and key")
        }
        let startTLS = try await listen(on: settings.listenPort, .startTLS)
        var ports = ListeningPorts(startTLS: startTLS.localAddress?.port ?? settings.listenPort, directTLS: nil)
        if let port = settings.directTLSPort {
            do {
                ports.directTLS = try await listen(on: port, .directTLS).localAddress?.port ?? port
            } catch {
                await closeListeners()
                throw error
            }
        }
        return ports
    }

    /// Serves until graceful shutdown or `shutdown()`: first what a previous run left in the
    /// outbound queue goes to the links, then the inbox is handled input by input. At the end
    /// every link is closed, the writes still in flight are accounted for, and the last store
    /// jobs are written before this returns.
    package func run() async throws {
        await withGracefulShutdownHandler {
            await serve()
        } onGracefulShutdown: {
            self.inboxContinuation.yield(.stop)
        }
    }

    /// Stops as graceful shutdown does and returns once `run()` has finished (at once if it never
    /// ran): what the inbox had already accepted is handled and stored first.
    package func shutdown() async {
        switch lifecycle {
        case .bound:
            lifecycle = .finished
            inboxContinuation.finish()
            await closeListeners()
        case .running:
            inboxContinuation.yield(.stop)
            await withCheckedContinuation { stopWaiters.append($0) }
        case .finished:
            break
        }
    }

    private func serve() async {
        guard lifecycle == .bound else { return }
        lifecycle = .running
        await withTaskGroup(of: Void.self) { writers in
            if let storeWriter { writers.addTask { await storeWriter.run() } }
            await withDiscardingTaskGroup { group in
                if let store {
                    do throws(StorageError) {
                        var queued: [QueuedStanza] = []
                        for domain in try await store.pendingDomains() { queued += try await store.pending(for: domain) }
                        handle(.storedMessagesLoaded(queued), group: &group)
                    } catch {
                        logger.error("could not read the outbound queue from the store: its messages wait for the next start", metadata: ["error": "\(error)"])
                    }
                }
                if let storeWriter, let days = archiveRetentionDays {
                    group.addTask { [clock] in
                        repeat {
                            let cutoff = clock.now.wall.millisecondsSinceEpoch - Int64(days) * 86_400_000
                            storeWriter.submit(.purgeArchive(before: Timestamp(millisecondsSinceEpoch: cutoff)))
                        } while (try? await clock.sleep(for: .seconds(3600))) != nil
                    }
                }
                var stopped = false
                for await message in inbox {
                    switch message {
                    case .core(let input): handle(input, group: &group)
                    case .opened(let connection, let channel): opened(connection, channel)
                    case .settled(let done):
                        guard let storeWriter else {
                            done.resume()
                            continue
                        }
                        storeWriter.submit(.flushed({ _ in done.resume() }, nil))
                    case .applied(let input, let done):
                        guard let storeWriter else {
                            handle(input, group: &group)
                            done.resume(returning: true)
                            continue
                        }
                        acknowledgementsIssued += 1
                        let acknowledgement = StoreWriter.Acknowledgement(id: acknowledgementsIssued)
                        acknowledging = acknowledgement
                        handle(input, group: &group)
                        acknowledging = nil
                        storeWriter.submit(.flushed({ done.resume(returning: $0) }, acknowledgement))
                    case .stop:
                        guard !stopped else { continue }
                        stopped = true
                        await stop(group: &group)
                        // Whatever the closed channels still report (a write completed or failed)
                        // is queued by now; it is handled before the inbox ends.
                        inboxContinuation.yield(.drained)
                    case .drained:
                        inboxContinuation.finish()
                    }
                }
                if !stopped { await stop(group: &group) }
                group.cancelAll()
            }
            storeWriter?.finish()
        }
        lifecycle = .finished
        stopWaiters.forEach { $0.resume() }
        stopWaiters = []
    }

    /// Closes the listeners, every link (each stream with its closing tag first) and every event
    /// stream; the core takes nothing more but the outcome of writes already made.
    private func stop(group: inout DiscardingTaskGroup) async {
        await closeListeners()
        let (actions, unsent) = core.shutdown()
        for action in actions { execute(action, group: &group) }
        for channel in channels.values { try? await channel.close() }
        channels = [:]
        eventStreams.values.forEach { $0.finish() }
        eventStreams = [:]
        if !unsent.isEmpty { logger.warning("queued stanzas were not sent before shutdown", metadata: ["count": "\(unsent.count)"]) }
    }

    /// A connection's channel, for the actions that name it; one the core let go of while it was
    /// still being opened is closed at once.
    private func opened(_ connection: ConnectionID, _ channel: any Channel) {
        if abandoned.remove(connection) != nil {
            channel.close(promise: nil)
        } else {
            channels[connection] = channel
        }
    }

    private func closeListeners() async {
        for listener in listeners { try? await listener.close() }
        listeners = []
    }

    // MARK: - The inbox

    private func handle(_ input: GatewayCore.Input, group: inout DiscardingTaskGroup) {
        if case .stanzaReceived(let stanza, _) = input { stanzaLog.received(stanza) }
        for action in core.handle(input, at: clock.now) { execute(action, group: &group) }
        forget(input)
    }
}

/// Settings the gateway cannot run with; the message names what to configure.
package struct GatewaySettingsError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}

extension Gateway {
    /// Targets from DNS (SRV, then A/AAAA) through `resolver`, which asks only its configured
    /// nameservers; its failures become the link failures they mean (NXDOMAIN is not found, a
    /// silent or failing server is temporary).
    package static func targetResolver(using resolver: DNSResolver) -> TargetResolver {
        { domain, route in
            switch await resolver.connectionTargets(for: domain, staticRoute: route) {
            case .success(let targets): .success(targets)
            case .failure(let failure): .failure(LinkFailure(failure))
            }
        }
    }
}
