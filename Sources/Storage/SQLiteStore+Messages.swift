package import Foundation
import GRDB
package import PresenceModel
package import XMLStreaming
package import XMPP

extension SQLiteStore {
    // MARK: - Outbound queue

    package func enqueue(_ stanza: XMLElement, from: JID, to: JID, at time: Timestamp) async throws(StorageError) -> Int64 {
        try await apply([.enqueue(stanza, from: from, to: to, at: time)])[0]
    }

    @discardableResult
    package func markDelivered(_ sequence: Int64) async throws(StorageError) -> Bool {
        try await apply([.dequeue(.sequence(sequence))]) != [0]
    }

    @discardableResult
    package func markBounced(_ sequence: Int64) async throws(StorageError) -> Bool {
        try await apply([.dequeue(.sequence(sequence))]) != [0]
    }

    package func pending(for domain: String) async throws(StorageError) -> [QueuedStanza] {
        try await read { db in
            let sql = "SELECT * FROM outbound_queue WHERE domain = ? ORDER BY sequence"
            return try Row.fetchAll(db, sql: sql, arguments: [domain]).map { row in
                QueuedStanza(
                    sequence: row["sequence"], domain: row["domain"], from: try Self.storedJID(row["from_jid"]),
                    to: try Self.storedJID(row["to_jid"]), stanza: try StanzaText.decode(row["stanza"]),
                    acceptedAt: Timestamp(storedValue: row["accepted_at"])
                )
            }
        }
    }

    package func pendingDomains() async throws(StorageError) -> [String] {
        try await read { db in try String.fetchAll(db, sql: "SELECT DISTINCT domain FROM outbound_queue ORDER BY domain") }
    }

    // MARK: - Offline messages

    @discardableResult
    package func appendOfflineMessage(_ stanza: XMLElement, for user: JID, from: JID, at time: Timestamp)
        async throws(StorageError) -> Int64
    {
        try await apply([.appendOfflineMessage(stanza, for: user, from: from, at: time)])[0]
    }

    package func offlineMessages(for user: JID, after sequence: Int64?, limit: Int, maxBytes: Int) async throws(StorageError) -> [OfflineMessage] {
        let key = user.description
        let after = sequence ?? 0
        return try await read { db in
            let sql = "SELECT * FROM offline_message WHERE user_jid = ? AND sequence > ? ORDER BY sequence LIMIT ?"
            let rows = try Row.fetchCursor(db, sql: sql, arguments: [key, after, Int64(clamping: limit)])
            var messages: [OfflineMessage] = []
            var bytes = 0
            while bytes < maxBytes, let row = try rows.next() {
                let text: String = row["stanza"]
                bytes += text.utf8.count
                messages.append(
                    OfflineMessage(
                        sequence: row["sequence"], user: user, from: try Self.storedJID(row["from_jid"]),
                        stanza: try StanzaText.decode(text), receivedAt: Timestamp(storedValue: row["received_at"])
                    )
                )
            }
            return messages
        }
    }

    @discardableResult
    package func deleteOfflineMessages(for user: JID, through sequence: Int64) async throws(StorageError) -> Int {
        Int(try await apply([.deleteOfflineMessages(for: user, through: sequence)])[0])
    }

    // MARK: - History and the compliance archive

    @discardableResult
    package func recordMessage(_ message: MessageRecord) async throws(StorageError) -> Int64 {
        try await apply([.recordMessage(message)])[0]
    }

    package func history(_ query: HistoryQuery) async throws(StorageError) -> [MessageRecord] {
        var conditions = ["user_jid = ?"]
        var arguments: StatementArguments = [query.user.description]
        if let contact = query.contact {
            conditions.append("contact_jid = ?")
            arguments += [contact.description]
        }
        if let since = query.since {
            conditions.append("at >= ?")
            arguments += [since.storedValue]
        }
        if let until = query.until {
            conditions.append("at < ?")
            arguments += [until.storedValue]
        }
        if let text = query.text {
            // Words only: FTS5 syntax in the text is not interpreted. Text with no word in it
            // (punctuation only) matches nothing rather than everything.
            guard let pattern = FTS5Pattern(matchingAllPrefixesIn: text) else { return [] }
            conditions.append("id IN (SELECT rowid FROM history_fts WHERE history_fts MATCH ?)")
            arguments += [pattern]
        }
        var sql = "SELECT * FROM history WHERE " + conditions.joined(separator: " AND ") + " ORDER BY at DESC, id DESC"
        if let limit = query.limit {
            sql += " LIMIT ?"
            arguments += [max(0, limit)]
        }
        let finalSQL = sql
        let finalArguments = arguments
        return try await read { db in
            try Row.fetchAll(db, sql: finalSQL, arguments: finalArguments).reversed().map { try Self.messageRecord(from: $0) }
        }
    }

    @discardableResult
    package func purgeArchive(before cutoff: Timestamp) async throws(StorageError) -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM archive WHERE at < ?", arguments: [cutoff.storedValue])
            return db.changesCount
        }
    }

    @discardableResult
    package func exportArchive(to output: FileHandle, since: Timestamp?, until: Timestamp?) async throws(StorageError) -> Int {
        let lowest = since?.storedValue ?? Int64.min
        let highest = until?.storedValue ?? Int64.max
        return try await read { db in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT * FROM archive WHERE at >= ? AND at < ? ORDER BY at, id", arguments: [lowest, highest]
            )
            var count = 0
            while let row = try rows.next() {
                var line = try encoder.encode(MessageJSON(try Self.messageRecord(from: row), withUser: true))
                line.append(0x0A)
                try output.write(contentsOf: line)
                count += 1
            }
            return count
        }
    }

    private static func messageRecord(from row: Row) throws -> MessageRecord {
        let directionText: String = row["direction"]
        guard let direction = MessageDirection(rawValue: directionText) else {
            throw StorageError.corrupt("message direction '\(directionText)'")
        }
        return MessageRecord(
            id: row["id"], user: try storedJID(row["user_jid"]), contact: try storedJID(row["contact_jid"]),
            direction: direction, body: row["body"], messageID: row["message_id"], at: Timestamp(storedValue: row["at"])
        )
    }
}
