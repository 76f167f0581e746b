import ConsulateTestSupport
import Federation
import FederationLinks
import Gateway
import MetricsTestKit
import NIOConcurrencyHelpers
import NIOPosix
import PresenceModel
import Testing
import XMPP

/// The inbound limits over real loopback sockets, on a clock the test moves: what a peer that
/// opens connections and says nothing, or too little, gets from the gateway.
@Suite("Inbound connection limits over loopback")
struct GatewayInboundLimitsTests {
    typealias G = GatewayFederationTests
    static let group = MultiThreadedEventLoopGroup.singleton

    @Test("silent, header-only and trickling connections are cut at the establishment timeout; one more from the address is refused at once")
    func establishmentAndSource() async throws {
        let clock = ManualClock()
        let recorded = TestMetrics()
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(), route: nil,
            metrics: FederationMetrics(factory: recorded), clock: clock.gatewayClock,
            federation: FederationSettings(streamEstablishmentTimeout: .seconds(10), sourceConnectionLimit: 3)
        )
        let port = try await contoso.start().startTLS

        let silent = try await ScriptedPeer.connect(port: port, group: Self.group)
        let headerOnly = try await ScriptedPeer.connect(port: port, group: Self.group)
        try await headerOnly.send(TestTLS.header())
        let trickling = try await ScriptedPeer.connect(port: port, group: Self.group)
        try await trickling.send(String(TestTLS.header().prefix(30)))
        let fourth = try await ScriptedPeer.connect(port: port, group: Self.group)
        // Connections are accepted on several event loops, so which of the four came last to the
        // core is not known; exactly one is refused.
        try await eventually("one connection refused at the source limit") {
            recorded.counterTotal(label: "consulate_inbound_limits_total", dimensions: [("limit", "source-connection-limit")]) == 1
        }

