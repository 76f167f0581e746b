package import Foundation
import PresenceModel
import Storage

extension Administration {
    /// Writes the compliance archive as JSON Lines to `output`, oldest first: every message at or
    /// after `since` and before `until` (XEP-0082 date-times such as `2026-11-01T00:00:00Z`; either
    /// may be left out). Returns how many messages were written.
    package func exportArchive(to output: FileHandle, since: String?, until: String?) async throws(AdminError) -> Int {
        let from = try since.map { text throws(AdminError) in try Self.dateTime(text, option: "since") }
        let to = try until.map { text throws(AdminError) in try Self.dateTime(text, option: "until") }
        if let from, let to, from > to {
            throw AdminError("--since \(from) is after --until \(to)")
        }
        return try await storing { () async throws(StorageError) in try await store.exportArchive(to: output, since: from, until: to) }
    }

    private static func dateTime(_ text: String, option: String) throws(AdminError) -> Timestamp {
        guard let time = Timestamp(xmppDateTime: text) else {
            throw AdminError("--\(option) '\(text)' is not an XEP-0082 date-time such as 2026-11-01T00:00:00Z")
        }
        return time
    }
}
