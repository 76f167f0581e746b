public import Federation
public import Translation
public import XMLStreaming
public import XMPP

/// The gateway core as a fixture sees it: one inbound s2s stream per partner domain feeding the
/// translator, and queues of everything the gateway said to each actor. No sockets: bytes go in
/// exactly as a peer would write them and come out as the elements the gateway would write.
///
/// A stream starts in one of two ways. By default it is already authenticated, and from its first
/// byte on this is the production path after negotiation (`AuthenticatedStreamReader`, then
/// `Translator`). A peer that `connect`s instead goes through the real negotiation
/// (`InboundStreamStateMachine`, see `InboundConnectionReplay`), with the TLS handshake and the
/// authoritative server's answers supplied by the fixture, and its stanzas reach the translator
/// once the machine delivers them.
public struct ReplayGateway {
    /// What the gateway produced for one actor.
    public enum Output: Sendable, Hashable {
        case stanza(XMLElement)
        case event(XMLElement)
        case streamError(StreamError)
        /// Our stream header on a negotiated stream, as a `<stream:stream/>` element with its
        /// attributes.
        case streamHeader(XMLElement)
        /// `</stream:stream>` with no error: the stream was closed in an orderly way.
        case streamClosed
        /// The negotiated stream authenticated `domain` with `method`.
        case authenticated(domain: String, method: AuthenticationMethod)
    }

    /// A fixture step that cannot be carried out (not a gateway failure, but a script mistake).
    public struct ScriptError: Error, Sendable {
        public var message: String
    }

    public private(set) var translator: Translator
    public private(set) var outputs: [String: [Output]] = [:]
    private var streams: [String: AuthenticatedStreamReader] = [:]
    private var opened: Set<String> = []
    private let parserLimits: XMLStreamLimits
    private let preAuthenticationLimits: XMLStreamLimits
    private let inbound: InboundStreamStateMachine.Configuration
    private var connections: [String: InboundConnectionReplay] = [:]
    /// Verification requests waiting for each authoritative domain, oldest first, with the
    /// connection each came from.
    private var verifications: [String: [(connection: String, request: DialbackVerify)]] = [:]
    private var streamCount = 0

    public init(world: FixtureNotation.World) {
        translator = world.translator
        parserLimits = world.parserLimits
        preAuthenticationLimits = world.preAuthenticationLimits
        inbound = world.inbound
    }

    /// Whether `domain`'s server has sent its stream header, or connected for negotiation.
    public func streamIsOpen(for domain: String) -> Bool { opened.contains(domain) || connections[domain] != nil }

    /// Whether the gateway ended `domain`'s stream.
    public func streamIsClosed(for domain: String) -> Bool {
        connections[domain]?.isClosed ?? streams[domain]?.hasFailed ?? false
    }

    /// Whether `domain`'s stream is negotiated rather than authenticated from the start.
    public func isNegotiating(_ domain: String) -> Bool { connections[domain] != nil }

