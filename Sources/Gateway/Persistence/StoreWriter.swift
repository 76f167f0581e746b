import Federation
import GatewayCore
import Logging
import PresenceModel
import Storage
import Translation
import XMLStreaming
import XMPP

/// Carries out the core's store jobs one at a time in the order they were decided, as a child task
/// of the gateway's `run()`: the inbox never waits for the disk, yet a later state can never be
/// overtaken by an earlier one (a contact's, or a queued message's delivery by its acceptance).
/// `flushed` lets `Gateway.apply` answer only once its change is stored.
///
/// Messages are known to the core by ticket and to the store by sequence; since the writer stores
/// each message before anything that can end its stay, it alone keeps the map from one to the other.
struct StoreWriter: Sendable {
    enum Job: Sendable {
        case core(StoreJob)
        case purgeArchive(before: Timestamp)
        case flushed(CheckedContinuation<Void, Never>)
    }

    private let store: any GatewayStore
    private let logger: Logger
    private let jobs: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation
    /// Where the offline messages a `.readOffline` read go: back into the gateway's inbox.
    private let offlineMessagesRead: @Sendable (SubscriberID, [OfflineMessage]) -> Void

    init(store: any GatewayStore, logger: Logger, offlineMessagesRead: @escaping @Sendable (SubscriberID, [OfflineMessage]) -> Void) {
        self.store = store
        self.logger = logger
        self.offlineMessagesRead = offlineMessagesRead
        (jobs, continuation) = AsyncStream.makeStream(of: Job.self)
    }

    func submit(_ job: Job) {
        if case .terminated = continuation.yield(job), case .flushed(let done) = job { done.resume() }
    }

    /// Takes no more jobs; `run()` returns once those already handed over are stored.
    func finish() {
        continuation.finish()
    }

    /// Stores the jobs in order until `finish()`.
    func run() async {
        var sequences: [Ticket: Int64] = [:]
        for await job in jobs {
            await perform(job, sequences: &sequences)
        }
    }

    /// A failed write is logged, not retried: the state in memory stays right for this run, and
    /// the log says which change a restart would lose.
    private func perform(_ job: Job, sequences: inout [Ticket: Int64]) async {
        do throws(StorageError) {
            switch job {
            case .core(let job):
                try await perform(job, sequences: &sequences)
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

    private func perform(_ job: StoreJob, sequences: inout [Ticket: Int64]) async throws(StorageError) {
        switch job {
        case .directory(let changes):
            for change in changes {
                do throws(StorageError) { try await perform(change) } catch {
                    logger.error("could not store a change of an internal user", metadata: ["change": "\(change)", "error": "\(error)"])
                }
            }
        case .enqueue(let ticket, let outgoing, let at):
            sequences[ticket] = try await store.enqueue(outgoing.element, from: outgoing.from.bare, to: outgoing.to, at: at)
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
        case .readOffline(let user, let subscriber):
            let messages: [OfflineMessage]
            do throws(StorageError) { messages = try await store.offlineMessages(for: user) } catch {
                offlineMessagesRead(subscriber, [])
                throw error
            }
            offlineMessagesRead(subscriber, messages)
        case .deleteOffline(let user, let sequence):
            try await store.deleteOfflineMessages(for: user, through: sequence)
        }
    }

    private func perform(_ change: DirectoryChange) async throws(StorageError) {
        switch change {
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
        case .core(let job):
            switch job {
            case .directory: "directory changes"
            case .enqueue(let ticket, let outgoing, _): "queue a message to \(outgoing.to) (\(ticket))"
            case .adopt(let ticket, let sequence): "adopt queued message \(sequence) (\(ticket))"
            case .delivered(let ticket): "mark \(ticket) delivered"
            case .bounced(let ticket): "mark \(ticket) bounced"
            case .record(let message): "record a message of \(message.user) in history"
            case .keepOffline(_, let user, _, _): "keep an offline message for \(user)"
            case .readOffline(let user, _): "read the offline messages of \(user)"
            case .deleteOffline(let user, let sequence): "delete the offline messages of \(user) through \(sequence)"
            }
        case .purgeArchive(let cutoff): "purge the archive before \(cutoff)"
        case .flushed: "flush"
        }
    }
}
