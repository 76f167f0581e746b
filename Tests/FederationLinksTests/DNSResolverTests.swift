import ConsulateTestSupport
import Federation
import FederationLinks
import NIOPosix
import Testing

private typealias Z = DNSZone

/// A resolver asking only `servers`, with injected ids and a seeded SRV generator. The default
/// timeout is generous: it costs time only when a server stays silent, while a short one turns a
/// late answer on a loaded machine into a retry and breaks the exact query counts tests check.
func makeDNSResolver(
    _ servers: [DNSTestServer],
    timeout: Duration = .seconds(5),
    attempts: Int = 2,
    ids: DNSQueryIDSequence = DNSQueryIDSequence(),
    seed: UInt64 = 1
) throws -> DNSResolver {
    DNSResolver(
        configuration: try DNSResolverConfiguration(nameservers: servers.map(\.nameserver), timeout: timeout, attempts: attempts),
        group: MultiThreadedEventLoopGroup.singleton,
        queryID: { ids.next() },
        srvSelectionGenerator: { SplitMix64(seed: seed) }
    )
}

/// `address:port` plus `+tls` for direct TLS, so that one expectation shows the whole result.
func dnsSummary(_ result: Result<[ConnectionTarget], ResolutionFailure>) -> [String] {
    switch result {
    case .success(let targets): targets.map { "\(EndpointHost.address($0.address)):\($0.port)\($0.directTLS ? "+tls" : "")" }
    case .failure(let failure): ["failure: \(failure)"]
    }
}

/// The zone most tests share: example.test publishes both services, with three hosts.
func dnsExampleZone() throws -> [DNSResourceRecord] {
    [
        try Z.srv("_xmpps-server._tcp.example.test", "tls.example.test", port: 5223, priority: 10),
        try Z.srv("_xmpp-server._tcp.example.test", "xmpp2.example.test", port: 5270, priority: 20),
        try Z.srv("_xmpp-server._tcp.example.test", "xmpp1.example.test", port: 5269, priority: 10),
        try Z.aaaa("tls.example.test", "2001:db8::1"),
        try Z.a("tls.example.test", "192.0.2.1"),
        try Z.a("xmpp1.example.test", "192.0.2.11"),
        try Z.a("xmpp1.example.test", "192.0.2.12"),
        try Z.aaaa("xmpp1.example.test", "2001:db8::11"),
        try Z.a("xmpp2.example.test", "192.0.2.21"),
        try Z.a("example.test", "192.0.2.99"),
    ]
}

/// The targets `dnsExampleZone` must give: direct TLS first, each host's addresses IPv6 first and
/// alternating, STARTTLS hosts by priority.
let dnsExampleTargets = [
    "[2001:db8::1]:5223+tls", "192.0.2.1:5223+tls",
    "[2001:db8::11]:5269", "192.0.2.11:5269", "192.0.2.12:5269",
    "192.0.2.21:5270",
]

