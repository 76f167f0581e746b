import Administration
import Configuration
import Federation
import Foundation
import Gateway
import GatewayCore
import Hummingbird
import PresenceModel
import Storage
import XMPP

/// Checks the admin token before any `/v1/admin` route. A user's token is refused with 403: it is
/// a real token, but admin operations (users, tokens, the allowlist) are not the user's to make.
struct AdminAuthentication: RouterMiddleware {
    typealias Context = APIRequestContext

    let store: any GatewayStore

    func handle(
        _ request: Request,
        context: APIRequestContext,
        next: (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        switch try await UserAuthentication.tokenOwner(of: request, in: store) {
        case .admin?:
            return try await next(request, context)
        case .user?:
            throw APIError(.forbidden, code: "user-token", "admin routes need an admin token; a user's token cannot change users or domains")
        case nil:
            throw APIError.invalidToken
        }
    }
}

/// The `/v1/admin` routes: each parses only the HTTP shape (path, JSON) and hands the text to one
/// `Administration` operation, the same one `consulate users` and `consulate domains` call, so the
/// rules (what a user JID or a partner may be) live in one place and a refusal writes nothing.
struct AdminRoutes: Sendable {
    /// `nil` when the router was built without `InternalAPI.AdminSettings`.
    let administration: Administration?
    /// The file's partners as last loaded.
    let filePartners: @Sendable () async -> [PartnerPolicy]
    let limits: InternalAPI.Limits
    /// Applies a change to the running gateway once it is stored.
    let storeChanged: @Sendable (StoreChange) async -> Void
    /// The running gateway's links; `nil` when the router was built without them.
    let links: (@Sendable () async -> LinkSnapshot)?
    /// `consulate check` of the running server's file; `nil` when the router was built without it.
    let check: (@Sendable (_ withDNS: Bool) async -> [ConfigurationCheck.Finding])?

    /// How refusals of `PUT /v1/admin/domains/{domain}` name each `[[partner]]` key: by its JSON field.
    static let partnerFieldNames: [String: String] = [
        "domain": "the path's domain", "additional-domains": "'additionalDomains'", "trust": "'trust'", "tls": "'tls'",
        "sasl": "'sasl'", "dialback": "'dialback'", "route": "'route'", "keep-alive": "'keepAlive'",
        "connection-limit": "'connectionLimit'", "description": "'description'",
    ]

    // MARK: - Domains

    @Sendable func domains(_ request: Request, context: APIRequestContext) async throws -> Response {
        let administration = try configured()
        let partners = await filePartners()
        let entries = try await run { () async throws(AdminError) in try await administration.domains(filePartners: partners) }
        return JSONBody.response(DomainList(domains: entries.map(DomainBody.init)))
    }

    @Sendable func domain(_ request: Request, context: APIRequestContext) async throws -> Response {
        let administration = try configured()
        let domain = try Self.path("domain", context)
        let partners = await filePartners()
        guard let entry = try await run({ () async throws(AdminError) in try await administration.domain(domain, filePartners: partners) }) else {
            throw APIError(.notFound, code: "not-found", "\(domain) is neither a partner in federation.toml nor changed at runtime")
        }
        return JSONBody.response(DomainBody(entry))
    }

    @Sendable func allowDomain(_ request: Request, context: APIRequestContext) async throws -> Response {
        let administration = try configured()
        let domain = try Self.path("domain", context)
        let body = try await JSONBody.decode(PartnerRequest.self, from: request, limit: limits.maxBodyBytes)
        let settings = body.settings(domain: domain)
        let (partner, warnings) = try await run { () async throws(AdminError) in
            try await administration.allow(settings, source: "PUT /v1/admin/domains/\(domain)", optionNames: Self.partnerFieldNames)
        }
        await storeChanged(.allowlist)
        return JSONBody.response(AllowedDomain(partner: PartnerBody(partner), warnings: warnings))
    }

