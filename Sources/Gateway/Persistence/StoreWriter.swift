import Federation
import GatewayCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PresenceModel
import Storage
import Translation
import XMPP

/// Carries out the core's store jobs in the order they were decided, as a child task of the
/// gateway's `run()`: the inbox never waits for the disk, yet a later state can never be
/// overtaken by an earlier one (a contact's, or a queued message's delivery by its acceptance).
///
/// Group commit: every job that is ready when the writer comes round (up to `maximumBatch`) is
/// written in one transaction, so the store pays one commit and one fsync per batch however fast
/// jobs come. When a batch fails, its jobs are tried again one by one, so that one job the store
/// refuses (a user removed meanwhile) does not take the others with it, and each failure is known.
/// What was done goes back to the core as a `StoreReport`, and `flushed` tells `Gateway.apply`
/// whether its own jobs were stored.
///
/// Messages are known to the core by ticket and to the store by sequence; since the writer stores
/// each message before anything that can end its stay, it alone keeps the map from one to the other.
struct StoreWriter: Sendable {
    /// Names the jobs of one input whose caller waits for them to be stored.
    struct Acknowledgement: Sendable, Hashable {
        var id: UInt64
    }

    enum Job: Sendable {
        case core(StoreJob, Acknowledgement?)
        case purgeArchive(before: Timestamp)
        /// Called once every job before it is carried out: `true` when the jobs of the
        /// acknowledgement (if any) were all stored.
        case flushed(@Sendable (Bool) -> Void, Acknowledgement?)
    }

    /// Most jobs in one transaction: enough to amortise the fsync, few enough that one batch holds
    /// no lock for long.
    static let maximumBatch = 512

    private let store: any GatewayStore
    /// For the archive purge, which is the writer's own job; the core logs what fails of its jobs.
    private let logger: Logger
    private let queue = JobQueue()
    /// Where the report of each batch goes: back into the gateway's inbox.
    private let reported: @Sendable (StoreReport) -> Void
    /// Where the offline messages a `.readOffline` read go: back into the gateway's inbox.
    private let offlineMessagesRead: @Sendable (SubscriberID, [OfflineMessage]) -> Void

    init(
        store: any GatewayStore, logger: Logger, reported: @escaping @Sendable (StoreReport) -> Void,
        offlineMessagesRead: @escaping @Sendable (SubscriberID, [OfflineMessage]) -> Void
    ) {
        self.store = store
        self.logger = logger
        self.reported = reported
        self.offlineMessagesRead = offlineMessagesRead
    }

    func submit(_ job: Job) {
        if !queue.submit(job), case .flushed(let done, _) = job { done(false) }
    }

    /// Takes no more jobs; `run()` returns once those already handed over are carried out.
    func finish() {
        queue.finish()
    }

    /// What the writer keeps from one batch to the next.
    private struct Progress {
        var sequences: [Ticket: Int64] = [:]
        var failedAcknowledgements: Set<Acknowledgement> = []
    }

    /// Carries the jobs out until `finish()`.
    func run() async {
        var progress = Progress()
        while let jobs = await queue.next(upTo: Self.maximumBatch) {
            await perform(jobs, &progress)
        }
    }

    /// One round: the writes are gathered and committed together, up to each job that must see
    /// them committed first (a read, the archive purge, a flush).
    private func perform(_ jobs: [Job], _ progress: inout Progress) async {
        var pending: [(StoreJob, Acknowledgement?)] = []
        var report = StoreReport()
        for job in jobs {
            switch job {
            case .core(.readOffline(let user, let subscriber, let after, let page), _):
                await commit(&pending, &report, &progress)
                report.completed += 1
                do throws(StorageError) {
                    offlineMessagesRead(subscriber, try await store.offlineMessages(for: user, after: after, limit: page.count, maxBytes: page.bytes))
                } catch {
                    report.failures.append(StoreFailure(.readOffline(user, for: subscriber, after: after, page: page), reason: "\(error)"))
                    offlineMessagesRead(subscriber, [])
                }
            case .core(let storeJob, let acknowledgement):
                pending.append((storeJob, acknowledgement))
            case .purgeArchive(let cutoff):
                await commit(&pending, &report, &progress)
                do throws(StorageError) {
                    let purged = try await store.purgeArchive(before: cutoff)
                    if purged > 0 { logger.info("compliance archive purged", metadata: ["messages": "\(purged)", "before": "\(cutoff)"]) }
                } catch {
                    logger.error("could not purge the compliance archive; the next purge tries again", metadata: ["error": "\(error)"])
                }
            case .flushed(let done, let acknowledgement):
                await commit(&pending, &report, &progress)
                send(&report)
                done(acknowledgement.map { progress.failedAcknowledgements.remove($0) == nil } ?? true)
            }
        }
        await commit(&pending, &report, &progress)
        send(&report)
    }

    private func send(_ report: inout StoreReport) {
        guard report.completed > 0 || !report.failures.isEmpty else { return }
        reported(report)
        report = StoreReport()
    }

