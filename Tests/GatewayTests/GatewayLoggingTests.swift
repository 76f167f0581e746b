import ConsulateTestSupport
import Federation
import FederationLinks
import Gateway
import NIOPosix
import Testing
import Translation
import XMPP

/// What the running gateway tells the operator, read back from a capturing logger injected into
/// real gateways federating over loopback.
@Suite("Gateway logs over loopback")
struct GatewayLoggingTests {
    typealias G = GatewayFederationTests

    @Test("a stream from a domain not on the allowlist is refused and logged with the domain and the reason")
    func refusedDomain() async throws {
        let log = CapturedLog()
        let contoso = try G.gateway(domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(), route: nil, logger: log.logger)
        let port = try await contoso.start().startTLS
        let peer = try await ScriptedPeer.connect(port: port, group: MultiThreadedEventLoopGroup.singleton)

        try await peer.send(TestTLS.header(from: "evil.example"))
        let reply = try await peer.receive(until: "</stream:stream>")
        #expect(reply.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"))

        let refusal = try await log.first("inbound stream refused")
        #expect(refusal.level == .notice)
        #expect(refusal["peer"] == "evil.example")
        #expect(refusal["condition"] == "policy-violation")
        #expect(refusal["reason"]?.contains("evil.example may not federate") == true, "\(refusal.metadata)")
        #expect(refusal["reason"]?.contains("not on the allowlist") == true, "\(refusal.metadata)")
        #expect(refusal["direction"] == "in")
        #expect(refusal["stream-id"] == "contoso.example-1")
        #expect(refusal["remote-address"]?.hasPrefix("127.0.0.1:") == true, "\(refusal.metadata)")
        #expect(!log.entries.contains { $0.message.description == "inbound stream authenticated" })

        await peer.close()
        _ = await contoso.shutdown()
    }

    @Test("an established SASL EXTERNAL link is logged with its method on both sides, and not as lost on shutdown")
    func saslLink() async throws {
        let pki = try TestPKI()
        let fabrikamLog = CapturedLog()
        let contosoLog = CapturedLog()
        let fabrikam = try G.gateway(domain: "fabrikam.example", user: G.bob, contact: G.alice, pki: pki, route: nil, logger: fabrikamLog.logger)
        let fabrikamPort = try await fabrikam.start().startTLS
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: pki,
            route: GatewayDialbackTests.route(fabrikamPort), logger: contosoLog.logger
        )
        _ = try await contoso.start()
        let bobsEvents = await fabrikam.events(for: G.bob)