    @Sendable func blockDomain(_ request: Request, context: APIRequestContext) async throws -> Response {
        let administration = try configured()
        let domain = try Self.path("domain", context)
        try await run { () async throws(AdminError) in try await administration.block(domain) }
        await storeChanged(.allowlist)
        return Response(status: .noContent)
    }

    @Sendable func removeDomain(_ request: Request, context: APIRequestContext) async throws -> Response {
        let administration = try configured()
        let domain = try Self.path("domain", context)
        try await run { () async throws(AdminError) in try await administration.remove(domain) }
        await storeChanged(.allowlist)
        return Response(status: .noContent)
    }

    // MARK: - Users

    @Sendable func users(_ request: Request, context: APIRequestContext) async throws -> Response {
        let administration = try configured()
        let users = try await run { () async throws(AdminError) in try await administration.users() }
        return JSONBody.response(UserList(users: users.map { UserBody(jid: $0.jid, name: $0.name) }))
    }

    @Sendable func addUser(_ request: Request, context: APIRequestContext) async throws -> Response {
        let administration = try configured()
        let body = try await JSONBody.decode(UserRequest.self, from: request, limit: limits.maxBodyBytes)
        let token = try await run { () async throws(AdminError) in try await administration.addUser(body.jid, name: body.name) }
        await storeChanged(.users)
        return JSONBody.response(IssuedToken(jid: try Self.normalised(body.jid), token: token), status: .created)
    }

    @Sendable func removeUser(_ request: Request, context: APIRequestContext) async throws -> Response {
        let administration = try configured()
        let jid = try Input.pathJID(context)
        try await run { () async throws(AdminError) in try await administration.removeUser(jid) }
        await storeChanged(.users)
        return Response(status: .noContent)
    }

    @Sendable func replaceToken(_ request: Request, context: APIRequestContext) async throws -> Response {
        let administration = try configured()
        let jid = try Input.pathJID(context)
        let token = try await run { () async throws(AdminError) in try await administration.replaceToken(of: jid) }
        // The old tokens' event streams end with them.
        await storeChanged(.users)
        return JSONBody.response(IssuedToken(jid: try Self.normalised(jid), token: token))
    }

    // MARK: - Links

    @Sendable func links(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard let links else {
            throw APIError(.serviceUnavailable, code: "links-unavailable", "this server was started without a running gateway to report links of")
        }
        return JSONBody.response(LinkList(await links()))
    }

    // MARK: - Check

    /// `consulate check` as JSON: always 200 with the findings (errors among them are the report,
    /// not a failure of the request); `dns=false` is `--no-dns`.
    @Sendable func check(_ request: Request, context: APIRequestContext) async throws -> Response {
        let values = try Input.query(request, names: ["dns"])
        let withDNS: Bool
        switch values["dns"] {
        case nil, "true": withDNS = true
        case "false": withDNS = false
        case let text?: throw APIError.badRequest("invalid-input", "'dns' \(text.debugDescription) must be true or false")
        }
        guard let check else {
            throw APIError(.serviceUnavailable, code: "check-unavailable", "this server was started without a configuration file to check")
        }
        return JSONBody.response(CheckReport(await check(withDNS)))
    }

    // MARK: - Helpers

    private func configured() throws(APIError) -> Administration {
        guard let administration else {
            throw APIError(.serviceUnavailable, code: "admin-unavailable", "this server was started without the gateway's domains and partners")
        }
        return administration
    }

    /// Runs an admin operation, turning its refusal into the matching 4xx (a store failure: 503).
    @discardableResult
    private func run<T>(_ operation: () async throws(AdminError) -> T) async throws(APIError) -> T {
        do throws(AdminError) {
            return try await operation()
        } catch {
            switch error.kind {
            case .invalid: throw APIError.badRequest("invalid-input", error.message)
            case .notFound: throw APIError(.notFound, code: "not-found", error.message)
            case .conflict: throw APIError(.conflict, code: "conflict", error.message)
            case .failure: throw APIError(.serviceUnavailable, code: "store-unavailable", error.message)
            }
        }
    }