        try await eventually("the establishment deadline is armed") { clock.sleeperCount > 0 }
        clock.advance(by: .seconds(9))
        try? await trickling.send(String(TestTLS.header().dropFirst(30).prefix(5)))
        clock.advance(by: .seconds(1))
        var conditions: [String] = []
        for peer in [silent, headerOnly, trickling, fourth] {
            let ended = try await peer.receive(until: "<!--closed-->")
            #expect(ended.hasSuffix("</stream:stream><!--closed-->"), "\(ended)")
            if ended.contains("<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>") { conditions.append("connection-timeout") }
            if ended.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), ended.contains("not authenticated") {
                conditions.append("policy-violation")
            }
        }
        #expect(conditions.sorted() == ["connection-timeout", "connection-timeout", "connection-timeout", "policy-violation"])
        try await eventually("the cuts are counted") {
            recorded.counterTotal(label: "consulate_inbound_limits_total", dimensions: [("limit", "stream-establishment-timeout")]) == 3
        }

        let partner = try await ScriptedPeer.connect(port: port, group: Self.group)
        try await partner.send(TestTLS.header())
        #expect(try await partner.receive(until: "</stream:features>").contains("<starttls"), "the address has its places back")
        await partner.close()
        _ = await contoso.shutdown()
    }

    @Test("an authenticated inbound stream idle for the inactivity timeout is closed with our closing tag, and the peer reconnects when it needs to")
    func idleAuthenticatedStream() async throws {
        let pki = try TestPKI()
        let clock = ManualClock()
        let fabrikam = try G.gateway(
            domain: "fabrikam.example", user: G.bob, contact: G.alice, pki: pki, route: nil, clock: clock.gatewayClock,
            federation: FederationSettings(inactivityTimeout: .seconds(30))
        )
        let fabrikamPort = try await fabrikam.start().startTLS
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: pki,
            route: ServerEndpoint(host: EndpointHost("127.0.0.1"), port: UInt16(fabrikamPort), directTLS: false)
        )
        _ = try await contoso.start()
        let bobsEvents = await fabrikam.events(for: G.bob)

        contoso.perform(.sendMessage(user: G.alice, to: G.bob, Message(type: .chat, id: "m1", bodies: [LocalizedText("hello")])))
        guard case .message = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no message")
            return
        }
        #expect(await fabrikam.linkSnapshot().links.map(\.direction) == [.inbound])

        clock.advance(by: .seconds(29))
        #expect(await fabrikam.linkSnapshot().links.count == 1)
        clock.advance(by: .seconds(1))
        try await eventually("the idle stream is closed") { await fabrikam.linkSnapshot().links.isEmpty }
        try await eventually("contoso's link went down") { await contoso.linkSnapshot().links.isEmpty }

        contoso.perform(.sendMessage(user: G.alice, to: G.bob, Message(type: .chat, id: "m2", bodies: [LocalizedText("again")])))
        guard case .message(_, let again) = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no second message")
            return
        }
        #expect(again.id == "m2")
        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
    }

    @Test("near the descriptor limit the listener stops accepting, and accepts again once connections close")
    func descriptorReserve() async throws {
        let clock = ManualClock()
        let recorded = TestMetrics()
        // 4 descriptors over the reserve: the fourth connection pauses the listener.
        let reserve = FederationSettings.defaults.descriptorReserve
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(), route: nil,
            metrics: FederationMetrics(factory: recorded), clock: clock.gatewayClock,
            federation: FederationSettings(streamEstablishmentTimeout: .seconds(10)), descriptorLimit: reserve + 4
        )
        let port = try await contoso.start().startTLS
        var held: [ScriptedPeer] = []
        for _ in 0..<4 {
            let peer = try await ScriptedPeer.connect(port: port, group: Self.group)
            try await peer.send(TestTLS.header())
            _ = try await peer.receive(until: "</stream:features>")
            held.append(peer)
        }
        let paused = try recorded.expectMeter("consulate_listeners_paused")
        try await eventually("the listener pauses") { paused.lastValue == 1 }

        // Connected by the kernel, but not accepted: when the four are cut, it is not among them.
        let waiting = try await ScriptedPeer.connect(port: port, group: Self.group)
        try await waiting.send(TestTLS.header())
        clock.advance(by: .seconds(10))
        for peer in held {
            #expect(try await peer.receive(until: "<!--closed-->").contains("<connection-timeout "))
        }
        try await eventually("the listener accepts again") { paused.lastValue == 0 }
        let answered = try await waiting.receive(until: "</stream:features>")
        #expect(!answered.contains("<stream:error>"), "accepted after the cut, so its own deadline is ahead: \(answered)")
        await waiting.close()
        _ = await contoso.shutdown()
    }

    @Test("a stream naming 300 domains for dialback gets the gateway to look up and dial dialback-limit of them, then is closed")
    func dialbackFlood() async throws {
        let lookups = NIOLockedValueBox<[String]>([])
        let wildcard = PartnerPolicy(
            domain: try DomainPattern("*.partners.example"), trust: .federated,
            negotiation: NegotiationPolicy(tls: .optional, sasl: .notSupported, supportDialback: true)
        )
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(), route: nil,
            resolveTargets: { domain, _ in
                lookups.withLockedValue { $0.append(domain) }
                return .failure(.notFound(reason: "no DNS in this test for \(domain)"))
            },
            otherPartners: [wildcard]
        )
        let port = try await contoso.start().startTLS
        let peer = try await ScriptedPeer.connect(port: port, group: Self.group)
        try await peer.send(TestTLS.header(from: "a0.partners.example"))
        _ = try await peer.receive(until: "</stream:features>")
        let results = (1...300).map { "<db:result from='a\($0).partners.example' to='contoso.example'>key</db:result>" }
        try? await peer.send(results.joined())
        let ended = try await peer.receive(until: "<!--closed-->")
        #expect(ended.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), "\(ended)")
        let limit = FederationSettings.defaults.streamDialbackLimit
        try await eventually("the verifications asked for are looked up") { lookups.withLockedValue { $0.count } >= limit }
        _ = await contoso.shutdown()
        let dialed = lookups.withLockedValue { $0 }
        #expect(dialed.sorted() == (1...limit).map { "a\($0).partners.example" }, "the first \(limit), each once")
    }
}