    /// The header a partner's server writes when it opens its stream to us.
    public func standardHeader(from domain: String) -> [UInt8] {
        let local = translator.configuration.localDomains.sorted().first ?? "localhost"
        return Array(
            ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
                + "xmlns:db='jabber:server:dialback' from='\(domain)' to='\(local)' version='1.0'>").utf8
        )
    }

    /// `domain`'s server opens a connection that is negotiated from its first byte; with
    /// `directTLS`, the connection is TLS from the start and presented that certificate.
    public mutating func connect(_ domain: String, directTLS: Fixture.Certificate?) throws(ScriptError) {
        if streams[domain] != nil { throw ScriptError(message: "\(domain) already has a stream that started authenticated") }
        if let connection = connections[domain], !connection.isClosed {
            throw ScriptError(message: "\(domain) is already connected; its stream must be closed before it connects again")
        }
        var connection = InboundConnectionReplay(
            configuration: inbound, limits: (preAuthenticationLimits, parserLimits), directTLS: directTLS
        )
        let actions = connection.start()
        connections[domain] = connection
        // Answers meant for the previous connection would reach this one; that stream is gone.
        verifications = verifications.mapValues { $0.filter { $0.connection != domain } }
        carryOut(actions, on: domain)
    }

    /// `domain`'s TLS handshake, started by `<proceed/>`, completes with `certificate`.
    public mutating func completeTLS(for domain: String, with certificate: Fixture.Certificate) throws(ScriptError) {
        guard var connection = connections[domain], connection.tls == .handshaking, !connection.isClosed else {
            throw ScriptError(message: "\(domain) has no TLS handshake under way (the gateway must have sent <proceed/>)")
        }
        let actions = connection.completeTLS(certificate)
        connections[domain] = connection
        carryOut(actions, on: domain)
    }

    /// `domain`'s authoritative server reacts to the oldest `<db:verify/>` the gateway sent it.
    public mutating func authoritativeServer(of domain: String, replies reply: Fixture.AuthoritativeReply) throws(ScriptError) {
        guard var waiting = verifications[domain], !waiting.isEmpty else {
            throw ScriptError(message: "the gateway has no verification waiting for \(domain)'s authoritative server")
        }
        let (connectionDomain, request) = waiting.removeFirst()
        verifications[domain] = waiting
        guard var connection = connections[connectionDomain] else { return }
        let actions: [InboundStreamStateMachine.Action]
        switch reply {
        case .valid: actions = connection.verificationAnswered(request.answered(.valid))
        case .invalid: actions = connection.verificationAnswered(request.answered(.invalid))
        case .error: actions = connection.verificationAnswered(request.answered(.error(StanzaError(.itemNotFound))))
        case .timesOut: actions = connection.verificationFailed(request, .authoritativeServerTimedOut)
        case .cannotBeReached: actions = connection.verificationFailed(request, .authoritativeServerNotFound)
        }
        connections[connectionDomain] = connection
        carryOut(actions, on: connectionDomain)
    }

    /// Feeds bytes written by `domain`'s server, `chunkSize` bytes at a time (all at once if `nil`).
    public mutating func receive(_ bytes: [UInt8], from domain: String, chunkSize: Int?) throws(ScriptError) {
        if var connection = connections[domain] {
            var count = streamCount
            let actions = try connection.receive(bytes, chunkSize: chunkSize) {
                count += 1
                return "stream-\(count)"
            }
            streamCount = count
            connections[domain] = connection
            carryOut(actions, on: domain)
            return
        }
        var reader = streams[domain]
            ?? AuthenticatedStreamReader(peerDomain: domain, localDomains: translator.configuration.localDomains, limits: parserLimits)
        let size = max(chunkSize ?? bytes.count, 1)
        var offset = 0
        while offset < bytes.count, !reader.hasFailed {
            let end = min(offset + size, bytes.count)
            for event in bytes[offset..<end].withUnsafeBytes({ reader.read($0) }) {
                switch event {
                case .opened: opened.insert(domain)
                case .stanza(let stanza): route(translator.receive(stanza))
                case .reply(let reply): append(.stanza(reply), for: domain)
                case .closedByPeer: break
                case .failed(let error): append(.streamError(error), for: domain)
                }
            }
            offset = end
        }
        streams[domain] = reader
    }

    /// Runs an internal action through the translator.
    public mutating func perform(_ action: InternalAction) {
        route(translator.perform(action))
    }

    /// Removes and returns the oldest output waiting for `actor`.
    public mutating func takeOutput(for actor: String) -> Output? {
        guard var queue = outputs[actor], !queue.isEmpty else { return nil }
        let first = queue.removeFirst()
        outputs[actor] = queue
        return first
    }

    /// Routes what a negotiated connection's machine asked for beyond the connection itself.
    private mutating func carryOut(_ actions: [InboundStreamStateMachine.Action], on domain: String) {
        for action in actions {
            switch action {
            case .sendBytes(let bytes):
                append(.streamHeader(Self.headerElement(bytes)), for: domain)
            case .sendElement(let element):
                append(.stanza(element), for: domain)
            case .authenticated(let authenticated, let method):
                append(.authenticated(domain: authenticated, method: method), for: domain)
            case .deliver(let stanza):
                route(translator.receive(stanza))
            case .requestDialbackVerification(let authoritative, let verify):
                verifications[authoritative, default: []].append((domain, verify))
                append(.stanza(verify.element), for: FixtureParser.authoritativeServer(of: authoritative))
            case .close(let error):
                append(error.map(Output.streamError) ?? .streamClosed, for: domain)
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

    private mutating func route(_ results: [TranslatorOutput]) {
        for result in results {
            switch result {
            case .send(let outgoing):
                append(.stanza(outgoing.element), for: outgoing.to.domainpart)
            case .notify(let user, let event):
                append(.event(FixtureNotation.element(for: event)), for: user.description)
            case .store:
                break
            }
        }
    }

    private mutating func append(_ output: Output, for actor: String) {
        outputs[actor, default: []].append(output)
    }
}
