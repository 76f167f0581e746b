package import Federation
package import GatewayCore
import PresenceModel
package import Translation
package import XMLStreaming
package import XMPP

/// The gateway as a fixture sees it: the very `GatewayCore` production runs (translator, link
/// table with its queues, bounces, pings and tickets, dialback routing, event streams), driven the
/// way `Gateway` drives it, with the network replaced by the fixture's actors. Every inbound
/// stream, negotiated or not, runs the real `InboundStreamStateMachine` (`InboundConnectionReplay`);
/// what the core writes on a link is what the link's remote domain receives; time passes only when
/// the fixture says so, and the timers the core arms fire then.
///
/// The network's answers are the fixture's: a link the core asks for comes up at once (or fails, for
/// a domain the fixture made unreachable), and the authoritative servers answer when told to.
package struct ReplayGateway {
    /// What the gateway produced for one actor.
    package enum Output: Sendable, Hashable {
        case stanza(XMLElement)
        case event(XMLElement)
        case streamError(StreamError)
        /// Our stream header on a negotiated stream, as a `<stream:stream/>` element with its
        /// attributes.
        case streamHeader(XMLElement)
        /// `</stream:stream>` with no error: the stream was closed in an orderly way.
        case streamClosed
        /// The connection was closed with nothing written.
        case disconnected
        /// The negotiated stream authenticated `domain` with `method`.
        case authenticated(domain: String, method: AuthenticationMethod)
        /// Our link from `local` to the actor's domain was closed.
        case linkClosed(local: String, LinkTable.CloseReason)
    }

    /// A fixture step that cannot be carried out (not a gateway failure, but a script mistake).
    package struct ScriptError: Error, Sendable {
        package var message: String
    }

    /// How a remote domain's servers answer our connection attempts.
    package enum Reachability: Sendable, Hashable {
        case reachable
        /// Attempts fail as a refused connection does: temporarily.
        case unreachable
        /// Attempts fail as NXDOMAIN does: permanently.
        case notFound
    }

    package private(set) var core: GatewayCore
    package private(set) var outputs: [String: [Output]] = [:]
    private let limits: (pre: XMLStreamLimits, post: XMLStreamLimits)
    private let inboundConfiguration: InboundStreamStateMachine.Configuration
    /// The inbound connection of each remote domain, by actor.
    private var inbound: [String: (id: ConnectionID, replay: InboundConnectionReplay, negotiated: Bool)] = [:]
    private var inboundConnections: UInt64 = 0
    /// Our outbound connections that are up: their link, or the authoritative domain of a
    /// verification-only connection.
    private var outbound: [ConnectionID: LinkKey] = [:]
    private var reachability: [String: Reachability] = [:]
    /// `<db:verify/>` requests written and not yet answered, oldest first, with their connection.
    private var verifications: [(connection: ConnectionID, request: DialbackVerify)] = []
    private var subscribers: [SubscriberID: JID] = [:]
    private var streamCount = 0
    private var pending: [GatewayCore.Input] = []
    private var armedTimers: [LinkInstant] = []
    private(set) var time: GatewayTime

    /// A fixed wall time, so nothing depends on when a fixture runs.
    static let wallOrigin = Timestamp(millisecondsSinceEpoch: 1_767_225_600_000)

    package init(world: FixtureNotation.World) {
        core = world.core
        limits = (world.preAuthenticationLimits, world.parserLimits)
        inboundConfiguration = world.inbound
        time = GatewayTime(now: .origin, wall: Self.wallOrigin)
        for user in world.users.sorted(by: { $0.description < $1.description }) {
            let id = SubscriberID(UInt64(subscribers.count + 1))
            subscribers[id] = user
            feed(.subscriberOpened(id, user: user))
        }
    }

    /// Whether `domain`'s server has an inbound stream to us.
    package func streamIsOpen(for domain: String) -> Bool { inbound[domain] != nil }

    /// Whether the gateway ended `domain`'s stream.
    package func streamIsClosed(for domain: String) -> Bool { inbound[domain]?.replay.isClosed ?? false }

    /// Whether `domain`'s stream is negotiated rather than authenticated from the start.
    package func isNegotiating(_ domain: String) -> Bool { inbound[domain]?.negotiated ?? false }

    /// The header a partner's server writes when it opens its stream to us.
    package func standardHeader(from domain: String) -> [UInt8] {
        Array(
            ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
                + "xmlns:db='jabber:server:dialback' from='\(domain)' to='\(firstLocalDomain)' version='1.0'>").utf8
        )
    }

    private var firstLocalDomain: String { core.configuration.translation.localDomains.sorted().first ?? "localhost" }

    // MARK: - Steps

    /// `domain`'s server opens a connection that is negotiated from its first byte; with
    /// `directTLS`, the connection is TLS from the start and presented that certificate.
    package mutating func connect(_ domain: String, directTLS: Fixture.Certificate?) throws(ScriptError) {
        if let existing = inbound[domain], !existing.replay.isClosed {
            throw ScriptError(message: "\(domain) is already connected; its stream must be closed before it connects again")
        }
        var replay = InboundConnectionReplay(configuration: inboundConfiguration, limits: limits, start: .negotiated(directTLS: directTLS))
        let id = accept(domain)
        let actions = replay.start()
        inbound[domain] = (id, replay, true)
        carryOut(actions, on: domain)
    }

    /// `domain`'s TLS handshake, started by `<proceed/>`, completes with `certificate`.
    package mutating func completeTLS(for domain: String, with certificate: Fixture.Certificate) throws(ScriptError) {
        guard var connection = inbound[domain], connection.replay.tls == .handshaking, !connection.replay.isClosed else {
            throw ScriptError(message: "\(domain) has no TLS handshake under way (the gateway must have sent <proceed/>)")
        }
        let actions = connection.replay.completeTLS(certificate)
        inbound[domain] = connection
        carryOut(actions, on: domain)
    }

    /// `domain`'s authoritative server reacts to the oldest `<db:verify/>` the gateway sent it.
    package mutating func authoritativeServer(of domain: String, replies reply: Fixture.AuthoritativeReply) throws(ScriptError) {
        guard let index = verifications.firstIndex(where: { $0.request.to == domain }) else {
            throw ScriptError(message: "the gateway has no verification waiting for \(domain)'s authoritative server")
        }
        let (connection, request) = verifications.remove(at: index)
        switch reply {
        case .valid: feed(.verificationAnswered(request.answered(.valid)))
        case .invalid: feed(.verificationAnswered(request.answered(.invalid)))
        case .error: feed(.verificationAnswered(request.answered(.error(StanzaError(.itemNotFound)))))
        case .timesOut: feed(.verificationFailed(request, .authoritativeServerTimedOut))
        case .cannotBeReached: feed(.verificationFailed(request, .authoritativeServerNotFound))
        }
        // A verification-only connection closes once nothing is outstanding on it.
        if connection.kind == .verification, !verifications.contains(where: { $0.connection == connection }) {
            outbound[connection] = nil
            feed(.connectionClosed(connection))
        }
    }

    /// Feeds bytes written by `domain`'s server, `chunkSize` bytes at a time (all at once if `nil`).
    /// A domain that has no stream yet gets one that starts authenticated for it.
    package mutating func receive(_ bytes: [UInt8], from domain: String, chunkSize: Int?) throws(ScriptError) {
        if inbound[domain] == nil {
            let id = accept(domain)
            inbound[domain] = (id, InboundConnectionReplay(configuration: inboundConfiguration, limits: limits, start: .authenticated(domain)), false)
            feed(.inboundAuthenticated(id, LinkKey(local: firstLocalDomain, remote: domain), .saslOverTLS, .startTLS))
        }
        guard var connection = inbound[domain] else { return }
        var count = streamCount
        let actions = try connection.replay.receive(bytes, chunkSize: chunkSize) {
            count += 1
            return "stream-\(count)"
        }
        streamCount = count
        inbound[domain] = connection
        carryOut(actions, on: domain)
        // As the handler reports a read that delivered stanzas; the store here never falls behind.
        if actions.contains(where: { if case .deliver = $0 { true } else { false } }) { feed(.inboundReadHandled(connection.id)) }
    }

    /// Runs an internal action through the core.
    package mutating func perform(_ action: InternalAction) {
        feed(.action(action))
    }

    /// Time passes: every timer the core armed up to then fires, in order, at its instant.
    package mutating func pass(_ duration: Duration) {
        let target = time.now + duration
        while let next = armedTimers.min(), next <= target {
            armedTimers.removeAll { $0 <= next }
            advance(to: next)
            feed(.tick)
        }
        advance(to: target)
    }

    /// Our established link from `local` (our first domain when `nil`) to `domain` breaks.
    package mutating func loseLink(to domain: String, from local: String?) throws(ScriptError) {
        let key = LinkKey(local: local ?? firstLocalDomain, remote: domain)
        guard let connection = core.links.establishedConnection(for: key) else {
            throw ScriptError(message: "there is no established link \(key)")
        }
        outbound[connection] = nil
        feed(.connectionFailed(connection, .temporary(reason: "the connection was reset")))
        feed(.connectionClosed(connection))
    }

    /// From now on our connection attempts to `domain` succeed, fail temporarily or find nothing.
    package mutating func setReachability(of domain: String, _ value: Reachability) {
        reachability[domain] = value
    }

    /// Removes and returns the oldest output waiting for `actor`.
    package mutating func takeOutput(for actor: String) -> Output? {
        guard var queue = outputs[actor], !queue.isEmpty else { return nil }
        let first = queue.removeFirst()
        outputs[actor] = queue
        return first
    }

    // MARK: - The driver

    private mutating func advance(to instant: LinkInstant) {
        guard instant > time.now else { return }
        time = GatewayTime(now: instant, wall: time.wallTime(of: instant))
    }

    private mutating func accept(_ domain: String) -> ConnectionID {
        inboundConnections += 1
        let id = ConnectionID(.inbound, inboundConnections)
        feed(.inboundAccepted(id, source: "192.0.2.1"))
        return id
    }

    /// Hands `input` to the core; what the core's actions lead to is handed over after it, in
    /// order, as the runtime's inbox would.
    private mutating func feed(_ input: GatewayCore.Input) {
        pending.append(input)
        guard pending.count == 1 else { return }
        while let next = pending.first {
            for action in core.handle(next, at: time) { execute(action) }
            pending.removeFirst()
        }
    }

    private mutating func execute(_ action: GatewayCore.Action) {
        switch action {
        case .send(let stanza, let connection):
            guard outbound[connection] != nil else {
                pending.append(.writeFailed(stanza, on: connection))
                return
            }
            append(.stanza(stanza.element), for: stanza.key.remote)
            if let ticket = stanza.ticket { pending.append(.written(ticket)) }
        case .write(let element, let connection):
            if let key = outbound[connection] { append(.stanza(element), for: key.remote) }
        case .connect(let connection, let key, _, let purpose):
            switch reachability[key.remote] ?? .reachable {
            case .reachable:
                outbound[connection] = key
                pending.append(.connected(connection))
                switch purpose {
                case .link:
                    let stream = OutboundEstablishedStream(
                        localDomain: key.local, remoteDomain: key.remote, method: .saslOverTLS,
                        security: .startTLS(peerCertificateValidForRemote: true), streamID: nil
                    )
                    pending.append(.linkEstablished(connection, stream))
                case .verification(let request):
                    requestVerification(request, on: connection)
                }
            case .unreachable:
                pending.append(.connectionFailed(connection, .temporary(reason: "connection refused by every target of \(key.remote)")))
            case .notFound:
                pending.append(.connectionFailed(connection, .notFound(reason: "\(key.remote) does not exist (NXDOMAIN)")))
            }
        case .close(let connection, let reason):
            guard let key = outbound.removeValue(forKey: connection) else { return }
            if connection.kind == .link, reason != .shutdown { append(.linkClosed(local: key.local, reason), for: key.remote) }
            pending.append(.connectionClosed(connection))
        case .closeInbound(let connection, let error):
            guard let domain = inbound.first(where: { $0.value.id == connection })?.key, var stream = inbound[domain] else { return }
            streamCount += 1
            let actions = stream.replay.close(with: error, streamID: "stream-\(streamCount)")
            inbound[domain] = stream
            carryOut(actions, on: domain)
        case .requestVerification(let request, let connection):
            if outbound[connection] != nil {
                requestVerification(request, on: connection)
            } else {
                pending.append(.verificationRedirected(request, from: connection))
            }
        case .answerVerification(let answer, let connection):
            onInbound(connection) { $0.verificationAnswered(answer) }
        case .failVerification(let request, let failure, let connection):
            onInbound(connection) { $0.verificationFailed(request, failure) }
        case .notify(let subscriber, let event), .handOver(let subscriber, let event, _):
            if let user = subscribers[subscriber] { append(.event(FixtureNotation.element(for: event)), for: user.description) }
        case .awaitDrain(let subscriber):
            // A fixture's user reads everything at once.
            pending.append(.subscriberDrained(subscriber, writtenOfflineThrough: nil))
        case .store(.readOffline(_, let subscriber, _, _)):
            pending.append(.storeReported(StoreReport(completed: 1)))
            pending.append(.offlineMessagesRead(subscriber, []))
        case .store(let job):
            // The store keeps everything, at once.
            var report = StoreReport(completed: 1)
            if case .enqueue(let ticket, _, _, _) = job { report.stored = [ticket] }
            pending.append(.storeReported(report))
        case .armTimer(let deadline):
            armedTimers.append(deadline)
        case .writeKeepAlive, .flush, .finish, .log, .metric, .pauseAccepting, .resumeAccepting, .readMore:
            break
        }
    }

    /// A `<db:verify/>` written on an outbound connection: what the authoritative server receives.
    private mutating func requestVerification(_ request: DialbackVerify, on connection: ConnectionID) {
        verifications.append((connection, request))
        append(.stanza(request.element), for: FixtureParser.authoritativeServer(of: request.to))
    }

    private mutating func onInbound(_ connection: ConnectionID, _ body: (inout InboundConnectionReplay) -> [InboundConnectionReplay.Action]) {
        guard let domain = inbound.first(where: { $0.value.id == connection })?.key, var stream = inbound[domain], !stream.replay.isClosed else { return }
        let actions = body(&stream.replay)
        inbound[domain] = stream
        carryOut(actions, on: domain)
    }

    /// Routes what an inbound connection's machine asked for beyond the connection itself. On a
    /// stream that started authenticated, the header exchange after SASL is not the fixture's
    /// business: our header and empty features are not shown.
    private mutating func carryOut(_ actions: [InboundStreamStateMachine.Action], on domain: String) {
        guard let stream = inbound[domain] else { return }
        for action in actions {
            switch action {
            case .sendBytes(let bytes):
                if stream.negotiated { append(.streamHeader(Self.headerElement(bytes)), for: domain) }
            case .sendElement(let element):
                if !stream.negotiated, element.name == "features", element.namespace == Namespace.streams { continue }
                append(.stanza(element), for: domain)
            case .authenticated(let pair, let method):
                append(.authenticated(domain: pair.remote, method: method), for: domain)
                feed(.inboundAuthenticated(stream.id, pair, method, LinkReport.TLS(method, transport: .startTLS)))
            case .deliver(let stanza):
                feed(.stanzaReceived(stanza, on: stream.id))
            case .requestDialbackVerification(_, let request):
                feed(.verificationRequested(request, inbound: stream.id))
            case .close(let error):
                append(error.map(Output.streamError) ?? .streamClosed, for: domain)
                feed(.inboundClosed(stream.id))
            case .disconnect:
                append(.disconnected, for: domain)
                feed(.inboundClosed(stream.id))
            case .startTLS, .restartStream, .checkPeerCertificate, .dialbackRefused:
                break
            }
        }
    }

    /// Our stream header bytes as a `<stream:stream/>` element, read back the way the peer's
    /// parser reads them, so that a header that does not parse shows up in the fixture's diff.
    static func headerElement(_ bytes: [UInt8]) -> XMLElement {
        var events: [XMLStreamEvent] = []
        try? XMLStreamParser().feed(bytes, into: &events)
        guard case .streamOpened(let header)? = events.first else {
            return XMLElement("unreadable-stream-header", namespace: "", children: [.text(String(decoding: bytes, as: UTF8.self))])
        }
        return XMLElement(header.name, namespace: header.namespace, attributes: header.attributes)
    }

    private mutating func append(_ output: Output, for actor: String) {
        outputs[actor, default: []].append(output)
    }
}
