package import PresenceModel
package import XMLStreaming
package import XMPP

/// One change to the store. A batch of them is written in one transaction
/// (`GatewayStore.write(_:)`), so that the gateway's writer pays one commit, and one fsync, for
/// every change that is ready, and a batch is stored whole or not at all.
package enum StoreWrite: Sendable, Hashable {
    /// A stanza accepted from an internal user, kept until it is written to its link or bounced.
    /// Its result is the stanza's sequence.
    case enqueue(XMLElement, from: JID, to: JID, at: Timestamp)
    /// A queued stanza's stay ended (delivered or bounced). Its result is 1 if it was still queued.
    case dequeue(QueuedStanzaReference)
    /// A message for history and, when the archive policy covers the user, the compliance archive.
    /// Its result is the history id.
    case recordMessage(MessageRecord)
    /// A stanza kept for an internal user who is not connected. Its result is its sequence.
    case appendOfflineMessage(XMLElement, for: JID, from: JID, at: Timestamp)
    /// The user's offline messages up to `through` were handed over. Its result is how many went.
    case deleteOfflineMessages(for: JID, through: Int64)
    case savePresence(RichPresence, of: JID)
    /// Adds or replaces one contact of an existing user.
    case saveContact(Contact, of: JID)
    /// Its result is 1 if there was such a contact.
    case removeContact(JID, of: JID)
    case holdSubscriptionRequest(from: JID, to: JID)
    /// Its result is 1 if a request was held.
    case releaseSubscriptionRequest(from: JID, to: JID)
}

/// Which queued stanza a `.dequeue` ends: one stored before, by sequence, or one whose `.enqueue`
/// comes earlier in the same batch, by its index there.
package enum QueuedStanzaReference: Sendable, Hashable {
    case sequence(Int64)
    case enqueued(atIndex: Int)
}
