public import Federation
public import FederationLinks
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
public import PresenceModel
public import Translation
public import XMLStreaming
public import XMPP

/// Where to connect for a remote domain whose partner has no static route to an IP address: a
/// static route to a host name, or DNS (RFC 6120 §3.2, XEP-0368). Injected so that the DNS
/// transport, and tests' loopback DNS servers, plug in here.
public typealias TargetResolver = @Sendable (_ domain: String, _ staticRoute: ServerEndpoint?) async -> Result<[ConnectionTarget], LinkFailure>

/// The running gateway: federation links on one side, internal users on the other, the translator
/// between them. One serial inbox orders everything that happens (stanzas from peers, actions of
/// users, link events, timers), so the pure parts see events in a single, reproducible order.
public actor Gateway {
    public struct Settings: Sendable {
        public var translation: TranslationConfiguration
        public var policy: FederationPolicy
        public var limits: (pre: XMLStreamLimits, post: XMLStreamLimits)
        public var tls: FederationTLS?
        public var dialbackSecret: DialbackSecret
        public var listenAddress: String
        public var listenPort: Int

        public init(
            translation: TranslationConfiguration,
            policy: FederationPolicy,
            limits: (pre: XMLStreamLimits, post: XMLStreamLimits) = (.preAuthentication, .postAuthentication),
            tls: FederationTLS?,
            dialbackSecret: DialbackSecret,
            listenAddress: String,
            listenPort: Int
        ) {
            self.translation = translation
            self.policy = policy
            self.limits = limits
            self.tls = tls
            self.dialbackSecret = dialbackSecret
            self.listenAddress = listenAddress
            self.listenPort = listenPort
        }
    }

    enum Input: Sendable {
        case stanza(Stanza)
        case action(InternalAction)
        case linkEstablished(String, any Channel)
        case linkFailed(String, LinkFailure)
        case linkLost(String)
        case tick
    }

    private let settings: Settings
    private let group: any EventLoopGroup
    private let resolveTargets: TargetResolver
    private let makeStreamID: @Sendable () -> String
    private let clockOrigin = ContinuousClock.now
    private var translator: Translator
    private var links: LinkTable
    private var channels: [String: any Channel] = [:]
    private var subscribers: [JID: [AsyncStream<InternalEvent>.Continuation]] = [:]
    private var listener: (any Channel)?
    private let inbox: AsyncStream<Input>
    private let inboxContinuation: AsyncStream<Input>.Continuation
    private var random = SystemRandomNumberGenerator()

    public init(
        settings: Settings,
        directory: PresenceDirectory,
        group: any EventLoopGroup,
        resolveTargets: @escaping TargetResolver,
        makeStreamID: @escaping @Sendable () -> String
    ) {
        self.settings = settings
        self.group = group
        self.resolveTargets = resolveTargets
        self.makeStreamID = makeStreamID
        self.translator = Translator(configuration: settings.translation, directory: directory)
        self.links = LinkTable(policy: settings.policy)
        (inbox, inboxContinuation) = AsyncStream.makeStream(of: Input.self)
    }

    /// Binds the listener and starts processing; returns the port actually bound.
    public func start() async throws -> Int {
        let continuation = inboxContinuation
        let configuration = InboundStreamStateMachine.Configuration(
            localDomains: settings.translation.localDomains,
            policy: settings.policy,
            dialbackSecret: settings.dialbackSecret
        )
        let settings = self.settings
        let makeStreamID = self.makeStreamID
        let channel = try await FederationListener.bind(host: settings.listenAddress, port: settings.listenPort, group: group) {
            InboundStreamHandler(
                configuration: configuration,
                limits: settings.limits,
                tls: settings.tls,
                callbacks: InboundStreamCallbacks(
                    stanzaReceived: { stanza in continuation.yield(.stanza(stanza)) },
                    verificationRequested: { _, verify, channel in
                        // Verify-only outbound connections are not built yet: fail cleanly so the
                        // peer gets a dialback error at once.
                        InboundStreamHandler.deliverVerificationFailure(verify, .authoritativeServerNotFound, on: channel)
                    }
                ),
                makeStreamID: makeStreamID
            )
        }
        listener = channel
        Task { await self.run() }
        return channel.localAddress?.port ?? settings.listenPort
    }

    /// An internal user acts (the library API the internal HTTP API will call).
    public nonisolated func perform(_ action: InternalAction) {
        inboxContinuation.yield(.action(action))
    }

    /// Everything the translator tells `user`, from now on.
    public func events(for user: JID) -> AsyncStream<InternalEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: InternalEvent.self)
        subscribers[user.bare, default: []].append(continuation)
        return stream
    }

    /// Stops accepting, closes every link and returns what was still queued (nothing is lost: the
    /// caller persists it).
    public func shutdown() async -> [XMLElement] {
        inboxContinuation.finish()
        try? await listener?.close()
        let remaining = links.shutdown()
        for channel in channels.values { try? await channel.close() }
        for continuations in subscribers.values { continuations.forEach { $0.finish() } }
        return remaining.unsent.map(\.element)
    }

    // MARK: - The serial inbox

    private func run() async {
        for await input in inbox {
            handle(input)
        }
    }

    private var now: LinkInstant { LinkInstant(ContinuousClock.now, origin: clockOrigin) }

    private func handle(_ input: Input) {
        switch input {
        case .stanza(let stanza):
            deliver(translator.receive(stanza))
        case .action(let action):
            deliver(translator.perform(action))
        case .linkEstablished(let domain, let channel):
            channels[domain] = channel
            execute(links.connectionSucceeded(domain, now: now))
        case .linkFailed(let domain, let failure):
            channels[domain] = nil
            execute(links.connectionFailed(domain, failure, now: now, using: &random))
        case .linkLost(let domain):
            channels[domain] = nil
            execute(links.linkLost(domain, now: now))
        case .tick:
            execute(links.tick(now: now))
        }
    }

    private func deliver(_ outputs: [TranslatorOutput]) {
        for output in outputs {
            switch output {
            case .send(let element):
                guard let domain = (try? JID.parse(element["to"]))??.domainpart else { continue }
                execute(links.stanzaToSend(element, to: domain, now: now))
            case .notify(let user, let event):
                subscribers[user.bare]?.forEach { $0.yield(event) }
            }
        }
    }

    private func execute(_ actions: [LinkTable.Action]) {
        for action in actions {
            switch action {
            case .connect(let domain, _):
                connect(domain)
            case .send(let domain, let element):
                onHandler(of: domain) { _ = $0.send(element) }
            case .scheduleRetry(_, let at):
                scheduleTick(at: at)
            case .bounce(let reply):
                // Bounces are addressed to our own users: the translator turns them into delivery failures.
                if let stanza = try? Stanza(reply) { deliver(translator.receive(stanza)) }
            case .discard:
                break
            case .closeIdleLink(let domain), .close(let domain):
                onHandler(of: domain) { $0.close() }
                channels[domain] = nil
            case .sendKeepAlive(let domain):
                onHandler(of: domain) { $0.sendKeepAlive() }
            case .linkDown(let domain):
                deliver(translator.perform(.linkDown(domain: domain)))
            case .linkUp(let domain):
                deliver(translator.perform(.linkUp(domain: domain)))
            }
        }
        if let deadline = links.nextDeadline { scheduleTick(at: deadline) }
    }

    private func onHandler(of domain: String, _ body: @escaping @Sendable (OutboundStreamHandler) -> Void) {
        guard let channel = channels[domain] else { return }
        channel.eventLoop.execute {
            if let handler = try? channel.pipeline.syncOperations.handler(type: OutboundStreamHandler.self) { body(handler) }
        }
    }

    private func scheduleTick(at deadline: LinkInstant) {
        let delay = deadline - now
        let continuation = inboxContinuation
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            continuation.yield(.tick)
        }
    }

    /// Resolves the domain's targets and tries them in order until one connects; the stream then
    /// negotiates, and reports back through the inbox.
    private func connect(_ domain: String) {
        let continuation = inboxContinuation
        let settings = self.settings
        let group = self.group
        let resolveTargets = self.resolveTargets
        let local = settings.translation.localDomains.sorted().first ?? ""
        let partner = settings.policy.decision(for: domain)
        Task {
            guard case .allowed(let policy) = partner else {
                continuation.yield(.linkFailed(domain, .notFound(reason: "\(domain) may not federate")))
                return
            }
            var targets: [ConnectionTarget] = []
            if let route = policy.route, case .address(let address) = route.host {
                targets = [ConnectionTarget(address: address, port: route.port, directTLS: route.directTLS, host: route.host)]
            } else {
                switch await resolveTargets(domain, policy.route) {
                case .success(let found): targets = found
                case .failure(let failure):
                    continuation.yield(.linkFailed(domain, failure))
                    return
                }
            }
            for target in targets {
                do {
                    let machine = try OutboundStreamStateMachine(
                        localDomain: local,
                        remoteDomain: domain,
                        policy: policy.negotiation,
                        dialbackSecret: settings.dialbackSecret,
                        directTLS: target.directTLS
                    )
                    let reported = ReportOnce()
                    _ = try await FederationConnector.connect(host: target.address.description, port: Int(target.port), group: group) {
                        OutboundStreamHandler(
                            machine: machine,
                            limits: settings.limits.pre,
                            tls: settings.tls,
                            callbacks: OutboundStreamCallbacks(
                                established: { _, channel in
                                    if reported.claim() { continuation.yield(.linkEstablished(domain, channel)) }
                                },
                                failed: { failure in
                                    guard reported.claim() else {
                                        continuation.yield(.linkLost(domain))
                                        return
                                    }
                                    continuation.yield(.linkFailed(domain, LinkFailure(bounceError: failure.bounceError, isTemporary: failure.isTemporary)))
                                }
                            )
                        )
                    }
                    return
                } catch {
                    continue
                }
            }
            continuation.yield(.linkFailed(domain, .temporary(reason: "no target of \(domain) accepted a connection")))
        }
    }
}

/// True once: the first report of a connection attempt decides whether it established or failed;
/// any later failure means the established link was lost.
final class ReportOnce: Sendable {
    private let claimed = NIOLockedValueBox(false)

    func claim() -> Bool {
        claimed.withLockedValue { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}

extension Gateway {
    /// Targets from DNS (SRV, then A/AAAA) through `resolver`, which asks only its configured
    /// nameservers; its failures become the link failures they mean (NXDOMAIN is not found, a
    /// silent or failing server is temporary).
    public static func targetResolver(using resolver: DNSResolver) -> TargetResolver {
        { domain, route in
            switch await resolver.connectionTargets(for: domain, staticRoute: route) {
            case .success(let targets): .success(targets)
            case .failure(let failure): .failure(LinkFailure(failure))
            }
        }
    }
}
