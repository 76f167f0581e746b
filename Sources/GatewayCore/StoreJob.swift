package import Federation
package import PresenceModel
package import Storage
package import Translation
package import XMLStreaming
package import XMPP

/// What the core asks the store to keep, in the order it must be kept: the runtime's store writer
/// carries the jobs out one after another, so a later state is never overtaken by an earlier one
/// (a contact's, or a message's delivery by its acceptance).
///
/// Messages an internal user sent are known to the core by `Ticket` and to the store by sequence;
/// the writer keeps the map, since it stores each message before anything can end its stay.
package enum StoreJob: Sendable, Hashable {
    case directory([DirectoryChange])
    /// A message accepted from an internal user, kept until it is written to its link or bounced:
    /// stored before the user is acknowledged.
    case enqueue(Ticket, OutgoingStanza, at: Timestamp)
    /// A message a previous run left in the store, already stored under `sequence`.
    case adopt(Ticket, sequence: Int64)
    case delivered(Ticket)
    case bounced(Ticket)
    /// A message for history (and the compliance archive).
    case record(MessageRecord)
    /// A message for an internal user with no event stream open.
    case keepOffline(XMLElement, for: JID, from: JID, at: Timestamp)
    /// Read the user's offline messages, after every job before this one, and hand them back as
    /// `.offlineMessagesRead` for the event stream that just opened.
    case readOffline(JID, for: SubscriberID)
    /// The user's offline messages up to `sequence` have been handed to an event stream.
    case deleteOffline(JID, through: Int64)
}
