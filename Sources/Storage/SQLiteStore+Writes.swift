import GRDB
import PresenceModel
import XMPP

/// Every change the store makes to users, the outbound queue, offline messages and history, in
/// one place: `apply(_:)` runs a batch of them in one transaction, and the single-change methods
/// of `GatewayStore` are batches of one. The statements every message runs are prepared once per
/// connection (`cachedStatement`), not parsed again for each.
extension SQLiteStore {
    @discardableResult
    package func apply(_ batch: [StoreWrite]) async throws(StorageError) -> [Int64] {
        guard !batch.isEmpty else { return [] }
        let archivePolicy = archivePolicy
        return try await write { db in
            var results: [Int64] = []
            results.reserveCapacity(batch.count)
            for change in batch {
                results.append(try Self.apply(change, in: db, earlier: results, archivePolicy: archivePolicy))
            }
            return results
        }
    }

    /// One change inside the batch's transaction; `earlier` holds the results of the changes
    /// before it, for a `.dequeue` of a stanza enqueued in the same batch.
    private static func apply(_ change: StoreWrite, in db: Database, earlier: [Int64], archivePolicy: ArchivePolicy) throws -> Int64 {
        switch change {
        case .enqueue(let stanza, let from, let to, let at):
            try db.cachedStatement(sql: "INSERT INTO outbound_queue (domain, from_jid, to_jid, stanza, accepted_at) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [to.domainpart, from.description, to.description, StanzaText.encode(stanza), at.storedValue])
            return db.lastInsertedRowID

        case .dequeue(let reference):
            let sequence: Int64
            switch reference {
            case .sequence(let stored): sequence = stored
            case .enqueued(let index):
                guard earlier.indices.contains(index) else { throw StorageError.database("no enqueue at index \(index) earlier in the batch") }
                sequence = earlier[index]
            }
            try db.cachedStatement(sql: "DELETE FROM outbound_queue WHERE sequence = ?").execute(arguments: [sequence])
            return Int64(db.changesCount)

        case .recordMessage(let message):
            try Validate.bare(message.user, field: "user")
            try Validate.bare(message.contact, field: "contact")
            let userKey = message.user.description
            try requireUser(db, userKey)
            let arguments: StatementArguments = [
                userKey, message.contact.description, message.direction.rawValue, message.body, message.messageID, message.at.storedValue,
            ]
            try db.cachedStatement(sql: "INSERT INTO history (user_jid, contact_jid, direction, body, message_id, at) VALUES (?, ?, ?, ?, ?, ?)")
                .execute(arguments: arguments)
            let id = db.lastInsertedRowID
            if archivePolicy.covers(message.user) {
                try db.cachedStatement(sql: "INSERT INTO archive (user_jid, contact_jid, direction, body, message_id, at) VALUES (?, ?, ?, ?, ?, ?)")
                    .execute(arguments: arguments)
            }
            return id

        case .appendOfflineMessage(let stanza, let user, let from, let at):
            try Validate.bare(user, field: "user")
            let userKey = user.description
            try requireUser(db, userKey)
            try db.cachedStatement(sql: "INSERT INTO offline_message (user_jid, from_jid, stanza, received_at) VALUES (?, ?, ?, ?)")
                .execute(arguments: [userKey, from.description, StanzaText.encode(stanza), at.storedValue])
            return db.lastInsertedRowID

        case .deleteOfflineMessages(let user, let sequence):
            try db.cachedStatement(sql: "DELETE FROM offline_message WHERE user_jid = ? AND sequence <= ?").execute(arguments: [user.description, sequence])
            return Int64(db.changesCount)

        case .savePresence(let presence, let user):
            try Validate.bare(user, field: "user")
            try Validate.presence(presence)
            let key = user.description
            try requireUser(db, key)
            try writePresence(db, presence, of: key)
            return 1

        case .saveContact(let contact, let user):
            try Validate.bare(user, field: "user")
            _ = try Validate.bareJID(contact.jid, field: "contact")
            let key = user.description
            try requireUser(db, key)
            try db.execute(sql: "DELETE FROM contact WHERE user_jid = ? AND contact_jid = ?", arguments: [key, contact.jid])
            try writeContact(db, contact, of: key)
            return 1

        case .removeContact(let contact, let user):
            try db.execute(sql: "DELETE FROM contact WHERE user_jid = ? AND contact_jid = ?", arguments: [user.description, contact.description])
            return Int64(db.changesCount)

        case .holdSubscriptionRequest(let contact, let user):
            try Validate.bare(contact, field: "contact")
            let userKey = user.description
            try requireUser(db, userKey)
            try db.execute(sql: "INSERT OR IGNORE INTO held_request (user_jid, contact_jid) VALUES (?, ?)", arguments: [userKey, contact.description])
            return Int64(db.changesCount)

        case .releaseSubscriptionRequest(let contact, let user):
            try db.execute(
                sql: "DELETE FROM held_request WHERE user_jid = ? AND contact_jid = ?", arguments: [user.description, contact.description]
            )
            return Int64(db.changesCount)
        }
    }
}
