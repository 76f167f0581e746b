package import Federation
package import PresenceModel
import XMPP

/// The connections peers opened to us, counted and timed where they are accepted, and the domain
/// pairs each has authenticated: what decides which connection is refused or cut, what an
/// operator's link report lists, and what a reloaded policy is checked against.
///
/// The limits (all from `FederationSettings`, so a reload changes them):
/// - `connectionLimit`: inbound and outbound connections together; one more is refused at once
///   with `resource-constraint`.
/// - `sourceConnectionLimit`: connections from one IP address that have not authenticated yet; one
///   more is refused with `policy-violation`.
/// - `streamEstablishmentTimeout`: from accept to the first authenticated pair, whatever the peer
///   sends meanwhile; then `connection-timeout`.
/// - `inactivityTimeout`: an authenticated stream that delivers no stanza for this long is
///   closed, politely (the peer did nothing wrong and opens a new one when it needs it).
/// - the partner's connection limit (`FederationPolicy.connectionLimit(for:)`): streams on which
///   one partner authenticated; one more is refused with `policy-violation`.
/// - `streamDialbackLimit`: dialback verifications a stream asked for that did not succeed;
///   `sourceDialbackLimit`: verifications outstanding for one address's streams. Asking for one
///   more ends the stream with `policy-violation`, so that no stream is a lever for DNS lookups
///   and connections to wherever the domains it claims point.
///
/// Pure; the core feeds it and carries out what it returns.
package struct InboundStreamRegistry: Sendable {
    /// One pair authenticated on a stream.
    package struct Authentication: Sendable, Hashable {
        package var method: AuthenticationMethod
        package var tls: LinkReport.TLS
        package var since: Timestamp
    }

    /// One accepted connection; `pairs` is empty until its peer authenticates.
    package struct Stream: Sendable, Hashable {
        /// The peer's IP address.
        package var source: String
        package var acceptedAt: LinkInstant
        /// The last stanza it delivered (or when it authenticated).
        package var lastActive: LinkInstant
        /// Keyed as our links are: our domain local, the peer's remote.
        package var pairs: [LinkKey: Authentication] = [:]
        /// The partners authenticated on it, as their policy names them.
        var partners: Set<DomainPattern> = []
        /// Being closed by us: its close is on the way, and it is not cut again.
        package var closing = false
        /// Dialback verifications it asked for, whatever became of them.
        package var verificationsRequested = 0

        package var isAuthenticated: Bool { !pairs.isEmpty }

        /// Verifications that did not (or not yet) succeed: each successful one authenticated a
        /// pair by dialback.
        var verificationsUnsuccessful: Int {
            verificationsRequested - pairs.values.filter { $0.method != .saslOverTLS }.count
        }
    }

    package private(set) var streams: [ConnectionID: Stream] = [:]
    private var unauthenticatedBySource: [String: Int] = [:]
    /// For each partner, the streams not closing that authenticated it: its connection limit's
    /// count, kept as streams authenticate and close rather than counted over every stream.
    private var heldByPartner: [DomainPattern: Int] = [:]
    /// When each stream not closing is due to be cut (`DeadlineHeap`), so that finding the next
    /// deadline after an input does not walk every stream.
    private var due = DeadlineHeap<ConnectionID>()
    /// The timeouts the deadlines in `due` were computed with; others (after a reload) recompute them.
    private var dueTimeouts: DueTimeouts?

    private struct DueTimeouts: Equatable {
        var establishment: Duration
        var inactivity: Duration

        init(_ settings: FederationSettings) {
            establishment = settings.streamEstablishmentTimeout
            inactivity = settings.inactivityTimeout
        }
    }

    /// Connections open, authenticated or not: what counts against the connection limit.
    var count: Int { streams.count }

    /// A listener accepted a connection from `source`, while `otherConnections` (our links and
    /// verification connections) are open.
    mutating func accepted(
        _ connection: ConnectionID, from source: String, otherConnections: Int, at time: GatewayTime, settings: FederationSettings
    ) -> [GatewayCore.Action] {
        if streams.count + otherConnections >= settings.connectionLimit {
            return refuse(
                connection, from: source, .connectionLimit,
                StreamError(.resourceConstraint, text: "this gateway holds its limit of \(settings.connectionLimit) connections")
            )
        }
        if unauthenticatedBySource[source, default: 0] >= settings.sourceConnectionLimit {
            return refuse(
                connection, from: source, .sourceConnectionLimit,
                StreamError(.policyViolation, text: "too many connections from \(source) that have not authenticated (limit \(settings.sourceConnectionLimit))")
            )
        }
        streams[connection] = Stream(source: source, acceptedAt: time.now, lastActive: time.now)
        unauthenticatedBySource[source, default: 0] += 1
        schedule(connection, settings)
        return []
    }

    /// The peer authenticated a pair. A stream that negotiated under a policy since replaced may
    /// have authenticated a domain the current one refuses, and a partner may have as many
    /// streams as its connection limit: either closes the stream.
    mutating func authenticated(
        _ connection: ConnectionID, _ pair: LinkKey, _ method: AuthenticationMethod, _ tls: LinkReport.TLS,
        at time: GatewayTime, policy: FederationPolicy
    ) -> [GatewayCore.Action] {
        guard var stream = streams[connection], !stream.closing else { return [] }
        guard case .allowed(let partner) = policy.decision(forDomainpart: pair.remote) else {
            return [
                .log(LogRecord(.notice, "inbound stream closed: its domain was refused while it negotiated", ["peer": pair.remote])),
            ] + close(connection, Self.refusal(of: pair.remote))
        }
        if !stream.partners.contains(partner.domain) {
            let limit = policy.connectionLimit(for: partner)
            if heldByPartner[partner.domain, default: 0] >= limit {
                return [
                    .metric(.inboundLimit(.partnerConnectionLimit)),
                    .log(LogRecord(.notice, "inbound stream refused: the partner holds its connection limit", ["peer": pair.remote, "limit": "\(limit)"])),
                ] + close(connection, StreamError(.policyViolation, text: "\(partner.domain) already has \(limit) streams to this gateway"))
            }
        }
        if !stream.isAuthenticated { releaseSource(of: stream) }
        if stream.partners.insert(partner.domain).inserted { heldByPartner[partner.domain, default: 0] += 1 }
        stream.pairs[pair] = Authentication(method: method, tls: tls, since: time.wall)
        stream.lastActive = time.now
        streams[connection] = stream
        schedule(connection, policy.settings)
        return []
    }

    /// The stream asks for a dialback verification while `outstandingFromSource` are outstanding
    /// for its address's streams: `nil` when it may, or what to do instead (end the stream; nothing
    /// for a stream already closing or unknown).
    mutating func verificationRequested(_ connection: ConnectionID, outstandingFromSource: Int, settings: FederationSettings) -> [GatewayCore.Action]? {
        guard var stream = streams[connection], !stream.closing else { return [] }
        let refusal: (InboundLimit, String)? =
            if stream.verificationsUnsuccessful >= settings.streamDialbackLimit {
                (.streamDialbackLimit, "this stream has asked for \(settings.streamDialbackLimit) dialback verifications that did not succeed")
            } else if outstandingFromSource >= settings.sourceDialbackLimit {
                (.sourceDialbackLimit, "\(stream.source) has \(settings.sourceDialbackLimit) dialback verifications outstanding")
            } else {
                nil
            }
        guard let (limit, text) = refusal else {
            stream.verificationsRequested += 1
            streams[connection] = stream
            return nil
        }
        return [
            .metric(.inboundLimit(limit)),
            .log(LogRecord(.notice, "inbound stream closed: too many dialback verifications", ["remote-address": stream.source, "limit": limit.rawValue])),
        ] + close(connection, StreamError(.policyViolation, text: text))
    }

    /// The stream delivered a stanza: it is active. Only an authenticated stream's deadline moves
    /// with activity.
    mutating func active(_ connection: ConnectionID, at time: GatewayTime, settings: FederationSettings) {
        guard let stream = streams[connection], stream.lastActive != time.now else { return }
        streams[connection]?.lastActive = time.now
        if stream.isAuthenticated { schedule(connection, settings) }
    }

    mutating func closed(_ connection: ConnectionID) {
        guard let stream = streams.removeValue(forKey: connection) else { return }
        due.schedule(connection, at: nil)
        if !stream.isAuthenticated { releaseSource(of: stream) }
        if !stream.closing { releasePartners(of: stream) }
    }

    /// The earliest instant a stream is due to be cut, if any.
    mutating func nextDeadline(_ settings: FederationSettings) -> LinkInstant? {
        rebuildIfStale(settings)
        return due.next
    }

    /// Cuts what is due at `now`: streams that did not authenticate within the establishment
    /// timeout (`connection-timeout`), and authenticated ones idle for the inactivity timeout.
    mutating func tick(at time: GatewayTime, settings: FederationSettings) -> [GatewayCore.Action] {
        rebuildIfStale(settings)
        var actions: [GatewayCore.Action] = []
        // Every stream due is closed below, so none needs its deadline again.
        for connection in due.takeDue(at: time.now) {
            guard let stream = streams[connection], !stream.closing else { continue }
            if stream.isAuthenticated {
                actions += [
                    .metric(.inboundLimit(.inactivityTimeout)),
                    .log(LogRecord(.debug, "closing an idle inbound stream", ["peer": stream.pairs.keys.map(\.remote).sorted().joined(separator: ",")])),
                ] + close(connection, nil)
            } else {
                actions += [
                    .metric(.inboundLimit(.establishmentTimeout)),
                    .log(LogRecord(.notice, "inbound connection cut: not authenticated in time", ["remote-address": stream.source])),
                ] + close(connection, StreamError(.connectionTimeout, text: "no authenticated stream within \(settings.streamEstablishmentTimeout)"))
            }
        }
        return actions
    }

    /// Every stream holding a domain `policy` refuses is closed (once, however many it holds);
    /// returns the actions and the domains dropped.
    mutating func refused(under policy: FederationPolicy) -> (actions: [GatewayCore.Action], dropped: Set<String>) {
        var actions: [GatewayCore.Action] = []
        var dropped: Set<String> = []
        for connection in streams.keys.sorted() {
            guard let stream = streams[connection], !stream.closing else { continue }
            let refused = Set(stream.pairs.keys.map(\.remote)).filter {
                if case .refused = policy.decision(forDomainpart: $0) { true } else { false }
            }
            guard let domain = refused.sorted().first else { continue }
            dropped.formUnion(refused)
            actions += close(connection, Self.refusal(of: domain))
        }
        return (actions, dropped)
    }

    private mutating func close(_ connection: ConnectionID, _ error: StreamError?) -> [GatewayCore.Action] {
        if let stream = streams[connection], !stream.closing { releasePartners(of: stream) }
        due.schedule(connection, at: nil)
        streams[connection]?.closing = true
        return [.closeInbound(connection, error)]
    }

    /// A connection turned away as it was accepted: never recorded.
    private func refuse(_ connection: ConnectionID, from source: String, _ limit: InboundLimit, _ error: StreamError) -> [GatewayCore.Action] {
        [
            .metric(.inboundLimit(limit)),
            .log(LogRecord(.notice, "inbound connection refused", ["remote-address": source, "limit": limit.rawValue])),
            .closeInbound(connection, error),
        ]
    }

    private mutating func releasePartners(of stream: Stream) {
        for partner in stream.partners {
            let remaining = heldByPartner[partner, default: 1] - 1
            heldByPartner[partner] = remaining > 0 ? remaining : nil
        }
    }

    private mutating func releaseSource(of stream: Stream) {
        let remaining = unauthenticatedBySource[stream.source, default: 1] - 1
        unauthenticatedBySource[stream.source] = remaining > 0 ? remaining : nil
    }

    /// Records when `connection` is now due.
    private mutating func schedule(_ connection: ConnectionID, _ settings: FederationSettings) {
        guard let stream = streams[connection], !stream.closing, !rebuildIfStale(settings) else { return }
        due.schedule(connection, at: Self.deadline(of: stream, settings))
    }

    /// Recomputes every deadline if they were computed with other timeouts; whether it did.
    @discardableResult
    private mutating func rebuildIfStale(_ settings: FederationSettings) -> Bool {
        guard dueTimeouts != DueTimeouts(settings) else { return false }
        dueTimeouts = DueTimeouts(settings)
        due.replaceAll(with: streams.filter { !$0.value.closing }.mapValues { Self.deadline(of: $0, settings) })
        return true
    }

    private static func deadline(of stream: Stream, _ settings: FederationSettings) -> LinkInstant {
        stream.isAuthenticated ? stream.lastActive + settings.inactivityTimeout : stream.acceptedAt + settings.streamEstablishmentTimeout
    }

    private static func refusal(of domain: String) -> StreamError {
        StreamError(.policyViolation, text: "\(domain) may no longer federate with this gateway")
    }
}
