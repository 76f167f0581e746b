/// How long to wait before retrying a domain whose connection attempts keep failing: exponential
/// backoff with full jitter.
///
/// After `n` consecutive failures the delay is drawn uniformly from
/// `0 ... min(cap, base · 2^(n−1))`, to the nanosecond. The exponential ceiling stops a dead or
/// overloaded peer from being hammered; the jitter ("full jitter" in the AWS architecture blog's
/// comparison of backoff strategies) spreads the retries of many gateways, or of many domains
/// behind one failed resolver, instead of letting them reconnect in lockstep. Unlike ejabberd's
/// bounce window, waiting for a retry never refuses stanzas: they stay queued, bounded by age.
package struct LinkBackoff: Sendable, Hashable {
    /// The ceiling after the first failure.
    package var base: Duration
    /// The largest ceiling, reached after `log2(cap / base) + 1` failures.
    package var cap: Duration

    /// Defaults: 1 s base, 5 min cap (ejabberd's `s2s_max_retry_delay`), so the ceiling reaches the
    /// cap at the tenth consecutive failure (1, 2, 4, … 256 s, then 300 s).
    package init(base: Duration = .seconds(1), cap: Duration = .seconds(300)) {
        self.base = base
        self.cap = cap
    }

    /// `min(cap, base · 2^(failures−1))`; a count below 1 is treated as 1. Computed by doubling
    /// until the cap is reached, so any count is safe from overflow.
    package func ceiling(afterFailures failures: Int) -> Duration {
        var ceiling = base
        var doublings = 1
        while doublings < failures, ceiling < cap {
            ceiling = ceiling * 2
            doublings += 1
        }
        return min(ceiling, cap)
    }

    /// A delay drawn uniformly from `0 ... ceiling(afterFailures:)` with `generator`, which the
    /// caller injects so that tests can replay the draws.
    package func delay(afterFailures failures: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let limit = Self.nanoseconds(in: ceiling(afterFailures: failures))
        guard limit > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...limit, using: &generator))
    }

    /// Whole nanoseconds in a non-negative duration, saturating at `Int64.max` (292 years).
    private static func nanoseconds(in duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        let (total, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowAgain ? .max : total
    }
}
