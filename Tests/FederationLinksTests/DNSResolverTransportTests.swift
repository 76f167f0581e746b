import ConsulateTestSupport
import Federation
import FederationLinks
import NIOCore
import NIOPosix
import Testing

/// The transport's rules, each against a server told to misbehave: attempts and nameserver order,
/// timeouts, failure codes, TCP after truncation, and responses that must not be trusted.
@Suite("DNSResolver: attempts, failures, truncation and untrusted responses", .timeLimit(.minutes(1)))
struct DNSResolverTransportTests {
    /// The four questions a domain without SRV records costs.
    static let fallbackQuestions = [
        "_xmpp-server._tcp.example.test SRV", "_xmpps-server._tcp.example.test SRV",
        "example.test A", "example.test AAAA",
    ]

    @Test("SERVFAIL: a temporary failure, each question asked exactly `attempts` times", arguments: [1, 2, 3])
    func serverFailure(attempts: Int) async throws {
        var behaviour = DNSTestServer.Behaviour()
        behaviour.responseCode = .serverFailure
        try await DNSTestServer.with(try dnsExampleZone(), behaviour: behaviour) { server in
            let resolver = try makeDNSResolver([server], attempts: attempts)
            let result = await resolver.connectionTargets(for: "example.test", staticRoute: nil)
            #expect(result == .failure(.temporaryFailure))
            #expect(server.questions == Self.fallbackQuestions)
            for question in server.questions {
                #expect(server.received.filter { "\($0.question.name) \($0.question.type)" == question }.count == attempts)
            }
            #expect(server.received.count == 4 * attempts)
        }
    }

    @Test("silence: every attempt times out, each question asked exactly `attempts` times")
    func silence() async throws {
        var behaviour = DNSTestServer.Behaviour()
        behaviour.silent = true
        try await DNSTestServer.with(try dnsExampleZone(), behaviour: behaviour) { server in
            let resolver = try makeDNSResolver([server], timeout: .milliseconds(100), attempts: 3)
            let result = await resolver.connectionTargets(for: "example.test", staticRoute: nil)
            #expect(result == .failure(.temporaryFailure))
            #expect(await server.received(atLeast: 12).count == 12)
            #expect(server.questions == Self.fallbackQuestions)
            #expect(try server.count("example.test", .aaaa) == 3)
        }
    }

    @Test("a single lookup that is never answered is a timeout after the configured attempts")
    func singleLookupTimeout() async throws {
        var behaviour = DNSTestServer.Behaviour()
        behaviour.silent = true
        try await DNSTestServer.with([], behaviour: behaviour) { server in
            let ids = DNSQueryIDSequence()
            let resolver = try makeDNSResolver([server], timeout: .milliseconds(100), attempts: 2, ids: ids)
            let clock = ContinuousClock()
            let start = clock.now
            let outcome = await resolver.lookup(try DNSName("example.test"), type: .a)
            let elapsed = clock.now - start
            #expect(outcome == .timeout)
            #expect(await server.received(atLeast: 2).map(\.id) == [0x1000, 0x1000], "both attempts resend the same query")
            #expect(elapsed >= .milliseconds(200), "each attempt waited its full timeout")
        }
    }

    @Test("nameservers are tried in order: a silent first one costs one timeout per query, then the second answers")
    func failoverAfterSilence() async throws {
        var silent = DNSTestServer.Behaviour()
        silent.silent = true
        try await DNSTestServer.with(try dnsExampleZone(), behaviour: silent) { first in
            try await DNSTestServer.with(try dnsExampleZone()) { second in
                let resolver = try makeDNSResolver([first, second], timeout: .seconds(1), attempts: 2)
                let result = await resolver.connectionTargets(for: "example.test", staticRoute: nil)
                #expect(dnsSummary(result) == dnsExampleTargets)
                #expect(await first.received(atLeast: 8).count == 8, "each of the 8 questions went to the first nameserver once")
                #expect(second.received.count == 8)
                #expect(first.questions == second.questions)
            }
        }
    }

    @Test("SERVFAIL from the first nameserver moves on to the second")
    func failoverAfterServerFailure() async throws {
        var failing = DNSTestServer.Behaviour()
        failing.responseCode = .serverFailure
        try await DNSTestServer.with(try dnsExampleZone(), behaviour: failing) { first in
            try await DNSTestServer.with(try dnsExampleZone()) { second in
                let resolver = try makeDNSResolver([first, second])
                let result = await resolver.connectionTargets(for: "example.test", staticRoute: nil)
                #expect(dnsSummary(result) == dnsExampleTargets)
                #expect(first.received.count == 8)
                #expect(second.received.count == 8)
            }
        }
    }

