package import XMPP

/// `[store]`: where the durable store lives and whose messages the compliance archive keeps.
///
/// The archive selection is stated here rather than as the store's own `ArchivePolicy` so that
/// reading `federation.toml` does not pull SQLite into every program that only needs the settings;
/// whoever opens the store translates it.
package struct StoreSettings: Sendable, Hashable {
    /// Whose messages go to the compliance archive.
    package enum Archive: Sendable, Hashable {
        case everyone
        case nobody
        /// Only these users (bare, normalised JIDs on one of our domains): regulated roles.
        case only(Set<JID>)
    }

    /// The default file name, relative to the working directory, so that a first `consulate serve`
    /// next to `federation.toml` needs no `[store]` at all.
    package static let defaultPath = "consulate.sqlite"

    /// The SQLite file; a relative path is relative to the working directory.
    package var path: String
    package var archive: Archive
    /// How many days archived messages are kept before the retention purge deletes them; `nil`
    /// keeps them until they are deleted by other means (a compliance decision, not a default to guess).
    package var archiveRetentionDays: Int?
    /// How long a write waits for the file while another process (an admin command) holds it,
    /// before it fails and the change is answered as not stored.
    package var busyTimeout: Duration
    /// Store jobs waiting for the disk beyond which partners' connections stop reading, until
    /// half are written: how a flood is slowed to the store's pace instead of filling memory.
    package var writeQueueLimit: Int

    /// The gateway's own default (`GatewayCore.Configuration.defaultStoreBacklogLimit`), which a
    /// test keeps equal to this one.
    package static let defaultWriteQueueLimit = 1000

    package init(
        path: String = Self.defaultPath, archive: Archive = .everyone, archiveRetentionDays: Int? = nil, busyTimeout: Duration = .seconds(5),
        writeQueueLimit: Int = Self.defaultWriteQueueLimit
    ) {
        self.path = path
        self.archive = archive
        self.archiveRetentionDays = archiveRetentionDays
        self.busyTimeout = busyTimeout
        self.writeQueueLimit = writeQueueLimit
    }
}

extension TableReader {
    /// A century: a retention period beyond it is a typo, not a policy.
    static let maximumRetentionDays = 36_500
    /// Longer than this, a busy file is better reported than waited for.
    static let maximumBusyTimeout = 600

    func readStore(into settings: inout StoreSettings, localDomains: Set<String>) throws(ConfigurationError) {
        try expectOnly(["path", "archive", "archive-retention-days", "busy-timeout", "write-queue-limit"])
        if let path = try string("path") {
            guard !path.isEmpty, !path.contains("\0") else {
                throw ConfigurationError("'\(name("path"))' must be a file path, such as \"\(StoreSettings.defaultPath)\"")
            }
            settings.path = path
        }
        if let archive = table["archive"] {
            if let text = archive.string {
                switch text {
                case "everyone": settings.archive = .everyone
                case "nobody": settings.archive = .nobody
                default:
                    throw ConfigurationError(
                        "'\(name("archive"))' is '\(text)'; use \"everyone\", \"nobody\" or a list of user JIDs such as [\"alice@contoso.example\"]"
                    )
                }
            } else if let list = try? strings("archive") {
                settings.archive = .only(try archivedUsers(list, localDomains: localDomains))
            } else {
                throw ConfigurationError("'\(name("archive"))' must be \"everyone\", \"nobody\" or a list of user JIDs")
            }
        }
        if let days = try integer("archive-retention-days") {
            guard (1...Self.maximumRetentionDays).contains(days) else {
                throw ConfigurationError(
                    "'\(name("archive-retention-days"))' is \(days); use a number of days from 1 to \(Self.maximumRetentionDays), or leave it out to keep the archive"
                )
            }
            settings.archiveRetentionDays = days
        }
        if let seconds = try integer("busy-timeout") {
            guard (0...Self.maximumBusyTimeout).contains(seconds) else {
                throw ConfigurationError("'\(name("busy-timeout"))' is \(seconds); use a number of seconds from 0 to \(Self.maximumBusyTimeout)")
            }
            settings.busyTimeout = .seconds(seconds)
        }
        if let limit = try integer("write-queue-limit") {
            guard (10...1_000_000).contains(limit) else {
                throw ConfigurationError("'\(name("write-queue-limit"))' is \(limit); use a number of store jobs from 10 to 1000000")
            }
            settings.writeQueueLimit = limit
        }
    }

    /// Bare JIDs of internal users: a resource or a domain we do not serve is a mistake that would
    /// silently archive nobody.
    private func archivedUsers(_ list: [String], localDomains: Set<String>) throws(ConfigurationError) -> Set<JID> {
        var users: Set<JID> = []
        for text in list {
            guard let jid = try? JID(text), jid.localpart != nil, jid.isBare else {
                throw ConfigurationError("'\(name("archive"))' contains '\(text)', which is not a bare user JID such as alice@contoso.example")
            }
            guard localDomains.contains(jid.domainpart) else {
                throw ConfigurationError(
                    "'\(name("archive"))' contains '\(text)', which is not on one of gateway.domains; only internal users are archived"
                )
            }
            users.insert(jid)
        }
        return users
    }
}
