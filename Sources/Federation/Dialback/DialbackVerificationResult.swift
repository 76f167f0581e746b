/// How asking the authoritative server to check a dialback key ended, from the receiving side:
/// its verdict, or `failed` when none could be had. What the runtime counts
/// (`consulate_dialback_verifications_total{result}`).
package enum DialbackVerificationResult: String, Sendable, Hashable, CaseIterable {
    case valid, invalid, error, failed
}