@Suite("DNSResolver: connection targets from a loopback DNS server", .timeLimit(.minutes(1)))
struct DNSResolverTests {
    @Test("SRV for both services, A/AAAA of every target, direct TLS first, ids from the injected source")
    func bothServices() async throws {
        try await DNSTestServer.with(try dnsExampleZone()) { server in
            let ids = DNSQueryIDSequence()
            let resolver = try makeDNSResolver([server], ids: ids)
            let result = await resolver.connectionTargets(for: "Example.TEST", staticRoute: nil)
            #expect(dnsSummary(result) == dnsExampleTargets)
            #expect(server.questions == [
                "_xmpp-server._tcp.example.test SRV", "_xmpps-server._tcp.example.test SRV",
                "tls.example.test A", "tls.example.test AAAA",
                "xmpp1.example.test A", "xmpp1.example.test AAAA",
                "xmpp2.example.test A", "xmpp2.example.test AAAA",
            ])
            #expect(server.received.count == 8, "one query per question: every one was answered at once")
            #expect(server.received.allSatisfy { $0.transport == .udp })
            #expect(server.received.map(\.id).sorted() == ids.all.sorted())
            #expect(Set(ids.all).count == 8)
        }
    }

    @Test("only _xmpp-server records: only STARTTLS targets")
    func onlyStartTLS() async throws {
        let zone = [
            try Z.srv("_xmpp-server._tcp.example.test", "xmpp.example.test", port: 5270),
            try Z.a("xmpp.example.test", "192.0.2.5"),
            try Z.aaaa("xmpp.example.test", "2001:db8::5"),
            try Z.a("example.test", "192.0.2.99"),
        ]
        try await DNSTestServer.with(zone) { server in
            let result = try await makeDNSResolver([server]).connectionTargets(for: "example.test", staticRoute: nil)
            #expect(dnsSummary(result) == ["[2001:db8::5]:5270", "192.0.2.5:5270"])
            #expect(try server.count("_xmpps-server._tcp.example.test", .srv) == 1)
            #expect(try server.count("example.test", .a) == 0, "SRV records exist, so no fallback lookup")
        }
    }

    @Test("no SRV records: the domain's own A/AAAA on port 5269 with STARTTLS")
    func fallback() async throws {
        let zone = [try Z.a("example.test", "192.0.2.7"), try Z.aaaa("example.test", "2001:db8::7")]
        try await DNSTestServer.with(zone) { server in
            let result = try await makeDNSResolver([server]).connectionTargets(for: "example.test", staticRoute: nil)
            #expect(dnsSummary(result) == ["[2001:db8::7]:5269", "192.0.2.7:5269"])
            #expect(server.questions == [
                "_xmpp-server._tcp.example.test SRV", "_xmpps-server._tcp.example.test SRV",
                "example.test A", "example.test AAAA",
            ])
        }
    }

    @Test("a \".\" SRV target: no XMPP service, and no address lookups")
    func rootTarget() async throws {
        let zone = [
            try Z.srv("_xmpp-server._tcp.example.test", ".", port: 0),
            try Z.a("example.test", "192.0.2.7"),
        ]
        try await DNSTestServer.with(zone) { server in
            let result = try await makeDNSResolver([server]).connectionTargets(for: "example.test", staticRoute: nil)
            #expect(result == .failure(.serviceUnavailable))
            #expect(server.questions == ["_xmpp-server._tcp.example.test SRV", "_xmpps-server._tcp.example.test SRV"])
        }
    }

    @Test("NXDOMAIN for the domain: it does not exist")
    func noSuchDomain() async throws {
        try await DNSTestServer.with(try dnsExampleZone()) { server in
            let result = try await makeDNSResolver([server]).connectionTargets(for: "missing.test", staticRoute: nil)
            #expect(result == .failure(.noSuchDomain))
            #expect(server.questions == [
                "_xmpp-server._tcp.missing.test SRV", "_xmpps-server._tcp.missing.test SRV",
                "missing.test A", "missing.test AAAA",
            ])
            #expect(server.received.count == 4, "NXDOMAIN is an answer: nothing is asked twice")
        }
    }

    @Test("equal-priority targets follow the RFC 2782 weighted order drawn from the injected generator", arguments: [1, 2, 3, 4] as [UInt64])
    func weightedOrder(seed: UInt64) async throws {
        let addresses = ["a": "192.0.2.1", "b": "192.0.2.2", "c": "192.0.2.3", "d": "192.0.2.4"]
        let srv = try addresses.keys.sorted().map { try DNSName("\($0).example.test") }.map {
            SRVRecord(priority: 0, weight: 10, port: 5269, target: $0)
        }
        let zone = try srv.map { DNSResourceRecord(name: try DNSName("_xmpp-server._tcp.example.test"), ttl: 300, data: .srv($0)) }
            + addresses.map { try Z.a("\($0.key).example.test", $0.value) }
        var generator = SplitMix64(seed: seed)
        let expected = SRVRecord.ordered(srv, using: &generator).map {
            "\(addresses[String(decoding: $0.target.labels[0], as: UTF8.self)] ?? "?"):5269"
        }
        try await DNSTestServer.with(zone) { server in
            let result = try await makeDNSResolver([server], seed: seed).connectionTargets(for: "example.test", staticRoute: nil)
            #expect(dnsSummary(result) == expected)
        }
    }

    @Test("a static route to an address bypasses DNS: the server receives no query")
    func staticRouteToAddress() async throws {
        try await DNSTestServer.with(try dnsExampleZone()) { server in
            let route = ServerEndpoint(host: try EndpointHost("127.0.0.1"), port: 15269, directTLS: true)
            let result = try await makeDNSResolver([server]).connectionTargets(for: "example.test", staticRoute: route)
            #expect(dnsSummary(result) == ["127.0.0.1:15269+tls"])
            #expect(server.received.isEmpty)
        }
    }

    @Test("a static route to a name skips SRV and looks up only that name")
    func staticRouteToName() async throws {
        try await DNSTestServer.with(try dnsExampleZone()) { server in
            let route = ServerEndpoint(host: try EndpointHost("xmpp1.example.test"), port: 15269, directTLS: false)
            let result = try await makeDNSResolver([server]).connectionTargets(for: "example.test", staticRoute: route)
            #expect(dnsSummary(result) == ["[2001:db8::11]:15269", "192.0.2.11:15269", "192.0.2.12:15269"])
            #expect(server.questions == ["xmpp1.example.test A", "xmpp1.example.test AAAA"])
        }
    }

    @Test("an IP-literal domain needs no DNS", arguments: ["[2001:db8::1]", "192.0.2.1"])
    func addressLiteral(domain: String) async throws {
        try await DNSTestServer.with(try dnsExampleZone()) { server in
            let result = try await makeDNSResolver([server]).connectionTargets(for: domain, staticRoute: nil)
            #expect(dnsSummary(result) == ["\(domain):5269"])
            #expect(server.received.isEmpty)
        }
    }

    @Test("a domain that is not a DNS name is not found, without a query", arguments: ["bad..example", "café.example", ""])
    func invalidDomain(domain: String) async throws {
        try await DNSTestServer.with(try dnsExampleZone()) { server in
            let result = try await makeDNSResolver([server]).connectionTargets(for: domain, staticRoute: nil)
            #expect(result == .failure(.noSuchDomain))
            #expect(server.received.isEmpty)
        }
    }
}
