import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Gateway
import PresenceModel
import Storage
import Translation
import XMPP

/// One message on the event stream (`GET /v1/me/events`): a stable `type` and the fields that type
/// carries, the others left out. One flat shape rather than one per type so that a client decodes
/// every message the same way and branches on `type`; `openapi.yaml` documents the fields of each.
struct EventBody: Codable, Hashable, Sendable {
    /// Stable across releases: clients branch on it.
    enum Kind: String, Codable, Hashable, Sendable {
        /// The first message: the stream is subscribed, so nothing that happens from now on is missed.
        case ready
        case message
        case contactPresence = "contact-presence"
        case subscriptionRequest = "subscription-request"
        case subscriptionApproved = "subscription-approved"
        case contactUpdated = "contact-updated"
        case contactRemoved = "contact-removed"
        case deliveryFailed = "delivery-failed"
        case linkDown = "link-down"
        case linkUp = "link-up"
    }

    var type: Kind
    /// `ready`: whose events these are.
    var user: String?
    /// `message` (a full JID: the sender's resource matters for replies), `subscription-request`
    /// and `subscription-approved`.
    var from: String?
    /// `delivery-failed`: the recipient of the message that failed.
    var to: String?
    /// `contact-presence`, `contact-removed`: the contact's bare JID.
    var jid: String?
    /// `delivery-failed`: the id of the message that failed, when it had one.
    var id: String?
    var message: MessageEventBody?
    var presence: PresenceBody?
    /// `contact-updated`: the contact as it now is (without `presence`: that comes as `contact-presence`).
    var contact: ContactBody?
    var error: DeliveryErrorBody?
    /// `link-down`, `link-up`: the remote domain whose link changed.
    var domain: String?

    init(type: Kind) {
        self.type = type
    }

    static func ready(_ user: JID) -> EventBody {
        var body = EventBody(type: .ready)
        body.user = user.description
        return body
    }

    init(_ event: InternalEvent) {
        switch event {
        case .message(let from, let message):
            self.init(type: .message)
            self.from = from.description
            self.message = MessageEventBody(message)
        case .contactPresence(let contact, let presence):
            self.init(type: .contactPresence)
            jid = contact.description
            self.presence = PresenceBody(presence)
        case .subscriptionRequest(let from):
            self.init(type: .subscriptionRequest)
            self.from = from.description
        case .subscriptionApproved(let from):
            self.init(type: .subscriptionApproved)
            self.from = from.description
        case .contactUpdated(let contact):
            self.init(type: .contactUpdated)
            self.contact = ContactBody(contact, presence: nil)
        case .contactRemoved(let contact):
            self.init(type: .contactRemoved)
            jid = contact.description
        case .deliveryFailed(let to, let messageID, let error):
            self.init(type: .deliveryFailed)
            self.to = to.description
            id = messageID
            self.error = DeliveryErrorBody(error)
        case .linkChanged(let domain, let isUp):
            self.init(type: isUp ? .linkUp : .linkDown)
            self.domain = domain
        }
    }
}

/// A message from an external user: text, or only a chat state or a receipt.
struct MessageEventBody: Codable, Hashable, Sendable {
    struct Text: Codable, Hashable, Sendable {
        var text: String
        /// The `xml:lang` of this text, when the sender gave one.
        var lang: String?
    }

    var id: String?
    /// `chat`, `normal` or `headline`.
    var type: String
    /// The body in the message's own language (the first one given).
    var body: String?
    /// Every body with its language, when there is more than one.
    var bodies: [Text]?
    var subject: String?
    var thread: String?
    /// XEP-0085: `active`, `composing`, `paused`, `inactive` or `gone`.
    var chatState: String?
    /// XEP-0184: the sender asks for a receipt (send one with `POST /v1/me/messages`).
    var requestReceipt: Bool
    /// XEP-0184: this is the receipt for the user's message with this id.
    var receiptFor: String?

    init(_ message: Message) {
        id = message.id
        type = message.type.rawValue
        body = message.bodies.first(where: { $0.language == nil })?.text ?? message.bodies.first?.text
        bodies = message.bodies.count > 1 ? message.bodies.map { Text(text: $0.text, lang: $0.language) } : nil
        subject = message.subjects.first?.text
        thread = message.thread
        chatState = message.chatState?.rawValue
        requestReceipt = message.requestsReceipt
        receiptFor = message.receiptFor
    }
}

