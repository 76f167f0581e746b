import Federation
import Testing
import XMPP

@Suite("Links: link lost and back, shutdown, policy changes")
struct LinkLifecycleTests {
    @Test("a lost link reports linkDown, reconnects only for queued stanzas, and reports linkUp when back")
    func lostAndBack() throws {
        var table = try LinkPolicies.table()
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        #expect(!table.connectionSucceeded("remote.example", now: at(1)).lines.contains("link up remote.example"))

        #expect(table.linkLost("remote.example", now: at(2)).lines == ["link down remote.example"])
        #expect(table.openConnections == 0)
        #expect(table.domains.isEmpty)
        #expect(table.linkLost("remote.example", now: at(2)) == [])

        #expect(table.stanzaToSend(LinkStanzas.presence("probe"), to: "remote.example", now: at(3)).lines == ["connect remote.example #1"])
        #expect(table.connectionSucceeded("remote.example", now: at(4)).lines == ["send probe to remote.example", "link up remote.example"])
        #expect(table.linkLost("remote.example", now: at(5)).lines == ["link down remote.example"])
    }

    @Test("linkUp waits for the link that actually comes back, through failed attempts")
    func linkUpAfterFailures() throws {
        var table = try LinkPolicies.table()
        var generator = SplitMix64(seed: 5)
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        _ = table.connectionSucceeded("remote.example", now: at(0))
        _ = table.linkLost("remote.example", now: at(1))
        _ = table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: at(1))
        let failed = table.connectionFailed("remote.example", .temporary(reason: "reset"), now: at(2), using: &generator)
        #expect(!failed.lines.contains("link up remote.example"))
        let retryAt = try #require(failed.last?.retryAt)
        #expect(table.tick(now: retryAt).lines == ["connect remote.example #2"])
        #expect(table.connectionSucceeded("remote.example", now: retryAt).lines == ["send m2 to remote.example", "link up remote.example"])
    }

    @Test("link lost for an attempt or an unknown domain is ignored")
    func lostWithoutLink() throws {
        var table = try LinkPolicies.table()
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        #expect(table.linkLost("remote.example", now: at(1)) == [])
        #expect(table.linkLost("other.example", now: at(1)) == [])
        #expect(table.status(of: "remote.example")?.phase == .connecting(attempt: 1))
    }

    @Test("shutdown closes links and attempts and hands back every queued stanza, bouncing none")
    func shutdown() throws {
        var table = try LinkPolicies.table()
        var generator = SplitMix64(seed: 6)
        _ = table.stanzaToSend(LinkStanzas.message("up1"), to: "up.example", now: at(0))
        _ = table.connectionSucceeded("up.example", now: at(0))
        _ = table.stanzaToSend(LinkStanzas.message("c1"), to: "connecting.example", now: at(1))
        _ = table.stanzaToSend(LinkStanzas.message("c2"), to: "connecting.example", now: at(2))
        _ = table.stanzaToSend(LinkStanzas.message("r1"), to: "retry.example", now: at(3))
        _ = table.connectionFailed("retry.example", .temporary(reason: "refused"), now: at(4), using: &generator)

        let attempt = table.connection("connecting.example")
        let result = table.shutdown()
        #expect(result.actions.lines == ["close link-2 (shutting down)", "close link-1 (shutting down)"])
        func queued(_ id: String, _ domain: String, _ queuedAt: LinkInstant) -> LinkTable.QueuedStanza {
            LinkTable.QueuedStanza(OutboundStanza(LinkStanzas.message(id), on: link(domain)), queuedAt: queuedAt, size: LinkStanzas.size(LinkStanzas.message(id)))
        }
        #expect(result.unsent == [queued("c1", "connecting.example", at(1)), queued("c2", "connecting.example", at(2)), queued("r1", "retry.example", at(3))])
        #expect(table.domains.isEmpty)
        #expect(table.openConnections == 0)
        #expect(table.nextDeadline == nil)
        #expect(table.connectionSucceeded(attempt, now: at(5)).lines == ["close link-2 (not wanted)"])
    }

    @Test("a reloaded policy that refuses a domain closes its attempt and bounces its queue not-allowed")
    func policyChangedDuringAttempt() throws {
        var table = try LinkPolicies.table()
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        let attempt = table.connection("remote.example")
        let actions = table.replacePolicy(try LinkPolicies.open(blocklist: ["remote.example"]))
        #expect(actions.lines.first == "close link-1 (may no longer federate: blocked by pattern remote.example)")
        #expect(actions.bouncedIDs == ["m1"])
        #expect(actions.bounceErrors.map(\.condition) == [.notAllowed])
        #expect(!actions.lines.contains("link down remote.example"), "an attempt was never up")
        #expect(table.openConnections == 0)
        #expect(table.domains.isEmpty)
        #expect(table.connectionSucceeded(attempt, now: at(1)).lines == ["close link-1 (not wanted)"], "a late success is not adopted")
    }

    @Test("a reloaded policy closes an established link it refuses, reports it down, and gives the slot to a waiting domain")
    func policyChangedOnEstablishedLink() throws {
        var table = LinkTable(policy: try LinkPolicies.open(settings: FederationSettings(connectionLimit: 1)))
        _ = table.stanzaToSend(LinkStanzas.message("a1", to: "a.example"), to: "a.example", now: at(0))
        _ = table.connectionSucceeded("a.example", now: at(1))
        #expect(table.stanzaToSend(LinkStanzas.message("b1", to: "b.example"), to: "b.example", now: at(2)) == [])
        let actions = table.replacePolicy(try LinkPolicies.open(blocklist: ["a.example"], settings: FederationSettings(connectionLimit: 1)))
        #expect(actions.lines == ["close link-1 (may no longer federate: blocked by pattern a.example)", "link down a.example", "connect b.example #1"])
        #expect(table.status(of: "a.example") == nil)
        #expect(table.stanzaToSend(LinkStanzas.message("a2", to: "a.example"), to: "a.example", now: at(3)).bounceErrors.map(\.condition) == [.notAllowed])
    }

    @Test("a domain refused by a reload and allowed by the next reports linkUp when its link is back (regression: its contacts stayed offline)")
    func refusedThenAllowedAgain() throws {
        let open = try LinkPolicies.open()
        var table = LinkTable(policy: open)
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        _ = table.connectionSucceeded("remote.example", now: at(1))
        #expect(table.replacePolicy(try LinkPolicies.open(blocklist: ["remote.example"])).lines.contains("link down remote.example"))
        _ = table.replacePolicy(open)
        _ = table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: at(2))
        #expect(table.connectionSucceeded("remote.example", now: at(3)).lines == ["send m2 to remote.example", "link up remote.example"])
    }

    @Test("a reloaded policy that still allows a domain leaves its link alone")
    func policyChangedKeepsAllowedLink() throws {
        var table = try LinkPolicies.table()
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        _ = table.connectionSucceeded("remote.example", now: at(1))
        #expect(table.replacePolicy(try LinkPolicies.open(blocklist: ["other.example"])) == [])
        #expect(table.status(of: "remote.example")?.phase == .established)
    }
}

