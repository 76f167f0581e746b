package import Federation
package import PresenceModel
package import XMLStreaming
package import XMPP

/// Who an API token speaks for: one internal user, or the administrator (the admin API and
/// `consulate` admin commands), which is no user and so has no row of its own.
package enum TokenOwner: Sendable, Hashable, CustomStringConvertible {
    case user(JID)
    case admin

    package var description: String {
        switch self {
        case .user(let jid): "user \(jid)"
        case .admin: "admin"
        }
    }
}

/// A stanza accepted from an internal user and not yet delivered or bounced. The sequence is the
/// acknowledgement the user got and the delivery order within a domain; it is never reused, so a
/// late `markDelivered` cannot remove a newer stanza.
package struct QueuedStanza: Sendable, Hashable {
    package var sequence: Int64
    /// The remote domain (`to`'s domainpart): the link the stanza waits for.
    package var domain: String
    package var from: JID
    package var to: JID
    package var stanza: XMLElement
    package var acceptedAt: Timestamp

    package init(sequence: Int64, domain: String, from: JID, to: JID, stanza: XMLElement, acceptedAt: Timestamp) {
        self.sequence = sequence
        self.domain = domain
        self.from = from
        self.to = to
        self.stanza = stanza
        self.acceptedAt = acceptedAt
    }
}

/// A stanza for an internal user who was not connected, kept until it has been handed to them.
package struct OfflineMessage: Sendable, Hashable {
    /// Arrival order across all users; per user, the order of delivery.
    package var sequence: Int64
    package var user: JID
    package var from: JID
    package var stanza: XMLElement
    package var receivedAt: Timestamp

    package init(sequence: Int64, user: JID, from: JID, stanza: XMLElement, receivedAt: Timestamp) {
        self.sequence = sequence
        self.user = user
        self.from = from
        self.stanza = stanza
        self.receivedAt = receivedAt
    }
}

/// Which way a message went, seen from the internal user.
package enum MessageDirection: String, Sendable, Hashable, CaseIterable {
    /// From the contact to the user.
    case inbound = "in"
    /// From the user to the contact.
    case outbound = "out"
}

/// One message in a user's conversation with a contact, as history and the compliance archive keep
/// it: the text and who, when and which way, not the stanza (chat states and receipts are not
/// conversation).
package struct MessageRecord: Sendable, Hashable {
    /// Assigned by the store; ignored when recording.
    package var id: Int64
    /// The internal user whose conversation this is (bare).
    package var user: JID
    /// The other party (bare).
    package var contact: JID
    package var direction: MessageDirection
    package var body: String
    /// The stanza's `id`, if it had one, so receipts and corrections can be matched to it.
    package var messageID: String?
    package var at: Timestamp

    package init(
        id: Int64 = 0, user: JID, contact: JID, direction: MessageDirection, body: String, messageID: String? = nil,
        at: Timestamp
    ) {
        self.id = id
        self.user = user
        self.contact = contact
        self.direction = direction
        self.body = body
        self.messageID = messageID
        self.at = at
    }
}

/// A stored message as JSON: one line of the compliance archive's JSON Lines export (with `user`),
/// and one message of the history API (without: it is the caller's own). One shape, so one reader
/// handles both; the field names are the export format, documented in ARCHITECTURE.md, and
/// changing them breaks whoever reads the exports.
package struct MessageJSON: Encodable, Sendable {
    package var id: Int64
    /// XEP-0082, UTC.
    package var at: String
    /// The internal user (bare); left out of the history, whose user is the caller.
    package var user: String?
    /// The other party (bare).
    package var contact: String
    /// `in` (from the contact) or `out` (from the user).
    package var direction: String
    package var body: String
    package var messageID: String?

    package init(_ record: MessageRecord, withUser: Bool) {
        id = record.id
        at = record.at.xmppDateTime
        user = withUser ? record.user.description : nil
        contact = record.contact.description
        direction = record.direction.rawValue
        body = record.body
        messageID = record.messageID
    }

    enum CodingKeys: String, CodingKey {
        case id, at, user, contact, direction, body
        case messageID = "message_id"
    }
}

/// A history search for one user; every other criterion narrows it. Results come oldest first.
package struct HistoryQuery: Sendable, Hashable {
    package var user: JID
    /// Only the conversation with this contact (bare).
    package var contact: JID?
    /// From this instant, inclusive.
    package var since: Timestamp?
    /// Before this instant, exclusive, so consecutive ranges do not overlap.
    package var until: Timestamp?
    /// Words the body must contain, all of them, each as a word prefix (full-text search, so
    /// `meet` finds "Meeting at ten"); quotes and operators in the text are taken literally.
    package var text: String?
    /// At most this many results, the most recent ones (still returned oldest first).
    package var limit: Int?

    package init(
        user: JID, contact: JID? = nil, since: Timestamp? = nil, until: Timestamp? = nil, text: String? = nil, limit: Int? = nil
    ) {
        self.user = user
        self.contact = contact
        self.since = since
        self.until = until
        self.text = text
        self.limit = limit
    }
}

/// Whose messages go to the compliance archive: everyone, or only the users listed in the
/// configuration (regulated roles); `nobody` turns the archive off.
package enum ArchivePolicy: Sendable, Hashable {
    case everyone
    case only(Set<JID>)
    case nobody

    /// Whether a message in `user`'s conversation is archived.
    package func covers(_ user: JID) -> Bool {
        switch self {
        case .everyone: true
        case .only(let users): users.contains(user)
        case .nobody: false
        }
    }
}

/// A change to the allowlist made at runtime (admin API or `consulate domains`), kept so that it
/// survives a restart and is applied over the `[[partner]]` entries of `federation.toml`.
package enum AllowlistChange: Sendable, Hashable {
    /// Add or replace a partner with these settings.
    case allow(PartnerPolicy)
    /// Refuse the domain, whatever the file says.
    case block(DomainPattern)
    /// Forget the partner, also one the file lists.
    case remove(DomainPattern)

    /// The domain pattern the change is about; one change per pattern is kept, the latest.
    package var pattern: DomainPattern {
        switch self {
        case .allow(let partner): partner.domain
        case .block(let pattern), .remove(let pattern): pattern
        }
    }
}

/// An allowlist change as stored: the change and when it was made.
package struct StoredAllowlistChange: Sendable, Hashable {
    package var change: AllowlistChange
    package var changedAt: Timestamp

    package init(change: AllowlistChange, changedAt: Timestamp) {
        self.change = change
        self.changedAt = changedAt
    }
}
