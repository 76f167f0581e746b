import Federation
import Testing
import XMLStreaming
import XMPP

/// Answers from the remote server, as they arrive on its inbound stream to us.
private enum Pongs {
    static func iq(_ id: String, type: String, from: String = "remote.example", to: String = "local.example") throws -> Stanza {
        var element = XMLElement("iq", namespace: Namespace.server)
        element.setAttribute("from", to: from)
        element.setAttribute("to", to: to)
        element.setAttribute("id", to: id)
        element.setAttribute("type", to: type)
        if type == "error" { element.append(StanzaError(.serviceUnavailable).element(contentNamespace: Namespace.server)) }
        if type == "get" { element.append(XMLElement("ping", namespace: Namespace.ping)) }
        return try #require(try Stanza(element))
    }
}

@Suite("Links: XEP-0199 pings")
struct LinkPingTests {
    @Test("a due keep-alive is a ping on the established link, with a deadline")
    func pingWhenKeepAliveDue() throws {
        var table = try LinkPolicies.established()
        #expect(table.tick(now: at(300)).lines == ["ping remote.example ping-1"])
        #expect(table.nextDeadline == at(360))
        #expect(table.tick(now: at(359)) == [])
        #expect(table.status(of: "remote.example")?.phase == .established)
    }

    @Test("an answered ping clears its deadline; the next keep-alive pings again")
    func answeredPing() throws {
        var table = try LinkPolicies.established()
        _ = table.tick(now: at(300))
        #expect(table.pongReceived(from: "remote.example", id: "ping-1") == true)
        #expect(table.nextDeadline == at(600))
        #expect(table.tick(now: at(360)) == [])
        #expect(table.status(of: "remote.example")?.phase == .established)
        #expect(table.pongReceived(from: "remote.example", id: "ping-1") == false, "an answer counts once")
        #expect(table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: at(400)).sentIDs == ["m2"])
        #expect(table.tick(now: at(700)).lines == ["ping remote.example ping-2"])
    }

    @Test("an error answer (service-unavailable from a server without ping support) proves the peer alive too")
    func errorAnswerCounts() throws {
        var table = try LinkPolicies.established()
        _ = table.tick(now: at(300))
        let answer = try #require(LinkPing.answer(in: try Pongs.iq("ping-1", type: "error")))
        #expect(answer.link == link() && answer.id == "ping-1")
        #expect(table.pongReceived(on: answer.link, id: answer.id) == true)
        #expect(table.tick(now: at(360)) == [])
        #expect(table.status(of: "remote.example")?.phase == .established)
    }

    @Test("an unanswered ping gives the link up as lost; what is sent next is queued and reconnects")
    func unansweredPing() throws {
        var table = try LinkPolicies.established()
        var generator = SplitMix64(seed: 3)
        _ = table.tick(now: at(300))
        #expect(table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: at(330)).sentIDs == ["m2"])
        #expect(table.tick(now: at(360)).lines == ["close link-1 (ping unanswered)", "link down remote.example"], "a stanza is no answer")
        #expect(table.openConnections == 0)
        #expect(table.status(of: "remote.example") == nil)
        #expect(table.pongReceived(from: "remote.example", id: "ping-1") == false, "too late: the link is gone")
        #expect(table.linkLost("remote.example", now: at(361)) == [], "the closed stream's own report is ignored")

        #expect(table.stanzaToSend(LinkStanzas.message("m3"), to: "remote.example", now: at(362)).lines == ["connect remote.example #1"])
        let failed = table.connectionFailed("remote.example", .temporary(reason: "connection timed out"), now: at(363), using: &generator)
        #expect(failed.bouncedIDs.isEmpty)
        #expect(table.status(of: "remote.example")?.queuedStanzas == 1)
        let retryAt = try #require(failed.last?.retryAt)
        #expect(table.tick(now: retryAt).lines == ["connect remote.example #2"])
        #expect(table.connectionSucceeded("remote.example", now: retryAt + .seconds(1)).lines == ["send m3 to remote.example", "link up remote.example"])
    }

    @Test("the ping deadline comes from FederationSettings.pingTimeout, and wins over an idle close due at once")
    func configuredTimeout() throws {
        let settings = FederationSettings(inactivityTimeout: .seconds(40), keepAliveInterval: .seconds(30), pingTimeout: .seconds(10))
        var table = try LinkPolicies.established(policy: LinkPolicies.open(settings: settings))
        #expect(table.tick(now: at(30)).lines == ["ping remote.example ping-1"])
        #expect(table.nextDeadline == at(40))
        #expect(table.tick(now: at(40)).lines == ["close link-1 (ping unanswered)", "link down remote.example"])
    }

