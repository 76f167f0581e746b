import GRDB
import PresenceModel

/// The embedded store: one SQLite file through GRDB, the default so that Consulate runs with no
/// database server.
///
/// The file is opened as a `DatabasePool`, which puts it in WAL mode: the API's reads (history,
/// contacts) do not wait for the gateway's writes, and a write is one append to the log. Every
/// connection uses `synchronous = FULL`, so a committed transaction (an acknowledged stanza) is on
/// disk before the call returns, surviving power loss and not only a killed process. Foreign keys
/// are on, so removing a user removes what hangs off them. A write that finds the file locked by
/// another process (an admin command) waits up to `busyTimeout` for it, then fails.
package struct SQLiteStore: GatewayStore {
    /// The file the store was opened from.
    package let path: String
    /// Whose messages `recordMessage` also writes to the compliance archive.
    package let archivePolicy: ArchivePolicy
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and brings its schema up to date with the
    /// migrations; an existing file keeps its data. `archivePolicy` comes from the configuration.
    package init(path: String, archivePolicy: ArchivePolicy = .everyone, busyTimeout: Duration = .seconds(5)) throws(StorageError) {
        var configuration = GRDB.Configuration()
        configuration.foreignKeysEnabled = true
        let (seconds, attoseconds) = busyTimeout.components
        configuration.busyMode = .timeout(Double(seconds) + Double(attoseconds) / 1e18)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try StoreSchema.migrator.migrate(pool)
            self.pool = pool
        } catch {
            throw Self.storageError(error)
        }
        self.path = path
        self.archivePolicy = archivePolicy
    }

    /// The migrations applied to the file, in order: what a support request should report.
    package func appliedMigrations() async throws(StorageError) -> [String] {
        try await read { db in try StoreSchema.migrator.appliedMigrations(db) }
    }

    /// Closes the file; later calls fail. Dropping the last copy of the store closes it as well.
    package func close() throws(StorageError) {
        do {
            try pool.close()
        } catch {
            throw Self.storageError(error)
        }
    }

    // MARK: - Transactions

    /// Runs `body` in one write transaction; a `StorageError` thrown inside rolls it back and is
    /// passed on as it is, anything else becomes `.database`.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StorageError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw Self.storageError(error)
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StorageError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.storageError(error)
        }
    }

    static func storageError(_ error: any Error) -> StorageError {
        if let error = error as? StorageError { return error }
        return .database(String(describing: error))
    }
}

extension Timestamp {
    /// Stored as whole milliseconds since the epoch, which orders and compares in SQL.
    var storedValue: Int64 { millisecondsSinceEpoch }

    init(storedValue: Int64) {
        self.init(millisecondsSinceEpoch: storedValue)
    }
}
