import GRDB

/// The schema, as versioned migrations. A migration once released is never edited: changes are
/// new migrations appended here, which GRDB applies in order, each in its own transaction, and
/// records in `grdb_migrations`, so any older file is brought up to date when it is opened.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-users-contacts-queue-messages", migrate: version1)
        return migrator
    }

    private static func version1(_ db: Database) throws {
        // Internal users and their current presence (one row each: presence is state, not a log).
        try db.execute(
            sql: """
                CREATE TABLE user (
                    jid TEXT PRIMARY KEY NOT NULL,
                    name TEXT,
                    availability INTEGER NOT NULL,
                    activity TEXT,
                    note TEXT,
                    location TEXT,
                    photo_hash TEXT,
                    idle_since INTEGER,
                    meeting_subject TEXT,
                    meeting_location TEXT
                ) STRICT;

                CREATE TABLE token (
                    selector TEXT PRIMARY KEY NOT NULL,
                    secret_hash BLOB NOT NULL,
                    user_jid TEXT REFERENCES user(jid) ON DELETE CASCADE,
                    is_admin INTEGER NOT NULL CHECK (is_admin IN (0, 1)),
                    created_at INTEGER NOT NULL,
                    CHECK ((user_jid IS NULL) = (is_admin = 1))
                ) STRICT;
                CREATE INDEX token_user ON token(user_jid);

                CREATE TABLE contact (
                    user_jid TEXT NOT NULL REFERENCES user(jid) ON DELETE CASCADE,
                    contact_jid TEXT NOT NULL,
                    name TEXT,
                    access_level INTEGER NOT NULL,
                    subscribed_to INTEGER NOT NULL,
                    subscribed_from INTEGER NOT NULL,
                    pending_out INTEGER NOT NULL,
                    pending_in INTEGER NOT NULL,
                    pre_approved INTEGER NOT NULL,
                    PRIMARY KEY (user_jid, contact_jid)
                ) STRICT;

                CREATE TABLE contact_group (
                    user_jid TEXT NOT NULL,
                    contact_jid TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    PRIMARY KEY (user_jid, contact_jid, position),
                    FOREIGN KEY (user_jid, contact_jid) REFERENCES contact(user_jid, contact_jid) ON DELETE CASCADE
                ) STRICT;

                CREATE TABLE held_request (
                    user_jid TEXT NOT NULL REFERENCES user(jid) ON DELETE CASCADE,
                    contact_jid TEXT NOT NULL,
                    PRIMARY KEY (user_jid, contact_jid)
                ) STRICT;

                -- AUTOINCREMENT: a sequence is never reused, even after the newest row is deleted,
                -- so a stale acknowledgement can never remove a newer stanza.
                CREATE TABLE outbound_queue (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    domain TEXT NOT NULL,
                    from_jid TEXT NOT NULL,
                    to_jid TEXT NOT NULL,
                    stanza TEXT NOT NULL,
                    accepted_at INTEGER NOT NULL
                );
                CREATE INDEX outbound_queue_domain ON outbound_queue(domain, sequence);

                CREATE TABLE offline_message (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    user_jid TEXT NOT NULL REFERENCES user(jid) ON DELETE CASCADE,
                    from_jid TEXT NOT NULL,
                    stanza TEXT NOT NULL,
                    received_at INTEGER NOT NULL
                );
                CREATE INDEX offline_message_user ON offline_message(user_jid, sequence);

                CREATE TABLE history (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    user_jid TEXT NOT NULL REFERENCES user(jid) ON DELETE CASCADE,
                    contact_jid TEXT NOT NULL,
                    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
                    body TEXT NOT NULL,
                    message_id TEXT,
                    at INTEGER NOT NULL
                );
                CREATE INDEX history_user_contact_at ON history(user_jid, contact_jid, at);
                CREATE INDEX history_user_at ON history(user_jid, at);

                -- No foreign key: the archive outlives the user, until the retention purge.
                CREATE TABLE archive (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    user_jid TEXT NOT NULL,
                    contact_jid TEXT NOT NULL,
                    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
                    body TEXT NOT NULL,
                    message_id TEXT,
                    at INTEGER NOT NULL
                );
                CREATE INDEX archive_at ON archive(at);

                CREATE TABLE allowlist_change (
                    pattern TEXT PRIMARY KEY NOT NULL,
                    action TEXT NOT NULL CHECK (action IN ('allow', 'block', 'remove')),
                    additional_domains TEXT,
                    trust TEXT,
                    tls TEXT,
                    sasl TEXT,
                    dialback INTEGER,
                    route_host TEXT,
                    route_port INTEGER,
                    route_direct_tls INTEGER,
                    keep_alive INTEGER,
                    connection_limit INTEGER,
                    description TEXT,
                    changed_at INTEGER NOT NULL
                ) STRICT;
                """
        )
        // History text search: an FTS5 index over the bodies, kept in step by triggers.
        try db.create(virtualTable: "history_fts", using: FTS5()) { table in
            table.synchronize(withTable: "history")
            table.tokenizer = .unicode61()
            table.column("body")
        }
    }
}