    @Test("when every nameserver fails, the lookup reports the failure code after every attempt on each")
    func everyNameserverFails() async throws {
        var refusing = DNSTestServer.Behaviour()
        refusing.responseCode = .refused
        try await DNSTestServer.with([], behaviour: refusing) { first in
            try await DNSTestServer.with([], behaviour: refusing) { second in
                let resolver = try makeDNSResolver([first, second], attempts: 3)
                let outcome = await resolver.lookup(try DNSName("example.test"), type: .a)
                #expect(outcome == .serverFailure(.refused))
                #expect(first.received.count == 3)
                #expect(second.received.count == 3)
            }
        }
    }

    @Test("NXDOMAIN from the first nameserver is an answer: the second is not asked")
    func noSuchDomainIsFinal() async throws {
        var nxdomain = DNSTestServer.Behaviour()
        nxdomain.responseCode = .nameError
        try await DNSTestServer.with(try dnsExampleZone(), behaviour: nxdomain) { first in
            try await DNSTestServer.with(try dnsExampleZone()) { second in
                let resolver = try makeDNSResolver([first, second])
                let result = await resolver.connectionTargets(for: "example.test", staticRoute: nil)
                #expect(result == .failure(.noSuchDomain))
                #expect(first.questions == Self.fallbackQuestions)
                #expect(second.received.isEmpty)
            }
        }
    }

    @Test("a nameserver that refuses the connection is skipped without waiting out its timeout")
    func refusedNameserver() async throws {
        let closed = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let closedPort = try #require(closed.localAddress?.port)
        try await closed.close()
        try await DNSTestServer.with(try dnsExampleZone()) { server in
            let configuration = try DNSResolverConfiguration(
                nameservers: [try DNSNameserver("127.0.0.1:\(closedPort)"), server.nameserver],
                timeout: .seconds(5),
                attempts: 1
            )
            let resolver = DNSResolver(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton)
            let clock = ContinuousClock()
            let start = clock.now
            let result = await resolver.connectionTargets(for: "example.test", staticRoute: nil)
            #expect(dnsSummary(result) == dnsExampleTargets)
            #expect(clock.now - start < .milliseconds(2500), "ICMP port unreachable ended the attempt at once")
        }
    }

    @Test("TC over UDP: the query is repeated over TCP and the whole answer used")
    func truncation() async throws {
        var behaviour = DNSTestServer.Behaviour()
        behaviour.truncateUDP = true
        try await DNSTestServer.with(try dnsExampleZone(), behaviour: behaviour) { server in
            let result = try await makeDNSResolver([server]).connectionTargets(for: "example.test", staticRoute: nil)
            #expect(dnsSummary(result) == dnsExampleTargets, "the truncated UDP answers held only the first record")
            #expect(server.received.filter { $0.transport == .udp }.count == 8)
            #expect(server.received.filter { $0.transport == .tcp }.count == 8)
            #expect(try server.count("xmpp1.example.test", .a, over: .tcp) == 1)
        }
    }

    @Test(
        "a response that does not match the query is ignored and the real answer awaited",
        arguments: DNSTestServer.Decoy.allCases, [false, true]
    )
    func decoyIgnored(decoy: DNSTestServer.Decoy, truncateUDP: Bool) async throws {
        var behaviour = DNSTestServer.Behaviour()
        behaviour.decoy = decoy
        behaviour.truncateUDP = truncateUDP
        try await DNSTestServer.with(try dnsExampleZone(), behaviour: behaviour) { server in
            let result = try await makeDNSResolver([server], attempts: 1).connectionTargets(for: "example.test", staticRoute: nil)
            #expect(dnsSummary(result) == dnsExampleTargets)
            #expect(server.received.filter { $0.transport == .tcp }.count == (truncateUDP ? 8 : 0))
        }
    }

    @Test("a mismatched response alone is never trusted: the lookup times out", arguments: DNSTestServer.Decoy.allCases)
    func decoyOnly(decoy: DNSTestServer.Decoy) async throws {
        var behaviour = DNSTestServer.Behaviour()
        behaviour.decoy = decoy
        behaviour.answerAfterDecoy = false
        try await DNSTestServer.with(try dnsExampleZone(), behaviour: behaviour) { server in
            let resolver = try makeDNSResolver([server], timeout: .milliseconds(100), attempts: 2)
            #expect(await resolver.lookup(try DNSName("xmpp1.example.test"), type: .a) == .timeout)
            #expect(await resolver.lookup(try DNSName("_xmpp-server._tcp.example.test"), type: .srv) == .timeout)
            #expect(await server.received(atLeast: 4).count == 4)
        }
    }
}
