import Federation
import Testing

private typealias F = DNSFixtures

/// `host:port` plus `+tls` for direct TLS, so that one expectation shows a whole plan.
private func summary(_ plan: Result<ConnectionPlan, ResolutionFailure>) -> [String] {
    switch plan {
    case .success(let plan): plan.endpoints.map { "\($0.host):\($0.port)\($0.directTLS ? "+tls" : "")" }
    case .failure(let failure): ["failure: \(failure)"]
    }
}

private func summary(_ targets: Result<[ConnectionTarget], ResolutionFailure>) -> [String] {
    switch targets {
    case .success(let targets): targets.map { "\(EndpointHost.address($0.address)):\($0.port)\($0.directTLS ? "+tls" : "")" }
    case .failure(let failure): ["failure: \(failure)"]
    }
}

private func plan(
    _ domain: String = "example.com",
    directTLS: DNSLookupOutcome<SRVRecord>,
    startTLS: DNSLookupOutcome<SRVRecord>,
    seed: UInt64 = 1
) throws -> Result<ConnectionPlan, ResolutionFailure> {
    var generator = SplitMix64(seed: seed)
    return ConnectionPlan.resolve(domain: try F.name(domain), directTLS: directTLS, startTLS: startTLS, using: &generator)
}

/// Answers for one host: IPv6 and IPv4 addresses from text, or the given outcomes.
private func host(v6: [String] = [], v4: [String] = []) throws -> HostAddresses {
    HostAddresses(
        ipv6: v6.isEmpty ? .noData : .answers(try v6.map(F.v6)),
        ipv4: v4.isEmpty ? .noData : .answers(try v4.map(F.v4))
    )
}

@Suite("DNS connection plans")
struct DNSConnectionPlanTests {
    // MARK: - SRV step

