import ConsulateTestSupport
import Gateway
import Testing
import XMPP

@Suite("Gateway event streams")
struct GatewayEventStreamTests {
    @Test("a stream whose consumer goes away is forgotten (regression: closed WebSockets stayed subscribed until shutdown)")
    func closedStreamsAreForgotten() async throws {
        let gateway = try GatewayFederationTests.gateway(
            domain: "contoso.example", user: GatewayFederationTests.alice, contact: GatewayFederationTests.bob,
            pki: try TestPKI(), route: nil
        )
        let kept = await gateway.events(for: GatewayFederationTests.alice)
        let dropped = Task { for await _ in await gateway.events(for: GatewayFederationTests.alice) {} }
        #expect(await gateway.eventStreamCount(for: GatewayFederationTests.alice) >= 1)
        dropped.cancel()
        _ = await dropped.value
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while await gateway.eventStreamCount(for: GatewayFederationTests.alice) > 1, clock.now < deadline {
            await Task.yield()
        }
        #expect(await gateway.eventStreamCount(for: GatewayFederationTests.alice) == 1)
        _ = kept
        _ = await gateway.shutdown()
    }
}