    private static func path(_ name: String, _ context: APIRequestContext) throws(APIError) -> String {
        guard let raw = context.parameters.get(name), let text = raw.removingPercentEncoding else {
            throw APIError.badRequest("invalid-input", "the path's \(name) is missing or not properly percent-encoded")
        }
        return text
    }

    /// The JID as the store keys it, for the answer; the operation has already accepted it.
    private static func normalised(_ text: String) throws(APIError) -> String {
        do throws(JIDError) { return try JID(text).description } catch { return text }
    }
}

// MARK: - Bodies

struct PartnerRequest: Decodable {
    var additionalDomains: [String]?
    var trust: String?
    var tls: String?
    var sasl: String?
    var dialback: Bool?
    var route: String?
    var keepAlive: Bool?
    var connectionLimit: Int?
    var description: String?

    func settings(domain: String) -> PartnerSettings {
        PartnerSettings(
            domain: domain, additionalDomains: additionalDomains ?? [], trust: trust, tls: tls, sasl: sasl, dialback: dialback,
            route: route, keepAlive: keepAlive, connectionLimit: connectionLimit, description: description
        )
    }
}

/// A partner in `[[partner]]` terms, field by field (camelCase).
struct PartnerBody: Codable, Hashable, Sendable {
    var domain: String
    var additionalDomains: [String]
    var trust: String
    var tls: String
    var sasl: String
    var dialback: Bool
    /// `host:port`; absent when the partner is found through DNS.
    var route: String?
    var keepAlive: Bool
    var connectionLimit: Int?
    var description: String?

    init(_ partner: PartnerPolicy) {
        domain = partner.domain.description
        additionalDomains = partner.additionalDomains.map(\.description)
        trust = partner.trust.rawValue
        tls = "\(partner.negotiation.tls)"
        sasl = "\(partner.negotiation.sasl)"
        dialback = partner.negotiation.supportDialback
        route = partner.route.map(\.description)
        keepAlive = partner.keepAlive
        connectionLimit = partner.connectionLimit
        description = partner.description
    }
}

struct AllowedDomain: Encodable {
    var partner: PartnerBody
    /// What the settings allow but probably should not (the same warnings `consulate check` prints).
    var warnings: [String]
}

struct DomainBody: Encodable {
    var pattern: String
    /// `allow`, `block` or `remove` (a runtime removal of a partner the file lists).
    var action: String
    /// `file` (`federation.toml`) or `runtime` (the store, which wins).
    var source: String
    /// For runtime changes: when, in milliseconds since the Unix epoch.
    var changedAt: Int64?
    /// For `allow`: the partner's settings.
    var partner: PartnerBody?

    init(_ entry: DomainEntry) {
        pattern = entry.pattern.description
        switch entry.change {
        case .allow(let policy):
            action = "allow"
            partner = PartnerBody(policy)
        case .block: action = "block"
        case .remove: action = "remove"
        }
        switch entry.source {
        case .file: source = "file"
        case .runtime(let time):
            source = "runtime"
            changedAt = time.millisecondsSinceEpoch
        }
    }
}

struct DomainList: Encodable {
    var domains: [DomainBody]
}

/// `GET /v1/admin/check`: the findings of `consulate check`, in the order the command prints them.
struct CheckReport: Encodable {
    struct Finding: Encodable {
        /// `error`, `warning` or `note`.
        var severity: String
        var message: String
        var fix: String?
    }

    var errors: Int
    var warnings: Int
    var findings: [Finding]

    init(_ findings: [ConfigurationCheck.Finding]) {
        errors = findings.filter { $0.severity == .error }.count
        warnings = findings.filter { $0.severity == .warning }.count
        self.findings = findings.map { Finding(severity: $0.severity.rawValue, message: $0.message, fix: $0.fix) }
    }
}

struct UserRequest: Decodable {
    var jid: String
    var name: String?
}

struct UserBody: Encodable {
    var jid: String
    var name: String?
}

struct UserList: Encodable {
    var users: [UserBody]
}

/// A new token, shown this once: the store keeps only its hash.
struct IssuedToken: Encodable {
    var jid: String
    var token: String
}
