import Configuration
import ConsulateTestSupport
import Federation
import Gateway
import InMemoryLogging
import Logging
import PresenceModel
import Testing
import Translation
import XMLStreaming
import XMPP

/// The stanza log (`[log] stanzas`): what it writes of real traffic between two gateways, and
/// that message content stays out of it unless `stanza-bodies` lets it in.
@Suite("Stanza log")
struct StanzaLogTests {
    static let alice = GatewayFederationTests.alice
    static let bob = GatewayFederationTests.bob

    /// The one element in `text`, parsed inside an s2s stream header.
    static func parse(_ text: String) throws -> XMLElement {
        let header = "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' from='a.example' to='b.example' version='1.0'>"
        var events: [XMLStreamEvent] = []
        try XMLStreamParser().feed(Array((header + text).utf8), into: &events)
        return try #require(events.compactMap { if case .element(let element) = $0 { element } else { nil } }.first)
    }

    @Test("bodies, subjects and XHTML bodies are left out at any depth; everything else is kept")
    func withoutContent() throws {
        let stanza = try Self.parse(
            """
            <message xmlns='jabber:server' from='alice@contoso.example/consulate' to='bob@fabrikam.example' id='m1'>\
            <subject>Q3 numbers</subject><body xml:lang='en'>the merger is off</body><body/>\
            <html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>the merger</p></body></html>\
            <active xmlns='http://jabber.org/protocol/chatstates'/>\
            <forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><body>nested secret</body></message></forwarded>\
            </message>
            """
        )
        let shown = XMLSerializer(defaultNamespace: Namespace.server).string(StanzaLog.withoutContent(stanza))
        #expect(
            shown == """
                <message from='alice@contoso.example/consulate' to='bob@fabrikam.example' id='m1'>\
                <subject>[not logged]</subject><body xml:lang='en'>[not logged]</body><body/>\
                <html xmlns='http://jabber.org/protocol/xhtml-im'>[not logged]</html>\
                <active xmlns='http://jabber.org/protocol/chatstates'/>\
                <forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><body>[not logged]</body></message></forwarded>\
                </message>
                """
        )
    }

    @Test(
        "each gateway logs the stanza it sends and the one it receives, with the body only when allowed",
        arguments: [(StanzaLog.Mode.withoutBodies, false), (.withBodies, true)]
    )
    func betweenGateways(mode: StanzaLog.Mode, bodyShown: Bool) async throws {
        let pki = try TestPKI()
        let fabrikamLog = CapturedLog()
        let contosoLog = CapturedLog()
        let fabrikam = try GatewayFederationTests.gateway(
            domain: "fabrikam.example", user: Self.bob, contact: Self.alice, pki: pki, route: nil,
            stanzaLog: StanzaLog(mode: mode, logger: fabrikamLog.logger)
        )
        let fabrikamPort = try await fabrikam.start().startTLS
        let contoso = try GatewayFederationTests.gateway(
            domain: "contoso.example", user: Self.alice, contact: Self.bob, pki: pki,
            route: ServerEndpoint(host: EndpointHost("127.0.0.1"), port: UInt16(fabrikamPort), directTLS: false),
            stanzaLog: StanzaLog(mode: mode, logger: contosoLog.logger)
        )
        _ = try await contoso.start()
        let bobsEvents = await fabrikam.events(for: Self.bob)
        contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Message(type: .chat, id: "m1", bodies: [LocalizedText("the merger is off")])))
        guard case .message = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no message")
            return
        }

        let sent = try #require(contosoLog.entries.first { $0.message.description.contains("id='m1'") })
        #expect(sent["direction"] == "out" && sent["peer"] == "fabrikam.example" && sent.level == .info)
        let received = try #require(fabrikamLog.entries.first { $0.message.description.contains("id='m1'") })
        #expect(received["direction"] == "in" && received["peer"] == "contoso.example")
        for record in [sent, received] {
            #expect(record.message.description.contains("the merger is off") == bodyShown, "\(record.message)")
            #expect(record.message.description.contains("<body>[not logged]</body>") == !bodyShown, "\(record.message)")
        }

        await contoso.setStanzaLog(.off)
        let before = contosoLog.entries.count
        contoso.perform(.sendMessage(user: Self.alice, to: Self.bob, Message(type: .chat, id: "m2", bodies: [LocalizedText("unlogged")])))
        guard case .message = try await nextEvent(bobsEvents) else {
            Issue.record("bob got no second message")
            return
        }
        #expect(contosoLog.entries.count == before, "the stanza log is off from the next stanza on")
        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
    }
}
