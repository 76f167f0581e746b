package import Federation
package import PresenceModel
package import Storage
package import Translation
package import XMLStreaming
package import XMPP

/// What the core asks the store to keep, in the order it must be kept: the runtime's store writer
/// carries the jobs out in order, every job that is ready in one transaction, so a later state is
/// never overtaken by an earlier one (a contact's, or a message's delivery by its acceptance).
/// What it did comes back as a `StoreReport`.
///
/// Messages an internal user sent are known to the core by `Ticket` and to the store by sequence;
/// the writer keeps the map, since it stores each message before anything can end its stay.
package enum StoreJob: Sendable, Hashable {
    case directory([DirectoryChange])
    /// A message accepted from an internal user, kept until it is written to its link or bounced,
    /// with its history record (and so its compliance archive entry) in the same transaction:
    /// stored before the user is acknowledged, and before it is sent.
    case enqueue(Ticket, OutgoingStanza, record: MessageRecord?, at: Timestamp)
    /// A message a previous run left in the store, already stored under `sequence`.
    case adopt(Ticket, sequence: Int64)
    case delivered(Ticket)
    case bounced(Ticket)
    /// A message for history (and the compliance archive).
    case record(MessageRecord)
    /// A message for an internal user with no event stream open.
    case keepOffline(XMLElement, for: JID, from: JID, at: Timestamp)
    /// Read a page of the user's offline messages after `after` (from the first when `nil`),
    /// after every job before this one, and hand them back as `.offlineMessagesRead` for the
    /// event stream catching up.
    case readOffline(JID, for: SubscriberID, after: Int64?, page: SubscriberFanOut.OfflinePage)
    /// The user's offline messages up to `sequence` have been handed to an event stream.
    case deleteOffline(JID, through: Int64)
}

extension StoreJob {
    /// What the job is, for logs and the store-failure metric: never a message's content.
    package var kind: String {
        switch self {
        case .directory: "directory"
        case .enqueue: "enqueue"
        case .adopt: "adopt"
        case .delivered: "delivered"
        case .bounced: "bounced"
        case .record: "history"
        case .keepOffline: "offline"
        case .readOffline: "read-offline"
        case .deleteOffline: "delete-offline"
        }
    }
}

/// What the store writer did with the core's jobs since its last report, in the order they were
/// handed over: how the core learns that a message may go out, what failed, and how far the store
/// is behind.
package struct StoreReport: Sendable, Hashable {
    /// Jobs carried out, stored or failed.
    package var completed: Int
    /// The messages (`.enqueue`) now stored, in order.
    package var stored: [Ticket]
    /// The jobs that could not be stored, with the store's reason.
    package var failures: [StoreFailure]

    package init(completed: Int = 0, stored: [Ticket] = [], failures: [StoreFailure] = []) {
        self.completed = completed
        self.stored = stored
        self.failures = failures
    }
}

package struct StoreFailure: Sendable, Hashable {
    package var job: StoreJob
    package var reason: String

    package init(_ job: StoreJob, reason: String) {
        self.job = job
        self.reason = reason
    }
}