/// Why a message was not delivered, as RFC 6120 §8.3 names it.
struct DeliveryErrorBody: Codable, Hashable, Sendable {
    /// The stanza error condition, such as `not-allowed`, `remote-server-not-found`,
    /// `service-unavailable` or `remote-server-timeout`.
    var condition: String
    /// `cancel` (do not retry), `wait` (retry later), `modify`, `auth` or `continue`.
    var type: String
    var text: String?

    init(_ error: StanzaError) {
        condition = error.condition.rawValue
        type = error.type.rawValue
        text = error.text
    }
}

/// `GET /v1/me/events`: after the upgrade, the user's `Gateway.events(for:)` as one JSON text
/// message per event, preceded by `ready` once the subscription is in place. The stream ends when
/// the client closes it, the gateway shuts down or removes the user, the token that opened it is
/// revoked, or the client falls a buffer behind; the last two close it with 1008 (policy
/// violation), and the connection is cut if the client does not take even that within
/// `Limits.overflowCloseGrace`. Clients send nothing but the closing handshake; what they send is
/// still read as RFC 6455 asks (masked frames, whole messages, UTF-8 text), and a violation ends
/// the connection with 1002 or 1007.
enum EventStream {
    static func run<G: InternalUserGateway>(
        gateway: G,
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        context: WebSocketRouterContext<APIRequestContext>,
        limits: InternalAPI.Limits,
        store: any GatewayStore,
        tokens: EventStreamTokens
    ) async throws {
        guard let user = context.requestContext.user, let token = context.requestContext.token else { return }
        let channel = context.requestContext.channel
        try await MaskedFramesOnly.install(on: channel)
        let events = await gateway.events(for: user)
        defer { events.close() }
        // Whether the stream ends because its token was revoked; the other endings (the client left,
        // the events ended, the client fell behind: `events.overflowed`) need no telling apart here.
        let revoked = try await tokens.watching(token: token, user: user) { untilRevoked in
            // A token revoked after the upgrade's check but before it was watched would be missed.
            do {
                if try await store.owner(ofToken: token) != .user(user) { return true }
            } catch {
                // The store is failing; the next change of users checks the token again.
            }
            try await outbound.writeTextMessage(encode(.ready(user)))
            return try await withThrowingTaskGroup(of: Bool.self) { group in
                // Reading is how a close from the client is noticed; whole messages, so that
                // fragmentation and UTF-8 are checked.
                group.addTask {
                    for try await _ in inbound.messages(maxSize: 16 * 1024) {}
                    return false
                }
                group.addTask {
                    var unconfirmed = 0
                    for await event in events {
                        let text = encode(EventBody(event))
                        try await outbound.writeTextMessage(text)
                        unconfirmed += text.utf8.count
                        // The writer hands frames to the event loop without waiting for them to be
                        // written, and learns that the socket is full only once the loop has run
                        // them: a round trip through the loop every `writeAhead` bytes keeps it
                        // from queueing more than that ahead of the socket.
                        if unconfirmed >= limits.writeAhead {
                            try await channel.eventLoop.submit {}.get()
                            unconfirmed = 0
                        }
                    }
                    return false
                }
                // A client that does not read leaves the writer waiting on a full socket.
                group.addTask {
                    await events.untilOverflow()
                    return false
                }
                group.addTask {
                    await untilRevoked()
                    return true
                }
                let revoked = try await group.next() ?? false
                group.cancelAll()
                return revoked
            }
        }
        let reason: String
        if revoked {
            reason = "the token was revoked"
        } else if events.overflowed {
            reason = "the client did not keep up; its messages wait as offline messages"
        } else {
            return
        }
        channel.eventLoop.scheduleTask(in: TimeAmount(limits.overflowCloseGrace)) { channel.close(promise: nil) }
        try await outbound.close(.policyViolation, reason: reason)
    }

    static func encode(_ body: EventBody) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(body) else { return #"{"type":"\#(body.type.rawValue)"}"# }
        return String(decoding: data, as: UTF8.self)
    }
}
