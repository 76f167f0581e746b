import Federation
import Testing
import XMLStreaming
import XMPP

@Suite("Links: queueing, flushing and refusals")
struct LinkQueueTests {
    @Test("stanzas wait for the link, one attempt starts, and the queue is flushed in order")
    func queueThenFlush() throws {
        var table = try LinkPolicies.table()
        #expect(table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0)).lines == ["connect remote.example #1"])
        #expect(table.stanzaToSend(LinkStanzas.presence("p2"), to: "remote.example", now: at(1)) == [])
        #expect(table.stanzaToSend(LinkStanzas.iq("i3", type: "get"), to: "remote.example", now: at(2)) == [])
        #expect(table.status(of: "remote.example")?.queuedStanzas == 3)

        let flushed = table.connectionSucceeded("remote.example", now: at(3))
        #expect(flushed.lines == [
            "send m1 to remote.example",
            "send p2 to remote.example",
            "send i3 to remote.example",
        ])
        #expect(table.status(of: "remote.example")?.queuedStanzas == 0)
        #expect(table.stanzaToSend(LinkStanzas.message("m4"), to: "remote.example", now: at(4)).lines == ["send m4 to remote.example"])
    }

    @Test("one link per domain, however the domain is spelled")
    func oneLinkPerDomain() throws {
        var table = try LinkPolicies.table()
        var actions = table.stanzaToSend(LinkStanzas.message("m1"), to: "Remote.Example", now: at(0))
        actions += table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example.", now: at(0))
        actions += table.stanzaToSend(LinkStanzas.message("m3"), to: "other.example", now: at(0))
        #expect(actions.lines == ["connect remote.example #1", "connect other.example #1"])
        #expect(table.domains == ["other.example", "remote.example"])
        #expect(table.openConnections == 2)
    }

    @Test("a domain that may not federate gets cancel/not-allowed at once", arguments: ["blocked.example", "bad domain", "alice@remote.example"])
    func notAllowed(domain: String) throws {
        var table = try LinkPolicies.table()
        let message = LinkStanzas.message("m1", to: "remote.example")
        let actions = table.stanzaToSend(message, to: domain, now: at(0))
        try #require(actions.count == 1)
        guard case .bounce(let reply, _) = actions[0] else {
            Issue.record("expected a bounce, got \(actions)")
            return
        }
        #expect(reply.name == "message")
        #expect(reply["type"] == "error")
        #expect(reply["id"] == "m1")
        #expect(reply["to"] == LinkStanzas.sender)
        #expect(reply["from"] == "bob@remote.example")
        let error = try #require(StanzaError(stanza: reply))
        #expect(error.condition == .notAllowed)
        #expect(error.type == .cancel)
        #expect(table.domains.isEmpty)
        #expect(table.openConnections == 0)
    }

    @Test("allowlist mode refuses unlisted domains and queues for listed ones")
    func allowlist() throws {
        let policy = FederationPolicy(mode: .allowlist, partners: [try LinkPolicies.partner("*.fabrikam.example")])
        var table = LinkTable(policy: policy)
        #expect(table.stanzaToSend(LinkStanzas.message("m1"), to: "eu.fabrikam.example", now: at(0)).lines == ["connect eu.fabrikam.example #1"])
        let refused = table.stanzaToSend(LinkStanzas.message("m2"), to: "contoso.example", now: at(0))
        #expect(refused.bounceErrors.map(\.condition) == [.notAllowed])
    }

    @Test("a queue holding the stanza limit refuses more with wait/resource-constraint")
    func countLimit() throws {
        var table = try LinkPolicies.table(settings: LinkSettings(maxQueuedStanzas: 3))
        var actions: [LinkTable.Action] = []
        for index in 1...5 {
            actions += table.stanzaToSend(LinkStanzas.message("m\(index)"), to: "remote.example", now: at(Double(index)))
        }
        #expect(actions.filter(\.isConnect).count == 1)
        #expect(actions.bouncedIDs == ["m4", "m5"])
        for error in actions.bounceErrors {
            #expect(error.condition == .resourceConstraint)
            #expect(error.type == .wait)
        }
        #expect(table.connectionSucceeded("remote.example", now: at(6)).sentIDs == ["m1", "m2", "m3"])
    }

    @Test("the byte limit counts serialized sizes, and the stanza that would cross it is refused")
    func byteLimit() throws {
        let first = LinkStanzas.message("m1", body: String(repeating: "a", count: 100))
        let second = LinkStanzas.message("m2", body: String(repeating: "b", count: 100))
        let third = LinkStanzas.message("m3", body: "c")
        let limit = LinkStanzas.size(first) + LinkStanzas.size(second)
        var table = try LinkPolicies.table(settings: LinkSettings(maxQueuedBytes: limit))

        _ = table.stanzaToSend(first, to: "remote.example", now: at(0))
        #expect(table.stanzaToSend(second, to: "remote.example", now: at(0)) == [])
        #expect(table.status(of: "remote.example")?.queuedBytes == limit)
        let refused = table.stanzaToSend(third, to: "remote.example", now: at(0))
        #expect(refused.bouncedIDs == ["m3"])
        #expect(refused.bounceErrors.map(\.condition) == [.resourceConstraint])
        #expect(refused.bounceErrors.map(\.type) == [.wait])
    }

    @Test("a single stanza larger than the byte limit is refused even by an empty queue")
    func oversized() throws {
        let huge = LinkStanzas.message("big", body: String(repeating: "x", count: 2000))
        var table = try LinkPolicies.table(settings: LinkSettings(maxQueuedBytes: 1000))
        let actions = table.stanzaToSend(huge, to: "remote.example", now: at(0))
        #expect(actions.bouncedIDs == ["big"])
        #expect(actions.filter(\.isConnect).isEmpty)
        #expect(table.domains.isEmpty)
    }

    @Test("a stanza that waited the age limit is bounced with wait/remote-server-timeout by the next tick")
    func ageLimitByTick() throws {
        var table = try LinkPolicies.table()
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        _ = table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: at(60))
        #expect(table.nextDeadline == at(120))
        #expect(table.tick(now: at(119.999)) == [])

        let expired = table.tick(now: at(120))
        #expect(expired.bouncedIDs == ["m1"])
        #expect(expired.bounceErrors == [StanzaError(.remoteServerTimeout, text: "no link to remote.example within 120.0 seconds")])
        #expect(expired.bounceErrors.map(\.type) == [.wait])
        #expect(table.nextDeadline == at(180))
        #expect(table.tick(now: at(180)).bouncedIDs == ["m2"])
        #expect(table.status(of: "remote.example")?.queuedStanzas == 0)
    }

    @Test("the next event for the domain bounces what expired before doing anything else")
    func ageLimitByEvent() throws {
        var table = try LinkPolicies.table()
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        let actions = table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: at(130))
        #expect(actions.bouncedIDs == ["m1"])
        #expect(table.connectionSucceeded("remote.example", now: at(131)).sentIDs == ["m2"])
    }

    @Test("the link coming up after the age limit bounces the expired stanzas instead of sending them")
    func expiredBeforeFlush() throws {
        var table = try LinkPolicies.table()
        _ = table.stanzaToSend(LinkStanzas.message("old"), to: "remote.example", now: at(0))
        _ = table.stanzaToSend(LinkStanzas.message("new"), to: "remote.example", now: at(100))
        let actions = table.connectionSucceeded("remote.example", now: at(125))
        #expect(actions.bouncedIDs == ["old"])
        #expect(actions.sentIDs == ["new"])
    }
}

