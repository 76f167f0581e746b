import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an admin command reaches the `consulate serve` running on the same store, and how a second
/// server on that store is refused: the server holds an exclusive lock on a file next to the store
/// (`<store path>.pid`) for as long as it runs and writes its process id there, and a command that
/// changed the store sends that process the signal that names what it changed (`StoreChange.signal`:
/// SIGUSR1 for the internal users, SIGUSR2 for the allowlist), on which it reads back exactly that;
/// `federation.toml` is reloaded on SIGHUP only, so an admin command never applies unrelated edits
/// of the file. The store is what ties them together, so two gateways on two stores on one machine
/// never signal each other.
///
/// The lock, not the file's existence, says whether a server runs: the kernel releases it when the
/// process ends, SIGKILL included, so a file left behind is never taken for a running server, and
/// a pid since reused by another process is never signalled.
package struct RunningServer: Sendable, Hashable {
    /// What a notification found.
    package enum Notification: Sendable, Hashable {
        /// The server was sent the change's signal.
        case signalled(pid: Int32)
        /// No server runs on this store (no file, or a file left by one that is gone).
        case notRunning
    }

    /// The store already has a running server: two gateways on one store would both send its
    /// queued messages.
    package struct AlreadyRunning: Error, Sendable, Hashable {
        /// The running server's process id, if its file names one.
        package var pid: Int32?

        package init(pid: Int32?) {
            self.pid = pid
        }
    }

    /// The server's hold on the store, kept for as long as it runs.
    package final class Claim: Sendable {
        private let descriptor: Int32

        fileprivate init(descriptor: Int32) {
            self.descriptor = descriptor
        }

        /// Clears the recorded pid and lets the store go; at exit the kernel would release the lock
        /// anyway. The file stays: removing it would let a server starting at that moment lock a
        /// file no longer in the directory, which admin commands and a third server could not see.
        package func release() {
            _ = ftruncate(descriptor, 0)
            close(descriptor)
        }
    }

    /// The process-id file.
    package let path: String

    /// The file for the store at `storePath`.
    package init(storePath: String) {
        path = storePath + ".pid"
    }

    /// Takes the store for this process and records its id, or refuses if another server holds it.
    package func claim() throws -> Claim {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            close(descriptor)
            if failure == EWOULDBLOCK { throw AlreadyRunning(pid: recordedPID()) }
            throw POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO)
        }
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(descriptor, 0) == 0, text.withUnsafeBytes({ pwrite(descriptor, $0.baseAddress, $0.count, 0) }) == text.count else {
            let failure = errno
            close(descriptor)
            throw POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO)
        }
        return Claim(descriptor: descriptor)
    }

    /// The running server's process id, or `nil` when no process holds the store.
    package func runningPID() -> Int32? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_SH | LOCK_NB) != 0, errno == EWOULDBLOCK else { return nil }
        return recordedPID()
    }

    /// Tells the store's server, if one runs, what changed in the store.
    package func notify(_ change: StoreChange) -> Notification {
        guard let pid = runningPID(), kill(pid, change.signal) == 0 else { return .notRunning }
        return .signalled(pid: pid)
    }

    private func recordedPID() -> Int32? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return nil }
        return pid
    }
}
