import ConsulateTestSupport
import Federation
import FederationLinks
import Gateway
import NIOConcurrencyHelpers
import PresenceModel
import Testing
import Translation
import XMPP

/// Two Consulate gateways that can only authenticate each other with dialback: each trusts only
/// its own test CA, so TLS is up but neither certificate proves anything and SASL EXTERNAL is never
/// offered. The receiving gateway checks each key with the authoritative server over the network
/// (XEP-0220 §2.1.2): on a verification-only connection, or on its established link to it.
@Suite("Two gateways over loopback: dialback verified over the network")
struct GatewayDialbackTests {
    typealias G = GatewayFederationTests

    /// TLS required, SASL optional, dialback on: the most interoperable row of the matrix, and the
    /// one where a certificate that does not validate falls back to TLS dialback.
    static let tlsDialback = NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true)

    static func route(_ port: Int) -> ServerEndpoint {
        ServerEndpoint(host: .address(IPAddress("127.0.0.1")!), port: UInt16(port), directTLS: false)
    }

    /// A resolver for a peer whose port is known only once it has started; it counts its lookups,
    /// so a test can tell whether a new connection was dialed.
    final class LateTarget: Sendable {
        private let state = NIOLockedValueBox((port: 0, lookups: 0))

        var port: Int {
            get { state.withLockedValue { $0.port } }
            set { state.withLockedValue { $0.port = newValue } }
        }

        var lookups: Int { state.withLockedValue { $0.lookups } }

        var resolver: TargetResolver {
            { _, _ in
                let port = self.state.withLockedValue { state in
                    state.lookups += 1
                    return state.port
                }
                return .success([ConnectionTarget(address: IPAddress("127.0.0.1")!, port: UInt16(port), directTLS: false, host: .address(IPAddress("127.0.0.1")!))])
            }
        }
    }

    static func fabrikam(routeToContoso port: Int) throws -> Gateway {
        try G.gateway(
            domain: "fabrikam.example", user: G.bob, contact: G.alice, pki: try TestPKI(name: "Fabrikam CA"),
            route: route(port), negotiation: tlsDialback
        )
    }

    static func contoso(fabrikam: LateTarget, dialbackSecret: String? = nil) throws -> Gateway {
        try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(name: "Contoso CA"),
            route: nil, negotiation: tlsDialback, dialbackSecret: dialbackSecret, resolveTargets: fabrikam.resolver
        )
    }

    @Test("fabrikam dials back to contoso to check its key, and the message arrives; the reply checks fabrikam's key on the link")
    func verifiedOverTheNetwork() async throws {
        let toFabrikam = LateTarget()
        let contoso = try Self.contoso(fabrikam: toFabrikam)
        let contosoPort = try await contoso.start().startTLS
        let fabrikam = try Self.fabrikam(routeToContoso: contosoPort)
        toFabrikam.port = try await fabrikam.start().startTLS
        let bobsEvents = await fabrikam.events(for: G.bob)
        let alicesEvents = await contoso.events(for: G.alice)

        // contoso → fabrikam: fabrikam has no link to contoso, so it opens a verification-only
        // connection to contoso's static route; only a valid answer lets the message through.
        contoso.perform(.sendMessage(user: G.alice, to: G.bob, Message(type: .chat, id: "m1", bodies: [LocalizedText("dialed back")])))
        guard case .message(let from, let message) = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no message")
            return
        }
        #expect(from.description == "alice@contoso.example/consulate")
        #expect(message.bodies.first?.text == "dialed back")
        #expect(toFabrikam.lookups == 1)

        // fabrikam → contoso: contoso checks fabrikam's key on its established link to fabrikam,
        // so it dials nothing new.
        fabrikam.perform(.sendMessage(user: G.bob, to: G.alice, Message(type: .chat, id: "m2", bodies: [LocalizedText("and back")])))
        guard case .message(_, let reply) = try await nextEvent(alicesEvents) else {
            Issue.record("alice got no reply")
            return
        }
        #expect(reply.bodies.first?.text == "and back")
        #expect(toFabrikam.lookups == 1, "the verification went over the established link")

        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
    }

    @Test("a key the authoritative server does not recognise is refused, and the message bounces")
    func invalidKey() async throws {
        // The authoritative server for contoso.example has another secret than the gateway that
        // sends for it: a cluster that does not share its dialback secret.
        let authority = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(name: "Contoso CA"),
            route: nil, negotiation: Self.tlsDialback, dialbackSecret: "the other contoso gateway's secret"
        )
        let authorityPort = try await authority.start().startTLS
        let fabrikam = try Self.fabrikam(routeToContoso: authorityPort)
        let toFabrikam = LateTarget()
        toFabrikam.port = try await fabrikam.start().startTLS
        let contoso = try Self.contoso(fabrikam: toFabrikam)
        _ = try await contoso.start()
        let alicesEvents = await contoso.events(for: G.alice)

        contoso.perform(.sendMessage(user: G.alice, to: G.bob, Message(type: .chat, id: "forged", bodies: [LocalizedText("trust me")])))
        guard case .deliveryFailed(let to, let id, let error) = try await nextEvent(alicesEvents) else {
            Issue.record("alice was not told")
            return
        }
        #expect(to.bare == G.bob)
        #expect(id == "forged")
        // XEP-0220 §2.1.1: stanzas waiting for a pair refused with `invalid` bounce with
        // internal-server-error.
        #expect(error.condition == .internalServerError)
        #expect(error.text?.contains("invalid") == true, "\(error.text ?? "")")

        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
        _ = await authority.shutdown()
    }
}
