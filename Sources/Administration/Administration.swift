package import Configuration
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
package import PresenceModel
package import Storage

/// The operations behind `consulate users` and `consulate domains`, over any `GatewayStore`: a
/// library rather than code in the command so that tests run them against a real SQLite file, and
/// so that the admin HTTP API can offer the same operations with the same checks.
///
/// Every operation validates its input before it writes, so a refused call leaves the store as it
/// was; refusals and store failures come back as `AdminError`s with the message to print.
package struct Administration: Sendable {
    package let store: any GatewayStore
    /// The domains internal users may live on (`gateway.domains`).
    package let localDomains: Set<String>
    /// The clock, passed in because the store reads none (token and change times).
    let now: @Sendable () -> Timestamp

    /// `now` defaults to the system clock; tests pass a fixed one.
    package init(store: any GatewayStore, localDomains: Set<String>, now: (@Sendable () -> Timestamp)? = nil) {
        self.store = store
        self.localDomains = localDomains
        self.now = now ?? Timestamp.systemNow
    }

    /// Opens the store `configuration` names, with its archive policy.
    package static func open(_ configuration: GatewayConfiguration) throws(AdminError) -> Administration {
        let store: SQLiteStore
        do throws(StorageError) {
            store = try SQLiteStore(
                path: configuration.store.path, archivePolicy: ArchivePolicy(configuration.store.archive), busyTimeout: configuration.store.busyTimeout
            )
        } catch {
            throw AdminError("cannot open the store '\(configuration.store.path)': \(error)", exitCode: AdminError.failure)
        }
        return Administration(store: store, localDomains: configuration.translation.localDomains)
    }

    /// Runs a store call, turning its refusals into input errors and its failures into exit code 1.
    @discardableResult
    func storing<T>(_ body: () async throws(StorageError) -> T) async throws(AdminError) -> T {
        do throws(StorageError) {
            return try await body()
        } catch {
            switch error {
            case .database, .corrupt: throw AdminError("\(error)", exitCode: AdminError.failure)
            case .invalidJID, .invalidPresence, .invalidPartner, .unknownUser: throw AdminError("\(error)")
            }
        }
    }
}

extension ArchivePolicy {
    /// The store's policy for the `[store] archive` setting.
    package init(_ archive: StoreSettings.Archive) {
        switch archive {
        case .everyone: self = .everyone
        case .nobody: self = .nobody
        case .only(let users): self = .only(users)
        }
    }
}

/// What an admin operation changed in the store, so that a running gateway reads back only that:
/// the runtime allowlist (cheap), or the internal users (the whole directory).
package enum StoreChange: Sendable, Hashable, CaseIterable {
    case allowlist
    case users

    /// The signal that tells a running server of the change from another process
    /// (`RunningServer.notify`): one per change, so that the server reads back only what changed.
    package var signal: Int32 {
        switch self {
        case .users: SIGUSR1
        case .allowlist: SIGUSR2
        }
    }
}
