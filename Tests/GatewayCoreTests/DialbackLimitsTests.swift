import Federation
import GatewayCore
import Testing
import XMPP

/// An inbound stream cannot make the gateway look up and dial many domains: the verifications it
/// may ask for are bounded per stream and per address, and verification connections count
/// against the connection limit.
@Suite("GatewayCore: dialback verifications bounded")
struct DialbackLimitsTests {
    typealias H = CoreHarness
    static let partners = PartnerPolicy(
        domain: try! DomainPattern("*.partners.example"), trust: .federated,
        negotiation: NegotiationPolicy(tls: .optional, sasl: .notSupported, supportDialback: true)
    )

    /// A request to verify the key of `domain` (a subdomain of partners.example) for stream `id`.
    static func request(_ domain: String, _ id: String = "s1") -> DialbackVerify {
        DialbackVerify(from: "contoso.example", to: domain, id: id, payload: .key(DialbackKey(rawValue: "k-\(domain)")))
    }

    static func connects(_ actions: [GatewayCore.Action]) -> [ConnectionID] {
        actions.compactMap { action in
            if case .connect(let connection, _, _, .verification) = action { return connection }
            return nil
        }
    }

    static func harness(_ settings: FederationSettings = .defaults) -> H {
        H(partners: [partners], settings: settings)
    }

    @Test("a stream may ask for dialback-limit verifications; one more ends it with policy-violation and dials nothing")
    func perStream() {
        var harness = Self.harness(FederationSettings(streamDialbackLimit: 4))
        let stream = ConnectionID(.inbound, 1)
        _ = harness.handle(.inboundAccepted(stream, source: H.source))
        var dialed: [ConnectionID] = []
        for number in 1...4 {
            dialed += Self.connects(harness.handle(.verificationRequested(Self.request("a\(number).partners.example"), inbound: stream)))
        }
        #expect(dialed.count == 4, "one verification connection per pair")

        let fifth = harness.handle(.verificationRequested(Self.request("a5.partners.example"), inbound: stream))
        #expect(Self.connects(fifth).isEmpty)
        let closed = InboundLimitsTests.closedInbound(fifth)
        #expect(closed.map(\.0) == [stream])
        #expect(closed.first?.1?.condition == .policyViolation)
        #expect(fifth.contains(.metric(.inboundLimit(.streamDialbackLimit))))
        #expect(harness.handle(.verificationRequested(Self.request("a6.partners.example"), inbound: stream)).isEmpty, "a closing stream asks for nothing more")
    }

    @Test("failed and invalid verifications keep counting, so a stream cannot try domain after domain; successful ones do not")
    func failuresCount() {
        var harness = Self.harness(FederationSettings(streamDialbackLimit: 2))
        let stream = ConnectionID(.inbound, 1)
        _ = harness.handle(.inboundAccepted(stream, source: H.source))

        let good = Self.request("good.partners.example")
        _ = harness.handle(.verificationRequested(good, inbound: stream))
        _ = harness.handle(.verificationAnswered(good.answered(.valid)))
        _ = harness.handle(.inboundAuthenticated(stream, LinkKey(local: "contoso.example", remote: "good.partners.example"), .tcpDialback, .none))

        let missing = Self.request("missing.partners.example")
        _ = harness.handle(.verificationRequested(missing, inbound: stream))
        _ = harness.handle(.verificationFailed(missing, .authoritativeServerNotFound))
        let wrong = Self.request("wrong.partners.example")
        _ = harness.handle(.verificationRequested(wrong, inbound: stream))
        _ = harness.handle(.verificationAnswered(wrong.answered(.invalid)))

        let third = harness.handle(.verificationRequested(Self.request("third.partners.example"), inbound: stream))
        #expect(InboundLimitsTests.closedInbound(third).map(\.0) == [stream], "two did not succeed, none is outstanding")
        #expect(Self.connects(third).isEmpty)
    }