@Suite("Links: connection limits")
struct LinkLimitTests {
    @Test("over the global limit stanzas wait, and a freed slot goes to the oldest waiting stanza")
    func globalLimit() throws {
        var table = LinkTable(policy: try LinkPolicies.open(settings: FederationSettings(connectionLimit: 2)))
        var generator = SplitMix64(seed: 8)
        #expect(table.stanzaToSend(LinkStanzas.message("a"), to: "a.example", now: at(0)).lines == ["connect a.example #1"])
        #expect(table.stanzaToSend(LinkStanzas.message("b"), to: "b.example", now: at(1)).lines == ["connect b.example #1"])
        #expect(table.stanzaToSend(LinkStanzas.message("d"), to: "d.example", now: at(2)) == [])
        #expect(table.stanzaToSend(LinkStanzas.message("c"), to: "c.example", now: at(3)) == [])
        #expect(table.status(of: "d.example")?.phase == .waitingForSlot)
        #expect(table.openConnections == 2)

        let failed = table.connectionFailed("a.example", .temporary(reason: "refused"), now: at(4), using: &generator)
        #expect(failed.filter(\.isConnect).lines == ["connect d.example #1"])
        #expect(table.openConnections == 2)

        _ = table.connectionSucceeded("b.example", now: at(5))
        #expect(table.linkLost("b.example", now: at(6)).lines == ["link down b.example", "connect c.example #1"])
        #expect(table.openConnections == 2)
    }

    @Test("a due retry waits for a slot like everyone else")
    func retryWaitsForSlot() throws {
        var table = LinkTable(policy: try LinkPolicies.open(settings: FederationSettings(connectionLimit: 1)))
        var generator = SplitMix64(seed: 10)
        _ = table.stanzaToSend(LinkStanzas.message("a"), to: "a.example", now: at(0))
        let retryAt = try #require(table.connectionFailed("a.example", .temporary(reason: "refused"), now: at(0), using: &generator).last?.retryAt)
        _ = table.stanzaToSend(LinkStanzas.message("b"), to: "b.example", now: retryAt)
        _ = table.connectionSucceeded("b.example", now: retryAt)
        #expect(table.tick(now: retryAt + .seconds(1)).filter(\.isConnect).isEmpty)
        #expect(table.status(of: "a.example")?.phase == .waitingForSlot)
        #expect(table.linkLost("b.example", now: retryAt + .seconds(2)).lines == ["link down b.example", "connect a.example #2"])
    }

    @Test("a partner's own limit caps its domains together, leaving other partners alone")
    func partnerLimit() throws {
        let policy = try LinkPolicies.open(partners: [LinkPolicies.partner("*.fabrikam.example", connectionLimit: 1)])
        var table = LinkTable(policy: policy)
        #expect(table.stanzaToSend(LinkStanzas.message("1"), to: "a.fabrikam.example", now: at(0)).lines == ["connect a.fabrikam.example #1"])
        #expect(table.stanzaToSend(LinkStanzas.message("2"), to: "b.fabrikam.example", now: at(0)) == [])
        #expect(table.stanzaToSend(LinkStanzas.message("3"), to: "contoso.example", now: at(0)).lines == ["connect contoso.example #1"])
        _ = table.connectionSucceeded("a.fabrikam.example", now: at(1))
        #expect(table.linkLost("a.fabrikam.example", now: at(2)).lines == ["link down a.fabrikam.example", "connect b.fabrikam.example #1"])
    }

    @Test("the global per-partner default applies to partners without their own limit")
    func defaultPartnerLimit() throws {
        let settings = FederationSettings(partnerConnectionLimit: 2)
        let policy = try LinkPolicies.open(partners: [LinkPolicies.partner("*.fabrikam.example")], settings: settings)
        var table = LinkTable(policy: policy)
        var connects: [LinkTable.Action] = []
        for name in ["a", "b", "c"] {
            connects += table.stanzaToSend(LinkStanzas.message(name), to: "\(name).fabrikam.example", now: at(0))
        }
        #expect(connects.lines == ["connect a.fabrikam.example #1", "connect b.fabrikam.example #1"])
    }
}
