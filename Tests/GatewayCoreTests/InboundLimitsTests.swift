import Federation
import GatewayCore
import Testing
import XMPP

@Suite("GatewayCore: inbound connections counted, timed and refused")
struct InboundLimitsTests {
    typealias H = CoreHarness

    static func closedInbound(_ actions: [GatewayCore.Action]) -> [(ConnectionID, StreamError?)] {
        actions.compactMap { action in
            if case .closeInbound(let connection, let error) = action { return (connection, error) }
            return nil
        }
    }

    static func accept(_ harness: inout H, _ number: UInt64, from source: String = H.source, at seconds: Double? = nil) -> [GatewayCore.Action] {
        harness.handle(.inboundAccepted(ConnectionID(.inbound, number), source: source), at: seconds)
    }

    @Test("a connection that has not authenticated by the establishment timeout is cut with connection-timeout, whatever it sent")
    func establishmentTimeout() throws {
        var harness = H(settings: FederationSettings(streamEstablishmentTimeout: .seconds(10)))
        let accepted = Self.accept(&harness, 1)
        #expect(accepted.contains(.armTimer(at: LinkInstant(sinceOrigin: .seconds(10)))), "its deadline is armed at accept")
        #expect(Self.closedInbound(harness.handle(.tick, at: 9.999)).isEmpty)

        let due = harness.handle(.tick, at: 10)
        let cut = Self.closedInbound(due)
        #expect(cut.map(\.0) == [ConnectionID(.inbound, 1)])
        #expect(cut.first?.1?.condition == .connectionTimeout)
        #expect(due.contains(.metric(.inboundLimit(.establishmentTimeout))))
        #expect(Self.closedInbound(harness.handle(.tick, at: 20)).isEmpty, "cut once: its close is on the way")
        _ = harness.handle(.inboundClosed(ConnectionID(.inbound, 1)))
        #expect(harness.core.inbound.streams.isEmpty)
    }

    @Test("an authenticated stream is not cut at the establishment timeout, but politely closed once idle for the inactivity timeout")
    func inactivityTimeout() throws {
        var harness = H(settings: FederationSettings(streamEstablishmentTimeout: .seconds(10), inactivityTimeout: .seconds(30)))
        let stream = harness.inboundStream(1)
        #expect(Self.closedInbound(harness.handle(.tick, at: 10)).isEmpty)

        _ = harness.handle(.stanzaReceived(H.presenceFromBob(), on: stream), at: 25)
        #expect(Self.closedInbound(harness.handle(.tick, at: 30)).isEmpty, "a stanza at 25 s moved its deadline to 55 s")
        #expect(Self.closedInbound(harness.handle(.tick, at: 54.9)).isEmpty)
        let idle = harness.handle(.tick, at: 55)
        let closed = Self.closedInbound(idle)
        #expect(closed.map(\.0) == [stream])
        #expect(closed.first.map { $0.1 == nil } == true, "no stream error: the peer did nothing wrong")
        #expect(idle.contains(.metric(.inboundLimit(.inactivityTimeout))))
    }

    @Test("deadlines come due earliest first, whatever the order streams came in; a stream closed, or active since, no longer sets the next one")
    func deadlineOrder() throws {
        var harness = H(settings: FederationSettings(streamEstablishmentTimeout: .seconds(10), inactivityTimeout: .seconds(30)))
        let at = { (seconds: Int64) in LinkInstant(sinceOrigin: .seconds(seconds)) }
        let authenticated = harness.inboundStream(1)
        _ = Self.accept(&harness, 2, at: 2)
        _ = Self.accept(&harness, 3, at: 4)
        for second in stride(from: 5.0, through: 11, by: 0.5) {
            _ = harness.handle(.stanzaReceived(H.presenceFromBob(), on: authenticated), at: second)
        }
        _ = harness.handle(.inboundClosed(ConnectionID(.inbound, 2)), at: 11.5)
        let first = harness.handle(.tick, at: 12)
        #expect(Self.closedInbound(first).isEmpty, "stream 2, due at 12 s, is gone")
        #expect(first.contains(.armTimer(at: at(14))), "next: stream 3, accepted at 4 s")
        let second = harness.handle(.tick, at: 14)
        #expect(Self.closedInbound(second).map(\.0) == [ConnectionID(.inbound, 3)])
        #expect(second.contains(.armTimer(at: at(41))), "next: stream 1, last active at 11 s, not at any earlier stanza")
        #expect(Self.closedInbound(harness.handle(.tick, at: 40.9)).isEmpty)
        #expect(Self.closedInbound(harness.handle(.tick, at: 41)).map(\.0) == [authenticated])
        #expect(Self.closedInbound(harness.handle(.tick, at: 80)).isEmpty, "each is cut once")
    }

