import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an admin command reaches the `consulate serve` running on the same store: the server keeps
/// its process id in a file next to the store (`<store path>.pid`), and a command that changed the
/// store sends that process SIGHUP, on which it applies the store's changes and reloads
/// `federation.toml`. The store is what ties the two together, so two gateways on two stores on
/// one machine never signal each other.
public struct RunningServer: Sendable, Hashable {
    /// What a notification found.
    public enum Notification: Sendable, Hashable {
        /// The server was sent SIGHUP.
        case signalled(pid: Int32)
        /// No server runs on this store (no file, or a file left by one that is gone).
        case notRunning
    }

    /// The process-id file.
    public let path: String

    /// The file for the store at `storePath`.
    public init(storePath: String) {
        path = storePath + ".pid"
    }

    /// Records this process as the store's server.
    public func register(pid: Int32? = nil) throws {
        let pid = pid ?? getpid()
        try "\(pid)\n".write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Forgets this process, if the file still names it.
    public func unregister(pid: Int32? = nil) {
        if runningPID() == (pid ?? getpid()) { try? FileManager.default.removeItem(atPath: path) }
    }

    /// The recorded process id if that process exists.
    public func runningPID() -> Int32? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
            kill(pid, 0) == 0 || errno == EPERM
        else { return nil }
        return pid
    }

    /// Sends SIGHUP to the store's server, if one runs.
    public func notifyChange() -> Notification {
        guard let pid = runningPID(), kill(pid, SIGHUP) == 0 else { return .notRunning }
        return .signalled(pid: pid)
    }
}
