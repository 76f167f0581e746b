public import Configuration
public import Federation
public import FederationLinks
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
public import PresenceModel
public import Storage
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
        /// The XEP-0368 direct TLS port on `listenAddress` (0: any free one), or `nil` for none;
        /// needs `tls`.
        public var directTLSPort: Int?

        public init(
            translation: TranslationConfiguration,
            policy: FederationPolicy,
            limits: (pre: XMLStreamLimits, post: XMLStreamLimits) = (.preAuthentication, .postAuthentication),
            tls: FederationTLS?,
            dialbackSecret: DialbackSecret,
            listenAddress: String,
            listenPort: Int,
            directTLSPort: Int? = nil
        ) {
            self.translation = translation
            self.policy = policy
            self.limits = limits
            self.tls = tls
            self.dialbackSecret = dialbackSecret
            self.listenAddress = listenAddress
            self.listenPort = listenPort
            self.directTLSPort = directTLSPort
        }
    }

    /// The ports `start()` bound: with port 0 in the settings, the only way to learn them.
    public struct ListeningPorts: Sendable, Hashable {
        /// The STARTTLS listener's port.
        public var startTLS: Int
        /// The direct TLS listener's port, if one was configured.
        public var directTLS: Int?

        public init(startTLS: Int, directTLS: Int?) {
            self.startTLS = startTLS
            self.directTLS = directTLS
        }
    }

    enum Input: Sendable {
        case stanza(Stanza)
        case action(InternalAction)
        /// Resumed once everything yielded before it has been handled: how `apply(_:)` waits.
        case barrier(CheckedContinuation<Void, Never>)
        case linkEstablished(String, OutboundEstablishedStream, any Channel)
        case linkFailed(String, LinkFailure)
        case linkLost(String)
        /// A stanza handed to a link's handler was not written (the stream ended first): it goes
        /// back to the link table, a durable message under its ticket.
        case writeFailed(String, XMLElement, ticket: UInt64?)
        /// The user's offline messages, read for the event stream `subscriber` that just opened.
        case offlineMessagesRead(JID, subscriber: UInt64, [OfflineMessage])
        /// A peer authenticated `domain` on an inbound stream.
        case inboundAuthenticated(String, AuthenticationMethod, InboundStreamStateMachine.Transport, any Channel)
        case inboundClosed(ObjectIdentifier)
        case tick
        /// An inbound stream needs a dialback key checked by the authoritative server for the domain.
        case verificationRequested(authoritativeDomain: String, DialbackVerify, inbound: any Channel)
        /// The outbound stream a request was handed to takes no more: ask over a verification-only
        /// connection (a new one, when the one that refused is `verifier`).
        case verificationRedirected(authoritativeDomain: String, DialbackVerify, verifier: Int?)
        case verificationAnswered(DialbackVerify)
        case verificationFailed(DialbackVerify, DialbackVerificationFailure)
        case verifierConnected(DialbackDomainPair, id: Int, any Channel)
        /// The verification-only connection could not be opened, or its channel closed.
        case verifierEnded(DialbackDomainPair, id: Int)
    }

    private var settings: Settings
    /// What new inbound streams are negotiated under: read by the listeners' handler factory on
    /// the event loops, replaced by `reconfigure`.
    private let inboundConfiguration: NIOLockedValueBox<InboundStreamStateMachine.Configuration>
    /// Inbound streams with the domains their peers authenticated, so that a domain a reloaded
    /// policy refuses is dropped on every stream it holds.
    private var inboundStreams: [ObjectIdentifier: InboundStream] = [:]
    private let group: any EventLoopGroup
    private let resolveTargets: TargetResolver
    private let makeStreamID: @Sendable () -> String
    private let logger: Logger
    private var stanzaLog: StanzaLog
    private let metrics: FederationMetrics
    private let clockOrigin = ContinuousClock.now
    private var translator: Translator
    private var links: LinkTable
    private var outboundLinks: [String: OutboundLink] = [:]
    /// The deadline the earliest armed tick timer fires at, until a tick arrives.
    private var tickArmedFor: LinkInstant?
    /// Verification-only connections (XEP-0220 §2.1.2), by authoritative domain (`sender`) and
    /// our domain asking (`target`).
    private var verifiers: [DialbackDomainPair: Verifier] = [:]
    private var nextVerifierID = 0
    /// The inbound stream waiting for each outstanding `<db:verify/>` request.
    private var verificationWaiters: [VerificationKey: any Channel] = [:]
    private var subscribers: [JID: [UInt64: Subscriber]] = [:]
    private var nextSubscriberID: UInt64 = 0
    private var listener: (any Channel)?
    private var directTLSListener: (any Channel)?
    private let inbox: AsyncStream<Input>
    private let inboxContinuation: AsyncStream<Input>.Continuation
    /// The inbox's loop, awaited by `shutdown()` so that what was already accepted is handled (and
    /// stored) before the store is closed.
    private var inboxTask: Task<Void, Never>?
    /// The store the gateway reads at start (queued messages); `nil` keeps everything in memory.
    private let store: (any GatewayStore)?
    /// Stores what internal users' actions and subscription stanzas change, the outbound queue,
    /// offline messages and history; `nil` without a store.
    private let storeWriter: StoreWriter?
    /// The messages of internal users the store holds until they are written or bounced.
    private var ledger = OutboundLedger()
    private let wallClock: @Sendable () -> Timestamp
    private let archiveRetentionDays: Int?
    private var archivePurge: Task<Void, Never>?
    private var random = SystemRandomNumberGenerator()

    /// - Parameter logger: the operator's log. The gateway logs what happens to links (connection
    ///   attempts, failures before a stream exists, retries, bounces, links going down and up) and
    ///   dialback verification results; the stream handlers it starts log each stream's
    ///   negotiation, refusal and end, each with its connection's metadata.
    /// - Parameter stanzaLog: every stanza in and out, off unless `[log] stanzas` turns it on
    ///   (`setStanzaLog(_:)` changes it while running).
    /// - Parameter metrics: where the gateway and its stream handlers count links, queues,
    ///   stanzas, bounces, refusals, parse errors, dialback verifications and unanswered pings,
    ///   next to the log records; by default in the bootstrapped `MetricsSystem`.
    /// - Parameter store: where the changes to internal users (presence, contacts, held requests)
    ///   are written after each input the inbox handles, so a restart that loads `directory` from
    ///   it finds them; `nil` keeps everything in memory (tests of the links need no store). With a
    ///   store, a message an internal user sends is stored before `apply` returns and leaves the
    ///   store once written on its link or bounced (`start()` queues again what a previous run left);
    ///   a message for a user with no event stream open is kept until one opens; both directions
    ///   go to history (and the compliance archive).
    /// - Parameter archiveRetentionDays: with a store, archived messages older than this are
    ///   purged at start and every hour; `nil` keeps them.
    /// - Parameter wallClock: the time stamped on stored messages and used for the purge.
    public init(
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
        wallClock: @escaping @Sendable () -> Timestamp = Timestamp.systemNow
    ) {
        self.settings = settings
        self.inboundConfiguration = NIOLockedValueBox(
            InboundStreamStateMachine.Configuration(
                localDomains: settings.translation.localDomains,
                policy: settings.policy,
                dialbackSecret: settings.dialbackSecret
            )
        )
        self.group = group
        self.resolveTargets = resolveTargets
        self.makeStreamID = makeStreamID
        self.logger = logger
        self.stanzaLog = stanzaLog
        self.metrics = metrics
        self.translator = Translator(configuration: settings.translation, policy: settings.policy, directory: directory)
        self.links = LinkTable(policy: settings.policy)
        self.store = store
        self.storeWriter = store.map { StoreWriter(store: $0, logger: logger) }
        self.archiveRetentionDays = archiveRetentionDays
        self.wallClock = wallClock
        (inbox, inboxContinuation) = AsyncStream.makeStream(of: Input.self)
    }

    /// Binds the listeners (STARTTLS, and direct TLS when configured) and starts processing;
    /// returns the ports actually bound.
    public func start() async throws -> ListeningPorts {
        if settings.directTLSPort != nil, settings.tls == nil {
            throw LaunchError(message: "a direct TLS port needs TLS: configure [tls] with our certificate and key")
        }
        let continuation = inboxContinuation
        let configuration = inboundConfiguration
        let settings = self.settings
        let makeStreamID = self.makeStreamID
        let logger = self.logger
        let metrics = self.metrics
        let makeHandler: @Sendable (InboundStreamStateMachine.Transport) -> InboundStreamHandler = { transport in
            InboundStreamHandler(
                configuration: configuration.withLockedValue { $0 },
                transport: transport,
                limits: settings.limits,
                tls: settings.tls,
                callbacks: InboundStreamCallbacks(
                    stanzaReceived: { stanza in continuation.yield(.stanza(stanza)) },
                    authenticated: { domain, method, channel in
                        continuation.yield(.inboundAuthenticated(domain, method, transport, channel))
                    },
                    verificationRequested: { domain, verify, channel in
                        continuation.yield(.verificationRequested(authoritativeDomain: domain, verify, inbound: channel))
                    }
                ),
                makeStreamID: makeStreamID,
                logger: logger,
                metrics: metrics
            )
        }
        let channel = try await FederationListener.bind(host: settings.listenAddress, port: settings.listenPort, group: group) {
            makeHandler(.startTLS)
        }
        listener = channel
        var ports = ListeningPorts(startTLS: channel.localAddress?.port ?? settings.listenPort, directTLS: nil)
        if let port = settings.directTLSPort {
            do {
                let direct = try await FederationListener.bind(host: settings.listenAddress, port: port, group: group) {
                    makeHandler(.directTLS)
                }
                directTLSListener = direct
                ports.directTLS = direct.localAddress?.port ?? port
            } catch {
                try? await channel.close()
                listener = nil
                throw error
            }
        }
        await requeueStoredMessages()
        startArchivePurge()
        inboxTask = Task { await self.run() }
        return ports
    }

    /// An internal user acts (the library API the internal HTTP API will call).
    public nonisolated func perform(_ action: InternalAction) {
        inboxContinuation.yield(.action(action))
    }

    /// Performs `action` and returns once the inbox has handled it, so that what the caller reads
    /// next (`user(_:)`) reflects it: the internal API answers a change with the state it led to.
    /// With a store, it returns once the change is stored too, so an acknowledged change survives a
    /// restart.
    /// Call it after `start()`, which starts the inbox; it returns at once after `shutdown()`, when
    /// the inbox takes nothing more.
    public func apply(_ action: InternalAction) async {
        inboxContinuation.yield(.action(action))
        await settled()
    }

    /// Returns once everything the inbox took before the call has been handled and, with a store,
    /// written: what a reload waits for, so that the bounces it caused are stored when it returns.
    public func settled() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            if case .terminated = inboxContinuation.yield(.barrier(done)) { done.resume() }
        }
    }

    /// The internal user as the translator now knows them (presence, contacts with their
    /// subscription states, what contacts show), or `nil` for a JID that is not an internal user:
    /// what the internal API reads back.
    public func user(_ jid: JID) -> InternalUser? {
        translator.directory.user(jid.bare.description)
    }

    /// Everything the translator tells `user`, from now on.
    public func events(for user: JID) -> AsyncStream<InternalEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: InternalEvent.self)
        let user = user.bare
        let id = nextSubscriberID
        nextSubscriberID += 1
        subscribers[user, default: [:]][id] = Subscriber(continuation: continuation, catchingUp: storeWriter == nil ? nil : [])
        // Offline messages first: read in the writer's order, so every one kept before this
        // stream opened is among them; what comes meanwhile waits in `catchingUp`.
        let inbox = inboxContinuation
        storeWriter?.submit(.readOffline(user) { messages in inbox.yield(.offlineMessagesRead(user, subscriber: id, messages)) })
        // A subscriber that goes away (a closed WebSocket, say) is forgotten, not fed until shutdown.
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(user, id) }
        }
        return stream
    }

    /// Swaps in a reloaded federation policy and translation settings (an allowlist change, or
    /// `federation.toml` reloaded on SIGHUP) without a restart: links and attempts to domains that
    /// may no longer federate are closed and their queues bounced `not-allowed`, inbound streams
    /// holding such a domain end with `policy-violation`, new streams and stanzas follow the new
    /// rules, and users, contacts and links that stay allowed carry on. Listener addresses, TLS
    /// files, the store and the local domains' users are not reloaded here.
    public func reconfigure(policy: FederationPolicy, translation: TranslationConfiguration) {
        settings.policy = policy
        settings.translation = translation
        translator.configuration = translation
        translator.policy = policy
        inboundConfiguration.withLockedValue {
            $0.policy = policy
            $0.localDomains = translation.localDomains
        }
        let actions = links.replacePolicy(policy)
        let closed = actions.compactMap { action -> String? in
            if case .close(let domain) = action { return domain }
            return nil
        }
        execute(actions)
        linksChanged()
        var dropped: Set<String> = []
        for stream in inboundStreams.values {
            let refused = stream.domains.keys.filter { if case .refused = policy.decision(for: $0) { true } else { false } }
            guard let domain = refused.sorted().first else { continue }
            dropped.formUnion(refused)
            InboundStreamHandler.close(stream.channel, error: StreamError(.policyViolation, text: "\(domain) may no longer federate with this gateway"))
        }
        logger.notice(
            "federation policy replaced",
            metadata: [
                "partners": "\(policy.partners.count)",
                "links-closed": "\(closed.sorted().joined(separator: ","))",
                "inbound-dropped": "\(dropped.sorted().joined(separator: ","))",
            ]
        )
    }

    /// The links as they stand: every domain the link table holds (established, connecting,
    /// waiting to retry) with its queue, and every domain authenticated on an inbound stream.
    public func linkSnapshot() -> LinkSnapshot {
        let linkNow = now
        let wallNow = wallClock()
        let reports = LinkReport.snapshot(links: links, outbound: outboundLinks, inbound: inboundStreams.values) { instant in
            // The link table's instants are on the monotonic clock; an operator reads wall time.
            let (seconds, attoseconds) = (instant - linkNow).components
            return Timestamp(millisecondsSinceEpoch: wallNow.millisecondsSinceEpoch + seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        }
        return LinkSnapshot(takenAt: wallNow, links: reports)
    }

    /// Turns the stanza log on or off, or bodies in or out of it, from the next stanza on.
    public func setStanzaLog(_ mode: LogSettings.Stanzas) {
        guard mode != stanzaLog.mode else { return }
        stanzaLog.mode = mode
        logger.notice("stanza log changed", metadata: ["stanzas": "\(mode)"])
    }

    /// Brings the internal users in line with `stored` (the store's directory) while running: users
    /// created since are added, users removed since go offline to their contacts and are
    /// forgotten, and their event streams end. Users present in both keep the state the gateway has.
    public func synchronizeUsers(with stored: PresenceDirectory) {
        for jid in stored.userJIDs where translator.directory.user(jid) == nil {
            if let user = stored.user(jid) { translator.userAdded(user) }
        }
        for jid in translator.directory.userJIDs where stored.user(jid) == nil {
            guard let user = try? JID(jid) else { continue }
            deliver(translator.userRemoved(user))
            subscribers.removeValue(forKey: user)?.values.forEach { $0.continuation.finish() }
            logger.info("internal user removed while running", metadata: ["user": "\(jid)"])
        }
    }

    /// How many event streams are open for `user` (one per connected API client): diagnostics, and
    /// proof that closed ones are forgotten.
    public func eventStreamCount(for user: JID) -> Int {
        subscribers[user.bare]?.count ?? 0
    }

    private func unsubscribe(_ user: JID, _ id: UInt64) {
        subscribers[user]?[id] = nil
        if subscribers[user]?.isEmpty == true { subscribers[user] = nil }
    }

    /// Stops accepting, closes every link and returns what was still queued (nothing is lost: the
    /// caller persists it). What the inbox had already accepted is handled first, and with a store
    /// the changes it made are written before this returns.
    public func shutdown() async -> [XMLElement] {
        inboxContinuation.finish()
        try? await listener?.close()
        try? await directTLSListener?.close()
        await inboxTask?.value
        let remaining = links.shutdown()
        metrics.outboundLinks(links)
        // Each link's stream ends with its closing tag first, so its handler does not log it as lost.
        for domain in outboundLinks.keys { onHandler(of: domain) { $0.close() } }
        for link in outboundLinks.values { try? await link.channel.close() }
        for verifier in verifiers.values { try? await verifier.channel?.close() }
        archivePurge?.cancel()
        for streams in subscribers.values { streams.values.forEach { $0.continuation.finish() } }
        await storeWriter?.finish()
        return remaining.unsent.map(\.element)
    }

    // MARK: - The serial inbox

    private func run() async {
        for await input in inbox {
            handle(input)
            linksChanged()
        }
    }

    private var now: LinkInstant { LinkInstant(ContinuousClock.now, origin: clockOrigin) }

    private func handle(_ input: Input) {
        switch input {
        case .stanza(let stanza):
            stanzaLog.received(stanza)
            // An answer to one of our pings is the link table's; anything else goes to the translator.
            if let answer = LinkPing.answer(in: stanza), links.pongReceived(from: answer.domain, id: answer.id) { return }
            deliver(translator.receive(stanza))
        case .action(let action):
            deliver(translator.perform(action), sentBy: action)
        case .barrier(let done):
            if let storeWriter { storeWriter.flush(done) } else { done.resume() }
        case .linkEstablished(let domain, let stream, let channel):
            outboundLinks[domain] = OutboundLink(channel: channel, stream: stream, since: wallClock())
            execute(links.connectionSucceeded(domain, now: now))
        case .linkFailed(let domain, let failure):
            outboundLinks[domain] = nil
            execute(links.connectionFailed(domain, failure, now: now, using: &random))
        case .linkLost(let domain):
            outboundLinks[domain] = nil
            execute(links.linkLost(domain, now: now))
        case .writeFailed(let domain, let element, let ticket):
            if let ticket { ledger.readmit(element, ticket: ticket, for: domain) }
            execute(links.stanzaToSend(element, to: domain, now: now))
        case .offlineMessagesRead(let user, let id, let messages):
            caughtUp(user, subscriber: id, offline: messages)
        case .inboundAuthenticated(let domain, let method, let transport, let channel):
            // A stream that was negotiating when the policy was replaced negotiated under the old
            // one: the domain it authenticated may since have been refused.
            if case .refused = settings.policy.decision(for: domain) {
                logger.notice("inbound stream closed: its domain was refused while it negotiated", metadata: ["peer": "\(domain)"])
                InboundStreamHandler.close(channel, error: StreamError(.policyViolation, text: "\(domain) may no longer federate with this gateway"))
                return
            }
            let id = ObjectIdentifier(channel)
            if inboundStreams[id] == nil {
                let inbox = inboxContinuation
                channel.closeFuture.whenComplete { _ in inbox.yield(.inboundClosed(id)) }
            }
            inboundStreams[id, default: InboundStream(channel: channel)].domains[domain] = InboundStream.Authentication(
                method: method, tls: LinkReport.TLS(method, transport: transport), since: wallClock()
            )
        case .inboundClosed(let id):
            inboundStreams[id] = nil
        case .tick:
            tickArmedFor = nil
            let actions = links.tick(now: now)
            logUnansweredPings(actions)
            execute(actions)
        case .verificationRequested(let domain, let verify, let inbound):
            verificationWaiters[VerificationKey(verify)] = inbound
            requestVerification(verify, from: domain, onLink: true)
        case .verificationRedirected(let domain, let verify, let verifier):
            let pair = DialbackDomainPair(sender: domain, target: verify.from)
            if let verifier, verifiers[pair]?.id == verifier { verifiers[pair] = nil }
            requestVerification(verify, from: domain, onLink: false)
        case .verificationAnswered(let answer):
            logVerificationAnswer(answer)
            if let inbound = verificationWaiters.removeValue(forKey: VerificationKey(answer)) {
                InboundStreamHandler.deliverVerificationAnswer(answer, on: inbound)
            }
        case .verificationFailed(let request, let failure):
            verificationFailed(request, failure)
        case .verifierConnected(let pair, let id, let channel):
            verifierConnected(pair, id: id, channel)
        case .verifierEnded(let pair, let id):
            guard let verifier = verifiers[pair], verifier.id == id else { return }
            verifiers[pair] = nil
            for request in verifier.unsent { verificationFailed(request, .authoritativeServerNotFound) }
        }
    }

    /// Sends and notifies what the translator produced. The message of a `sendMessage` action
    /// (`sentBy`) is stored first, and recorded in history; a message for a user with no event
    /// stream is kept offline; what changed for the store goes to the store writer.
    private func deliver(_ outputs: [TranslatorOutput], sentBy action: InternalAction? = nil) {
        var changes: [DirectoryChange] = []
        for output in outputs {
            switch output {
            case .send(let outgoing):
                if case .sendMessage(let user, _, let message) = action, outgoing.element.name == "message" {
                    accepted(outgoing.element, from: user.bare, to: outgoing.to, message)
                }
                execute(links.stanzaToSend(outgoing.element, to: outgoing.to.domainpart, now: now))
            case .notify(let user, let event):
                notify(user.bare, event)
            case .store(let change):
                changes.append(change)
            }
        }
        storeWriter?.write(changes)
    }

    private func notify(_ user: JID, _ event: InternalEvent) {
        if let storeWriter, case .message(let from, let message) = event, let body = message.bodies.first?.text {
            let at = wallClock()
            storeWriter.submit(.record(MessageRecord(user: user, contact: from.bare, direction: .inbound, body: body, messageID: message.id, at: at)))
            if subscribers[user] == nil {
                storeWriter.submit(.keepOffline(message.element(from: from, to: user), for: user, from: from, at: at))
                return
            }
        }
        guard var streams = subscribers[user] else { return }
        for (id, var subscriber) in streams {
            if subscriber.catchingUp != nil {
                subscriber.catchingUp!.append(event)
                streams[id] = subscriber
            } else {
                subscriber.continuation.yield(event)
            }
        }
        subscribers[user] = streams
    }

    /// A message an internal user sent is about to go to the link table: with a store, it is
    /// stored under a ledger ticket (before `apply` returns) and recorded in history.
    private func accepted(_ element: XMLElement, from user: JID, to: JID, _ message: Message) {
        guard let storeWriter else { return }
        let at = wallClock()
        storeWriter.submit(.enqueue(ticket: ledger.accept(element, for: to.domainpart), element, from: user, to: to, at: at))
        if let body = message.bodies.first?.text {
            storeWriter.submit(.record(MessageRecord(user: user, contact: to.bare, direction: .outbound, body: body, messageID: element["id"], at: at)))
        }
    }

    /// The offline messages of a newly opened event stream were read: they go first, then what
    /// came while they were read, and then the stream is live. They leave the store once handed
    /// over; if the stream closed meanwhile they stay for the next one.
    private func caughtUp(_ user: JID, subscriber id: UInt64, offline: [OfflineMessage]) {
        guard var subscriber = subscribers[user]?[id] else { return }
        for message in offline { subscriber.continuation.yield(.message(from: message.from, Message(message.stanza))) }
        for event in subscriber.catchingUp ?? [] { subscriber.continuation.yield(event) }
        subscriber.catchingUp = nil
        subscribers[user]?[id] = subscriber
        if let last = offline.last { storeWriter?.submit(.deleteOffline(user, through: last.sequence)) }
    }

    /// What a previous run left in the outbound queue goes to the link table again, in order,
    /// under its stored sequence: before the inbox starts, so it goes ahead of anything new.
    private func requeueStoredMessages() async {
        guard let store, let storeWriter else { return }
        do throws(StorageError) {
            for domain in try await store.pendingDomains() {
                let queued = try await store.pending(for: domain)
                for message in queued {
                    storeWriter.submit(.adopt(ticket: ledger.accept(message.stanza, for: domain), sequence: message.sequence))
                    execute(links.stanzaToSend(message.stanza, to: domain, now: now))
                }
                logger.info("stored messages queued again", metadata: ["peer": "\(domain)", "count": "\(queued.count)"])
            }
            linksChanged()
        } catch {
            logger.error("could not read the outbound queue from the store: its messages wait for the next start", metadata: ["error": "\(error)"])
        }
    }

    /// Purges the compliance archive of what is older than the retention period, at start and
    /// every hour after.
    private func startArchivePurge() {
        guard let storeWriter, let days = archiveRetentionDays else { return }
        let wallClock = self.wallClock
        let purge: @Sendable () -> Void = {
            let cutoff = Timestamp(millisecondsSinceEpoch: wallClock().millisecondsSinceEpoch - Int64(days) * 86_400_000)
            storeWriter.submit(.purgeArchive(before: cutoff))
        }
        purge()
        archivePurge = Task {
            while (try? await Task.sleep(for: .seconds(3600))) != nil { purge() }
        }
    }

    private func execute(_ actions: [LinkTable.Action]) {
        log(actions)
        for action in actions {
            switch action {
            case .connect(let domain, _):
                connect(domain)
            case .send(let domain, let element):
                stanzaLog.sent(element, to: domain)
                write(element, on: domain, ticket: ledger.sending(element, on: domain))
            case .scheduleRetry(_, let at):
                scheduleTick(at: at)
            case .bounce(let reply):
                if let ticket = ledger.bounced(reply) { storeWriter?.submit(.bounced(ticket: ticket)) }
                // Bounces are addressed to our own users: the translator turns them into delivery failures.
                if let stanza = try? Stanza(reply) { deliver(translator.receive(stanza)) }
            case .discard:
                break
            case .closeIdleLink(let domain), .close(let domain):
                onHandler(of: domain) { $0.close() }
                outboundLinks[domain] = nil
            case .sendKeepAlive(let domain):
                onHandler(of: domain) { $0.sendKeepAlive() }
            case .sendPing(let domain, let id):
                onHandler(of: domain) { $0.sendPing(id: id) }
            case .linkDown(let domain):
                deliver(translator.perform(.linkDown(domain: domain)))
            case .linkUp(let domain):
                deliver(translator.perform(.linkUp(domain: domain)))
            }
        }
    }

    /// After an input changed the link table: the timer for its next deadline, and the link and
    /// queue gauges. Once per input rather than per action batch, since a presence broadcast runs
    /// one batch per stanza and both walk every domain.
    private func linksChanged() {
        if let deadline = links.nextDeadline { scheduleTick(at: deadline) }
        metrics.outboundLinks(links)
        if storeWriter != nil { metrics.storedOutboundMessages(ledger.count) }
    }

    /// Logs what the link table decided that an operator wants to know, and counts bounces and
    /// drops in `metrics` by condition. Bounces are logged per domain and condition, so that a
    /// failed link with a long queue makes one record, not one per stanza (and nothing of a stanza
    /// but its error condition is logged).
    private func log(_ actions: [LinkTable.Action]) {
        var bounced: [String: [String: Int]] = [:]
        for action in actions {
            switch action {
            case .connect(let domain, let attempt):
                logger.debug("connecting", metadata: ["peer": "\(domain)", "attempt": "\(attempt)"])
            case .scheduleRetry(let domain, let at):
                logger.debug("link retry scheduled", metadata: ["peer": "\(domain)", "delay": "\(at - now)"])
            case .bounce(let reply):
                let domain = (try? JID.parse(reply["from"]))??.domainpart ?? "unknown"
                let condition = StanzaError(stanza: reply)?.condition
                bounced[domain, default: [:]][condition?.rawValue ?? "unknown", default: 0] += 1
                metrics.bounced(condition ?? .undefinedCondition)
            case .discard(_, let error):
                metrics.dropped(error.condition)
                logger.debug("undeliverable stanza dropped without an error reply", metadata: ["condition": "\(error.condition.rawValue)"])
            case .closeIdleLink(let domain):
                logger.debug("closing an idle link", metadata: ["peer": "\(domain)"])
            case .linkDown(let domain):
                logger.notice("link down: the domain's contacts are shown unavailable", metadata: ["peer": "\(domain)"])
            case .linkUp(let domain):
                logger.info("link up again: the domain's contacts are probed", metadata: ["peer": "\(domain)"])
            default:
                break
            }
        }
        for (domain, conditions) in bounced.sorted(by: { $0.key < $1.key }) {
            for (condition, count) in conditions.sorted(by: { $0.key < $1.key }) {
                logger.notice("stanzas bounced", metadata: ["peer": "\(domain)", "count": "\(count)", "condition": "\(condition)"])
            }
        }
    }

    /// The authoritative server's verdict on a key an inbound stream asked about; `stream-id` is
    /// that inbound stream's, as in its handler's records.
    private func logVerificationAnswer(_ answer: DialbackVerify) {
        guard case .answer(let verdict) = answer.payload else { return }
        var metadata: Logger.Metadata = ["peer": "\(answer.from)", "target": "\(answer.to)", "stream-id": "\(answer.id)"]
        switch verdict {
        case .valid:
            metrics.dialbackVerification(.valid)
            logger.info("dialback key verified by the authoritative server", metadata: metadata)
        case .invalid:
            metrics.dialbackVerification(.invalid)
            logger.warning("the authoritative server judged a dialback key invalid", metadata: metadata)
        case .error(let error):
            metrics.dialbackVerification(.error)
            metadata["condition"] = "\(error.condition.rawValue)"
            logger.warning("the authoritative server could not verify a dialback key", metadata: metadata)
        }
    }

    /// `tick` closes an established link only when its ping went unanswered within
    /// `ping-timeout` (its `.linkDown` follows): that is logged and counted here, since the link
    /// table says it only through that `.close`.
    private func logUnansweredPings(_ actions: [LinkTable.Action]) {
        for case .close(let domain) in actions {
            metrics.pingTimedOut()
            logger.warning("no answer to a ping: the link is given up", metadata: ["peer": "\(domain)"])
        }
    }

    /// Writes a stanza on the domain's link. A durable message leaves the store once its bytes
    /// are written, straight from the event loop (the shortest window in which a crash would send
    /// it again after a restart); a stanza that is not written goes back to the link table.
    private func write(_ element: XMLElement, on domain: String, ticket: UInt64?) {
        let inbox = inboxContinuation
        guard let channel = outboundLinks[domain]?.channel else {
            inbox.yield(.writeFailed(domain, element, ticket: ticket))
            return
        }
        let storeWriter = self.storeWriter
        channel.eventLoop.execute {
            guard let handler = try? channel.pipeline.syncOperations.handler(type: OutboundStreamHandler.self) else {
                inbox.yield(.writeFailed(domain, element, ticket: ticket))
                return
            }
            let written = channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { result in
                switch result {
                case .success: if let ticket { storeWriter?.submit(.delivered(ticket: ticket)) }
                case .failure: inbox.yield(.writeFailed(domain, element, ticket: ticket))
                }
            }
            _ = handler.send(element, written: written)
        }
    }

    private func onHandler(of domain: String, _ body: @escaping @Sendable (OutboundStreamHandler) -> Void) {
        guard let channel = outboundLinks[domain]?.channel else { return }
        channel.eventLoop.execute {
            if let handler = try? channel.pipeline.syncOperations.handler(type: OutboundStreamHandler.self) { body(handler) }
        }
    }

    /// Arms a timer for `deadline`, unless one already armed fires at or before it (a tick that
    /// finds nothing due is harmless; a missed one is not).
    private func scheduleTick(at deadline: LinkInstant) {
        if let armed = tickArmedFor, armed <= deadline { return }
        tickArmedFor = deadline
        let delay = deadline - now
        let continuation = inboxContinuation
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            continuation.yield(.tick)
        }
    }

    /// Opens the domain's link; the stream then negotiates, and reports back through the inbox.
    private func connect(_ domain: String) {
        let continuation = inboxContinuation
        let settings = self.settings
        let local = settings.translation.localDomains.sorted().first ?? ""
        let partner = settings.policy.decision(for: domain)
        Task {
            guard case .allowed(let policy) = partner else {
                continuation.yield(failedBeforeStream(domain, .notFound(reason: "\(domain) may not federate")))
                return
            }
            let opened = await openConnection(to: domain, route: policy.route, settings: settings) { target in
                try OutboundStreamStateMachine(
                    localDomain: local,
                    remoteDomain: domain,
                    policy: policy.negotiation,
                    dialbackSecret: settings.dialbackSecret,
                    directTLS: target.directTLS
                )
            } callbacks: {
                let reported = ReportOnce()
                return OutboundStreamCallbacks(
                    established: { stream, channel in
                        if reported.claim() { continuation.yield(.linkEstablished(domain, stream, channel)) }
                    },
                    failed: { failure in
                        guard reported.claim() else {
                            continuation.yield(.linkLost(domain))
                            return
                        }
                        continuation.yield(.linkFailed(domain, LinkFailure(bounceError: failure.bounceError, isTemporary: failure.isTemporary)))
                    },
                    verificationAnswered: { continuation.yield(.verificationAnswered($0)) },
                    verificationFailed: { continuation.yield(.verificationFailed($0, $1)) }
                )
            }
            if case .failure(let failure) = opened { continuation.yield(failedBeforeStream(domain, failure)) }
        }
    }

    /// A link attempt that ended before any stream existed (the domain may not federate, DNS, no
    /// target accepted a connection) is logged here, since no stream handler saw it; failures on a
    /// stream are logged by `OutboundStreamHandler`, once.
    private nonisolated func failedBeforeStream(_ domain: String, _ failure: LinkFailure) -> Input {
        logger.warning(
            "outbound link failed",
            metadata: [
                "peer": "\(domain)", "reason": "\(failure.reason)",
                "bounce-condition": "\(failure.bounceError.condition.rawValue)", "temporary": "\(failure.isTemporary)",
            ]
        )
        return .linkFailed(domain, failure)
    }

    /// The one path to a remote domain's servers, for links and verification-only connections
    /// alike: the partner's static route when it names an IP address, otherwise the injected
    /// resolver; then each target in order until one accepts a TCP connection, with a fresh
    /// handler running `machine(target)` under `callbacks()`. What happens on the stream is
    /// reported through the callbacks; the result only says whether a connection was made.
    private nonisolated func openConnection(
        to domain: String,
        route: ServerEndpoint?,
        settings: Settings,
        machine: (ConnectionTarget) throws -> OutboundStreamStateMachine,
        callbacks: @escaping @Sendable () -> OutboundStreamCallbacks
    ) async -> Result<any Channel, LinkFailure> {
        var targets: [ConnectionTarget] = []
        if let route, case .address(let address) = route.host {
            targets = [ConnectionTarget(address: address, port: route.port, directTLS: route.directTLS, host: route.host)]
        } else {
            switch await resolveTargets(domain, route) {
            case .success(let found): targets = found
            case .failure(let failure): return .failure(failure)
            }
        }
        let logger = self.logger
        let metrics = self.metrics
        let timeout = TimeAmount(settings.policy.settings.streamEstablishmentTimeout)
        for target in targets {
            do {
                let machine = try machine(target)
                let channel = try await FederationConnector.connect(host: target.address.description, port: Int(target.port), group: group) {
                    OutboundStreamHandler(machine: machine, limits: settings.limits.pre, tls: settings.tls, callbacks: callbacks(), timeout: timeout, logger: logger, metrics: metrics)
                }
                return .success(channel)
            } catch {
                logger.debug(
                    "could not connect to a target",
                    metadata: ["peer": "\(domain)", "target": "\(target.address):\(target.port)", "error": "\(error)"]
                )
                continue
            }
        }
        return .failure(.temporary(reason: "no target of \(domain) accepted a connection"))
    }

    // MARK: - Dialback verification (XEP-0220 §2.1.2)

    /// A verification-only connection. Until its channel is known, `unsent` holds the request it
    /// was opened for (already queued in its machine, so only failed here if no connection could
    /// be made) and those that came while it connected.
    private struct Verifier {
        let id: Int
        var channel: (any Channel)?
        var unsent: [DialbackVerify]
    }

    /// Matches an answer to its request: the domain pair and the inbound stream's ID.
    private struct VerificationKey: Hashable {
        var pair: DialbackDomainPair
        var streamID: String

        init(_ verify: DialbackVerify) {
            pair = verify.domainPair
            streamID = verify.id
        }
    }

    /// Asks the authoritative server for `domain`: on our established link to it when there is
    /// one (and `onLink`), otherwise on a verification-only connection, opened if none is.
    private func requestVerification(_ verify: DialbackVerify, from domain: String, onLink: Bool) {
        if onLink, let channel = outboundLinks[domain]?.channel {
            return hand(verify, to: channel, authoritativeDomain: domain, verifier: nil)
        }
        let pair = DialbackDomainPair(sender: domain, target: verify.from)
        guard var verifier = verifiers[pair] else { return openVerifier(pair, for: verify) }
        if let channel = verifier.channel {
            hand(verify, to: channel, authoritativeDomain: domain, verifier: verifier.id)
        } else {
            verifier.unsent.append(verify)
            verifiers[pair] = verifier
        }
    }

    /// Gives the request to the outbound handler on `channel`; if that stream takes no more, the
    /// request comes back through the inbox for a verification-only connection.
    private func hand(_ verify: DialbackVerify, to channel: any Channel, authoritativeDomain domain: String, verifier: Int?) {
        let continuation = inboxContinuation
        channel.eventLoop.execute {
            let handler = try? channel.pipeline.syncOperations.handler(type: OutboundStreamHandler.self)
            if (handler?.requestVerification(verify) ?? .streamEnded) == .streamEnded {
                continuation.yield(.verificationRedirected(authoritativeDomain: domain, verify, verifier: verifier))
            }
        }
    }

    /// Opens a verification-only connection for `pair` with `verify` already queued in its
    /// machine, under the authoritative domain's partner policy. A domain that may not federate
    /// is not dialed: the request fails as if its server could not be found.
    private func openVerifier(_ pair: DialbackDomainPair, for verify: DialbackVerify) {
        guard case .allowed(let partner) = settings.policy.decision(for: pair.sender) else {
            return verificationFailed(verify, .authoritativeServerNotFound)
        }
        nextVerifierID += 1
        let id = nextVerifierID
        verifiers[pair] = Verifier(id: id, channel: nil, unsent: [verify])
        let continuation = inboxContinuation
        let settings = self.settings
        let secret = settings.dialbackSecret
        Task {
            let opened = await openConnection(to: pair.sender, route: partner.route, settings: settings) { target in
                var machine = try OutboundStreamStateMachine(
                    localDomain: pair.target,
                    remoteDomain: pair.sender,
                    policy: partner.negotiation,
                    dialbackSecret: secret,
                    directTLS: target.directTLS,
                    purpose: .verification
                )
                _ = machine.verificationRequested(verify)
                return machine
            } callbacks: {
                OutboundStreamCallbacks(
                    established: { _, _ in },
                    failed: { _ in },
                    verificationAnswered: { continuation.yield(.verificationAnswered($0)) },
                    verificationFailed: { continuation.yield(.verificationFailed($0, $1)) }
                )
            }
            switch opened {
            case .success(let channel):
                continuation.yield(.verifierConnected(pair, id: id, channel))
                channel.closeFuture.whenComplete { _ in continuation.yield(.verifierEnded(pair, id: id)) }
            case .failure(let failure):
                logger.warning(
                    "could not open a dialback verification connection",
                    metadata: ["peer": "\(pair.sender)", "target": "\(pair.target)", "reason": "\(failure.reason)"]
                )
                continuation.yield(.verifierEnded(pair, id: id))
            }
        }
    }

    /// The verification-only connection is up: requests that came while it connected go to its
    /// handler (the first one is already in its machine).
    private func verifierConnected(_ pair: DialbackDomainPair, id: Int, _ channel: any Channel) {
        guard var verifier = verifiers[pair], verifier.id == id else { return }
        let waiting = verifier.unsent.dropFirst()
        verifier.channel = channel
        verifier.unsent = []
        verifiers[pair] = verifier
        for verify in waiting { hand(verify, to: channel, authoritativeDomain: pair.sender, verifier: id) }
    }

    private func verificationFailed(_ request: DialbackVerify, _ failure: DialbackVerificationFailure) {
        metrics.dialbackVerification(.failed)
        logger.warning(
            "dialback key could not be verified",
            metadata: [
                "peer": "\(request.to)", "target": "\(request.from)", "stream-id": "\(request.id)",
                "condition": "\(failure.condition.rawValue)",
            ]
        )
        if let inbound = verificationWaiters.removeValue(forKey: VerificationKey(request)) {
            InboundStreamHandler.deliverVerificationFailure(request, failure, on: inbound)
        }
    }
}

/// An open event stream of an internal user. While `catchingUp` is not `nil` the stream's offline
/// messages are being read, and events wait there so that they follow those messages.
struct Subscriber: Sendable {
    var continuation: AsyncStream<InternalEvent>.Continuation
    var catchingUp: [InternalEvent]?
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
