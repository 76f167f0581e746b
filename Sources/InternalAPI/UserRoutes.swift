import Foundation
import Gateway
import Hummingbird
import HummingbirdWebSocket
import PresenceModel
import Translation
import XMPP

/// The `/v1/me` routes. Each checks its input completely (with the model's own parsers: `JID`,
/// `AvailabilityRange`, `Activity`, `AccessLevel`, `RichPresence.validate()`), and only then applies
/// one `InternalAction`, so refused input changes nothing.
struct UserRoutes<G: InternalUserGateway>: Sendable {
    let gateway: G
    let limits: InternalAPI.Limits

    // MARK: - Presence

    @Sendable func presence(_ request: Request, context: APIRequestContext) async throws -> Response {
        let user = try await knownUser(context)
        return JSONBody.response(PresenceBody(user.presence))
    }

    @Sendable func setPresence(_ request: Request, context: APIRequestContext) async throws -> Response {
        let jid = try await knownUser(context).jid
        let body = try await JSONBody.decode(PresenceRequest.self, from: request, limit: limits.maxBodyBytes)
        let presence = try body.richPresence()
        try await applied(.setPresence(user: try JID(jid), presence))
        return JSONBody.response(PresenceBody(try await knownUser(context).presence))
    }

    // MARK: - Contacts

    @Sendable func contacts(_ request: Request, context: APIRequestContext) async throws -> Response {
        let user = try await knownUser(context)
        return JSONBody.response(ContactList(contacts: user.contacts.values.sorted { $0.jid < $1.jid }.map { ContactBody($0, in: user) }))
    }

    @Sendable func addContact(_ request: Request, context: APIRequestContext) async throws -> Response {
        let userJID = try await knownUserJID(context)
        let body = try await JSONBody.decode(ContactRequest.self, from: request, limit: limits.maxBodyBytes)
        let contact = try Input.contactJID(body.jid, field: "jid")
        let access = try body.access.map { raw throws(APIError) in try Input.accessLevel(raw) }
        if let name = body.name, name.isEmpty { throw APIError.badRequest("invalid-name", "'name' must not be empty; leave it out for none") }
        let groups = body.groups ?? []
        if groups.contains(where: \.isEmpty) { throw APIError.badRequest("invalid-group", "group names must not be empty") }
        try await applied(.addContact(user: userJID, contact: contact, name: body.name, groups: groups, accessLevel: access))
        let user = try await knownUser(context)
        guard let added = user.contact(contact.description) else {
            let list = await gateway.contactList(of: userJID)
            if list.size >= list.limit {
                throw APIError(.conflict, code: "contact-limit", "the contact list has reached its limit of \(list.limit) (held requests included); remove a contact first")
            }
            throw APIError(.conflict, code: "contact-refused", "the gateway did not add \(contact) (an internal user or our own domain?)")
        }
        return JSONBody.response(ContactBody(added, in: user), status: .created)
    }

    @Sendable func removeContact(_ request: Request, context: APIRequestContext) async throws -> Response {
        let userJID = try await knownUserJID(context)
        let contact = try Input.contactJID(try Input.pathJID(context), field: "jid")
        guard try await knownUser(context).contact(contact.description) != nil else {
            throw APIError(.notFound, code: "unknown-contact", "\(contact) is not in the contact list")
        }
        try await applied(.removeContact(user: userJID, contact: contact))
        return Response(status: .noContent)
    }

    // MARK: - Subscription requests

    @Sendable func approve(_ request: Request, context: APIRequestContext) async throws -> Response {
        let userJID = try await knownUserJID(context)
        let contact = try Input.contactJID(try Input.pathJID(context), field: "jid")
        try await applied(.approveSubscription(user: userJID, contact: contact))
        return Response(status: .noContent)
    }

    @Sendable func deny(_ request: Request, context: APIRequestContext) async throws -> Response {
        let userJID = try await knownUserJID(context)
        let contact = try Input.contactJID(try Input.pathJID(context), field: "jid")
        try await applied(.denySubscription(user: userJID, contact: contact))
        return Response(status: .noContent)
    }

    // MARK: - Messages

