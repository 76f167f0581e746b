import Federation
import Testing

private typealias F = DNSFixtures

@Suite("DNS SRV ordering (RFC 2782)")
struct DNSSRVOrderingTests {
    private func targets(_ records: [SRVRecord]) -> [String] {
        records.map(\.target.description)
    }

    @Test("priorities come out ascending whatever the seed and input order", arguments: 0..<20)
    func priorityOrder(seed: UInt64) throws {
        let records = [
            try F.srv("c.example", priority: 30, weight: 5),
            try F.srv("a1.example", priority: 10, weight: 1),
            try F.srv("b.example", priority: 20, weight: 0),
            try F.srv("a2.example", priority: 10, weight: 100),
        ]
        var generator = SplitMix64(seed: seed)
        let ordered = SRVRecord.ordered(records, using: &generator)
        #expect(ordered.map(\.priority) == [10, 10, 20, 30])
        #expect(Set(targets(ordered)) == Set(targets(records)))
    }

    @Test("the first pick is proportional to weight: (w + 1 for the first listed) / (sum + 1)")
    func weightedFirstPick() throws {
        let records = [
            try F.srv("ten.example", weight: 10),
            try F.srv("thirty.example", weight: 30),
            try F.srv("sixty.example", weight: 60),
        ]
        var generator = SplitMix64(seed: 2782)
        var firsts: [String: Int] = [:]
        let runs = 20_000
        for _ in 0..<runs {
            firsts[SRVRecord.ordered(records, using: &generator)[0].target.description, default: 0] += 1
        }
        // Draws are uniform on 0...100; "ten" wins for 0...10, "thirty" for 11...40, "sixty" for 41...100.
        let expected = ["ten.example": 11.0 / 101, "thirty.example": 30.0 / 101, "sixty.example": 60.0 / 101]
        for (target, share) in expected {
            let observed = Double(firsts[target, default: 0]) / Double(runs)
            #expect(abs(observed - share) < 0.02, "\(target): \(observed) vs \(share)")
        }
    }

    @Test("a zero-weight record goes first only rarely, wherever it was listed", arguments: [false, true])
    func zeroWeightRarelyFirst(zeroListedFirst: Bool) throws {
        let zero = try F.srv("zero.example", weight: 0)
        let heavy = try F.srv("heavy.example", weight: 99)
        var generator = SplitMix64(seed: 99)
        var zeroFirst = 0
        let runs = 20_000
        for _ in 0..<runs {
            let ordered = SRVRecord.ordered(zeroListedFirst ? [zero, heavy] : [heavy, zero], using: &generator)
            if ordered[0] == zero { zeroFirst += 1 }
        }
        // The RFC puts zero weights at the front, so a draw of 0 (1 in 100) picks one.
        #expect(zeroFirst > runs / 200)
        #expect(zeroFirst < runs / 50)
    }

    @Test("records that all weigh zero keep the order given", arguments: 0..<10)
    func allZeroWeightsKeepOrder(seed: UInt64) throws {
        let records = try ["one", "two", "three", "four"].map { try F.srv("\($0).example", priority: 5, weight: 0) }
        var generator = SplitMix64(seed: seed)
        #expect(SRVRecord.ordered(records, using: &generator) == records)
    }

    @Test("one seed gives one order; different seeds give different orders")
    func seededDeterminism() throws {
        let records = try (1...6).map { try F.srv("h\($0).example", weight: UInt16($0 * 10)) }
        var first = SplitMix64(seed: 42)
        var second = SplitMix64(seed: 42)
        #expect(SRVRecord.ordered(records, using: &first) == SRVRecord.ordered(records, using: &second))
        let orders = Set((0..<20).map { seed -> [String] in
            var generator = SplitMix64(seed: UInt64(seed))
            return targets(SRVRecord.ordered(records, using: &generator))
        })
        #expect(orders.count > 5)
    }

    @Test("a single '.' target means the service is decidedly unavailable")
    func rootTarget() throws {
        var generator = SplitMix64(seed: 1)
        #expect(SRVRecord.serviceAnswer([try F.srv(".")], using: &generator) == .decidedlyUnavailable)
        #expect(SRVRecord.serviceAnswer([try F.srv("."), try F.srv(".", priority: 1)], using: &generator) == .decidedlyUnavailable)
    }

    @Test("'.' among real targets is dropped and the rest are ordered")
    func rootAmongTargets() throws {
        var generator = SplitMix64(seed: 1)
        let answer = SRVRecord.serviceAnswer(
            [try F.srv("b.example", priority: 2), try F.srv(".", priority: 0), try F.srv("a.example", priority: 1)],
            using: &generator
        )
        #expect(answer == .targets([try F.srv("a.example", priority: 1), try F.srv("b.example", priority: 2)]))
        #expect(SRVRecord.serviceAnswer([], using: &generator) == .targets([]))
    }
}
