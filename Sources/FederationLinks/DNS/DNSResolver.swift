package import Federation
package import NIOCore

/// The DNS transport: sends queries to the configured nameservers, and only to them, and turns the
/// answers into connection targets for a remote XMPP domain.
///
/// The system resolver is never used, and there is no default nameserver: its answers could not be
/// made repeatable in tests, and it reads files such as `/etc/hosts` that the gateway must not
/// depend on. Everything about the answers (validation, SRV ordering, fallbacks, address order) is
/// the pure code in `Federation`; this type only moves bytes and keeps time.
///
/// Each attempt uses a fresh UDP socket connected to the nameserver (so the kernel drops datagrams
/// from anyone else, and every attempt gets a new source port, RFC 5452 §9.2); a response with TC
/// set is asked again over TCP. Query ids come from the injected `queryID` source, which defaults
/// to the system's cryptographic generator because a predictable id makes spoofed answers easy.
package struct DNSResolver: Sendable {
    /// At most this many host names have their A and AAAA lookups in flight at once, so that a
    /// domain publishing hundreds of SRV targets cannot make the gateway open hundreds of sockets.
    package static let maximumConcurrentHostLookups = 8

    /// Which nameservers to ask, how long to wait and how often to ask.
    package let configuration: DNSResolverConfiguration
    private let group: any EventLoopGroup
    private let queryID: @Sendable () -> UInt16
    private let makeSRVGenerator: @Sendable () -> any RandomNumberGenerator

    /// - Parameters:
    ///   - configuration: the nameservers (there is no fallback to the system's), the timeout per
    ///     attempt and the number of attempts.
    ///   - group: where the sockets run.
    ///   - queryID: draws each query's id; it must be unpredictable in production (RFC 5452), and
    ///     tests inject a sequence so that the ids the server sees are known.
    ///   - srvSelectionGenerator: makes the generator for one domain's RFC 2782 weighted choice;
    ///     tests inject a seeded one so that the order of equal-priority targets is repeatable.
    package init(
        configuration: DNSResolverConfiguration,
        group: any EventLoopGroup,
        queryID: @escaping @Sendable () -> UInt16 = { UInt16.random(in: .min ... .max) },
        srvSelectionGenerator: @escaping @Sendable () -> any RandomNumberGenerator = { SystemRandomNumberGenerator() }
    ) {
        self.configuration = configuration
        self.group = group
        self.queryID = queryID
        makeSRVGenerator = srvSelectionGenerator
    }

    // MARK: - Connection targets

    /// Where to connect for `domain`, in the order to try.
    ///
    /// - A `staticRoute` replaces the SRV step entirely (no SRV query is sent); if its host is an
    ///   address, no query at all is sent, and if it is a name, only that name's A and AAAA.
    /// - An IP-literal domain (brackets allowed for IPv6) needs no DNS: port 5269 with STARTTLS.
    /// - Otherwise the `_xmpps-server._tcp` and `_xmpp-server._tcp` SRV lookups run concurrently,
    ///   ``ConnectionPlan/resolve(domain:directTLS:startTLS:using:)`` orders them, the A and AAAA
    ///   lookups of every host name the plan needs run concurrently, and
    ///   ``ConnectionPlan/connectionTargets(addresses:)`` gives the targets.
    ///
    /// A domain that is not a valid ASCII DNS name (too long, empty labels, or Unicode not yet
    /// converted to A-labels, which is the caller's job) cannot exist in DNS and is reported as
    /// ``ResolutionFailure/noSuchDomain`` without a query.
    package func connectionTargets(
        for domain: String,
        staticRoute: ServerEndpoint?
    ) async -> Result<[ConnectionTarget], ResolutionFailure> {
        let plan: ConnectionPlan
        if let staticRoute {
            plan = ConnectionPlan(overridingDNSWith: staticRoute)
        } else {
            let host: EndpointHost
            do {
                host = try EndpointHost(domain)
            } catch {
                return .failure(.noSuchDomain)
            }
            switch host {
            case .address(let address):
                plan = ConnectionPlan(addressLiteral: address)
            case .name(let name):
                return await resolution(of: name).targets
            }
        }
        let addresses = await hostAddresses(for: plan.hostNamesToResolve)
        return plan.connectionTargets(addresses: addresses)
    }

    /// Everything the DNS step found for `domain`, with the targets it led to: the SRV step (both
    /// services asked at once, then the pure plan) and the A and AAAA lookups of the plan's hosts.
    /// ``connectionTargets(for:staticRoute:)`` uses only ``DomainResolution/targets``; `consulate
    /// check` reports the rest (which SRV records exist, which hosts have no address), so that what
    /// it says is what the gateway's links will find.
    package func resolution(of domain: DNSName) async -> DomainResolution {
        async let directTLS = serviceRecords(.directTLS, of: domain)
        async let startTLS = serviceRecords(.startTLS, of: domain)
        let (direct, start) = await (directTLS, startTLS)
        var generator = makeSRVGenerator()
        switch ConnectionPlan.resolve(domain: domain, directTLS: direct, startTLS: start, using: &generator) {
        case .failure(let failure):
            return DomainResolution(directTLS: direct, startTLS: start, endpoints: [], addresses: [:], targets: .failure(failure))
        case .success(let plan):
            let addresses = await hostAddresses(for: plan.hostNamesToResolve)
            return DomainResolution(
                directTLS: direct, startTLS: start, endpoints: plan.endpoints, addresses: addresses,
                targets: plan.connectionTargets(addresses: addresses)
            )
        }
    }

    /// One service's SRV records. A domain so long that the service prefix pushes it past 255
    /// octets cannot have such records, which is what NXDOMAIN says.
    private func serviceRecords(_ service: XMPPServerService, of domain: DNSName) async -> DNSLookupOutcome<SRVRecord> {
        guard let name = try? service.queryName(for: domain) else { return .noSuchDomain }
        return await lookup(name, type: .srv).srvRecords
    }

    /// The A and AAAA lookups of `names`, at most ``maximumConcurrentHostLookups`` hosts at a time.
    private func hostAddresses(for names: [DNSName]) async -> [DNSName: HostAddresses] {
        await withTaskGroup(of: (DNSName, HostAddresses).self) { tasks in
            var pending = names[...]
            func startNext() {
                guard let name = pending.popFirst() else { return }
                tasks.addTask {
                    async let ipv6 = lookup(name, type: .aaaa)
                    async let ipv4 = lookup(name, type: .a)
                    return (name, HostAddresses(ipv6: await ipv6.ipv6Addresses, ipv4: await ipv4.ipv4Addresses))
                }
            }
            for _ in 0..<Self.maximumConcurrentHostLookups { startNext() }
            var addresses: [DNSName: HostAddresses] = [:]
            for await (name, found) in tasks {
                addresses[name] = found
                startNext()
            }
            return addresses
        }
    }

    // MARK: - Single lookups

    /// Looks up `type` records of `name` with a query id from the injected source.
    package func lookup(_ name: DNSName, type: DNSRecordType) async -> DNSLookupOutcome<DNSRecordData> {
        await send(DNSQuery(id: queryID(), name: name, type: type))
    }

    /// Sends `query` until some nameserver answers it.
    ///
    /// The nameservers are tried in order, and the whole list up to `attempts` times (the order of a
    /// stub resolver's `resolv.conf`): a dead first nameserver then costs one timeout per round,
    /// not all of its attempts. Each attempt waits at most the configured timeout for a response
    /// that ``DNSMessage/lookupOutcome(for:)`` accepts; anything else arriving meanwhile (a wrong
    /// id, another question, no QR bit, undecodable bytes) is ignored, not trusted, and the wait
    /// goes on. A truncated response is asked again over TCP, within a timeout of its own.
    ///
    /// An answer, NODATA or NXDOMAIN ends the lookup. SERVFAIL and the other failure codes move on
    /// to the next attempt, like a timeout; if every attempt fails, the result is the last such
    /// code, or ``DNSLookupOutcome/timeout`` if no nameserver answered at all. Network errors (a
    /// refused or unreachable nameserver, a reset TCP connection) end their attempt at once and
    /// count as timeouts: either way the nameserver gave no answer. A cancelled task starts no
    /// further attempt and gets the failure so far.
    package func send(_ query: DNSQuery) async -> DNSLookupOutcome<DNSRecordData> {
        let timeout = TimeAmount(configuration.timeout)
        var failure = DNSLookupOutcome<DNSRecordData>.timeout
        for _ in 0..<configuration.attempts {
            for nameserver in configuration.nameservers {
                guard !Task.isCancelled else { return failure }
                var result = await DNSExchange.run(query, to: nameserver, over: .udp, timeout: timeout, group: group)
                if result == .truncated {
                    result = await DNSExchange.run(query, to: nameserver, over: .tcp, timeout: timeout, group: group)
                }
                guard case .answered(let outcome) = result else { continue }
                guard outcome.isTemporaryFailure else { return outcome }
                failure = outcome
            }
        }
        return failure
    }
}

