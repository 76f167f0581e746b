import ConsulateTestSupport
import Federation
import FederationLinks
import Gateway
import NIOPosix
import Testing
import Translation
import XMPP

/// A gateway with a direct TLS listener (XEP-0368) next to its STARTTLS one: both are bound and
/// closed together, and a peer reaching the direct TLS port authenticates with SASL EXTERNAL and
/// delivers to an internal user.
@Suite("Gateway direct TLS listener")
struct GatewayDirectTLSTests {
    static let alice = GatewayFederationTests.alice
    static let bob = GatewayFederationTests.bob

    static func fabrikam(pki: TestPKI) throws -> Gateway {
        try GatewayFederationTests.gateway(domain: "fabrikam.example", user: bob, contact: alice, pki: pki, route: nil, directTLSPort: 0)
    }

    static func header(from: String, to: String) -> String {
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='\(from)' to='\(to)' version='1.0'>"
    }

    @Test("both listeners are bound, and the direct TLS one is closed on shutdown")
    func listeners() async throws {
        let pki = try TestPKI()
        let fabrikam = try Self.fabrikam(pki: pki)
        let ports = try await fabrikam.start()
        let directTLS = try #require(ports.directTLS)
        #expect(directTLS > 0)
        #expect(directTLS != ports.startTLS)
        let probe = try await ScriptedPeer.connect(port: directTLS, group: MultiThreadedEventLoopGroup.singleton)
        await probe.close()
        _ = await fabrikam.shutdown()
        await #expect(throws: (any Error).self, "the direct TLS port is closed with the gateway") {
            try await ScriptedPeer.connect(port: directTLS, group: MultiThreadedEventLoopGroup.singleton)
        }
    }

    @Test("without a direct TLS port only STARTTLS is bound")
    func startTLSOnly() async throws {
        let pki = try TestPKI()
        let gateway = try GatewayFederationTests.gateway(domain: "fabrikam.example", user: Self.bob, contact: Self.alice, pki: pki, route: nil)
        let ports = try await gateway.start()
        #expect(ports.directTLS == nil)
        #expect(ports.startTLS > 0)
        _ = await gateway.shutdown()
    }

    @Test("a server on the direct TLS port negotiates ALPN xmpp-server and SASL EXTERNAL, and bob gets its message")
    func scriptedPeer() async throws {
        let pki = try TestPKI()
        let fabrikam = try Self.fabrikam(pki: pki)
        let port = try #require(try await fabrikam.start().directTLS)
        let bobsEvents = await fabrikam.events(for: Self.bob)
        let contoso = try await ScriptedPeer.connectDirectTLS(
            port: port, group: MultiThreadedEventLoopGroup.singleton,
            context: try TestTLS.clientContext(pki: pki, leaf: try pki.leaf(identifiers: [.dns("contoso.example")])),
            serverHostname: "fabrikam.example"
        )
        #expect(contoso.negotiatedProtocol == "xmpp-server")
        try await contoso.send(Self.header(from: "contoso.example", to: "fabrikam.example"))
        let features = try await contoso.receive(until: "</stream:features>")
        #expect(!features.contains("starttls"))
        try await contoso.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
        _ = try await contoso.receive(until: "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
        try await contoso.send(Self.header(from: "contoso.example", to: "fabrikam.example"))
        _ = try await contoso.receive(until: "<stream:features/>")
        try await contoso.send("<message from='alice@contoso.example/consulate' to='bob@fabrikam.example' type='chat' id='d1'><body>straight to TLS</body></message>")
        guard case .message(let from, let message) = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no message")
            return
        }
        #expect(from.description == "alice@contoso.example/consulate")
        #expect(message.bodies.first?.text == "straight to TLS")
        await contoso.close()
        _ = await fabrikam.shutdown()
    }

    @Test("contoso reaches fabrikam's direct TLS port through a static route and a message arrives")
    func staticRoute() async throws {
        let pki = try TestPKI()
        let fabrikam = try Self.fabrikam(pki: pki)
        let port = try #require(try await fabrikam.start().directTLS)
        let contoso = try GatewayFederationTests.gateway(
            domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki,
            route: ServerEndpoint(host: EndpointHost("127.0.0.1"), port: UInt16(port), directTLS: true)
        )
        _ = try await contoso.start()
        let bobsEvents = await fabrikam.events(for: Self.bob)
        contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Message(type: .chat, id: "r1", bodies: [LocalizedText("over direct TLS")])))
        guard case .message(_, let message) = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no message")
            return
        }
        #expect(message.bodies.first?.text == "over direct TLS")
        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
    }

    @Test("contoso finds fabrikam's direct TLS port through _xmpps-server SRV on a loopback DNS server")
    func throughDNS() async throws {
        let pki = try TestPKI()
        let fabrikam = try Self.fabrikam(pki: pki)
        let port = try #require(try await fabrikam.start().directTLS)
        try await DNSTestServer.with([
            try DNSZone.srv("_xmpps-server._tcp.fabrikam.example", "xmpp.fabrikam.example", port: UInt16(port)),
            try DNSZone.a("xmpp.fabrikam.example", "127.0.0.1"),
        ]) { dns in
            let resolver = DNSResolver(
                configuration: try DNSResolverConfiguration(nameservers: [dns.nameserver], timeout: .milliseconds(500), attempts: 2),
                group: MultiThreadedEventLoopGroup.singleton
            )
            let contoso = try GatewayFederationTests.gateway(
                domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki, route: nil,
                resolveTargets: Gateway.targetResolver(using: resolver)
            )
            _ = try await contoso.start()
            let bobsEvents = await fabrikam.events(for: Self.bob)
            contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Message(type: .chat, bodies: [LocalizedText("found the TLS port in DNS")])))
            guard case .message(_, let message) = try await nextEvent(bobsEvents) else {
                Issue.record("bob got no message")
                return
            }
            #expect(message.bodies.first?.text == "found the TLS port in DNS")
            #expect(try dns.count("_xmpps-server._tcp.fabrikam.example", .srv) >= 1)
            _ = await contoso.shutdown()
        }
        _ = await fabrikam.shutdown()
    }
}
