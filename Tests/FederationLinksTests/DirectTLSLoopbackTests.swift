import ConsulateTestSupport
import Federation
import FederationLinks
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import XMPP

/// The inbound side on a direct TLS port (XEP-0368) over real loopback sockets: the TLS handshake
/// with ALPN `xmpp-server` comes before the first byte of XMPP, and the stream then negotiates as
/// after STARTTLS, without the STARTTLS step.
@Suite("Inbound direct TLS over loopback")
struct DirectTLSLoopbackTests {
    static let group = InboundLoopbackTests.group
    static let fabrikam = [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"))]

    static func connect(_ gateway: InboundLoopbackTests.Gateway, pki: TestPKI, leaf: TestPKI.Leaf) async throws -> ScriptedPeer {
        try await ScriptedPeer.connectDirectTLS(
            port: gateway.port, group: group,
            context: try TestTLS.clientContext(pki: pki, leaf: leaf),
            serverHostname: "contoso.example"
        )
    }

    @Test("TLS first with ALPN xmpp-server, no STARTTLS offered, SASL EXTERNAL, then a stanza is delivered")
    func saslExternal() async throws {
        let pki = try TestPKI()
        let gateway = try await InboundLoopbackTests.startGateway(pki: pki, partners: Self.fabrikam, transport: .directTLS)
        let peer = try await Self.connect(gateway, pki: pki, leaf: try pki.leaf(identifiers: [.dns("fabrikam.example")]))
        #expect(peer.negotiatedProtocol == "xmpp-server")

        try await peer.send(TestTLS.header())
        let features = try await peer.receive(until: "</stream:features>")
        #expect(!features.contains("starttls"))
        #expect(features.contains("<mechanism>EXTERNAL</mechanism>"))
        #expect(gateway.negotiatedProtocols.withLockedValue { $0 } == ["xmpp-server"], "the server side agreed on ALPN xmpp-server")

        try await peer.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
        _ = try await peer.receive(until: "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
        try await peer.send(TestTLS.header())
        _ = try await peer.receive(until: "<stream:features/>")
        try await peer.send("<message from='bob@fabrikam.example/a' to='alice@contoso.example' type='chat' id='m1'><body>direct</body></message>")
        let delivered = try await gateway.stanzas.wait(for: 1, on: peer.channel.eventLoop)
        #expect(Message(delivered[0].element).bodies.first?.text == "direct")
        await peer.close()
        try await gateway.listener.close()
    }

    @Test("a certificate from an unknown CA still gets a TLS stream, but no SASL EXTERNAL")
    func untrustedCertificate() async throws {
        let pki = try TestPKI()
        let stranger = try TestPKI(name: "Someone Else's CA")
        let saslOptional = [
            PartnerPolicy(
                domain: DomainPattern(exactly: "fabrikam.example"),
                negotiation: NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true)
            ),
        ]
        let gateway = try await InboundLoopbackTests.startGateway(pki: pki, partners: saslOptional, transport: .directTLS)
        let peer = try await ScriptedPeer.connectDirectTLS(
            port: gateway.port, group: Self.group,
            context: try TestTLS.clientContext(pki: pki, leaf: try stranger.leaf(identifiers: [.dns("fabrikam.example")])),
            serverHostname: "contoso.example"
        )
        try await peer.send(TestTLS.header())
        let features = try await peer.receive(until: "</stream:features>")
        #expect(!features.contains("EXTERNAL"))
        #expect(!features.contains("starttls"))
        #expect(features.contains("urn:xmpp:features:dialback"), "TLS is up and SASL only optional, so dialback is offered")
        await peer.close()
        try await gateway.listener.close()
    }

    @Test("a partner set to tls = not-supported is refused on the direct TLS port")
    func tlsNotSupported() async throws {
        let pki = try TestPKI()
        let plain = [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), negotiation: NegotiationPolicy(tls: .notSupported, sasl: .notSupported, supportDialback: true))]
        let gateway = try await InboundLoopbackTests.startGateway(pki: pki, partners: plain, transport: .directTLS)
        let peer = try await Self.connect(gateway, pki: pki, leaf: try pki.leaf(identifiers: [.dns("fabrikam.example")]))
        try await peer.send(TestTLS.header())
        let reply = try await peer.receive(until: "</stream:stream>")
        #expect(reply.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"))
        #expect(reply.contains("tls = not-supported"))
        await peer.close()
        try await gateway.listener.close()
    }

    @Test("a peer that speaks plaintext to the direct TLS port is closed without an XMPP answer")
    func plaintextPeer() async throws {
        let pki = try TestPKI()
        let gateway = try await InboundLoopbackTests.startGateway(pki: pki, partners: Self.fabrikam, transport: .directTLS)
        let peer = try await ScriptedPeer.connect(port: gateway.port, group: Self.group)
        try await peer.send(TestTLS.header())
        let reply = try await peer.receive(until: "<!--closed-->")
        #expect(!reply.contains("stream"), "no XMPP in the clear: \(reply)")
        #expect(gateway.stanzas.all.isEmpty)
        await peer.close()
        try await gateway.listener.close()
    }
}
