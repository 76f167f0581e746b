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
        _ = try await gateway.start()
        let kept = await gateway.events(for: GatewayFederationTests.alice)
        let dropped = Task { for await _ in await gateway.events(for: GatewayFederationTests.alice) {} }
        try await eventually("both streams are open") { await gateway.eventStreamCount(for: GatewayFederationTests.alice) == 2 }
        dropped.cancel()
        _ = await dropped.value
        try await eventually("the dropped stream is forgotten") { await gateway.eventStreamCount(for: GatewayFederationTests.alice) == 1 }
        _ = kept
        _ = await gateway.shutdown()
    }
}