    @Test("the streams of one address share source-dialback-limit outstanding verifications; another address has its own")
    func perSource() {
        var harness = Self.harness(FederationSettings(streamDialbackLimit: 4, sourceDialbackLimit: 3))
        let (one, two, other) = (ConnectionID(.inbound, 1), ConnectionID(.inbound, 2), ConnectionID(.inbound, 3))
        _ = harness.handle(.inboundAccepted(one, source: H.source))
        _ = harness.handle(.inboundAccepted(two, source: H.source))
        _ = harness.handle(.inboundAccepted(other, source: "198.51.100.7"))
        _ = harness.handle(.verificationRequested(Self.request("a1.partners.example"), inbound: one))
        _ = harness.handle(.verificationRequested(Self.request("a2.partners.example"), inbound: one))
        let answered = Self.request("a3.partners.example")
        _ = harness.handle(.verificationRequested(answered, inbound: two))

        let refused = harness.handle(.verificationRequested(Self.request("a4.partners.example"), inbound: two))
        #expect(InboundLimitsTests.closedInbound(refused).map(\.0) == [two])
        #expect(refused.contains(.metric(.inboundLimit(.sourceDialbackLimit))))
        #expect(Self.connects(harness.handle(.verificationRequested(Self.request("b1.partners.example"), inbound: other))).count == 1)

        _ = harness.handle(.verificationAnswered(answered.answered(.valid)))
        let afterAnswer = harness.handle(.verificationRequested(Self.request("a5.partners.example"), inbound: one))
        #expect(InboundLimitsTests.closedInbound(afterAnswer).isEmpty, "an answer frees its place at the address")
    }

    @Test("a failed verification and a closed stream free their places at the address too")
    func placesFreed() {
        var harness = Self.harness(FederationSettings(streamDialbackLimit: 4, sourceDialbackLimit: 2))
        let (one, two, three) = (ConnectionID(.inbound, 1), ConnectionID(.inbound, 2), ConnectionID(.inbound, 3))
        for stream in [one, two, three] { _ = harness.handle(.inboundAccepted(stream, source: H.source)) }
        let failing = Self.request("a1.partners.example")
        _ = harness.handle(.verificationRequested(failing, inbound: one))
        _ = harness.handle(.verificationRequested(Self.request("a2.partners.example"), inbound: two))
        _ = harness.handle(.verificationFailed(failing, .authoritativeServerNotFound))
        let afterFailure = harness.handle(.verificationRequested(Self.request("a3.partners.example"), inbound: three))
        #expect(InboundLimitsTests.closedInbound(afterFailure).isEmpty, "the failed request no longer counts")

        _ = harness.handle(.inboundClosed(two))
        let afterClose = harness.handle(.verificationRequested(Self.request("a4.partners.example"), inbound: one))
        #expect(InboundLimitsTests.closedInbound(afterClose).isEmpty, "the closed stream's request no longer counts")
        let full = harness.handle(.verificationRequested(Self.request("a5.partners.example"), inbound: one))
        #expect(InboundLimitsTests.closedInbound(full).map(\.0) == [one], "two outstanding again: the limit holds")
    }

    @Test("requests for one pair share its verification connection, from any stream")
    func sharedPerPair() {
        var harness = Self.harness()
        let (one, two) = (ConnectionID(.inbound, 1), ConnectionID(.inbound, 2))
        _ = harness.handle(.inboundAccepted(one, source: H.source))
        _ = harness.handle(.inboundAccepted(two, source: "198.51.100.7"))
        let first = Self.connects(harness.handle(.verificationRequested(Self.request("a1.partners.example", "s1"), inbound: one)))
        let second = Self.connects(harness.handle(.verificationRequested(Self.request("a1.partners.example", "s2"), inbound: two)))
        #expect(first.count == 1 && second.isEmpty)
    }

    @Test("with every connection slot taken, a verification fails at once with resource-constraint instead of dialing")
    func noSlot() {
        var harness = Self.harness(FederationSettings(connectionLimit: 2))
        let (one, two) = (ConnectionID(.inbound, 1), ConnectionID(.inbound, 2))
        _ = harness.handle(.inboundAccepted(one, source: H.source))
        _ = harness.handle(.inboundAccepted(two, source: H.source))
        let request = Self.request("a1.partners.example")
        let actions = harness.handle(.verificationRequested(request, inbound: one))
        #expect(Self.connects(actions).isEmpty)
        #expect(actions.contains(.failVerification(request, .noConnectionSlot, on: one)))
        #expect(DialbackVerificationFailure.noConnectionSlot.condition == .resourceConstraint)
    }
}
