import ConsulateTestSupport
import Crypto
import Federation
import FederationLinks
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import X509
import XMLStreaming
import XMPP

/// The inbound side on real loopback sockets with real TLS: a scripted remote server connects to
/// the listener, negotiates STARTTLS and SASL EXTERNAL with a certificate from the test CA, and
/// sends a stanza that must come out of the gateway authenticated.
@Suite("Inbound streams over loopback")
struct InboundLoopbackTests {
    struct Gateway {
        let listener: any Channel
        let stanzas: StanzaSink
        /// The ALPN protocol of each completed server-side handshake, in order.
        let negotiatedProtocols: NIOLockedValueBox<[String?]>
        var port: Int { listener.localAddress?.port ?? 0 }
    }

    /// Collects delivered stanzas and completes a promise once enough have arrived.
    final class StanzaSink: Sendable {
        private struct State {
            var stanzas: [Stanza] = []
            var waiting: (count: Int, promise: EventLoopPromise<[Stanza]>)?
        }
        private let state = NIOLockedValueBox(State())

        var all: [Stanza] { state.withLockedValue { $0.stanzas } }

        func append(_ stanza: Stanza) {
            state.withLockedValue { $0.stanzas.append(stanza) }
            satisfy()
        }

        func wait(for count: Int, on loop: any EventLoop, seconds: Int64 = 10) async throws -> [Stanza] {
            let promise = loop.makePromise(of: [Stanza].self)
            state.withLockedValue { $0.waiting = (count, promise) }
            let timeout = loop.scheduleTask(in: .seconds(seconds)) { promise.fail(ScriptedPeer.Timeout(marker: "\(count) stanzas", received: "")) }
            promise.futureResult.whenComplete { _ in timeout.cancel() }
            satisfy()
            return try await promise.futureResult.get()
        }

        private func satisfy() {
            let ready: (EventLoopPromise<[Stanza]>, [Stanza])? = state.withLockedValue { state in
                guard let waiting = state.waiting, state.stanzas.count >= waiting.count else { return nil }
                state.waiting = nil
                return (waiting.promise, state.stanzas)
            }
            if let (promise, stanzas) = ready { promise.succeed(stanzas) }
        }
    }

    static let group = MultiThreadedEventLoopGroup.singleton

    static func startGateway(
        pki: TestPKI,
        partners: [PartnerPolicy],
        transport: InboundStreamStateMachine.Transport = .startTLS,
        verificationRequested: @escaping @Sendable (String, DialbackVerify, any Channel) -> Void = { _, _, _ in }
    ) async throws -> Gateway {
        let serverLeaf = try pki.leaf(identifiers: [.dns("contoso.example"), .xmppAddr("contoso.example")])
        let tls = FederationTLS(
            certificateChain: [try TestTLS.nioCertificate(serverLeaf.certificate)],
            privateKey: try TestTLS.nioKey(serverLeaf.key),
            trustRoots: [pki.ca]
        )
        let stanzas = StanzaSink()
        let negotiatedProtocols = NIOLockedValueBox<[String?]>([])
        let counter = NIOLockedValueBox(0)
        let configuration = InboundStreamStateMachine.Configuration(
            localDomains: ["contoso.example"],
            policy: FederationPolicy(partners: partners),
            dialbackSecret: DialbackSecret("loopback test secret, not for production")
        )
        let listener = try await FederationListener.bind(host: "127.0.0.1", port: 0, group: group) { _ in
            InboundStreamHandler(
                configuration: configuration,
                transport: transport,
                limits: (XMLStreamLimits.preAuthentication, XMLStreamLimits.postAuthentication),
                tls: tls,
                callbacks: InboundStreamCallbacks(
                    stanzaReceived: { stanza in stanzas.append(stanza) },
                    tlsEstablished: { negotiated in negotiatedProtocols.withLockedValue { $0.append(negotiated) } },
                    verificationRequested: verificationRequested
                ),
                makeStreamID: { counter.withLockedValue { $0 += 1; return "loopback-\($0)" } }
            )
        }
        return Gateway(listener: listener, stanzas: stanzas, negotiatedProtocols: negotiatedProtocols)
    }

    @Test("STARTTLS, SASL EXTERNAL with a CA-issued certificate, then a stanza is delivered")
    func tlsAndSASL() async throws {
        let pki = try TestPKI()
        let gateway = try await Self.startGateway(pki: pki, partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"))])
        let peer = try await ScriptedPeer.connect(port: gateway.port, group: Self.group)

        try await peer.send(TestTLS.header())
        let features = try await peer.receive(until: "</stream:features>")
        #expect(features.contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"))
        try await peer.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        _ = try await peer.receive(until: "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")

        let clientLeaf = try pki.leaf(identifiers: [.dns("fabrikam.example")], usages: [.serverAuth])
        try await peer.startTLS(context: try TestTLS.clientContext(pki: pki, leaf: clientLeaf), serverHostname: "contoso.example")
        try await peer.send(TestTLS.header())
        let secured = try await peer.receive(until: "</stream:features>")
        #expect(secured.contains("<mechanism>EXTERNAL</mechanism>"))
        #expect(!secured.contains("starttls"))

        try await peer.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
        _ = try await peer.receive(until: "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
        try await peer.send(TestTLS.header())
        _ = try await peer.receive(until: "<stream:features/>")
        try await peer.send("<message from='bob@fabrikam.example/a' to='alice@contoso.example' type='chat' id='m1'><body>over TLS</body></message><iq from='fabrikam.example' to='contoso.example' type='get' id='end'><ping xmlns='urn:xmpp:ping'/></iq>")
        let delivered = try await gateway.stanzas.wait(for: 2, on: peer.channel.eventLoop)
        #expect(Message(delivered[0].element).bodies.first?.text == "over TLS")
        #expect(delivered[1].kind == .iq)
        await peer.close()
        try await gateway.listener.close()
    }

    @Test("plaintext slipped in behind <starttls/> is refused, never parsed")
    func startTLSInjection() async throws {
        let pki = try TestPKI()
        let gateway = try await Self.startGateway(pki: pki, partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"))])
        let peer = try await ScriptedPeer.connect(port: gateway.port, group: Self.group)
        try await peer.send(TestTLS.header())
        _ = try await peer.receive(until: "</stream:features>")
        try await peer.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message from='bob@fabrikam.example' to='alice@contoso.example'")
        let reply = try await peer.receive(until: "</stream:stream>")
        #expect(reply.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"))
        #expect(gateway.stanzas.all.isEmpty)
        await peer.close()
        try await gateway.listener.close()
    }

    @Test("a domain not on the allowlist is refused at the stream level")
    func refused() async throws {
        let pki = try TestPKI()
        let gateway = try await Self.startGateway(pki: pki, partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"))])
        let peer = try await ScriptedPeer.connect(port: gateway.port, group: Self.group)
        try await peer.send(TestTLS.header(from: "evil.example"))
        let reply = try await peer.receive(until: "</stream:stream>")
        #expect(reply.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"))
        #expect(reply.contains("not on the allowlist"))
        await peer.close()
        try await gateway.listener.close()
    }
}
