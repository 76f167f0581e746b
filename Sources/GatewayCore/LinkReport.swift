package import Federation
package import PresenceModel

/// The links at one instant, on the gateway's wall clock, so ages can be given as of then.
package struct LinkSnapshot: Sendable, Hashable {
    package var takenAt: Timestamp
    /// Sorted by remote domain, outbound before inbound, then by our domain.
    package var links: [LinkReport]

    package init(takenAt: Timestamp, links: [LinkReport]) {
        self.takenAt = takenAt
        self.links = links
    }
}

/// One federation link as an operator sees it (`consulate links`, `GET /v1/admin/links`): which
/// peer, which way, how it authenticated and whether TLS protects it, how long it has been up and
/// what waits for it. A snapshot, taken in the gateway's inbox so that it is consistent with the
/// link table at one instant.
package struct LinkReport: Sendable, Hashable {
    /// Who opened the stream: we (`outbound`, the link our stanzas leave on) or the peer
    /// (`inbound`, the stream its stanzas arrive on). XMPP server-to-server streams carry stanzas
    /// one way, so a healthy partner usually has one of each.
    package enum Direction: String, Sendable, Hashable, CaseIterable {
        case outbound
        case inbound
    }

    package enum State: Sendable, Hashable {
        /// Authenticated and carrying stanzas.
        case established
        /// A connection attempt (the `attempt`th since the last success) is negotiating.
        case connecting(attempt: Int)
        /// The last attempt failed; the next one starts at `retryAt`.
        case retryScheduled(retryAt: Timestamp)
        /// Stanzas are queued but the connection limits leave no slot for an attempt yet.
        case waitingForSlot

        /// The state's name in the API and the command's table.
        package var name: String {
            switch self {
            case .established: "established"
            case .connecting: "connecting"
            case .retryScheduled: "retry-scheduled"
            case .waitingForSlot: "waiting-for-slot"
            }
        }
    }

    /// How TLS came to protect the stream, if it does.
    package enum TLS: String, Sendable, Hashable, CaseIterable {
        case none
        /// Negotiated with STARTTLS on the plain port (RFC 6120 §5).
        case startTLS = "starttls"
        /// TLS from the first byte (XEP-0368).
        case directTLS = "direct-tls"
    }

    /// The peer's domain.
    package var domain: String
    package var direction: Direction
    /// Our domain on the stream: the one our link authenticates as, or the one the peer's
    /// stream authenticated for.
    package var localDomain: String?
    package var state: State
    /// How the peer authenticated (inbound) or accepted us (outbound); `nil` until established.
    package var authentication: AuthenticationMethod?
    /// `nil` until established.
    package var tls: TLS?
    /// When the stream was established (inbound: when the peer authenticated the domain).
    package var establishedAt: Timestamp?
    /// Stanzas waiting for this link (outbound only; inbound streams queue nothing of ours).
    package var queuedStanzas: Int
    /// Their size as they will be written.
    package var queuedBytes: Int
    /// Failed attempts since the last success (outbound only).
    package var consecutiveFailures: Int

    package init(
        domain: String,
        direction: Direction,
        localDomain: String?,
        state: State,
        authentication: AuthenticationMethod?,
        tls: TLS?,
        establishedAt: Timestamp?,
        queuedStanzas: Int = 0,
        queuedBytes: Int = 0,
        consecutiveFailures: Int = 0
    ) {
        self.domain = domain
        self.direction = direction
        self.localDomain = localDomain
        self.state = state
        self.authentication = authentication
        self.tls = tls
        self.establishedAt = establishedAt
        self.queuedStanzas = queuedStanzas
        self.queuedBytes = queuedBytes
        self.consecutiveFailures = consecutiveFailures
    }

    /// Whole seconds the link has been established at `now`, or `nil` if it is not.
    package func ageSeconds(at now: Timestamp) -> Int64? {
        guard let establishedAt else { return nil }
        return max(0, (now.millisecondsSinceEpoch - establishedAt.millisecondsSinceEpoch) / 1000)
    }
}

extension LinkReport.TLS {
    package init(_ security: OutboundStreamSecurity) {
        switch security {
        case .plaintext: self = .none
        case .startTLS: self = .startTLS
        case .directTLS: self = .directTLS
        }
    }

    /// An inbound stream is protected by TLS unless the peer authenticated with dialback over
    /// plain TCP; which kind depends on the listener that accepted it.
    package init(_ method: AuthenticationMethod, transport: InboundStreamStateMachine.Transport) {
        switch (method, transport) {
        case (.tcpDialback, _): self = .none
        case (_, .startTLS): self = .startTLS
        case (_, .directTLS): self = .directTLS
        }
    }
}

/// An established outbound link: what its negotiation established, and since when.
package struct EstablishedLink: Sendable, Hashable {
    package var stream: OutboundEstablishedStream
    package var since: Timestamp
}

extension LinkReport {
    /// Every link the link table holds state for (established or not), then every pair
    /// authenticated on an inbound stream; sorted by remote domain, outbound first.
    static func snapshot(
        links: LinkTable,
        established: [ConnectionID: EstablishedLink],
        inbound: InboundStreamRegistry,
        at time: GatewayTime
    ) -> [LinkReport] {
        var reports: [LinkReport] = []
        for key in links.keys {
            guard let status = links.status(of: key) else { continue }
            let link = status.connection.flatMap { established[$0] }
            let state: State =
                switch status.phase {
                case .established: .established
                case .connecting(let attempt): .connecting(attempt: attempt)
                case .retryScheduled(let at): .retryScheduled(retryAt: time.wallTime(of: at))
                case .waitingForSlot: .waitingForSlot
                }
            reports.append(
                LinkReport(
                    domain: key.remote,
                    direction: .outbound,
                    localDomain: key.local,
                    state: state,
                    authentication: link?.stream.method,
                    tls: link.map { TLS($0.stream.security) },
                    establishedAt: link?.since,
                    queuedStanzas: status.queuedStanzas,
                    queuedBytes: status.queuedBytes,
                    consecutiveFailures: status.consecutiveFailures
                )
            )
        }
        for stream in inbound.streams.values {
            for (pair, authentication) in stream.pairs {
                reports.append(
                    LinkReport(
                        domain: pair.remote,
                        direction: .inbound,
                        localDomain: pair.local,
                        state: .established,
                        authentication: authentication.method,
                        tls: authentication.tls,
                        establishedAt: authentication.since
                    )
                )
            }
        }
        func order(_ report: LinkReport) -> (String, Int, String) {
            (report.domain, report.direction == .outbound ? 0 : 1, report.localDomain ?? "")
        }
        return reports.sorted { order($0) < order($1) }
    }
}
