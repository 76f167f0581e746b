import Foundation
import Hummingbird
import Storage
import XMPP

/// Checks `Authorization: Bearer <token>` against the store before any `/v1/me` route and puts the
/// token's user into the context. Tokens are looked up through `GatewayStore.owner(ofToken:)`, which
/// compares hashes only; an admin token speaks for no user, so it is refused here (403) rather than
/// taken as someone's identity.
struct UserAuthentication: RouterMiddleware {
    typealias Context = APIRequestContext

    let store: any GatewayStore

    func handle(
        _ request: Request,
        context: APIRequestContext,
        next: (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        let token = try Self.bearerToken(in: request)
        switch try await Self.owner(of: token, in: store) {
        case .user(let jid)?:
            var context = context
            context.user = jid
            context.token = token
            return try await next(request, context)
        case .admin?:
            throw APIError(.forbidden, code: "admin-token", "an admin token speaks for no user; use the user's own token")
        case nil:
            throw APIError.invalidToken
        }
    }

    /// Whose token the request carries, if the store knows it: the one lookup both the user and
    /// the admin routes start from.
    static func tokenOwner(of request: Request, in store: any GatewayStore) async throws(APIError) -> TokenOwner? {
        try await owner(of: bearerToken(in: request), in: store)
    }

    private static func owner(of token: String, in store: any GatewayStore) async throws(APIError) -> TokenOwner? {
        do {
            return try await store.owner(ofToken: token)
        } catch {
            throw APIError.storage(error)
        }
    }

    static func bearerToken(in request: Request) throws(APIError) -> String {
        guard let header = request.headers[.authorization] else { throw .missingToken }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw .missingToken }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}
