import Foundation
import GRDB
package import PresenceModel
package import XMPP

extension SQLiteStore {
    // MARK: - Internal users and presence

    package func loadDirectory() async throws(StorageError) -> PresenceDirectory {
        try await read { db in
            var directory = PresenceDirectory()
            let groups = try Self.fetchGroups(db, userJID: nil)
            var contacts: [String: [String: Contact]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM contact") {
                let contact = try Self.contact(from: row, groups: groups)
                contacts[row["user_jid"], default: [:]][contact.jid] = contact
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM user") {
                var user = try Self.user(from: row)
                user.contacts = contacts[user.jid] ?? [:]
                directory.add(user)
            }
            for row in try Row.fetchAll(db, sql: "SELECT user_jid, contact_jid FROM held_request") {
                directory.holdSubscriptionRequest(from: row["contact_jid"], to: row["user_jid"])
            }
            return directory
        }
    }

    package func user(_ jid: JID) async throws(StorageError) -> InternalUser? {
        let key = jid.description
        return try await read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM user WHERE jid = ?", arguments: [key]) else {
                return nil
            }
            var user = try Self.user(from: row)
            let groups = try Self.fetchGroups(db, userJID: key)
            for contactRow in try Row.fetchAll(db, sql: "SELECT * FROM contact WHERE user_jid = ?", arguments: [key]) {
                user.setContact(try Self.contact(from: contactRow, groups: groups))
            }
            return user
        }
    }

    package func saveUser(_ user: InternalUser) async throws(StorageError) {
        _ = try Validate.bareJID(user.jid, field: "user")
        try Validate.presence(user.presence)
        for (key, contact) in user.contacts {
            _ = try Validate.bareJID(contact.jid, field: "contact")
            guard key == contact.jid else {
                throw .invalidJID(field: "contact", value: contact.jid, reason: "filed under '\(key)', a different JID")
            }
        }
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO user (jid, name, availability, activity, note, location, photo_hash, idle_since,
                                      meeting_subject, meeting_location)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(jid) DO UPDATE SET name = excluded.name
                    """,
                arguments: [user.jid, user.name, Int64(RichPresence.offline.availability.rawValue), nil, nil, nil, nil, nil, nil, nil]
            )
            try Self.writePresence(db, user.presence, of: user.jid)
            try db.execute(sql: "DELETE FROM contact WHERE user_jid = ?", arguments: [user.jid])
            for contact in user.contacts.values {
                try Self.writeContact(db, contact, of: user.jid)
            }
        }
    }

    @discardableResult
    package func removeUser(_ jid: JID) async throws(StorageError) -> Bool {
        let key = jid.description
        return try await write { db in
            try db.execute(sql: "DELETE FROM user WHERE jid = ?", arguments: [key])
            return db.changesCount > 0
        }
    }

    package func savePresence(_ presence: RichPresence, of user: JID) async throws(StorageError) {
        try await apply([.savePresence(presence, of: user)])
    }

    package func saveContact(_ contact: Contact, of user: JID) async throws(StorageError) {
        try await apply([.saveContact(contact, of: user)])
    }

    @discardableResult
    package func removeContact(_ contact: JID, of user: JID) async throws(StorageError) -> Bool {
        try await apply([.removeContact(contact, of: user)]) != [0]
    }

    package func holdSubscriptionRequest(from contact: JID, to user: JID) async throws(StorageError) {
        try await apply([.holdSubscriptionRequest(from: contact, to: user)])
    }

    @discardableResult
    package func releaseSubscriptionRequest(from contact: JID, to user: JID) async throws(StorageError) -> Bool {
        try await apply([.releaseSubscriptionRequest(from: contact, to: user)]) != [0]
    }

    // MARK: - API tokens

    package func issueToken(for owner: TokenOwner, at time: Timestamp) async throws(StorageError) -> String {
        let generated = TokenCodec.generate()
        let userKey: String?
        switch owner {
        case .user(let jid):
            try Validate.bare(jid, field: "user")
            userKey = jid.description
        case .admin:
            userKey = nil
        }
        try await write { db in
            if let userKey { try Self.requireUser(db, userKey) }
            try db.execute(
                sql: "INSERT INTO token (selector, secret_hash, user_jid, is_admin, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [generated.selector, Data(generated.secretHash), userKey, userKey == nil, time.storedValue]
            )
        }
        return generated.token
    }

    package func owner(ofToken token: String) async throws(StorageError) -> TokenOwner? {
        guard let (selector, presentedHash) = TokenCodec.split(token) else { return nil }
        let found = try await read { db -> (hash: Data, userJID: String?)? in
            let sql = "SELECT secret_hash, user_jid FROM token WHERE selector = ?"
            guard let row = try Row.fetchOne(db, sql: sql, arguments: [selector]) else { return nil }
            return (row["secret_hash"], row["user_jid"])
        }
        guard let found, TokenCodec.constantTimeEqual(Array(found.hash), presentedHash) else { return nil }
        guard let userJID = found.userJID else { return .admin }
        return .user(try Self.storedJID(userJID))
    }

    @discardableResult
    package func revokeTokens(of owner: TokenOwner) async throws(StorageError) -> Int {
        try await write { db in
            switch owner {
            case .user(let jid): try db.execute(sql: "DELETE FROM token WHERE user_jid = ?", arguments: [jid.description])
            case .admin: try db.execute(sql: "DELETE FROM token WHERE is_admin = 1")
            }
            return db.changesCount
        }
    }

    /// Whether an admin token exists: `make serve` creates the first one only when none does.
    package func hasAdminToken() async throws(StorageError) -> Bool {
        try await read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM token WHERE is_admin = 1)") ?? false }
    }

    // MARK: - Rows

    static func requireUser(_ db: Database, _ jid: String) throws {
        guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM user WHERE jid = ?)"), arguments: [jid]) == true else {
            throw StorageError.unknownUser(jid)
        }
    }

    static func storedJID(_ text: String) throws(StorageError) -> JID {
        do throws(JIDError) {
            return try JID(text)
        } catch {
            throw .corrupt("'\(text)' is not a JID: \(error.reason)")
        }
    }

    static func writePresence(_ db: Database, _ presence: RichPresence, of jid: String) throws {
        try db.execute(
            sql: """
                UPDATE user SET availability = ?, activity = ?, note = ?, location = ?, photo_hash = ?, idle_since = ?,
                                meeting_subject = ?, meeting_location = ?
                WHERE jid = ?
                """,
            arguments: [
                Int64(presence.availability.rawValue), presence.activity?.token, presence.note, presence.location,
                presence.photoHash, presence.idleSince?.storedValue, presence.meetingSubject, presence.meetingLocation, jid,
            ]
        )
    }

    static func writeContact(_ db: Database, _ contact: Contact, of userJID: String) throws {
        let subscription = contact.subscription
        try db.execute(
            sql: """
                INSERT INTO contact (user_jid, contact_jid, name, access_level, subscribed_to, subscribed_from,
                                     pending_out, pending_in, pre_approved)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                userJID, contact.jid, contact.name, contact.accessLevel.rawValue, subscription.to, subscription.from,
                subscription.pendingOut, subscription.pendingIn, subscription.preApproved,
            ]
        )
        for (position, group) in contact.groups.enumerated() {
            try db.execute(
                sql: "INSERT INTO contact_group (user_jid, contact_jid, position, name) VALUES (?, ?, ?, ?)",
                arguments: [userJID, contact.jid, position, group]
            )
        }
    }

    /// Groups by user and contact, in the user's order.
    private static func fetchGroups(_ db: Database, userJID: String?) throws -> [String: [String: [String]]] {
        var groups: [String: [String: [String]]] = [:]
        let rows =
            if let userJID {
                try Row.fetchAll(db, sql: "SELECT * FROM contact_group WHERE user_jid = ? ORDER BY position", arguments: [userJID])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM contact_group ORDER BY user_jid, contact_jid, position")
            }
        for row in rows {
            groups[row["user_jid"], default: [:]][row["contact_jid"], default: []].append(row["name"])
        }
        return groups
    }

    private static func user(from row: Row) throws -> InternalUser {
        let availability: Int64 = row["availability"]
        guard let value = UInt32(exactly: availability) else {
            throw StorageError.corrupt("availability \(availability) of \(row["jid"] as String)")
        }
        let presence = RichPresence(
            availability: Availability(value),
            activity: (row["activity"] as String?).map(Activity.init(token:)),
            note: row["note"],
            location: row["location"],
            photoHash: row["photo_hash"],
            idleSince: (row["idle_since"] as Int64?).map(Timestamp.init(storedValue:)),
            meetingSubject: row["meeting_subject"],
            meetingLocation: row["meeting_location"]
        )
        return InternalUser(jid: row["jid"], name: row["name"], presence: presence)
    }

    private static func contact(from row: Row, groups: [String: [String: [String]]]) throws -> Contact {
        let userJID: String = row["user_jid"]
        let contactJID: String = row["contact_jid"]
        let levelValue: Int = row["access_level"]
        guard let level = AccessLevel(rawValue: levelValue) else {
            throw StorageError.corrupt("access level \(levelValue) of \(contactJID) for \(userJID)")
        }
        let subscription = SubscriptionState(
            to: row["subscribed_to"], from: row["subscribed_from"], pendingOut: row["pending_out"],
            pendingIn: row["pending_in"], preApproved: row["pre_approved"]
        )
        return Contact(
            jid: contactJID, name: row["name"], groups: groups[userJID]?[contactJID] ?? [], accessLevel: level,
            subscription: subscription
        )
    }
}
