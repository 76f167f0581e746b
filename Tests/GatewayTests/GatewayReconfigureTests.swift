import ConsulateTestSupport
import Federation
import Gateway
import NIOPosix
import Testing
import Translation
import XMPP

/// `Gateway.reconfigure` against streams caught in the middle: the policy a stream negotiated
/// under is not the one the gateway now runs.
@Suite("Reconfiguring while streams negotiate")
struct GatewayReconfigureTests {
    typealias G = GatewayFederationTests

    @Test("a stream that authenticates a domain refused while it negotiated is closed with policy-violation")
    func refusedWhileNegotiating() async throws {
        let pki = try TestPKI()
        let contoso = try G.gateway(domain: "contoso.example", user: G.alice, contact: G.bob, pki: pki, route: nil)
        let port = try await contoso.start().startTLS
        let peer = try await ScriptedPeer.connect(port: port, group: MultiThreadedEventLoopGroup.singleton)
        try await peer.send(TestTLS.header())
        _ = try await peer.receive(until: "</stream:features>")
        try await peer.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        _ = try await peer.receive(until: "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        let leaf = try pki.leaf(identifiers: [.dns("fabrikam.example")], usages: [.serverAuth])
        try await peer.startTLS(context: try TestTLS.clientContext(pki: pki, leaf: leaf), serverHostname: "contoso.example")
        try await peer.send(TestTLS.header())
        _ = try await peer.receive(until: "</stream:features>")

        await contoso.reconfigure(policy: FederationPolicy(partners: []), translation: TranslationConfiguration(localDomains: ["contoso.example"]))
        // The stream negotiated under the old policy, so SASL succeeds; the gateway then closes
        // it, at once, without waiting for the restarted header.
        try await peer.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
        let ending = try await peer.receive(until: "</stream:stream>")
        #expect(ending.contains("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), "\(ending)")
        #expect(ending.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), "\(ending)")
        #expect(await contoso.linkSnapshot().links.isEmpty, "the refused domain is not reported as linked")
        await peer.close()
        _ = await contoso.shutdown()
    }
}
