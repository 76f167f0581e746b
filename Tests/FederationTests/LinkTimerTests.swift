import Federation
import Testing

@Suite("Links: idle links and keep-alives")
struct LinkTimerTests {
    @Test("a link that carried no stanza for the inactivity timeout is closed, without linkDown")
    func idleClose() throws {
        var table = try LinkPolicies.established()
        #expect(!table.tick(now: at(599)).lines.contains("close link-1 (idle)"))
        #expect(table.tick(now: at(600)).lines == ["close link-1 (idle)"])
        #expect(table.openConnections == 0)
        #expect(table.domains.isEmpty)
        #expect(table.linkLost("remote.example", now: at(600)) == [])
        #expect(table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: at(601)).lines == ["connect remote.example #1"])
        #expect(!table.connectionSucceeded("remote.example", now: at(602)).lines.contains("link up remote.example"))
    }

    @Test("sending a stanza postpones the idle close")
    func activityPostponesClose() throws {
        var table = try LinkPolicies.established()
        #expect(table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: at(500)).sentIDs == ["m2"])
        #expect(table.tick(now: at(600)).isEmpty)
        #expect(table.tick(now: at(1100)).lines == ["close link-1 (idle)"])
    }

    @Test("keep-alives are due every keep-alive interval after the last write, and do not count as activity")
    func keepAlives() throws {
        var table = try LinkPolicies.established()
        #expect(table.nextDeadline == at(300))
        #expect(table.tick(now: at(299)) == [])
        #expect(table.tick(now: at(300)).lines == ["ping remote.example ping-1"])
        #expect(table.pongReceived(from: "remote.example", id: "ping-1") == true)
        #expect(table.tick(now: at(301)) == [])
        #expect(table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: at(350)).sentIDs == ["m2"])
        #expect(table.tick(now: at(649)) == [])
        #expect(table.tick(now: at(650)).lines == ["ping remote.example ping-2"])
        #expect(table.pongReceived(from: "remote.example", id: "ping-2") == true)
        #expect(table.tick(now: at(950)).lines == ["close link-1 (idle)"])
    }

    @Test("with many links, the next deadline follows each link's own timers as they move, and a tick touches only the links due")
    func deadlinesAcrossLinks() throws {
        var table = LinkTable(policy: try LinkPolicies.open())
        let name = { (number: Int) in "r" + (number < 10 ? "0" : "") + "\(number).example" }
        for number in 0..<50 {
            _ = table.stanzaToSend(LinkStanzas.message("m\(number)", to: name(number)), to: name(number), now: at(Double(number)))
        }
        #expect(table.gauges.connecting == 50 && table.gauges.queuedStanzas == 50)
        #expect(table.nextDeadline == at(120), "the first stanza queued expires first")
        for number in 0..<50 { _ = table.connectionSucceeded(name(number), now: at(Double(number))) }
        #expect(table.gauges.established == 50 && table.gauges.connecting == 0 && table.gauges.queuedStanzas == 0)
        #expect(table.nextDeadline == at(300), "r00's keep-alive")

        // r00 and r01 write again: their keep-alives move later, and r02's is next.
        _ = table.stanzaToSend(LinkStanzas.message("n0", to: name(0)), to: name(0), now: at(100))
        _ = table.stanzaToSend(LinkStanzas.message("n1", to: name(1)), to: name(1), now: at(101))
        #expect(table.nextDeadline == at(302))
        #expect(table.tick(now: at(301)) == [], "no link is due before r02")
        #expect(table.tick(now: at(303)).lines == ["ping r02.example ping-1", "ping r03.example ping-2"])
        #expect(table.nextDeadline == at(304))
        #expect(table.tick(now: at(350)).lines == (4..<50).map { "ping \(name($0)) ping-\($0 - 1)" })
        #expect(table.nextDeadline == at(363), "the pings of r02 and r03 go unanswered at 303 + 60")
        #expect(
            table.tick(now: at(363)).lines
                == ["close link-3 (ping unanswered)", "link down r02.example", "close link-4 (ping unanswered)", "link down r03.example"]
        )
        #expect(table.gauges.established == 48)
        #expect(table.nextDeadline == at(400), "r00's keep-alive; the pings sent at 350 go unanswered at 410")
    }

    @Test("with pings off, keep-alives are whitespace")
    func whitespaceWithPingsOff() throws {
        let settings = FederationSettings(pingTimeout: nil)
        var table = try LinkPolicies.established(policy: LinkPolicies.open(settings: settings))
        #expect(table.tick(now: at(300)).lines == ["keep-alive link-1"])
        #expect(table.nextDeadline == at(600))
        #expect(table.tick(now: at(600)).lines == ["close link-1 (idle)"])
    }

    @Test("partners with keep-alive off never get one")
    func keepAliveOff() throws {
        let policy = try LinkPolicies.open(partners: [LinkPolicies.partner("quiet.example", keepAlive: false)])
        var table = try LinkPolicies.established(policy: policy, domain: "quiet.example")
        #expect(table.nextDeadline == at(600))
        #expect(table.tick(now: at(300)) == [])
        #expect(table.tick(now: at(599)) == [])
        #expect(table.tick(now: at(600)).lines == ["close link-1 (idle)"])
    }

    @Test("the timers come from FederationSettings; a keep-alive due while a ping is outstanding is whitespace")
    func configuredTimers() throws {
        let settings = FederationSettings(inactivityTimeout: .seconds(50), keepAliveInterval: .seconds(20), pingTimeout: .seconds(45))
        var table = try LinkPolicies.established(policy: LinkPolicies.open(settings: settings))
        #expect(table.tick(now: at(20)).lines == ["ping remote.example ping-1"])
        #expect(table.nextDeadline == at(40))
        #expect(table.tick(now: at(40)).lines == ["keep-alive link-1"])
        #expect(table.nextDeadline == at(50))
        #expect(table.tick(now: at(50)).lines == ["close link-1 (idle)"])
    }

    @Test("the next deadline is the earliest of expiry, retry, idle close and keep-alive")
    func nextDeadline() throws {
        var table = try LinkPolicies.table()
        var generator = SplitMix64(seed: 9)
        #expect(table.nextDeadline == nil)
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "a.example", now: at(10))
        #expect(table.nextDeadline == at(130))
        let retry = table.connectionFailed("a.example", .temporary(reason: "refused"), now: at(11), using: &generator)
        let retryAt = try #require(retry.last?.retryAt)
        #expect(retryAt <= at(12))
        #expect(table.nextDeadline == retryAt)
    }
}

@Suite("Links: instants")
struct LinkInstantTests {
    @Test("instants order and subtract by their offset from the origin")
    func arithmetic() {
        #expect(at(1) < at(2))
        #expect(at(5) - at(2) == .seconds(3))
        #expect(at(2) + .milliseconds(500) == at(2.5))
        #expect(at(2) - .seconds(3) == LinkInstant(sinceOrigin: .seconds(-1)))
    }

    @Test("a ContinuousClock instant is measured from the process's origin")
    func fromContinuousClock() {
        let origin = ContinuousClock.now
        #expect(LinkInstant(origin.advanced(by: .seconds(42)), origin: origin) == at(42))
    }
}
