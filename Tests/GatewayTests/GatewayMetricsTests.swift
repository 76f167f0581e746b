import ConsulateTestSupport
import Federation
import FederationLinks
import Gateway
import Metrics
import MetricsTestKit
import NIOPosix
import Testing
import Translation
import XMLStreaming
import XMPP

/// What the running gateway counts, read back from swift-metrics' `TestMetrics` injected into real
/// gateways over loopback (no process-wide bootstrap), and the Prometheus text it renders.
@Suite("Gateway metrics")
struct GatewayMetricsTests {
    typealias G = GatewayFederationTests

    @Test("a refused stream counts its condition, and the inbound connection is counted while it lasts")
    func refusedStream() async throws {
        let recorded = TestMetrics()
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(), route: nil,
            metrics: FederationMetrics(factory: recorded)
        )
        let port = try await contoso.start().startTLS
        let peer = try await ScriptedPeer.connect(port: port, group: MultiThreadedEventLoopGroup.singleton)

        try await peer.send(TestTLS.header(from: "evil.example"))
        let reply = try await peer.receive(until: "</stream:stream>")
        #expect(reply.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"))

        #expect(recorded.counterTotal(label: "consulate_streams_refused_total", dimensions: [("condition", "policy-violation")]) == 1)
        #expect(recorded.counterTotal(label: "consulate_parse_errors_total") == 0, "a refused domain is not a parse error")
        let connecting = try recorded.expectMeter("consulate_links", [("direction", "in"), ("state", "connecting")])
        #expect(connecting.values.contains(1), "\(connecting.values)")
        try await eventually("the metric reaching its value") { connecting.lastValue == 0 }
        let established = try recorded.expectMeter("consulate_links", [("direction", "in"), ("state", "established")])
        #expect(!established.values.contains(1))