    @Test("direct-TLS targets come first, then STARTTLS targets, each in priority order")
    func bothServices() throws {
        let result = try plan(
            directTLS: .answers([
                try F.srv("tls2.example.com", priority: 20, port: 5223),
                try F.srv("tls1.example.com", priority: 10, port: 443),
            ]),
            startTLS: .answers([
                try F.srv("xmpp2.example.com", priority: 5, port: 5270),
                try F.srv("xmpp1.example.com", priority: 1),
            ])
        )
        #expect(summary(result) == [
            "tls1.example.com:443+tls", "tls2.example.com:5223+tls",
            "xmpp1.example.com:5269", "xmpp2.example.com:5270",
        ])
        #expect(try result.get().hostNamesToResolve.map(\.description) == [
            "tls1.example.com", "tls2.example.com", "xmpp1.example.com", "xmpp2.example.com",
        ])
        #expect(try !result.get().hadTemporaryFailure)
    }

    @Test("with only STARTTLS records, only they are tried", arguments: [
        DNSLookupOutcome<SRVRecord>.noSuchDomain, .noData, .answers([]),
    ])
    func onlyStartTLS(directTLS: DNSLookupOutcome<SRVRecord>) throws {
        let result = try plan(directTLS: directTLS, startTLS: .answers([try F.srv("xmpp.example.com", port: 5269)]))
        #expect(summary(result) == ["xmpp.example.com:5269"])
    }

    @Test("without SRV records the domain itself is tried on 5269 with STARTTLS", arguments: [
        (DNSLookupOutcome<SRVRecord>.noSuchDomain, DNSLookupOutcome<SRVRecord>.noSuchDomain),
        (.noData, .noData),
        (.noData, .noSuchDomain),
    ])
    func fallback(directTLS: DNSLookupOutcome<SRVRecord>, startTLS: DNSLookupOutcome<SRVRecord>) throws {
        let result = try plan("Example.COM", directTLS: directTLS, startTLS: startTLS)
        #expect(summary(result) == ["example.com:5269"])
        #expect(try !result.get().hadTemporaryFailure)
        #expect(try result.get().domain == (try F.name("example.com")))
    }

    @Test("'.' for direct TLS with no STARTTLS records: no fallback, the service is unavailable")
    func rootOnDirectTLS() throws {
        let unavailable = ["failure: \(ResolutionFailure.serviceUnavailable)"]
        #expect(summary(try plan(directTLS: .answers([try F.srv(".")]), startTLS: .noData)) == unavailable)
        #expect(summary(try plan(directTLS: .noSuchDomain, startTLS: .answers([try F.srv(".", port: 0)]))) == unavailable)
    }

    @Test("'.' on one service leaves the other service's targets, without fallback")
    func rootOnOneService() throws {
        let onlyStartTLS = try plan(
            directTLS: .answers([try F.srv(".")]),
            startTLS: .answers([try F.srv("xmpp.example.com", port: 5270)])
        )
        #expect(summary(onlyStartTLS) == ["xmpp.example.com:5270"])
        let onlyDirect = try plan(
            directTLS: .answers([try F.srv("xmpp.example.com", port: 5223)]),
            startTLS: .answers([try F.srv(".")])
        )
        #expect(summary(onlyDirect) == ["xmpp.example.com:5223+tls"])
    }

    @Test("'.' with the other lookup failed is a temporary failure, not unavailability", arguments: [
        DNSLookupOutcome<SRVRecord>.serverFailure(.serverFailure), .timeout,
    ])
    func rootWithFailure(failure: DNSLookupOutcome<SRVRecord>) throws {
        let result = try plan(directTLS: failure, startTLS: .answers([try F.srv(".")]))
        #expect(summary(result) == ["failure: \(ResolutionFailure.temporaryFailure)"])
    }

    @Test("failed SRV lookups still fall back to the domain (RFC 6120 §3.2.1) but are remembered")
    func failedSRVFallsBack() throws {
        let result = try plan(directTLS: .timeout, startTLS: .serverFailure(.serverFailure))
        #expect(summary(result) == ["example.com:5269"])
        #expect(try result.get().hadTemporaryFailure)

        let partial = try plan(directTLS: .serverFailure(.refused), startTLS: .answers([try F.srv("xmpp.example.com")]))
        #expect(summary(partial) == ["xmpp.example.com:5269"])
        #expect(try partial.get().hadTemporaryFailure)
    }

    @Test("the weighted order inside a priority follows the injected generator")
    func weightedOrderFromGenerator() throws {
        let records = try (1...5).map { try F.srv("h\($0).example.com", weight: 10) }
        func order(seed: UInt64) throws -> [String] {
            summary(try plan(directTLS: .noData, startTLS: .answers(records), seed: seed))
        }
        #expect(Set(try (0..<10).map { try order(seed: $0) }).count > 1)
        #expect(try order(seed: 3) == (try order(seed: 3)))
    }

    // MARK: - Static routes and IP literals

    @Test("a static route overrides DNS; an address route needs no lookups")
    func staticRoute() throws {
        let address = ConnectionPlan(
            overridingDNSWith: ServerEndpoint(host: try EndpointHost("192.0.2.7"), port: 15269, directTLS: true)
        )
        #expect(address.endpoints == [ServerEndpoint(host: .address(.v4(try F.v4("192.0.2.7"))), port: 15269, directTLS: true)])
        #expect(address.hostNamesToResolve.isEmpty)
        #expect(address.domain == nil)
        #expect(summary(address.connectionTargets(addresses: [:])) == ["192.0.2.7:15269+tls"])

        let named = ConnectionPlan(
            overridingDNSWith: ServerEndpoint(host: try EndpointHost("Proxy.Example.net"), port: 5269, directTLS: false)
        )
        let proxy = try F.name("proxy.example.net")
        #expect(named.hostNamesToResolve == [proxy])
        let targets = named.connectionTargets(addresses: [proxy: try host(v6: ["2001:db8::7"], v4: ["192.0.2.8"])])
        #expect(summary(targets) == ["[2001:db8::7]:5269", "192.0.2.8:5269"])
    }

    @Test("an IP-literal domain is connected to directly on 5269")
    func addressLiteral() throws {
        let plan = ConnectionPlan(addressLiteral: .v6(try F.v6("2001:db8::1")))
        #expect(summary(plan.connectionTargets(addresses: [:])) == ["[2001:db8::1]:5269"])
    }

    @Test("route hosts are read as addresses or names")
    func endpointHostParsing() throws {
        #expect(try EndpointHost("::1") == .address(.v6(try F.v6("::1"))))
        #expect(try EndpointHost("[2001:DB8::1]") == .address(.v6(try F.v6("2001:db8::1"))))
        #expect(try EndpointHost("192.0.2.1") == .address(.v4(try F.v4("192.0.2.1"))))
        #expect(throws: DNSNameError.invalidCharacter(UInt8(ascii: "\\"))) { try EndpointHost("a\\b") }
        #expect(try EndpointHost("xmpp.example.com") == .name(try F.name("xmpp.example.com")))
        #expect(throws: DNSNameError.nonASCII) { try EndpointHost("bücher.example") }
    }

    // MARK: - Address step

    @Test("addresses are expanded endpoint by endpoint, IPv6 first then alternating, duplicates dropped")
    func addressExpansion() throws {
        let result = try plan(
            directTLS: .answers([try F.srv("a.example.com", port: 5223)]),
            startTLS: .answers([try F.srv("b.example.com", priority: 1), try F.srv("a.example.com", priority: 2)])
        ).get()
        let targets = result.connectionTargets(addresses: [
            try F.name("a.example.com"): try host(v6: ["2001:db8::a1", "2001:db8::a2"], v4: ["192.0.2.1"]),
            try F.name("b.example.com"): try host(v4: ["192.0.2.2", "192.0.2.1"]),
        ])
        #expect(summary(targets) == [
            "[2001:db8::a1]:5223+tls", "192.0.2.1:5223+tls", "[2001:db8::a2]:5223+tls",
            "192.0.2.2:5269", "192.0.2.1:5269",
            "[2001:db8::a1]:5269", "[2001:db8::a2]:5269",
        ])
        #expect(try targets.get().first?.host == .name(try F.name("a.example.com")))
    }

    @Test("a host without addresses is skipped; the others are still tried")
    func skipsUnresolvableHost() throws {
        let result = try plan(
            directTLS: .noData,
            startTLS: .answers([try F.srv("dead.example.com", priority: 1), try F.srv("live.example.com", priority: 2)])
        ).get()
        let targets = result.connectionTargets(addresses: [
            try F.name("dead.example.com"): HostAddresses(ipv6: .noSuchDomain, ipv4: .noSuchDomain),
            try F.name("live.example.com"): try host(v4: ["192.0.2.9"]),
        ])
        #expect(summary(targets) == ["192.0.2.9:5269"])
    }

    @Test("NXDOMAIN for the domain bounces as remote-server-not-found; SERVFAIL or timeout as remote-server-timeout", arguments: [
        (HostAddresses(ipv6: .noSuchDomain, ipv4: .noSuchDomain), ResolutionFailure.noSuchDomain),
        (HostAddresses(ipv6: .noData, ipv4: .noSuchDomain), .noSuchDomain),
        (HostAddresses(ipv6: .noSuchDomain, ipv4: .timeout), .noSuchDomain),
        (HostAddresses(ipv6: .serverFailure(.serverFailure), ipv4: .serverFailure(.serverFailure)), .temporaryFailure),
        (HostAddresses(ipv6: .timeout, ipv4: .noData), .temporaryFailure),
        (HostAddresses(ipv6: .noData, ipv4: .noData), .noAddresses),
    ])
    func fallbackOutcomes(addresses: HostAddresses, expected: ResolutionFailure) throws {
        let result = try plan(directTLS: .noSuchDomain, startTLS: .noSuchDomain).get()
        let targets = result.connectionTargets(addresses: [try F.name("example.com"): addresses])
        #expect(summary(targets) == ["failure: \(expected)"])
    }

    @Test("a temporary SRV failure makes a later empty result temporary, unless the domain is NXDOMAIN")
    func srvFailureCarriedOver() throws {
        let result = try plan(directTLS: .noData, startTLS: .timeout).get()
        let domain = try F.name("example.com")
        let noData = result.connectionTargets(addresses: [domain: HostAddresses(ipv6: .noData, ipv4: .noData)])
        #expect(summary(noData) == ["failure: \(ResolutionFailure.temporaryFailure)"])
        let nxdomain = result.connectionTargets(addresses: [domain: HostAddresses(ipv6: .noSuchDomain, ipv4: .noSuchDomain)])
        #expect(summary(nxdomain) == ["failure: \(ResolutionFailure.noSuchDomain)"])
    }

    @Test("SRV targets that do not exist are 'no addresses', not 'no such domain'")
    func missingSRVTargets() throws {
        let result = try plan(directTLS: .noData, startTLS: .answers([try F.srv("gone.example.com")])).get()
        let gone = try F.name("gone.example.com")
        let targets = result.connectionTargets(addresses: [gone: HostAddresses(ipv6: .noSuchDomain, ipv4: .noSuchDomain)])
        #expect(summary(targets) == ["failure: \(ResolutionFailure.noAddresses)"])
    }

    @Test("a host left out of the lookups counts as unanswered, so the failure is temporary")
    func missingLookup() throws {
        let result = try plan(directTLS: .noData, startTLS: .answers([try F.srv("xmpp.example.com")])).get()
        #expect(summary(result.connectionTargets(addresses: [:])) == ["failure: \(ResolutionFailure.temporaryFailure)"])
    }

    @Test("failures map to the stanza error conditions the link manager bounces with", arguments: [
        (ResolutionFailure.noSuchDomain, "remote-server-not-found", false),
        (.serviceUnavailable, "remote-server-not-found", false),
        (.noAddresses, "remote-server-not-found", false),
        (.temporaryFailure, "remote-server-timeout", true),
    ])
    func stanzaErrors(failure: ResolutionFailure, condition: String, temporary: Bool) {
        #expect(failure.stanzaErrorCondition.rawValue == condition)
        #expect(failure.isTemporary == temporary)
    }

    // MARK: - Happy eyeballs

    @Test("RFC 8305 interleaving: IPv6 first, then alternate, then the rest", arguments: [
        (["2001:db8::1", "2001:db8::2", "2001:db8::3"], ["192.0.2.1"], ["2001:db8::1", "192.0.2.1", "2001:db8::2", "2001:db8::3"]),
        (["2001:db8::1"], ["192.0.2.1", "192.0.2.2", "192.0.2.3"], ["2001:db8::1", "192.0.2.1", "192.0.2.2", "192.0.2.3"]),
        (["2001:db8::1", "2001:db8::2"], ["192.0.2.1", "192.0.2.2"], ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2"]),
        ([], ["192.0.2.1", "192.0.2.2"], ["192.0.2.1", "192.0.2.2"]),
        (["2001:db8::1", "2001:db8::2"], [], ["2001:db8::1", "2001:db8::2"]),
        ([], [], []),
    ])
    func interleaving(v6: [String], v4: [String], expected: [String]) throws {
        let ordered = HostAddresses.interleave(ipv6: try v6.map(F.v6), ipv4: try v4.map(F.v4))
        #expect(ordered.map(\.description) == expected)
    }

    @Test("a family whose lookup failed contributes nothing; the other is still used")
    func oneFamilyFailed() throws {
        let addresses = HostAddresses(ipv6: .timeout, ipv4: .answers([try F.v4("192.0.2.1")]))
        #expect(addresses.ordered == [.v4(try F.v4("192.0.2.1"))])
    }
}