    @Test("one address may hold the source limit of unauthenticated connections; one that authenticates frees its place")
    func sourceConnectionLimit() throws {
        var harness = H(settings: FederationSettings(sourceConnectionLimit: 2))
        #expect(Self.closedInbound(Self.accept(&harness, 1) + Self.accept(&harness, 2)).isEmpty)
        let third = Self.accept(&harness, 3)
        #expect(Self.closedInbound(third).map(\.0) == [ConnectionID(.inbound, 3)])
        #expect(Self.closedInbound(third).first?.1?.condition == .policyViolation)
        #expect(third.contains(.metric(.inboundLimit(.sourceConnectionLimit))))
        #expect(harness.core.inbound.streams[ConnectionID(.inbound, 3)] == nil, "a refused connection is never recorded")
        #expect(Self.closedInbound(Self.accept(&harness, 4, from: "198.51.100.7")).isEmpty, "another address has its own places")

        _ = harness.handle(.inboundAuthenticated(ConnectionID(.inbound, 1), H.contoso, .saslOverTLS, .startTLS))
        #expect(Self.closedInbound(Self.accept(&harness, 5)).isEmpty, "connection 1 authenticated")
        _ = harness.handle(.inboundClosed(ConnectionID(.inbound, 2)))
        #expect(Self.closedInbound(Self.accept(&harness, 6)).isEmpty, "connection 2 closed")
        #expect(Self.closedInbound(Self.accept(&harness, 7)).map(\.0) == [ConnectionID(.inbound, 7)])
    }

    @Test("connection-limit counts inbound and outbound connections together: a full gateway refuses with resource-constraint, and a link waits")
    func connectionLimitOverBoth() throws {
        var harness = H(settings: FederationSettings(connectionLimit: 3))
        let (link, _) = harness.establish(harness.handle(.action(H.chat("m1", "hello"))))
        #expect(Self.closedInbound(Self.accept(&harness, 1) + Self.accept(&harness, 2)).isEmpty)
        let refused = Self.accept(&harness, 3)
        #expect(Self.closedInbound(refused).first?.1?.condition == .resourceConstraint)
        #expect(refused.contains(.metric(.inboundLimit(.connectionLimit))))

        _ = harness.handle(.connectionClosed(link))
        #expect(Self.closedInbound(Self.accept(&harness, 4)).isEmpty, "the link's slot is free")
    }

    @Test("a link with queued stanzas waits while inbound streams hold every slot, and connects as one closes")
    func linkWaitsForInboundSlot() throws {
        var harness = H(settings: FederationSettings(connectionLimit: 2))
        _ = harness.inboundStream(1)
        _ = harness.inboundStream(2)
        let queued = harness.handle(.action(H.chat("m1", "hello")))
        #expect(H.linkAttempt(in: queued) == nil, "both slots are held by inbound streams")
        let freed = harness.handle(.inboundClosed(ConnectionID(.inbound, 2)))
        #expect(H.linkAttempt(in: freed) != nil)
    }

