import Foundation
import PresenceModel
import Storage
import XMPP

// The JSON bodies of the internal API. Field names are camelCase; the tokens inside (availability
// state names, activities, access levels, chat states) are the model's own stable tokens, the same
// as in `federation.toml` and the fixtures.

/// An availability as a client may give it: the Lync number, or the name of its range.
enum AvailabilityInput: Decodable {
    case number(UInt32)
    case state(String)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt32.self) {
            self = .number(number)
        } else {
            self = .state(try container.decode(String.self))
        }
    }

    func availability() throws(APIError) -> Availability {
        switch self {
        case .number(let value):
            return Availability(value)
        case .state(let name):
            guard let range = AvailabilityRange(rawValue: name) else {
                let known = AvailabilityRange.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.badRequest("unknown-availability", "'availability' \(name.debugDescription) is not a number or one of \(known)")
            }
            return range.representative
        }
    }
}

struct PresenceRequest: Decodable {
    var availability: AvailabilityInput
    /// A standard activity token, or any other text for a custom state.
    var activity: String?
    var note: String?
    var location: String?
    /// XEP-0153 photo hash: 40 hex digits, or `""` for no photo.
    var photo: String?

    /// The presence, checked with `RichPresence.validate()` (custom states only where Lync allows
    /// them, photo hashes well formed).
    func richPresence() throws(APIError) -> RichPresence {
        let presence = RichPresence(
            availability: try availability.availability(),
            activity: activity.map(Activity.init(token:)),
            note: note,
            location: location,
            photoHash: photo
        )
        do throws(RichPresence.ValidationError) {
            try presence.validate()
        } catch {
            throw APIError.badRequest("invalid-presence", error.description)
        }
        return presence
    }
}

struct PresenceBody: Codable, Hashable, Sendable {
    var availability: UInt32
    /// The range the number falls in: what clients show.
    var state: String
    var activity: String?
    var note: String?
    var location: String?
    var photo: String?

    init(_ presence: RichPresence) {
        availability = presence.availability.rawValue
        state = presence.availability.range.rawValue
        activity = presence.activity?.token
        note = presence.note
        location = presence.location
        photo = presence.photoHash
    }
}

struct ContactRequest: Decodable {
    var jid: String
    var name: String?
    var groups: [String]?
    /// An access level token; the gateway's default for external contacts when absent.
    var access: String?
}

struct ContactBody: Codable, Hashable, Sendable {
    struct Subscription: Codable, Hashable, Sendable {
        /// `none`, `to`, `from` or `both` (RFC 6121).
        var state: String
        var pendingOut: Bool
        var pendingIn: Bool
        var preApproved: Bool
    }

    var jid: String
    var name: String?
    var groups: [String]
    var access: String
    var subscription: Subscription
    /// How the contact appears to the user now; left out of `contact-updated` events, where the
    /// presence comes separately as `contact-presence`.
    var presence: PresenceBody?

    init(_ contact: Contact, in user: InternalUser) {
        self.init(contact, presence: user.shownPresence(of: contact.jid))
    }

    init(_ contact: Contact, presence: RichPresence?) {
        jid = contact.jid
        name = contact.name
        groups = contact.groups
        access = contact.accessLevel.token
        subscription = Subscription(
            state: contact.subscription.kind.rawValue,
            pendingOut: contact.subscription.pendingOut,
            pendingIn: contact.subscription.pendingIn,
            preApproved: contact.subscription.preApproved
        )
        self.presence = presence.map(PresenceBody.init)
    }
}

struct ContactList: Encodable {
    var contacts: [ContactBody]
}

struct MessageRequest: Decodable {
    var to: String
    var body: String?
    /// `chat` (the default), `normal` or `headline`.
    var type: String?
    /// The message id; the gateway makes one when absent, and returns it.
    var id: String?
    var thread: String?
    /// An XEP-0085 chat state: `active`, `composing`, `paused`, `inactive`, `gone`.
    var chatState: String?
    /// XEP-0184: ask the recipient's client for a delivery receipt.
    var requestReceipt: Bool?

    /// The message, with every token checked; a message must carry a body or a chat state, since
    /// anything else would be an empty stanza.
    func message(defaultID: String) throws(APIError) -> Message {
        let allowedTypes: [Message.MessageType] = [.chat, .normal, .headline]
        var messageType = Message.MessageType.chat
        if let type {
            guard let parsed = Message.MessageType(rawValue: type), allowedTypes.contains(parsed) else {
                throw APIError.badRequest("unknown-message-type", "'type' \(type.debugDescription) is not one of chat, normal, headline")
            }
            messageType = parsed
        }
        var state: ChatState?
        if let chatState {
            guard let parsed = ChatState(rawValue: chatState) else {
                let known = ChatState.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.badRequest("unknown-chat-state", "'chatState' \(chatState.debugDescription) is not one of \(known)")
            }
            state = parsed
        }
        if let id, id.isEmpty { throw APIError.badRequest("invalid-id", "'id' must not be empty; leave it out to get one") }
        if body == nil, state == nil {
            throw APIError.badRequest("empty-message", "a message needs a 'body' or a 'chatState'")
        }
        if let body, body.isEmpty { throw APIError.badRequest("empty-message", "'body' must not be empty") }
        return Message(
            type: messageType,
            id: id ?? defaultID,
            bodies: body.map { [LocalizedText($0)] } ?? [],
            thread: thread,
            chatState: state,
            requestsReceipt: requestReceipt ?? false
        )
    }
}

struct MessageAccepted: Encodable {
    var id: String
}

struct HistoryList: Encodable {
    /// Oldest first, in the archive export's shape (`MessageJSON`, without `user`).
    var messages: [MessageJSON]
}