    @Test("every ping has its own id, and an answer only counts for the domain that was pinged")
    func uniqueIDs() throws {
        var table = try LinkPolicies.established()
        _ = table.stanzaToSend(LinkStanzas.message("b1", to: "b.example"), to: "b.example", now: at(0))
        _ = table.connectionSucceeded("b.example", now: at(0))
        let first = table.tick(now: at(300))
        #expect(first.lines == ["ping b.example ping-1", "ping remote.example ping-2"])
        #expect(table.pongReceived(from: "remote.example", id: "ping-1") == false)
        #expect(table.pongReceived(from: "remote.example", id: "ping-3") == false)
        #expect(table.pongReceived(from: "b.example", id: "ping-1") == true)
        #expect(table.pongReceived(from: "Remote.Example", id: "ping-2") == true, "domains are matched normalised")
        _ = table.stanzaToSend(LinkStanzas.message("b2", to: "b.example"), to: "b.example", now: at(400))
        _ = table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: at(400))
        let second = table.tick(now: at(700))
        #expect(second.compactMap(\.pingID) == ["ping-3", "ping-4"])
        #expect(Set((first + second).compactMap(\.pingID)).count == 4)
    }

    @Test("no ping on a link that is not established, nor for a partner with keep-alive off")
    func onlyEstablishedLinks() throws {
        let quiet = try LinkPolicies.partner("quiet.example", keepAlive: false)
        var table = LinkTable(policy: try LinkPolicies.open(partners: [quiet]))
        var generator = SplitMix64(seed: 5)
        #expect(table.stanzaToSend(LinkStanzas.message("c1", to: "connecting.example"), to: "connecting.example", now: at(0)).lines.contains("connect connecting.example #1"))
        _ = table.stanzaToSend(LinkStanzas.message("r1", to: "retrying.example"), to: "retrying.example", now: at(0))
        let retry = table.connectionFailed("retrying.example", .temporary(reason: "refused"), now: at(0), using: &generator)
        #expect(try #require(retry.last?.retryAt) <= at(1))
        _ = table.stanzaToSend(LinkStanzas.message("q1", to: "quiet.example"), to: "quiet.example", now: at(0))
        _ = table.connectionSucceeded("quiet.example", now: at(0))

        let actions = table.tick(now: at(300)) + table.tick(now: at(400))
        #expect(actions.compactMap(\.pingID).isEmpty)
        #expect(!actions.contains { if case .sendKeepAlive = $0 { true } else { false } })
        #expect(table.status(of: "connecting.example")?.phase == .connecting(attempt: 1))
        #expect(table.status(of: "quiet.example")?.phase == .established)
        #expect(table.pongReceived(from: "connecting.example", id: "ping-1") == false)
    }

    @Test("the request goes from our domain to the peer's, in the ping namespace")
    func request() throws {
        let request = LinkPing.request(id: "ping-7", from: "local.example", to: "remote.example")
        #expect(request == (try Pongs.iq("ping-7", type: "get", from: "local.example", to: "remote.example")).element)
        let iq = try #require(IQ(request))
        #expect(iq.type == .get && iq.id == "ping-7" && iq.payload?.namespace == Namespace.ping)
    }

    @Test("only an iq result or error between bare domains can answer a ping", arguments: [
        ("result", "remote.example", "local.example", true),
        ("error", "remote.example", "local.example", true),
        ("get", "remote.example", "local.example", false),
        ("set", "remote.example", "local.example", false),
        ("result", "bob@remote.example", "local.example", false),
        ("result", "remote.example/node", "local.example", false),
        ("result", "remote.example", "alice@local.example/desk", false),
    ])
    func answerShape(type: String, from: String, to: String, isAnswer: Bool) throws {
        let answer = LinkPing.answer(in: try Pongs.iq("ping-1", type: type, from: from, to: to))
        #expect((answer != nil) == isAnswer)
        if isAnswer { #expect(answer?.link.remote == "remote.example" && answer?.id == "ping-1") }
    }

    @Test("a message is never an answer")
    func messageIsNoAnswer() throws {
        var element = LinkStanzas.message("ping-1", to: "local.example", from: "remote.example", type: "error")
        element.setAttribute("to", to: "local.example")
        #expect(LinkPing.answer(in: try #require(try Stanza(element))) == nil)
    }
}
