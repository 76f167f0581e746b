import Federation
import Testing

@Suite("Links: retry backoff")
struct LinkBackoffTests {
    @Test("the ceiling doubles from the base per failure and stops at the cap", arguments: [
        (0, 1), (1, 1), (2, 2), (3, 4), (4, 8), (9, 256), (10, 300), (11, 300), (64, 300), (1_000_000, 300),
    ])
    func ceiling(failures: Int, seconds: Int) {
        #expect(LinkBackoff().ceiling(afterFailures: failures) == .seconds(seconds))
    }

    @Test("a custom base and cap", arguments: [(1, 250), (2, 500), (3, 1000), (4, 1500), (5, 1500)])
    func customCeiling(failures: Int, milliseconds: Int) {
        let backoff = LinkBackoff(base: .milliseconds(250), cap: .milliseconds(1500))
        #expect(backoff.ceiling(afterFailures: failures) == .milliseconds(milliseconds))
    }

    @Test("delays stay within 0 ... ceiling and spread over the whole range, across many seeds", arguments: [1, 2, 5, 9, 10, 30])
    func jitterBounds(failures: Int) {
        let backoff = LinkBackoff()
        let ceiling = backoff.ceiling(afterFailures: failures)
        var delays: [Duration] = []
        for seed in UInt64(0)..<500 {
            var generator = SplitMix64(seed: seed)
            delays.append(backoff.delay(afterFailures: failures, using: &generator))
        }
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= ceiling })
        #expect(delays.min()! < ceiling / 10)
        #expect(delays.max()! > ceiling * 9 / 10)
        let mean = delays.reduce(Duration.zero, +) / delays.count
        #expect(mean > ceiling * 2 / 5 && mean < ceiling * 3 / 5)
    }

    @Test("the same seed gives the same delay")
    func repeatable() {
        var first = SplitMix64(seed: 42)
        var second = SplitMix64(seed: 42)
        #expect(LinkBackoff().delay(afterFailures: 6, using: &first) == LinkBackoff().delay(afterFailures: 6, using: &second))
    }

    @Test("the table retries at now + the drawn delay, counting attempts, and a success starts over")
    func tableBackoff() throws {
        var table = try LinkPolicies.table()
        var generator = SplitMix64(seed: 2024)
        var now = at(0)
        #expect(table.stanzaToSend(LinkStanzas.message("m1"), to: "remote.example", now: now).lines == ["connect remote.example #1"])
        for failures in 1...12 {
            var replay = generator
            let expectedDelay = LinkBackoff().delay(afterFailures: failures, using: &replay)
            let actions = table.connectionFailed("remote.example", .temporary(reason: "connection refused"), now: now, using: &generator)
            #expect(actions.lines == ["retry remote.example at \(now + expectedDelay)"])
            #expect(expectedDelay <= LinkBackoff().ceiling(afterFailures: failures))
            now = now + expectedDelay
            // Keep something queued so that the retry has a reason to connect.
            _ = table.stanzaToSend(LinkStanzas.message("keep\(failures)"), to: "remote.example", now: now)
            #expect(table.tick(now: now).filter(\.isConnect).lines == ["connect remote.example #\(failures + 1)"])
        }
        _ = table.connectionSucceeded("remote.example", now: now)
        #expect(table.status(of: "remote.example")?.consecutiveFailures == 0)
        #expect(table.linkLost("remote.example", now: now).lines == ["link down remote.example"])
        #expect(table.stanzaToSend(LinkStanzas.message("again"), to: "remote.example", now: now).lines == ["connect remote.example #1"])
        let retry = table.connectionFailed("remote.example", .temporary(reason: "timeout"), now: now, using: &generator)
        let at = try #require(retry.compactMap(\.retryAt).first)
        #expect(at - now <= .seconds(1))
    }

    @Test("settings that would refuse everything or retry in a tight loop are refused", arguments: [
        LinkSettings(maxQueuedStanzas: 0),
        LinkSettings(maxQueuedBytes: 0),
        LinkSettings(maxQueueAge: .zero),
        LinkSettings(backoff: LinkBackoff(base: .zero)),
        LinkSettings(backoff: LinkBackoff(base: .seconds(10), cap: .seconds(5))),
    ])
    func invalidSettings(settings: LinkSettings) {
        #expect(throws: PolicyError.self) { try settings.validate() }
    }

    @Test("the defaults are valid and as documented")
    func defaults() throws {
        try LinkSettings.defaults.validate()
        #expect(LinkSettings.defaults == LinkSettings(
            maxQueuedStanzas: 1000, maxQueuedBytes: 1_048_576, maxQueueAge: .seconds(120),
            backoff: LinkBackoff(base: .seconds(1), cap: .seconds(300))
        ))
    }
}
