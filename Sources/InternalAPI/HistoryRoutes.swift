import Foundation
import Hummingbird
import PresenceModel
import Storage
import XMPP

/// `GET /v1/me/history`: the user's conversations as the store keeps them. It reads the store
/// directly rather than going through the gateway, since history is what was stored, not what the
/// running gateway holds; the user is the token's, so nobody reads anyone else's history.
struct HistoryRoutes: Sendable {
    let store: any GatewayStore

    @Sendable func history(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard let user = context.user else { throw APIError.missingToken }
        let query = try HistoryParameters.query(for: user, Input.query(request, names: HistoryParameters.names))
        let records: [MessageRecord]
        do {
            records = try await store.history(query)
        } catch {
            throw APIError.storage(error)
        }
        return JSONBody.response(HistoryList(messages: records.map { MessageJSON($0, withUser: false) }))
    }
}

/// The query string of `GET /v1/me/history`, checked completely before the store is asked: a
/// parameter that is misspelt, repeated or malformed is a 400 naming it, never silently ignored
/// (which would widen the search the client meant to narrow).
enum HistoryParameters {
    /// How many messages an answer holds when the client does not say.
    static let defaultLimit = 100
    /// What a client may ask for: at least one, and few enough that one answer stays small.
    static let allowedLimits = 1...1000
    static let names = ["contact", "since", "until", "q", "limit"]

    /// `values`: the query string by name, as `Input.query` checked it against `names`.
    static func query(for user: JID, _ values: [String: String]) throws(APIError) -> HistoryQuery {
        let contact = try values["contact"].map { text throws(APIError) in try Input.contactJID(text, field: "contact") }
        let since = try values["since"].map { text throws(APIError) in try time(text, field: "since") }
        let until = try values["until"].map { text throws(APIError) in try time(text, field: "until") }
        if let since, let until, since > until {
            throw APIError.badRequest("invalid-range", "'since' \(since) is after 'until' \(until)")
        }
        if let text = values["q"], text.allSatisfy(\.isWhitespace) {
            throw APIError.badRequest("invalid-text", "'q' must not be empty; leave it out to match every message")
        }
        let limit = try values["limit"].map { text throws(APIError) in try Self.limit(text) } ?? defaultLimit
        return HistoryQuery(user: user, contact: contact, since: since, until: until, text: values["q"], limit: limit)
    }

    /// An XEP-0082 date-time through the model's own parser, the one stanzas' times go through.
    private static func time(_ text: String, field: String) throws(APIError) -> Timestamp {
        guard let time = Timestamp(xmppDateTime: text) else {
            throw APIError.badRequest(
                "invalid-time", "'\(field)' \(text.debugDescription) is not an XEP-0082 date-time such as 2026-11-25T10:00:00Z"
            )
        }
        return time
    }

    /// Digits only: `Int("+5")` would accept a sign, and a limit is a count.
    private static func limit(_ text: String) throws(APIError) -> Int {
        guard !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let limit = Int(text), allowedLimits.contains(limit)
        else {
            throw APIError.badRequest(
                "invalid-limit", "'limit' \(text.debugDescription) is not a number from \(allowedLimits.lowerBound) to \(allowedLimits.upperBound)"
            )
        }
        return limit
    }
}
