import Federation
import Testing
import XMPP

@Suite("Links: failed attempts")
struct LinkFailureTests {
    @Test("not found bounces the whole queue with cancel/remote-server-not-found at once, then waits for the retry")
    func notFound() throws {
        var table = try LinkPolicies.table()
        var generator = SplitMix64(seed: 1)
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        _ = table.stanzaToSend(LinkStanzas.iq("i2", type: "get"), to: "remote.example", now: at(1))

        let actions = table.connectionFailed("remote.example", LinkFailure(ResolutionFailure.noSuchDomain), now: at(2), using: &generator)
        #expect(actions.bouncedIDs == ["m1", "i2"])
        for error in actions.bounceErrors {
            #expect(error.condition == .remoteServerNotFound)
            #expect(error.type == .cancel)
            #expect(error.text == "server-to-server connection failed: the domain does not exist")
        }
        let retryAt = try #require(actions.last?.retryAt)
        #expect(table.status(of: "remote.example") == LinkTable.Status(
            phase: .retryScheduled(at: retryAt), connection: nil, queuedStanzas: 0, queuedBytes: 0, consecutiveFailures: 1
        ))

        #expect(table.stanzaToSend(LinkStanzas.message("m3"), to: "remote.example", now: at(2)) == [])
        #expect(table.tick(now: retryAt).lines == ["connect remote.example #2"])
    }

    @Test("a temporary failure keeps the queue and bounces only what expired, with wait/remote-server-timeout")
    func temporary() throws {
        var table = try LinkPolicies.table()
        var generator = SplitMix64(seed: 2)
        _ = table.stanzaToSend(LinkStanzas.message("old"), to: "remote.example", now: at(0))
        _ = table.stanzaToSend(LinkStanzas.message("new"), to: "remote.example", now: at(100))

        let actions = table.connectionFailed("remote.example", .temporary(reason: "connection timed out"), now: at(130), using: &generator)
        #expect(actions.bouncedIDs == ["old"])
        #expect(actions.bounceErrors.map(\.condition) == [.remoteServerTimeout])
        #expect(actions.bounceErrors.map(\.type) == [.wait])
        #expect(table.status(of: "remote.example")?.queuedStanzas == 1)

        let retryAt = try #require(actions.last?.retryAt)
        #expect(table.tick(now: retryAt).lines == ["connect remote.example #2"])
        #expect(table.connectionSucceeded("remote.example", now: retryAt).sentIDs == ["new"])
    }

    @Test("DNS outcomes map to not found or temporary as ResolutionFailure says", arguments: [
        ResolutionFailure.noSuchDomain, .serviceUnavailable, .noAddresses, .temporaryFailure,
    ])
    func resolutionFailures(failure: ResolutionFailure) {
        let linkFailure = LinkFailure(failure)
        #expect(linkFailure.isTemporary == failure.isTemporary)
        #expect(linkFailure.bounceError.condition == failure.stanzaErrorCondition)
        #expect(linkFailure.bounceError.type == (failure.isTemporary ? .wait : .cancel))
        #expect(linkFailure.reason == "server-to-server connection failed: \(failure.description)")
    }

    @Test("a permanent failure bounces the queue with exactly the error it carries")
    func carriedError() throws {
        var table = try LinkPolicies.table()
        var generator = SplitMix64(seed: 11)
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        let error = StanzaError(.remoteServerTimeout, type: .cancel, text: "remote.example refused our certificate")
        let actions = table.connectionFailed("remote.example", LinkFailure(bounceError: error, isTemporary: false), now: at(1), using: &generator)
        #expect(actions.bounceErrors == [error])
        #expect(table.status(of: "remote.example")?.queuedStanzas == 0)
    }

    @Test("a temporary failure carrying an error still keeps the queue")
    func temporaryCarriedError() throws {
        var table = try LinkPolicies.table()
        var generator = SplitMix64(seed: 12)
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        let failure = LinkFailure(bounceError: StanzaError(.remoteServerTimeout, text: "TLS handshake failed"), isTemporary: true)
        let actions = table.connectionFailed("remote.example", failure, now: at(1), using: &generator)
        #expect(actions.bounceErrors.isEmpty)
        #expect(table.status(of: "remote.example")?.queuedStanzas == 1)
    }

    @Test("a retry that comes due with nothing queued is dropped and the domain forgotten")
    func emptyRetry() throws {
        var table = try LinkPolicies.table()
        var generator = SplitMix64(seed: 3)
        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        let actions = table.connectionFailed("remote.example", .notFound(reason: "authentication refused"), now: at(1), using: &generator)
        let retryAt = try #require(actions.last?.retryAt)
        #expect(table.nextDeadline == retryAt)
        #expect(table.tick(now: retryAt) == [])
        #expect(table.domains.isEmpty)
        #expect(table.nextDeadline == nil)
        #expect(table.stanzaToSend(LinkStanzas.message("m2"), to: "remote.example", now: retryAt).lines == ["connect remote.example #1"])
    }

    @Test("reports for attempts that are not running are ignored, and a stray success is closed")
    func staleReports() throws {
        var table = try LinkPolicies.table()
        var generator = SplitMix64(seed: 4)
        let unknown = ConnectionID(.link, 99)
        #expect(table.connectionFailed(unknown, .temporary(reason: "late"), now: at(0), using: &generator) == [])
        #expect(table.connectionSucceeded(unknown, now: at(0)).lines == ["close link-99 (not wanted)"])

        _ = table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: at(0))
        let attempt = table.connection("remote.example")
        let retry = table.connectionFailed(attempt, .temporary(reason: "refused"), now: at(1), using: &generator)
        #expect(table.connectionFailed(attempt, .temporary(reason: "twice"), now: at(1), using: &generator) == [])
        #expect(table.connectionSucceeded(attempt, now: at(1)).lines == ["close link-1 (not wanted)"])
        #expect(table.status(of: "remote.example")?.phase == .retryScheduled(at: try #require(retry.last?.retryAt)))
        #expect(table.status(of: "remote.example")?.queuedStanzas == 1)
        #expect(table.openConnections == 0)
    }
}
