import ConsulateTestSupport
import Federation
import FederationLinks
import Foundation
import Gateway
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import PresenceModel
import Storage
import Testing
import Translation
import XMPP

/// Two Consulate gateways federating over loopback: contoso.example's internal users reach
/// fabrikam.example's through the full path — translator, link table, outbound stream with
/// STARTTLS and SASL EXTERNAL, inbound stream, translator — with certificates from the test CA.
@Suite("Two gateways over loopback")
struct GatewayFederationTests {
    static let alice = try! JID("alice@contoso.example")
    static let bob = try! JID("bob@fabrikam.example")

    static func gateway(
        domain: String,
        user: JID,
        contact: JID,
        pki: TestPKI,
        route: ServerEndpoint?,
        directTLSPort: Int? = nil,
        negotiation: NegotiationPolicy = .default,
        dialbackSecret: String? = nil,
        resolveTargets: @escaping TargetResolver = { domain, _ in .failure(.notFound(reason: "no DNS in this test for \(domain)")) },
        logger: Logger = CapturedLog.silent,
        stanzaLog: StanzaLog = StanzaLog(mode: .off),
        metrics: FederationMetrics = FederationMetrics(),
        store: (any GatewayStore)? = nil,
        clock: GatewayClock = .system,
        federation: FederationSettings = .defaults,
        descriptorLimit: Int? = nil,
        otherPartners: [PartnerPolicy] = []
    ) throws -> Gateway {
        let leaf = try pki.leaf(identifiers: [.dns(domain)])
        let tls = FederationTLS(
            certificateChain: [try TestTLS.nioCertificate(leaf.certificate)],
            privateKey: try TestTLS.nioKey(leaf.key),
            trustRoots: [pki.ca]
        )
        let partnerPattern = DomainPattern(exactly: contact.domainpart)
        var directory = PresenceDirectory()
        directory.add(
            InternalUser(
                jid: user.description,
                contacts: [contact.description: Contact(jid: contact.description, accessLevel: .colleagues, subscription: SubscriptionState(.both))]
            )
        )
        let counter = NIOLockedValueBox(0)
        return Gateway(
            settings: Gateway.Settings(
                translation: TranslationConfiguration(localDomains: [domain]),
                policy: FederationPolicy(
                    partners: [PartnerPolicy(domain: partnerPattern, trust: .federated, negotiation: negotiation, route: route)] + otherPartners,
                    settings: federation
                ),
                tls: tls,
                dialbackSecret: DialbackSecret(dialbackSecret ?? "\(domain) secret for the loopback test"),
                listenAddress: "127.0.0.1",
                listenPort: 0,
                directTLSPort: directTLSPort
            ),
            directory: directory,
            group: MultiThreadedEventLoopGroup.singleton,
            resolveTargets: resolveTargets,
            makeStreamID: { counter.withLockedValue { $0 += 1; return "\(domain)-\($0)" } },
            logger: logger,
            stanzaLog: stanzaLog,
            metrics: metrics,
            store: store,
            clock: clock,
            descriptorLimit: descriptorLimit
        )
    }

    @Test("a message and a presence change cross from contoso to fabrikam")
    func messageAndPresence() async throws {
        let pki = try TestPKI()
        let fabrikam = try Self.gateway(domain: "fabrikam.example", user: Self.bob, contact: Self.alice, pki: pki, route: nil)
        let fabrikamPort = try await fabrikam.start().startTLS
        let contoso = try Self.gateway(
            domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki,
            route: ServerEndpoint(host: EndpointHost("127.0.0.1"), port: UInt16(fabrikamPort), directTLS: false)
        )
        _ = try await contoso.start()
        let bobsEvents = await fabrikam.events(for: Self.bob)

        contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Message(type: .chat, id: "m1", bodies: [LocalizedText("hello from contoso")])))
        guard case .message(let from, let message) = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no message")
            return
        }
        #expect(from.description == "alice@contoso.example/consulate")
        #expect(message.bodies.first?.text == "hello from contoso")

        contoso.perform(.setPresence(user: Self.alice, RichPresence(availability: .busy, note: "Q3 planning")))
        guard case .contactPresence(let contact, let presence) = try await nextEvent(bobsEvents) else {
            Issue.record("bob saw no presence change")
            return
        }
        #expect(contact == Self.alice)
        #expect(presence.availability == .busy)
        #expect(presence.note == "Busy — Q3 planning", "a Federated colleague sees the note")

        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
    }

    @Test("contoso finds fabrikam through SRV records on a loopback DNS server")
    func throughDNS() async throws {
        let pki = try TestPKI()
        let fabrikam = try Self.gateway(domain: "fabrikam.example", user: Self.bob, contact: Self.alice, pki: pki, route: nil)
        let fabrikamPort = try await fabrikam.start().startTLS
        try await DNSTestServer.with([
            try DNSZone.srv("_xmpp-server._tcp.fabrikam.example", "xmpp.fabrikam.example", port: UInt16(fabrikamPort)),
            try DNSZone.a("xmpp.fabrikam.example", "127.0.0.1"),
        ]) { dns in
            let resolver = DNSResolver(
                configuration: try DNSResolverConfiguration(nameservers: [dns.nameserver], timeout: .milliseconds(500), attempts: 2),
                group: MultiThreadedEventLoopGroup.singleton
            )
            let contoso = try Self.gateway(
                domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki, route: nil,
                resolveTargets: Gateway.targetResolver(using: resolver)
            )
            _ = try await contoso.start()
            let bobsEvents = await fabrikam.events(for: Self.bob)
            contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Message(type: .chat, bodies: [LocalizedText("found you in DNS")])))
            guard case .message(_, let message) = try await nextEvent(bobsEvents) else {
                Issue.record("bob got no message")
                return
            }
            #expect(message.bodies.first?.text == "found you in DNS")
            #expect(try dns.count("_xmpp-server._tcp.fabrikam.example", .srv) >= 1)
            _ = await contoso.shutdown()
        }
        _ = await fabrikam.shutdown()
    }

    @Test("a domain DNS does not know is bounced to the sender as remote-server-not-found")
    func unknownDomain() async throws {
        let pki = try TestPKI()
        try await DNSTestServer.with([]) { dns in
            let resolver = DNSResolver(
                configuration: try DNSResolverConfiguration(nameservers: [dns.nameserver], timeout: .milliseconds(500), attempts: 1),
                group: MultiThreadedEventLoopGroup.singleton
            )
            let contoso = try Self.gateway(
                domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki, route: nil,
                resolveTargets: Gateway.targetResolver(using: resolver)
            )
            _ = try await contoso.start()
            let alicesEvents = await contoso.events(for: Self.alice)
            contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Message(type: .chat, id: "lost", bodies: [LocalizedText("anyone?")])))
            guard case .deliveryFailed(let to, let id, let error) = try await nextEvent(alicesEvents) else {
                Issue.record("alice was not told")
                return
            }
            #expect(to.bare == Self.bob)
            #expect(id == "lost")
            #expect(error.condition == .remoteServerNotFound)
            _ = await contoso.shutdown()
        }
    }
}