    /// Writes `pending` in one transaction, or one job per transaction when that fails.
    private func commit(_ pending: inout [(StoreJob, Acknowledgement?)], _ report: inout StoreReport, _ progress: inout Progress) async {
        guard !pending.isEmpty else { return }
        defer {
            report.completed += pending.count
            pending = []
        }
        var batch = Batch(sequences: progress.sequences)
        for (job, _) in pending { batch.add(job) }
        do throws(StorageError) {
            try await batch.commit(to: store, &progress.sequences)
            report.stored += batch.stored
            return
        } catch {
            // Tried again one by one below.
        }
        for (job, acknowledgement) in pending {
            var single = Batch(sequences: progress.sequences)
            single.add(job)
            do throws(StorageError) {
                try await single.commit(to: store, &progress.sequences)
                report.stored += single.stored
            } catch {
                report.failures.append(StoreFailure(job, reason: "\(error)"))
                if let acknowledgement { progress.failedAcknowledgements.insert(acknowledgement) }
            }
        }
    }

    /// The writes of some jobs, with what they will change in the ticket-to-sequence map once
    /// committed.
    private struct Batch {
        var writes: [StoreWrite] = []
        /// The map as it will be after the batch, but for the sequences of its own enqueues.
        var sequences: [Ticket: Int64]
        /// Each ticket enqueued in the batch (and not dequeued in it), with its write's index.
        var enqueued: [Ticket: Int] = [:]
        var stored: [Ticket] = []

        init(sequences: [Ticket: Int64]) {
            self.sequences = sequences
        }

        mutating func add(_ job: StoreJob) {
            switch job {
            case .directory(let changes):
                writes += changes.map(Self.write)
            case .enqueue(let ticket, let outgoing, let record, let at):
                enqueued[ticket] = writes.count
                stored.append(ticket)
                writes.append(.enqueue(outgoing.element, from: outgoing.from.bare, to: outgoing.to, at: at))
                if let record { writes.append(.recordMessage(record)) }
            case .adopt(let ticket, let sequence):
                sequences[ticket] = sequence
            case .delivered(let ticket), .bounced(let ticket):
                if let sequence = sequences.removeValue(forKey: ticket) {
                    writes.append(.dequeue(.sequence(sequence)))
                } else if let index = enqueued.removeValue(forKey: ticket) {
                    writes.append(.dequeue(.enqueued(atIndex: index)))
                }
            case .record(let message):
                writes.append(.recordMessage(message))
            case .keepOffline(let element, let user, let from, let at):
                writes.append(.appendOfflineMessage(element, for: user, from: from, at: at))
            case .deleteOffline(let user, let sequence):
                writes.append(.deleteOfflineMessages(for: user, through: sequence))
            case .readOffline:
                break
            }
        }

        func commit(to store: any GatewayStore, _ sequences: inout [Ticket: Int64]) async throws(StorageError) {
            let results = try await store.apply(writes)
            sequences = self.sequences
            for (ticket, index) in enqueued { sequences[ticket] = results[index] }
        }

        private static func write(_ change: DirectoryChange) -> StoreWrite {
            switch change {
            case .presence(let presence, let user): .savePresence(presence, of: user)
            case .contact(let contact, let user): .saveContact(contact, of: user)
            case .removeContact(let contact, let user): .removeContact(contact, of: user)
            case .hold(let contact, let user): .holdSubscriptionRequest(from: contact, to: user)
            case .release(let contact, let user): .releaseSubscriptionRequest(from: contact, to: user)
            }
        }
    }
}

/// The writer's queue: any number of producers, one consumer that takes every job ready at once.
/// Unbounded here by design: the core counts the jobs it hands over (`GatewayCore.storeBacklog`)
/// and stops reading from peers while the store is behind.
private final class JobQueue: Sendable {
    private struct State {
        var jobs = CircularBuffer<StoreWriter.Job>()
        var waiting: CheckedContinuation<[StoreWriter.Job]?, Never>?
        var finished = false
    }

    private let state = NIOLockedValueBox(State())

    /// `false` once finished: the job is not taken.
    func submit(_ job: StoreWriter.Job) -> Bool {
        let (accepted, waiting) = state.withLockedValue { state -> (Bool, CheckedContinuation<[StoreWriter.Job]?, Never>?) in
            guard !state.finished else { return (false, nil) }
            guard let waiting = state.waiting else {
                state.jobs.append(job)
                return (true, nil)
            }
            state.waiting = nil
            return (true, waiting)
        }
        waiting?.resume(returning: [job])
        return accepted
    }

    func finish() {
        // A waiting consumer means the queue is empty.
        let waiting = state.withLockedValue { state -> CheckedContinuation<[StoreWriter.Job]?, Never>? in
            state.finished = true
            defer { state.waiting = nil }
            return state.waiting
        }
        waiting?.resume(returning: nil)
    }

    /// Up to `limit` jobs, waiting for one if there is none; `nil` once finished and empty.
    func next(upTo limit: Int) async -> [StoreWriter.Job]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[StoreWriter.Job]?, Never>) in
            let ready = state.withLockedValue { state -> [StoreWriter.Job]?? in
                if !state.jobs.isEmpty {
                    let count = min(limit, state.jobs.count)
                    let taken = Array(state.jobs.prefix(count))
                    state.jobs.removeFirst(count)
                    return .some(taken)
                }
                if state.finished { return .some(nil) }
                state.waiting = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
