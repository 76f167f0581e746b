/// Gateway-wide federation limits and timers, modelled on Lync's `XmppGatewayConfiguration`
/// (reference `presence-and-partners.md` §7). Defaults are Lync's.
///
/// Not `Hashable`: it holds the dialback secret, which by design cannot be compared or printed.
package struct FederationSettings: Sendable {
    /// Most simultaneous server-to-server connections, all partners together, so that a flood of
    /// peers cannot exhaust the gateway's sockets.
    package var connectionLimit: Int
    /// Most simultaneous connections to one partner, unless the partner sets its own.
    package var partnerConnectionLimit: Int
    /// Longest a peer may take from TCP connect to an authenticated stream; slow or stalled
    /// negotiations hold resources an attacker could otherwise pile up.
    package var streamEstablishmentTimeout: Duration
    /// An established stream that carries nothing for this long is closed: our links, and the
    /// streams peers authenticated to us.
    package var inactivityTimeout: Duration
    /// Most inbound connections one IP address may hold before it authenticates, so that one
    /// host cannot fill the listener with silent or slow connections.
    package var sourceConnectionLimit: Int
    /// File descriptors kept free for the internal API, the store and our outbound links: the
    /// listeners stop accepting while open connections would eat into them.
    package var descriptorReserve: Int
    /// Most dialback verifications one inbound stream may ask for that have not succeeded
    /// (outstanding, or answered invalid or failed): each may cost DNS lookups and a connection to
    /// wherever the claimed domain points, so one stream must not be a lever for many.
    package var streamDialbackLimit: Int
    /// Most dialback verifications outstanding at once for the streams of one IP address.
    package var sourceDialbackLimit: Int
    /// Subscription requests one partner's users may send a minute, all our users together, with
    /// a minute's worth allowed at once: each may add a contact to a user and costs a store write,
    /// so a partner must not be able to fill contact lists faster than people could.
    package var subscriptionRequestRate: Int
    /// How long a link may go without our writing anything before a keep-alive is due (for
    /// partners with keep-alive on): an XEP-0199 ping, or a space while a ping is outstanding or
    /// pings are off. Short enough that NATs and firewalls keep the connection's state.
    package var keepAliveInterval: Duration
    /// How long a ping may go unanswered before the link is presumed dead, closed and reported
    /// down (`LinkTable.tick`). It lives here, beside the keep-alive interval it pairs with,
    /// because both are gateway timers read from the policy. `nil` turns pings off, leaving
    /// whitespace keep-alives: for gateways that share their domains with other instances (the
    /// peer's answer may reach another one) or peers that cannot open a stream back to us, since
    /// the answer travels on the peer's own stream.
    package var pingTimeout: Duration?
    /// The secret dialback keys are derived from. Policy code never generates one, having no
    /// randomness: `nil` leaves it to the process that runs the links, which generates a random one
    /// at start-up; that is enough for a single gateway, while several gateways serving the same
    /// domains must share a configured one so that each can verify the others' keys.
    package var dialbackSecret: DialbackSecret?

    package init(
        connectionLimit: Int = 1000,
        partnerConnectionLimit: Int = 20,
        streamEstablishmentTimeout: Duration = .seconds(60),
        inactivityTimeout: Duration = .seconds(600),
        sourceConnectionLimit: Int = 8,
        descriptorReserve: Int = 256,
        streamDialbackLimit: Int = 4,
        sourceDialbackLimit: Int = 16,
        subscriptionRequestRate: Int = 60,
        keepAliveInterval: Duration = .seconds(300),
        pingTimeout: Duration? = .seconds(60),
        dialbackSecret: DialbackSecret? = nil
    ) {
        self.connectionLimit = connectionLimit
        self.partnerConnectionLimit = partnerConnectionLimit
        self.streamEstablishmentTimeout = streamEstablishmentTimeout
        self.inactivityTimeout = inactivityTimeout
        self.sourceConnectionLimit = sourceConnectionLimit
        self.descriptorReserve = descriptorReserve
        self.streamDialbackLimit = streamDialbackLimit
        self.sourceDialbackLimit = sourceDialbackLimit
        self.subscriptionRequestRate = subscriptionRequestRate
        self.keepAliveInterval = keepAliveInterval
        self.pingTimeout = pingTimeout
        self.dialbackSecret = dialbackSecret
    }

    /// Lync's defaults: 1000 connections, 20 per partner, 60 s to establish, 600 s idle, 300 s
    /// keep-alive, no configured dialback secret; and (not Lync's) 60 s for a ping's answer, ample
    /// for a peer that first has to open and authenticate its stream back to us, which takes
    /// seconds; 8 unauthenticated connections per address (a partner's server needs one or two,
    /// and a few more while its dialback is verified); 256 descriptors in reserve; 4 unsuccessful
    /// dialback verifications per stream (a server asks for one per domain pair, and rarely
    /// multiplexes more than a few pairs on a stream) and 16 outstanding per address; 60
    /// subscription requests a minute per partner (people add contacts one at a time; a new
    /// colleague importing a list is the burst).
    package static let defaults = FederationSettings()

    /// Refuses limits below 1 and timers that are not positive (a ping timeout may be off, but not
    /// zero), which would refuse or cut every link; warns when the per-partner limit exceeds the
    /// total, which can then never be reached.
    package func validate() throws(PolicyError) -> [PolicyWarning] {
        let limits = [
            ("connection limit", connectionLimit), ("partner connection limit", partnerConnectionLimit),
            ("source connection limit", sourceConnectionLimit),
            ("stream dialback limit", streamDialbackLimit), ("source dialback limit", sourceDialbackLimit),
            ("subscription request rate", subscriptionRequestRate),
        ]
        for (name, limit) in limits where limit < 1 {
            throw PolicyError(subject: name, problem: "\(limit) would refuse every link; use 1 or more")
        }
        var timers = [
            ("stream establishment timeout", streamEstablishmentTimeout),
            ("inactivity timeout", inactivityTimeout),
            ("keep-alive interval", keepAliveInterval),
        ]
        if let pingTimeout { timers.append(("ping timeout", pingTimeout)) }
        for (name, duration) in timers where duration <= .zero {
            throw PolicyError(subject: name, problem: "\(duration) would close every stream at once; use a positive duration")
        }
        if descriptorReserve < 0 {
            throw PolicyError(subject: "descriptor reserve", problem: "\(descriptorReserve) is negative; use 0 or more")
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
