/// An SRV record's data (RFC 2782): where one instance of a service runs, and how to choose among
/// several.
package struct SRVRecord: Sendable, Hashable {
    /// Lower is tried first; all targets of one priority are tried before any of the next.
    package var priority: UInt16
    /// Within a priority, the relative chance of being tried first.
    package var weight: UInt16
    /// The TCP port on the target.
    package var port: UInt16
    /// The host to connect to; `.` alone means the service is not offered (see
    /// ``SRVRecord/serviceAnswer(_:using:)``).
    package var target: DNSName

    package init(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }

    /// What a set of SRV records says about a service, once ordered.
    package enum ServiceAnswer: Sendable, Hashable {
        /// The targets to try, in order.
        case targets([SRVRecord])
        /// The domain says it does not offer the service: its only target is `.` (RFC 2782), so
        /// nothing is to be tried for it, not even the A/AAAA fallback.
        case decidedlyUnavailable
    }

    /// Orders `records` as RFC 2782 prescribes and applies the `.` rule.
    ///
    /// RFC 2782 gives the meaning "decidedly not available" to exactly one record with target `.`.
    /// A set made only of `.` targets is read the same way, since none of them can be contacted;
    /// in a mixed set the `.` records are dropped and the others are tried.
    package static func serviceAnswer(
        _ records: [SRVRecord],
        using generator: inout some RandomNumberGenerator
    ) -> ServiceAnswer {
        let usable = records.filter { !$0.target.isRoot }
        if usable.isEmpty, !records.isEmpty { return .decidedlyUnavailable }
        return .targets(ordered(usable, using: &generator))
    }

    /// The RFC 2782 order: ascending priority; within one priority, repeated weighted random
    /// selection.
    ///
    /// For each pick, the remaining records of the priority are listed with the zero-weight ones
    /// first (otherwise in the order given), a number is drawn uniformly from 0 through the sum of
    /// their weights, and the first record whose running weight sum reaches it is taken. A
    /// zero-weight record is thus taken only when the draw is 0, a 1-in-(sum + 1) chance while
    /// weighted records remain, and records that all weigh 0 keep the order given. The generator is
    /// a parameter so that tests can make the draws repeatable.
    package static func ordered(
        _ records: [SRVRecord],
        using generator: inout some RandomNumberGenerator
    ) -> [SRVRecord] {
        let priorities = Set(records.map(\.priority)).sorted()
        var result: [SRVRecord] = []
        result.reserveCapacity(records.count)
        for priority in priorities {
            let group = records.filter { $0.priority == priority }
            var remaining = group.filter { $0.weight == 0 } + group.filter { $0.weight != 0 }
            while !remaining.isEmpty {
                let total = remaining.reduce(UInt64(0)) { $0 + UInt64($1.weight) }
                let draw = UInt64.random(in: 0...total, using: &generator)
                var runningSum: UInt64 = 0
                var chosen = remaining.count - 1
                for (index, record) in remaining.enumerated() {
                    runningSum += UInt64(record.weight)
                    if runningSum >= draw {
                        chosen = index
                        break
                    }
                }
                result.append(remaining.remove(at: chosen))
            }
        }
        return result
    }
}