    @Sendable func sendMessage(_ request: Request, context: APIRequestContext) async throws -> Response {
        let userJID = try await knownUserJID(context)
        let body = try await JSONBody.decode(MessageRequest.self, from: request, limit: limits.maxBodyBytes)
        let to = try Input.jid(body.to, field: "to")
        let message = try body.message(defaultID: UUID().uuidString.lowercased())
        try await applied(.sendMessage(user: userJID, to: to, message))
        return JSONBody.response(MessageAccepted(id: message.id ?? ""), status: .accepted)
    }

    /// Applies `action`; a store that could not keep it is 503 `store-unavailable`, and nothing
    /// is acknowledged.
    private func applied(_ action: InternalAction) async throws(APIError) {
        do throws(StoreUnavailable) {
            try await gateway.apply(action)
        } catch {
            throw APIError.storeUnavailable
        }
    }

    // MARK: - Events

    /// Whether `GET /v1/me/events` may become the user's event stream: only as a WebSocket upgrade,
    /// and only for a user the gateway knows (whose events would otherwise never come).
    @Sendable func shouldUpgrade(_ request: Request, context: APIRequestContext) async throws -> RouterShouldUpgrade {
        _ = try await knownUser(context)
        guard request.headers[.upgrade]?.lowercased() == "websocket" else {
            throw APIError(.upgradeRequired, code: "websocket-required", "the event stream is a WebSocket: send the upgrade request")
        }
        return .upgrade([:])
    }

    // MARK: - The user

    /// The authenticated user as the gateway knows them. A token can outlive its user's place in
    /// the gateway (the store and the running gateway are separate), hence 404 rather than a crash.
    private func knownUser(_ context: APIRequestContext) async throws(APIError) -> InternalUser {
        guard let jid = context.user else { throw APIError.missingToken }
        guard let user = await gateway.user(jid) else {
            throw APIError(.notFound, code: "unknown-user", "the gateway has no internal user \(jid)")
        }
        return user
    }

    private func knownUserJID(_ context: APIRequestContext) async throws(APIError) -> JID {
        let user = try await knownUser(context)
        do throws(JIDError) { return try JID(user.jid) } catch { throw APIError(.internalServerError, code: "internal-error", "stored user JID \(user.jid) does not parse") }
    }
}

/// Input parsing shared by the routes, each a thin wrapper over the model's parser that turns its
/// refusal into a 400 with a stable code.
enum Input {
    /// The request's query string by name, checked whole: a parameter the route does not take, or
    /// one given twice, is a 400 naming it, never silently ignored.
    static func query(_ request: Request, names: [String]) throws(APIError) -> [String: String] {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters {
            let name = String(key)
            guard names.contains(name) else {
                throw APIError.badRequest("unknown-parameter", "\(name.debugDescription) is not a parameter of this route; it takes \(names.joined(separator: ", "))")
            }
            guard values.updateValue(String(value), forKey: name) == nil else {
                throw APIError.badRequest("repeated-parameter", "'\(name)' is given more than once")
            }
        }
        return values
    }

    static func jid(_ text: String, field: String) throws(APIError) -> JID {
        do throws(JIDError) {
            return try JID(text)
        } catch {
            throw APIError.badRequest("invalid-jid", "'\(field)' \(text.debugDescription) is not a valid JID: \(error.reason)")
        }
    }

    /// Contacts are bare JIDs: a roster item has no resource.
    static func contactJID(_ text: String, field: String) throws(APIError) -> JID {
        let jid = try jid(text, field: field)
        guard jid.isBare else {
            throw APIError.badRequest("invalid-jid", "'\(field)' must be a bare JID, without a resource: \(jid.bare)")
        }
        return jid
    }

    static func pathJID(_ context: APIRequestContext) throws(APIError) -> String {
        guard let raw = context.parameters.get("jid") else { throw APIError.badRequest("invalid-jid", "the path names no JID") }
        guard let text = raw.removingPercentEncoding else {
            throw APIError.badRequest("invalid-jid", "the JID in the path is not properly percent-encoded")
        }
        return text
    }

    static func accessLevel(_ raw: String) throws(APIError) -> AccessLevel {
        guard let level = AccessLevel(token: raw) else {
            let known = AccessLevel.allCases.map(\.token).joined(separator: ", ")
            throw APIError.badRequest("unknown-access-level", "'access' \(raw.debugDescription) is not one of \(known)")
        }
        return level
    }
}