        await peer.close()
        _ = await contoso.shutdown()
    }

    @Test("a parse error counts its RFC 6120 condition, and as a refusal before authentication")
    func parseError() async throws {
        let recorded = TestMetrics()
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(), route: nil,
            metrics: FederationMetrics(factory: recorded)
        )
        let port = try await contoso.start().startTLS
        let peer = try await ScriptedPeer.connect(port: port, group: MultiThreadedEventLoopGroup.singleton)

        try await peer.send(TestTLS.header(from: "fabrikam.example"))
        try await peer.send("<!-- a comment is restricted XML -->")
        let reply = try await peer.receive(until: "</stream:stream>")
        #expect(reply.contains("<restricted-xml xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"))

        #expect(recorded.counterTotal(label: "consulate_parse_errors_total", dimensions: [("direction", "in"), ("condition", "restricted-xml")]) == 1)
        #expect(recorded.counterTotal(label: "consulate_parse_errors_total") == 1)
        #expect(recorded.counterTotal(label: "consulate_streams_refused_total", dimensions: [("condition", "restricted-xml")]) == 1)

        await peer.close()
        _ = await contoso.shutdown()
    }

    @Test("a delivered message counts out on the sender and in on the receiver, with the links that carried it")
    func deliveredMessage() async throws {
        let pki = try TestPKI()
        let fabrikamMetrics = TestMetrics()
        let contosoMetrics = TestMetrics()
        let fabrikam = try G.gateway(
            domain: "fabrikam.example", user: G.bob, contact: G.alice, pki: pki, route: nil,
            metrics: FederationMetrics(factory: fabrikamMetrics)
        )
        let fabrikamPort = try await fabrikam.start().startTLS
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: pki,
            route: GatewayDialbackTests.route(fabrikamPort), metrics: FederationMetrics(factory: contosoMetrics)
        )
        _ = try await contoso.start()
        let bobsEvents = await fabrikam.events(for: G.bob)

        contoso.perform(.sendMessage(user: G.alice, to: G.bob, Message(type: .chat, id: "m1", bodies: [LocalizedText("counted")])))
        guard case .message = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no message")
            return
        }

        #expect(contosoMetrics.counterTotal(label: "consulate_stanzas_total", dimensions: [("direction", "out"), ("type", "message")]) == 1)
        #expect(contosoMetrics.counterTotal(label: "consulate_stanzas_total", dimensions: [("direction", "in")]) == 0)
        #expect(fabrikamMetrics.counterTotal(label: "consulate_stanzas_total", dimensions: [("direction", "in"), ("type", "message")]) == 1)
        #expect(fabrikamMetrics.counterTotal(label: "consulate_stanzas_total", dimensions: [("direction", "out")]) == 0)

        let outbound = try contosoMetrics.expectMeter("consulate_links", [("direction", "out"), ("state", "established")])
        try await eventually("the metric reaching its value") { outbound.lastValue == 1 }
        #expect(try contosoMetrics.expectMeter("consulate_outbound_queue_stanzas").lastValue == 0)
        #expect(try contosoMetrics.expectMeter("consulate_outbound_queue_stanzas").values.contains(1), "the message waited for the link")
        let inbound = try fabrikamMetrics.expectMeter("consulate_links", [("direction", "in"), ("state", "established")])
        try await eventually("the metric reaching its value") { inbound.lastValue == 1 }

        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
        try await eventually("the metric reaching its value") { outbound.lastValue == 0 && inbound.lastValue == 0 }
    }

    @Test("a bounce counts its condition, and the failed link is counted as backing off")
    func bounce() async throws {
        let recorded = TestMetrics()
        // No route and a resolver that finds nothing: the link fails permanently and the queue bounces.
        let contoso = try G.gateway(
            domain: "contoso.example", user: G.alice, contact: G.bob, pki: try TestPKI(), route: nil,
            metrics: FederationMetrics(factory: recorded)
        )
        _ = try await contoso.start()
        let alicesEvents = await contoso.events(for: G.alice)

        contoso.perform(.sendMessage(user: G.alice, to: G.bob, Message(type: .chat, id: "lost", bodies: [LocalizedText("nowhere")])))
        guard case .deliveryFailed = try await nextEvent(alicesEvents) else {
            Issue.record("alice was not told")
            return
        }

        #expect(recorded.counterTotal(label: "consulate_stanzas_bounced_total", dimensions: [("condition", "remote-server-not-found")]) == 1)
        #expect(recorded.counterTotal(label: "consulate_stanzas_bounced_total") == 1)
        #expect(recorded.counterTotal(label: "consulate_stanzas_total") == 0, "nothing went out")
        // The retry may already have come and gone (nothing left to send: the domain is forgotten),
        // so the link must have been counted as backing off, not still be.
        let backingOff = try recorded.expectMeter("consulate_links", [("direction", "out"), ("state", "backing_off")])
        try await eventually("the metric reaching its value") { backingOff.values.contains(1) }
        #expect(try recorded.expectMeter("consulate_outbound_queue_stanzas").lastValue == 0)

        _ = await contoso.shutdown()
    }

    @Test("queue depths and link phases are the link table's, summed over domains")
    func queueDepth() throws {
        let recorded = TestMetrics()
        let metrics = FederationMetrics(factory: recorded)
        let partner = PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), trust: .federated)
        var table = LinkTable(policy: FederationPolicy(partners: [partner]))
        for id in ["1", "2"] {
            let message = XMLElement("message", namespace: Namespace.server, attributes: ["from": "alice@contoso.example", "to": "bob@fabrikam.example", "id": id])
            _ = table.stanzaToSend(message, on: LinkKey(local: "contoso.example", remote: "fabrikam.example"), now: .origin)
        }
        metrics.outboundLinks(table.gauges)

        let queued = table.status(of: LinkKey(local: "contoso.example", remote: "fabrikam.example"))
        #expect(queued?.queuedStanzas == 2)
        #expect(try recorded.expectMeter("consulate_outbound_queue_stanzas").lastValue == 2)
        #expect(try recorded.expectMeter("consulate_outbound_queue_bytes").lastValue == Double(queued?.queuedBytes ?? -1))
        #expect(try recorded.expectMeter("consulate_links", [("direction", "out"), ("state", "connecting")]).lastValue == 1)
        #expect(try recorded.expectMeter("consulate_links", [("direction", "out"), ("state", "established")]).lastValue == 0)
    }

    @Test("the Prometheus exposition renders each metric with its type and labels")
    func prometheusText() throws {
        let exposition = PrometheusExposition()
        let metrics = FederationMetrics(factory: exposition.factory)
        let message = XMLElement("message", namespace: Namespace.server)
        metrics.stanza(.inbound, message)
        metrics.stanza(.inbound, message)
        metrics.stanza(.outbound, XMLElement("iq", namespace: Namespace.server))
        metrics.stanza(.outbound, XMLElement("starttls", namespace: "urn:ietf:params:xml:ns:xmpp-tls"))
        metrics.streamRefused(.policyViolation)
        metrics.parseError(.inbound, .notWellFormed)
        metrics.bounced(.remoteServerNotFound)
        metrics.dropped(.serviceUnavailable)
        metrics.dialbackVerification(.valid)
        metrics.pingTimedOut()
        metrics.inboundStream(from: nil, to: .connecting)
        metrics.inboundStream(from: .connecting, to: .established)

        let text = exposition.render()
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            "# TYPE consulate_stanzas_total counter",
            #"consulate_stanzas_total{direction="in",type="message"} 2"#,
            #"consulate_stanzas_total{direction="out",type="iq"} 1"#,
            #"consulate_stanzas_total{direction="out",type="message"} 0"#,
            "# TYPE consulate_links gauge",
            #"consulate_links{direction="in",state="established"} 1.0"#,
            #"consulate_links{direction="in",state="connecting"} 0.0"#,
            #"consulate_links{direction="out",state="backing_off"} 0.0"#,
            "# TYPE consulate_outbound_queue_stanzas gauge",
            "# TYPE consulate_outbound_queue_bytes gauge",
            #"consulate_streams_refused_total{condition="policy-violation"} 1"#,
            #"consulate_parse_errors_total{direction="in",condition="not-well-formed"} 1"#,
            #"consulate_stanzas_bounced_total{condition="remote-server-not-found"} 1"#,
            #"consulate_stanzas_dropped_total{condition="service-unavailable"} 1"#,
            #"consulate_dialback_verifications_total{result="valid"} 1"#,
            "consulate_pings_timed_out_total 1",
        ] {
            #expect(lines.contains(expected), "missing \(expected) in:\n\(text)")
        }
        #expect(!text.contains("starttls"), "only stanzas are counted")
    }
}
