import GatewayCore
import ConsulateTestSupport
import Federation
import FederationLinks
import Gateway
import PresenceModel
import Testing
import Translation
import XMPP

/// `Gateway.linkSnapshot()`, what `consulate links` shows: real links between two gateways on
/// loopback, and a link that cannot be opened.
@Suite("Link reports")
struct GatewayLinkReportTests {
    static let alice = GatewayFederationTests.alice
    static let bob = GatewayFederationTests.bob
    static let established = Timestamp(secondsSinceEpoch: 1_790_000_000)

    @Test("both ends report the link: outbound on the sender, inbound on the receiver, with method, TLS and the time it came up")
    func establishedLinks() async throws {
        let pki = try TestPKI()
        let fabrikam = try GatewayFederationTests.gateway(
            domain: "fabrikam.example", user: Self.bob, contact: Self.alice, pki: pki, route: nil, clock: ManualClock(wallOrigin: Self.established).gatewayClock
        )
        let fabrikamPort = try await fabrikam.start().startTLS
        let contoso = try GatewayFederationTests.gateway(
            domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki,
            route: ServerEndpoint(host: EndpointHost("127.0.0.1"), port: UInt16(fabrikamPort), directTLS: false),
            clock: ManualClock(wallOrigin: Self.established).gatewayClock
        )
        _ = try await contoso.start()
        #expect(await contoso.linkSnapshot().links.isEmpty, "no link before anything is sent")
        let bobsEvents = await fabrikam.events(for: Self.bob)

        contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Message(type: .chat, id: "m1", bodies: [LocalizedText("hello")])))
        guard case .message = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no message")
            return
        }

        let outbound = await contoso.linkSnapshot().links
        #expect(
            outbound == [
                LinkReport(
                    domain: "fabrikam.example", direction: .outbound, localDomain: "contoso.example", state: .established,
                    authentication: .saslOverTLS, tls: .startTLS, establishedAt: Self.established
                )
            ]
        )
        let inbound = await fabrikam.linkSnapshot().links
        #expect(
            inbound == [
                LinkReport(
                    domain: "contoso.example", direction: .inbound, localDomain: "fabrikam.example", state: .established,
                    authentication: .saslOverTLS, tls: .startTLS, establishedAt: Self.established
                )
            ]
        )
        #expect(outbound.first?.ageSeconds(at: Timestamp(secondsSinceEpoch: 1_790_000_095)) == 95)

        _ = await contoso.shutdown()
        #expect(await contoso.linkSnapshot().links.isEmpty, "a closed link is not reported")
        try await eventually("fabrikam forgets the inbound stream once contoso closed it") { await fabrikam.linkSnapshot().links.isEmpty }
        _ = await fabrikam.shutdown()
    }

    @Test("a link that cannot be opened shows its queue and failures while it waits to retry")
    func failingLink() async throws {
        let pki = try TestPKI()
        let contoso = try GatewayFederationTests.gateway(
            domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki, route: nil,
            resolveTargets: { _, _ in .failure(.temporary(reason: "SERVFAIL from the test resolver")) },
            clock: ManualClock(wallOrigin: Self.established).gatewayClock
        )
        _ = try await contoso.start()
        for id in ["m1", "m2"] {
            try await contoso.apply(.sendMessage(user: Self.alice, to: Self.bob, Message(type: .chat, id: id, bodies: [LocalizedText("queued")])))
        }
        var waiting: LinkReport?
        try await eventually("the failed attempt is reported") {
            waiting = await contoso.linkSnapshot().links.first
            guard case .retryScheduled? = waiting?.state else { return false }
            return true
        }
        let report = try #require(waiting)
        #expect(report.domain == "fabrikam.example")
        #expect(report.direction == .outbound)
        #expect(report.queuedStanzas == 2)
        #expect(report.queuedBytes > 0)
        #expect(report.consecutiveFailures >= 1)
        #expect(report.authentication == nil && report.tls == nil && report.establishedAt == nil)
        if case .retryScheduled(let retryAt) = report.state {
            // The injected clock stands still, so the retry lies within the first backoff ceiling
            // (`LinkBackoff.base`, 1 s) of its wall origin, and it never comes.
            let offset = retryAt.millisecondsSinceEpoch - Self.established.millisecondsSinceEpoch
            #expect((0...1_000).contains(offset), "the retry time is on the injected clock: \(offset) ms from it")
        }
        _ = await contoso.shutdown()
    }
}
