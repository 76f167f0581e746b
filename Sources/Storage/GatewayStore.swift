package import Foundation
package import PresenceModel
package import XMLStreaming
package import XMPP

/// Everything Consulate must not lose when the process stops, behind one interface so the gateway
/// and the internal API depend on it and not on SQLite; `SQLiteStore` is the embedded default and a
/// PostgreSQL implementation can follow.
///
/// The methods are `async`: a networked database (PostgresNIO) can only be asynchronous, and the
/// gateway's actor must not block its inbox on disk or network I/O either; with SQLite the calls run
/// on GRDB's writer queue. Each call is one transaction, validated before anything is written, so a
/// refused call (a `StorageError` other than `.database`) changes nothing.
///
/// No method reads the clock: every timestamp is passed in, so tests and fixture replays are
/// deterministic. JIDs in `InternalUser` and `Contact` are strings in the model; the store insists
/// that they are bare and normalised (`JID(text).description == text`), because rows are keyed by
/// that text.
package protocol GatewayStore: Sendable {
    // MARK: - Internal users and presence

    /// Every user with their presence and contacts, and the held subscription requests: the state
    /// the translator starts from. What contacts last sent (`contactPresence`) is not stored: after a
    /// restart no link is up, so every contact is offline until their server says otherwise.
    func loadDirectory() async throws(StorageError) -> PresenceDirectory

    /// One user, or `nil`.
    func user(_ jid: JID) async throws(StorageError) -> InternalUser?

    /// Adds or replaces a user with their presence and their whole contact list (contacts not in
    /// `user.contacts` are removed).
    func saveUser(_ user: InternalUser) async throws(StorageError)

    /// Removes a user with their contacts, tokens, held requests, offline messages and history; the
    /// compliance archive keeps their messages until the retention purge. Returns whether there was one.
    @discardableResult
    func removeUser(_ jid: JID) async throws(StorageError) -> Bool

    /// The user's current presence, written on every change so that a restart republishes it.
    func savePresence(_ presence: RichPresence, of user: JID) async throws(StorageError)

    /// Adds or replaces one contact of an existing user.
    func saveContact(_ contact: Contact, of user: JID) async throws(StorageError)

    /// Removes one contact; returns whether there was one.
    @discardableResult
    func removeContact(_ contact: JID, of user: JID) async throws(StorageError) -> Bool

    /// Keeps a subscription request held back from the user (`PresenceDirectory.heldRequests`).
    func holdSubscriptionRequest(from contact: JID, to user: JID) async throws(StorageError)

    /// Drops a held request; returns whether one was held.
    @discardableResult
    func releaseSubscriptionRequest(from contact: JID, to user: JID) async throws(StorageError) -> Bool

    // MARK: - API tokens

    /// Creates a random bearer token for `owner` and returns it; only a hash is stored, so this is
    /// the one time the token can be seen.
    func issueToken(for owner: TokenOwner, at time: Timestamp) async throws(StorageError) -> String

    /// Who a presented token belongs to, or `nil` for a token that is unknown, revoked or malformed.
    func owner(ofToken token: String) async throws(StorageError) -> TokenOwner?

    /// Revokes every token of `owner`; returns how many there were.
    @discardableResult
    func revokeTokens(of owner: TokenOwner) async throws(StorageError) -> Int

    /// Whether any admin token exists: the first one is created only when none does, so a restart
    /// neither prints a new one nor invalidates the one the operator already holds.
    func hasAdminToken() async throws(StorageError) -> Bool

    // MARK: - Batches

    /// Makes every change of `batch` in one transaction, in order: all of them or, when one fails,
    /// none. Returns each change's result (see `StoreWrite`). The single-change methods below are
    /// batches of one.
    @discardableResult
    func apply(_ batch: [StoreWrite]) async throws(StorageError) -> [Int64]

    // MARK: - Outbound queue

    /// Stores a stanza accepted from an internal user for `to`'s domain and returns its sequence.
    /// The user is acknowledged only after this returns, so an acknowledged stanza survives a crash.
    func enqueue(_ stanza: XMLElement, from: JID, to: JID, at time: Timestamp) async throws(StorageError) -> Int64

    /// The peer has the stanza: it leaves the queue. Returns whether it was still queued.
    @discardableResult
    func markDelivered(_ sequence: Int64) async throws(StorageError) -> Bool

    /// The stanza was bounced back to the user (the error went out as an event): it leaves the queue.
    @discardableResult
    func markBounced(_ sequence: Int64) async throws(StorageError) -> Bool

    /// What still waits for `domain` (a normalised domainpart), oldest first: what to send when the
    /// link comes up, also after a restart.
    func pending(for domain: String) async throws(StorageError) -> [QueuedStanza]

    /// The domains with something queued, in order: where to reconnect after a restart.
    func pendingDomains() async throws(StorageError) -> [String]

    // MARK: - Offline messages

    /// Keeps a stanza for an internal user who is not connected; returns its sequence.
    @discardableResult
    func appendOfflineMessage(_ stanza: XMLElement, for user: JID, from: JID, at time: Timestamp)
        async throws(StorageError) -> Int64

    /// A page of the user's offline messages after `sequence` (from the first when `nil`), in the
    /// order they arrived: at most `limit`, and no more once their stanzas reach `maxBytes` (one
    /// at least, however large).
    func offlineMessages(for user: JID, after sequence: Int64?, limit: Int, maxBytes: Int) async throws(StorageError) -> [OfflineMessage]

    /// Deletes the user's offline messages up to and including `sequence`, once they have been
    /// handed over in order; returns how many went.
    @discardableResult
    func deleteOfflineMessages(for user: JID, through sequence: Int64) async throws(StorageError) -> Int

    // MARK: - History and the compliance archive

    /// Records a message in the user's history and, when the archive policy covers the user, in
    /// the compliance archive, in one transaction. Returns the history id.
    @discardableResult
    func recordMessage(_ message: MessageRecord) async throws(StorageError) -> Int64

    /// The user's history matching the query, oldest first.
    func history(_ query: HistoryQuery) async throws(StorageError) -> [MessageRecord]

    /// Deletes archived messages older than `cutoff` (now minus the retention period); returns how
    /// many went.
    @discardableResult
    func purgeArchive(before cutoff: Timestamp) async throws(StorageError) -> Int

    /// Writes the archive as JSON Lines, one message per line, oldest first, optionally limited to
    /// `[since, until)`; returns how many lines were written.
    @discardableResult
    func exportArchive(to output: FileHandle, since: Timestamp?, until: Timestamp?) async throws(StorageError) -> Int

    // MARK: - Runtime allowlist changes

    /// Records an allowlist change, replacing any earlier change for the same pattern.
    func recordAllowlistChange(_ change: AllowlistChange, at time: Timestamp) async throws(StorageError)

    /// The current runtime changes, one per pattern, by pattern.
    func allowlistChanges() async throws(StorageError) -> [StoredAllowlistChange]
}

extension GatewayStore {
    /// Every offline message of the user, in the order they arrived.
    package func offlineMessages(for user: JID) async throws(StorageError) -> [OfflineMessage] {
        try await offlineMessages(for: user, after: nil, limit: Int.max, maxBytes: Int.max)
    }
}
