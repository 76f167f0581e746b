import Logging
import PresenceModel
import Storage
import Translation
import XMLStreaming
import XMPP

/// Carries out the gateway's store writes one at a time in the inbox's order, on a task of its
/// own: the inbox never waits for the disk, yet a later state can never be overtaken by an earlier
/// one (a contact's, or a queued message's delivery by its acceptance). `flush` lets
/// `Gateway.apply` answer only once its change is stored.
///
/// Durable messages are known to the inbox by ledger tickets (`OutboundLedger`) and to the store by
/// sequence; since the writer stores each message before anything that can end its stay, it alone
/// keeps the map from one to the other.
final class StoreWriter: Sendable {
    enum Job: Sendable {
        case directory([DirectoryChange])
        /// A message accepted from an internal user, to keep until delivered or bounced.
        case enqueue(ticket: UInt64, XMLElement, from: JID, to: JID, at: Timestamp)
        /// A message loaded from the store at start: already stored under `sequence`.
        case adopt(ticket: UInt64, sequence: Int64)
        case delivered(ticket: UInt64)
        case bounced(ticket: UInt64)
        case record(MessageRecord)
        /// A message for an internal user with no event stream open.
        case keepOffline(XMLElement, for: JID, from: JID, at: Timestamp)
        /// Reads the user's offline messages after every write handed over before; `deliver`
        /// gets them in order.
        case readOffline(JID, deliver: @Sendable ([OfflineMessage]) -> Void)
        /// The offline messages up to `sequence` have been handed to an event stream.
        case deleteOffline(JID, through: Int64)
        case purgeArchive(before: Timestamp)
        case flushed(CheckedContinuation<Void, Never>)
    }

    private let jobs: AsyncStream<Job>.Continuation
    private let task: Task<Void, Never>

    init(store: any GatewayStore, logger: Logger) {
        let (stream, continuation) = AsyncStream.makeStream(of: Job.self)
        jobs = continuation
        task = Task {
            var sequences: [UInt64: Int64] = [:]
            for await job in stream {
                await Self.perform(job, on: store, sequences: &sequences, logger: logger)
            }
        }
    }

    func submit(_ job: Job) {
        if case .terminated = jobs.yield(job), case .flushed(let done) = job { done.resume() }
    }

    func write(_ writes: [DirectoryChange]) {
        guard !writes.isEmpty else { return }
        submit(.directory(writes))
    }

    /// Resumes `done` once every write handed over before it is in the store (at once when the
    /// writer has finished).
    func flush(_ done: CheckedContinuation<Void, Never>) {
        submit(.flushed(done))
    }

    /// Takes no more writes and returns once those already handed over are stored.
    func finish() async {
        jobs.finish()
        await task.value
    }

    /// A failed write is logged, not retried: the state in memory stays right for this run, and
    /// the log says which change a restart would lose.
    private static func perform(_ job: Job, on store: any GatewayStore, sequences: inout [UInt64: Int64], logger: Logger) async {
        do throws(StorageError) {
            switch job {
            case .directory(let writes):
                for write in writes {
                    do throws(StorageError) { try await perform(write, on: store) } catch {
                        logger.error("could not store a change of an internal user", metadata: ["change": "\(write)", "error": "\(error)"])
                    }
                }
            case .enqueue(let ticket, let element, let from, let to, let at):
                sequences[ticket] = try await store.enqueue(element, from: from, to: to, at: at)
            case .adopt(let ticket, let sequence):
                sequences[ticket] = sequence
            case .delivered(let ticket):
                if let sequence = sequences.removeValue(forKey: ticket) { try await store.markDelivered(sequence) }
            case .bounced(let ticket):
                if let sequence = sequences.removeValue(forKey: ticket) { try await store.markBounced(sequence) }
            case .record(let message):
                try await store.recordMessage(message)
            case .keepOffline(let element, let user, let from, let at):
                try await store.appendOfflineMessage(element, for: user, from: from, at: at)
            case .readOffline(let user, let deliver):
                let messages: [OfflineMessage]
                do throws(StorageError) { messages = try await store.offlineMessages(for: user) } catch {
                    deliver([])
                    throw error
                }
                deliver(messages)
            case .deleteOffline(let user, let sequence):
                try await store.deleteOfflineMessages(for: user, through: sequence)
            case .purgeArchive(let cutoff):
                let purged = try await store.purgeArchive(before: cutoff)
                if purged > 0 { logger.info("compliance archive purged", metadata: ["messages": "\(purged)", "before": "\(cutoff)"]) }
            case .flushed(let done):
                done.resume()
            }
        } catch {
            logger.error("could not write to the store", metadata: ["job": "\(job.kind)", "error": "\(error)"])
        }
    }

    private static func perform(_ write: DirectoryChange, on store: any GatewayStore) async throws(StorageError) {
        switch write {
        case .presence(let presence, let user): try await store.savePresence(presence, of: user)
        case .contact(let contact, let user): try await store.saveContact(contact, of: user)
        case .removeContact(let contact, let user): try await store.removeContact(contact, of: user)
        case .hold(let contact, let user): try await store.holdSubscriptionRequest(from: contact, to: user)
        case .release(let contact, let user): try await store.releaseSubscriptionRequest(from: contact, to: user)
        }
    }
}

extension StoreWriter.Job {
    /// What the job does, for the log: never a message's content.
    var kind: String {
        switch self {
        case .directory: "directory changes"
        case .enqueue(let ticket, _, _, let to, _): "queue a message to \(to) (ticket \(ticket))"
        case .adopt(let ticket, let sequence): "adopt queued message \(sequence) (ticket \(ticket))"
        case .delivered(let ticket): "mark ticket \(ticket) delivered"
        case .bounced(let ticket): "mark ticket \(ticket) bounced"
        case .record(let message): "record a message of \(message.user) in history"
        case .keepOffline(_, let user, _, _): "keep an offline message for \(user)"
        case .readOffline(let user, _): "read the offline messages of \(user)"
        case .deleteOffline(let user, let sequence): "delete the offline messages of \(user) through \(sequence)"
        case .purgeArchive(let cutoff): "purge the archive before \(cutoff)"
        case .flushed: "flush"
        }
    }
}