@Suite("Links: errors and results are never bounced")
struct LinkNoBounceTests {
    /// Stanzas that must never be answered with an error.
    static let unanswerable: [XMLElement] = [
        LinkStanzas.message("e1", type: "error"),
        LinkStanzas.presence("e2", type: "error"),
        LinkStanzas.iq("e3", type: "error"),
        LinkStanzas.iq("r1", type: "result"),
        LinkStanzas.message("nf", from: nil),
    ]

    enum Cause: String, CaseIterable, Sendable {
        case notAllowed, queueFull, expired, notFound
    }

    @Test("each refusal discards instead of bouncing", arguments: unanswerable, Cause.allCases)
    func discarded(element: XMLElement, cause: Cause) throws {
        var table = try LinkPolicies.table(settings: LinkSettings(maxQueuedStanzas: 1))
        var generator = SplitMix64(seed: 7)
        var actions: [LinkTable.Action] = []
        let expected: StanzaError.Condition
        switch cause {
        case .notAllowed:
            actions = table.stanzaToSend(element, to: "blocked.example", now: at(0))
            expected = .notAllowed
        case .queueFull:
            _ = table.stanzaToSend(LinkStanzas.message("filler"), to: "remote.example", now: at(0))
            actions = table.stanzaToSend(element, to: "remote.example", now: at(0))
            expected = .resourceConstraint
        case .expired:
            _ = table.stanzaToSend(element, to: "remote.example", now: at(0))
            actions = table.tick(now: at(200))
            expected = .remoteServerTimeout
        case .notFound:
            _ = table.stanzaToSend(element, to: "remote.example", now: at(0))
            actions = table.connectionFailed("remote.example", .notFound(reason: "NXDOMAIN"), now: at(1), using: &generator)
            expected = .remoteServerNotFound
        }
        #expect(!actions.contains { if case .bounce = $0 { true } else { false } })
        let discards = actions.compactMap { action -> (XMLElement, StanzaError)? in
            if case .discard(let discarded, let error, _) = action { return (discarded, error) }
            return nil
        }
        try #require(discards.count == 1)
        #expect(discards[0].0 == element)
        #expect(discards[0].1.condition == expected)
    }
}