/// What ``DNSResolver/resolution(of:)`` found for one domain: each lookup's outcome as well as the
/// targets, for reports that must say why there are none (or fewer than expected).
package struct DomainResolution: Sendable, Hashable {
    /// The `_xmpps-server._tcp` SRV lookup.
    package var directTLS: DNSLookupOutcome<SRVRecord>
    /// The `_xmpp-server._tcp` SRV lookup.
    package var startTLS: DNSLookupOutcome<SRVRecord>
    /// The endpoints planned from the SRV records, or the domain on port 5269 when there are none;
    /// empty when the SRV step already failed.
    package var endpoints: [ServerEndpoint]
    /// The A and AAAA lookups of the endpoints' host names.
    package var addresses: [DNSName: HostAddresses]
    /// The connection targets, or why there are none.
    package var targets: Result<[ConnectionTarget], ResolutionFailure>

    package init(
        directTLS: DNSLookupOutcome<SRVRecord>,
        startTLS: DNSLookupOutcome<SRVRecord>,
        endpoints: [ServerEndpoint],
        addresses: [DNSName: HostAddresses],
        targets: Result<[ConnectionTarget], ResolutionFailure>
    ) {
        self.directTLS = directTLS
        self.startTLS = startTLS
        self.endpoints = endpoints
        self.addresses = addresses
        self.targets = targets
    }
}