        contoso.perform(.sendMessage(user: G.alice, to: G.bob, Message(type: .chat, id: "m1", bodies: [LocalizedText("a secret body")])))
        guard case .message = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no message")
            return
        }

        let established = try await contosoLog.first("outbound link established")
        #expect(established.level == .info)
        #expect(established["peer"] == "fabrikam.example")
        #expect(established["method"] == "SASL over TLS")
        #expect(established["tls"] == "yes")
        #expect(established["direction"] == "out")
        #expect(established["stream-id"]?.hasPrefix("fabrikam.example-") == true, "\(established.metadata)")

        let authenticated = try await fabrikamLog.first("inbound stream authenticated")
        #expect(authenticated.level == .info)
        #expect(authenticated["peer"] == "contoso.example")
        #expect(authenticated["method"] == "SASL over TLS")

        let everything = (contosoLog.entries + fabrikamLog.entries).map { "\($0.message) \($0.metadata)" }
        #expect(!everything.contains { $0.contains("a secret body") }, "message bodies are never logged")

        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
        // The handlers report an ending after the channel has closed: give them a moment.
        try await Task.sleep(for: .milliseconds(200))
        #expect(!contosoLog.entries.contains { $0.level >= .notice }, "shutting down loses no link: \(contosoLog.entries.map(\.message))")
    }

    @Test("a dialback link logs its method and the verification; a refused key logs the bounce")
    func dialback() async throws {
        let contosoLog = CapturedLog()
        let fabrikamLog = CapturedLog()
        let authorityLog = CapturedLog()
        let negotiation = GatewayDialbackTests.tlsDialback
        // The authoritative server for contoso.example does not share the sending gateway's secret,
        // so the first key is refused; the second gateway for contoso.example shares it.
        let authority = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(name: "Contoso CA"),
            route: nil, negotiation: negotiation, dialbackSecret: "another secret", logger: authorityLog.logger
        )
        let authorityPort = try await authority.start().startTLS
        let fabrikam = try G.gateway(
            domain: "fabrikam.example", user: G.bob, contact: G.alice, pki: try TestPKI(name: "Fabrikam CA"),
            route: GatewayDialbackTests.route(authorityPort), negotiation: negotiation, logger: fabrikamLog.logger
        )
        let fabrikamPort = try await fabrikam.start().startTLS
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(name: "Contoso CA"),
            route: GatewayDialbackTests.route(fabrikamPort), negotiation: negotiation, logger: contosoLog.logger
        )
        _ = try await contoso.start()
        let alicesEvents = await contoso.events(for: G.alice)

        contoso.perform(.sendMessage(user: G.alice, to: G.bob, Message(type: .chat, id: "forged", bodies: [LocalizedText("trust me")])))
        guard case .deliveryFailed = try await nextEvent(alicesEvents) else {
            Issue.record("alice was not told")
            return
        }

        let invalid = try await fabrikamLog.first("the authoritative server judged a dialback key invalid")
        #expect(invalid.level == .warning)
        #expect(invalid["peer"] == "contoso.example")
        #expect(invalid["target"] == "fabrikam.example")
        let refused = try await fabrikamLog.first("inbound dialback refused")
        #expect(refused["peer"] == "contoso.example")
        #expect(refused["stream-id"] == invalid["stream-id"], "the verification and the stream it was for correlate")

        let failed = try await contosoLog.first("outbound stream failed")
        #expect(failed.level == .warning)
        #expect(failed["peer"] == "fabrikam.example")
        #expect(failed["bounce-condition"] == "internal-server-error")
        #expect(failed["reason"]?.contains("did not authorize") == true, "\(failed.metadata)")
        let bounced = try await contosoLog.first("stanzas bounced")
        #expect(bounced.level == .notice)
        #expect(bounced["peer"] == "fabrikam.example")
        #expect(bounced["count"] == "1")
        #expect(bounced["condition"] == "internal-server-error")
        let retry = try await contosoLog.first("link retry scheduled")
        #expect(retry.level == .debug)
        #expect(retry["delay"] != nil)

        let everything = (contosoLog.entries + fabrikamLog.entries + authorityLog.entries).map { "\($0.message) \($0.metadata)" }
        #expect(!everything.contains { $0.contains("trust me") }, "message bodies are never logged")

        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
        _ = await authority.shutdown()
    }

    @Test("TLS dialback verified by the authoritative server is logged with its method")
    func verifiedDialback() async throws {
        let contosoLog = CapturedLog()
        let fabrikamLog = CapturedLog()
        let toFabrikam = GatewayDialbackTests.LateTarget()
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(name: "Contoso CA"),
            route: nil, negotiation: GatewayDialbackTests.tlsDialback, resolveTargets: toFabrikam.resolver, logger: contosoLog.logger
        )
        let contosoPort = try await contoso.start().startTLS
        let fabrikam = try G.gateway(
            domain: "fabrikam.example", user: G.bob, contact: G.alice, pki: try TestPKI(name: "Fabrikam CA"),
            route: GatewayDialbackTests.route(contosoPort), negotiation: GatewayDialbackTests.tlsDialback, logger: fabrikamLog.logger
        )
        toFabrikam.port = try await fabrikam.start().startTLS
        let bobsEvents = await fabrikam.events(for: G.bob)

        contoso.perform(.sendMessage(user: G.alice, to: G.bob, Message(type: .chat, bodies: [LocalizedText("dialed back")])))
        guard case .message = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no message")
            return
        }

        let established = try await contosoLog.first("outbound link established")
        #expect(established["method"] == "TLS dialback")
        #expect(established["tls"] == "yes")
        let verified = try await fabrikamLog.first("dialback key verified by the authoritative server")
        #expect(verified.level == .info)
        #expect(verified["peer"] == "contoso.example")
        let authenticated = try await fabrikamLog.first("inbound stream authenticated")
        #expect(authenticated["method"] == "TLS dialback")
        #expect(authenticated["stream-id"] == verified["stream-id"])

        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
    }
}
