package import PresenceModel
import Storage
import XMPP

extension Administration {
    /// Creates an internal user and returns their first API token, which is shown this once (the
    /// store keeps only its hash). An existing user is refused rather than replaced, since replacing
    /// would drop their contacts.
    package func addUser(_ text: String, name: String?) async throws(AdminError) -> String {
        let jid = try internalUser(text)
        if let name, name.isEmpty { throw AdminError("the name must not be empty; leave it out for none") }
        if try await storing({ () async throws(StorageError) in try await store.user(jid) }) != nil {
            throw AdminError("\(jid) is already a user; use 'consulate users token \(jid)' for a new token", kind: .conflict)
        }
        let user = InternalUser(jid: jid.description, name: name)
        try await storing { () async throws(StorageError) in try await store.saveUser(user) }
        return try await storing { () async throws(StorageError) in try await store.issueToken(for: .user(jid), at: now()) }
    }

    /// Removes a user with everything the store keeps for them (the archive excepted).
    package func removeUser(_ text: String) async throws(AdminError) {
        let jid = try bareJID(text)
        guard try await storing({ () async throws(StorageError) in try await store.removeUser(jid) }) else {
            throw AdminError("no internal user \(jid)", kind: .notFound)
        }
    }

    /// Every internal user, by JID.
    package func users() async throws(AdminError) -> [InternalUser] {
        try await directory().users.values.sorted { $0.jid < $1.jid }
    }

    /// Every internal user as the store holds them: what a running gateway synchronises with after
    /// users were added or removed.
    package func directory() async throws(AdminError) -> PresenceDirectory {
        try await storing { () async throws(StorageError) in try await store.loadDirectory() }
    }

    /// Revokes the user's tokens and issues a new one, shown this once: what to do when a token
    /// leaked or was lost, so the old one must stop working at the same moment.
    package func replaceToken(of text: String) async throws(AdminError) -> String {
        let jid = try bareJID(text)
        if try await storing({ () async throws(StorageError) in try await store.user(jid) }) == nil {
            throw AdminError("no internal user \(jid); add one with 'consulate users add \(jid)'", kind: .notFound)
        }
        try await storing { () async throws(StorageError) in try await store.revokeTokens(of: .user(jid)) }
        return try await storing { () async throws(StorageError) in try await store.issueToken(for: .user(jid), at: now()) }
    }

    /// A bare JID with a localpart on one of our domains: anything else could never sign in.
    func internalUser(_ text: String) throws(AdminError) -> JID {
        let jid = try bareJID(text)
        guard localDomains.contains(jid.domainpart) else {
            let domains = localDomains.sorted().joined(separator: ", ")
            throw AdminError("\(jid) is not on one of gateway.domains (\(domains.isEmpty ? "none configured" : domains))")
        }
        return jid
    }

    /// A bare user JID, normalised (the store keys rows by the normalised text).
    func bareJID(_ text: String) throws(AdminError) -> JID {
        let jid: JID
        do throws(JIDError) {
            jid = try JID(text)
        } catch {
            throw AdminError("'\(text)' is not a JID: \(error.reason)")
        }
        guard jid.localpart != nil, jid.isBare else {
            throw AdminError("'\(text)' is not a bare user JID such as alice@contoso.example")
        }
        return jid
    }
}

extension Administration {
    /// Issues an admin API token, shown this once. With `onlyIfNone`, issues one only when the
    /// store has no admin token yet and returns `nil` otherwise: what `make serve` runs on every
    /// start, so the first start prints a token and later ones keep the one the operator holds.
    package func issueAdminToken(onlyIfNone: Bool) async throws(AdminError) -> String? {
        if onlyIfNone, try await storing({ () async throws(StorageError) in try await store.hasAdminToken() }) { return nil }
        return try await storing { () async throws(StorageError) in try await store.issueToken(for: .admin, at: now()) }
    }
}
