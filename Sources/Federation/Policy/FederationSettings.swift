/// Gateway-wide federation limits and timers, modelled on Lync's `XmppGatewayConfiguration`
/// (reference `presence-and-partners.md` §7). Defaults are Lync's.
///
/// Not `Hashable`: it holds the dialback secret, which by design cannot be compared or printed.
public struct FederationSettings: Sendable {
    /// Most simultaneous server-to-server connections, all partners together, so that a flood of
    /// peers cannot exhaust the gateway's sockets.
    public var connectionLimit: Int
    /// Most simultaneous connections to one partner, unless the partner sets its own.
    public var partnerConnectionLimit: Int
    /// Longest a peer may take from TCP connect to an authenticated stream; slow or stalled
    /// negotiations hold resources an attacker could otherwise pile up.
    public var streamEstablishmentTimeout: Duration
    /// An established stream that carries nothing for this long is closed.
    public var inactivityTimeout: Duration
    /// Longest a peer may stay silent before a keep-alive is due; a silent link past this is
    /// presumed dead and closed.
    public var keepAliveInterval: Duration
    /// The secret dialback keys are derived from. Policy code never generates one, having no
    /// randomness: `nil` leaves it to the process that runs the links, which generates a random one
    /// at start-up; that is enough for a single gateway, while several gateways serving the same
    /// domains must share a configured one so that each can verify the others' keys.
    public var dialbackSecret: DialbackSecret?

    public init(
        connectionLimit: Int = 1000,
        partnerConnectionLimit: Int = 20,
        streamEstablishmentTimeout: Duration = .seconds(60),
        inactivityTimeout: Duration = .seconds(600),
        keepAliveInterval: Duration = .seconds(300),
        dialbackSecret: DialbackSecret? = nil
    ) {
        self.connectionLimit = connectionLimit
        self.partnerConnectionLimit = partnerConnectionLimit
        self.streamEstablishmentTimeout = streamEstablishmentTimeout
        self.inactivityTimeout = inactivityTimeout
        self.keepAliveInterval = keepAliveInterval
        self.dialbackSecret = dialbackSecret
    }

    /// Lync's defaults: 1000 connections, 20 per partner, 60 s to establish, 600 s idle, 300 s
    /// keep-alive, no configured dialback secret.
    public static let defaults = FederationSettings()

    /// Refuses limits below 1 and timers that are not positive, which would refuse or cut every
    /// link; warns when the per-partner limit exceeds the total, which can then never be reached.
    public func validate() throws(PolicyError) -> [PolicyWarning] {
        for (name, limit) in [("connection limit", connectionLimit), ("partner connection limit", partnerConnectionLimit)] where limit < 1 {
            throw PolicyError(subject: name, problem: "\(limit) would refuse every link; use 1 or more")
        }
        let timers = [
            ("stream establishment timeout", streamEstablishmentTimeout),
            ("inactivity timeout", inactivityTimeout),
            ("keep-alive interval", keepAliveInterval),
        ]
        for (name, duration) in timers where duration <= .zero {
            throw PolicyError(subject: name, problem: "\(duration) would close every stream at once; use a positive duration")
        }
        guard partnerConnectionLimit > connectionLimit else { return [] }
        return [
            PolicyWarning(
                subject: "partner connection limit",
                message: "\(partnerConnectionLimit) is above the total connection limit \(connectionLimit), so the total applies first"
            ),
        ]
    }
}
