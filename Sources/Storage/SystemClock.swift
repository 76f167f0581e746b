import Foundation
package import PresenceModel

extension Timestamp {
    /// The system's wall clock, to the millisecond: the default wherever a clock is injected
    /// (stored messages, tokens, allowlist changes), so that tests can pass a fixed one instead.
    @Sendable package static func systemNow() -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