    @Test("a partner may authenticate as many inbound streams as its connection limit; one more is closed with policy-violation")
    func partnerConnectionLimit() throws {
        var harness = H(settings: FederationSettings(partnerConnectionLimit: 2))
        _ = harness.inboundStream(1)
        _ = harness.inboundStream(2)
        _ = Self.accept(&harness, 3)
        let third = harness.handle(.inboundAuthenticated(ConnectionID(.inbound, 3), H.contoso, .tcpDialback, .none))
        #expect(Self.closedInbound(third).map(\.0) == [ConnectionID(.inbound, 3)])
        #expect(Self.closedInbound(third).first?.1?.condition == .policyViolation)
        #expect(third.contains(.metric(.inboundLimit(.partnerConnectionLimit))))

        let second = harness.handle(.inboundAuthenticated(ConnectionID(.inbound, 2), H.contoso, .tcpDialback, .none))
        #expect(Self.closedInbound(second).isEmpty, "authenticating again on a stream that already holds the partner's place")
        _ = harness.handle(.inboundClosed(ConnectionID(.inbound, 1)))
        _ = Self.accept(&harness, 4)
        #expect(Self.closedInbound(harness.handle(.inboundAuthenticated(ConnectionID(.inbound, 4), H.contoso, .tcpDialback, .none))).isEmpty)

        // Streams we cut free their places at once, and only once when their close comes back.
        #expect(Self.closedInbound(harness.handle(.tick, at: 601)).map(\.0) == [ConnectionID(.inbound, 2), ConnectionID(.inbound, 4)])
        _ = harness.handle(.inboundClosed(ConnectionID(.inbound, 2)))
        for number: UInt64 in 5...6 {
            _ = Self.accept(&harness, number)
            #expect(Self.closedInbound(harness.handle(.inboundAuthenticated(ConnectionID(.inbound, number), H.contoso, .tcpDialback, .none))).isEmpty)
        }
        _ = Self.accept(&harness, 7)
        #expect(Self.closedInbound(harness.handle(.inboundAuthenticated(ConnectionID(.inbound, 7), H.contoso, .tcpDialback, .none))).map(\.0) == [ConnectionID(.inbound, 7)])
    }

    @Test("near the descriptor limit the listeners pause, and they resume once a tenth of the margin is free again")
    func descriptorReserve() throws {
        // 40 descriptors, 20 in reserve: 20 connections may be open; accepting resumes below 18.
        var harness = H(settings: FederationSettings(sourceConnectionLimit: 100, descriptorReserve: 20), descriptorLimit: 40)
        for number in 1...19 {
            #expect(!Self.accept(&harness, UInt64(number)).contains(.pauseAccepting))
        }
        let full = Self.accept(&harness, 20)
        #expect(full.contains(.pauseAccepting))
        #expect(!harness.handle(.inboundClosed(ConnectionID(.inbound, 20))).contains(.resumeAccepting), "19 open: not yet")
        #expect(!harness.handle(.inboundClosed(ConnectionID(.inbound, 19))).contains(.resumeAccepting), "18 open: not yet")
        let resumed = harness.handle(.inboundClosed(ConnectionID(.inbound, 18)))
        #expect(resumed.contains(.resumeAccepting))
        #expect(!harness.handle(.inboundClosed(ConnectionID(.inbound, 17))).contains(.resumeAccepting), "said once")
    }

    @Test("a reload's settings apply to the connections accepted after it")
    func reloadedSettings() throws {
        var harness = H(settings: FederationSettings(sourceConnectionLimit: 1))
        _ = Self.accept(&harness, 1)
        #expect(!Self.closedInbound(Self.accept(&harness, 2)).isEmpty)
        let policy = FederationPolicy(partners: harness.core.configuration.policy.partners, settings: FederationSettings(sourceConnectionLimit: 2))
        _ = harness.handle(.reconfigured(policy, harness.core.configuration.translation))
        #expect(Self.closedInbound(Self.accept(&harness, 3)).isEmpty)
    }
}
