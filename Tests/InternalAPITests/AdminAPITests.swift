import ConsulateTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import InternalAPI
import PresenceModel
import Storage
import Testing
import XMPP

/// The `/v1/admin` routes against the harness's real SQLite store: each happy path changes the
/// store as `consulate users` / `consulate domains` would; a user's token gets 403; bad input gets
/// a 4xx JSON error and leaves the store as it was.
@Suite("Admin API")
struct AdminAPITests {
    struct Partner: Decodable, Equatable {
        var domain: String
        var additionalDomains: [String]
        var trust: String
        var tls: String
        var sasl: String
        var dialback: Bool
        var route: String?
        var keepAlive: Bool
        var connectionLimit: Int?
        var description: String?
    }

    struct Domain: Decodable, Equatable {
        var pattern: String
        var action: String
        var source: String
        var changedAt: Int64?
        var partner: Partner?
    }

    struct Domains: Decodable {
        var domains: [Domain]
    }

    struct Allowed: Decodable {
        var partner: Partner
        var warnings: [String]
    }

    struct User: Decodable, Equatable {
        var jid: String
        var name: String?
    }

    struct Users: Decodable {
        var users: [User]
    }

    struct IssuedToken: Decodable {
        var jid: String
        var token: String
    }

    static let routes: [(HTTPRequest.Method, String)] = [
        (.get, "/v1/admin/domains"), (.put, "/v1/admin/domains/northwind.example"), (.post, "/v1/admin/domains/northwind.example/block"),
        (.delete, "/v1/admin/domains/northwind.example"), (.get, "/v1/admin/users"), (.post, "/v1/admin/users"),
        (.delete, "/v1/admin/users/alice@contoso.example"), (.post, "/v1/admin/users/alice@contoso.example/token"),
        (.get, "/v1/admin/links"), (.get, "/v1/admin/domains/fabrikam.example"), (.get, "/v1/admin/check"),
    ]

    /// What each route answers when the router has no admin settings; `admin-unavailable` otherwise.
    static let unavailableCodes = ["/v1/admin/links": "links-unavailable", "/v1/admin/check": "check-unavailable"]

    /// What the store holds that the admin routes change: users, runtime allowlist changes, and
    /// whether alice's token still works.
    struct StoreState: Equatable {
        var users: [String]
        var changes: [StoredAllowlistChange]
        var aliceTokenWorks: Bool

        init(_ harness: APIHarness) async throws {
            users = try await harness.store.loadDirectory().users.keys.sorted()
            changes = try await harness.store.allowlistChanges()
            aliceTokenWorks = try await harness.store.owner(ofToken: harness.aliceToken) == .user(APIHarness.alice)
        }
    }

    var admin: (APIHarness) -> HTTPFields { { [.authorization: "Bearer \($0.adminToken)", .contentType: "application/json"] } }

    // MARK: - Authentication

    @Test("admin routes refuse a user's token with 403 and a missing or unknown token with 401, changing nothing")
    func authentication() async throws {
        try await APIHarness.with { harness in
            let before = try await StoreState(harness)
            try await harness.application().test(.router) { client in
                for (method, uri) in Self.routes {
                    let user = try await client.execute(uri: uri, method: method, headers: harness.aliceAuthorization, body: .json(#"{"jid": "carol@contoso.example"}"#))
                    #expect(user.status == .forbidden, "\(method) \(uri)")
                    #expect(user.errorCode == "user-token", "\(method) \(uri)")

                    let missing = try await client.execute(uri: uri, method: method)
                    #expect(missing.status == .unauthorized, "\(method) \(uri)")
                    #expect(missing.errorCode == "missing-token", "\(method) \(uri)")

                    let wrong = try await client.execute(uri: uri, method: method, headers: [.authorization: "Bearer 0123.nope"])
                    #expect(wrong.status == .unauthorized, "\(method) \(uri)")
                    #expect(wrong.errorCode == "invalid-token", "\(method) \(uri)")
                }
            }
            #expect(try await StoreState(harness) == before)
        }
    }

    @Test("without admin settings the admin routes answer 503 admin-unavailable after the token check")
    func unconfigured() async throws {
        try await APIHarness.with { harness in
            let application = Application(router: InternalAPI.router(gateway: harness.contoso, store: harness.store))
            try await application.test(.router) { client in
                for (method, uri) in Self.routes {
                    let response = try await client.execute(uri: uri, method: method, headers: admin(harness), body: .json(#"{"jid": "carol@contoso.example"}"#))
                    #expect(response.status == .serviceUnavailable, "\(method) \(uri)")
                    #expect(response.errorCode == Self.unavailableCodes[uri, default: "admin-unavailable"], "\(method) \(uri)")
                }
            }
        }
    }

    // MARK: - Domains

    @Test("PUT allows a partner with its settings, block and DELETE change it, and GET lists them over the file's")
    func domains() async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let initial = try await client.execute(uri: "/v1/admin/domains", method: .get, headers: admin(harness))
                #expect(initial.status == .ok, "\(initial.text)")
                let fileOnly = try initial.json(Domains.self).domains
                #expect(fileOnly.map(\.pattern) == ["fabrikam.example"])
                #expect(fileOnly.first?.source == "file")

                let put = try await client.execute(
                    uri: "/v1/admin/domains/northwind.example", method: .put, headers: admin(harness),
                    body: .json(#"{"trust": "public-verified", "tls": "required", "route": "xmpp.northwind.example:5270", "keepAlive": false, "description": "Northwind"}"#)
                )
                #expect(put.status == .ok, "\(put.text)")
                let allowed = try put.json(Allowed.self).partner
                #expect(allowed.domain == "northwind.example")
                #expect(allowed.trust == "public-verified")
                #expect(allowed.keepAlive == false)
                #expect(allowed.route == "xmpp.northwind.example:5270")

                let listed = try await client.execute(uri: "/v1/admin/domains", method: .get, headers: admin(harness))
                let northwind = try #require(try listed.json(Domains.self).domains.first { $0.pattern == "northwind.example" })
                #expect(northwind.action == "allow")
                #expect(northwind.source == "runtime")
                #expect(northwind.changedAt != nil)
                #expect(northwind.partner == allowed)
                let shown = try await client.execute(uri: "/v1/admin/domains/NorthWind.example", method: .get, headers: admin(harness))
                #expect(shown.status == .ok, "\(shown.text)")
                #expect(try shown.json(Domain.self) == northwind, "one entry as the list has it, by a pattern in any case")
                let file = try await client.execute(uri: "/v1/admin/domains/fabrikam.example", method: .get, headers: admin(harness))
                #expect(try file.json(Domain.self).source == "file")

                let block = try await client.execute(uri: "/v1/admin/domains/*.tailspin.example/block", method: .post, headers: admin(harness))
                #expect(block.status == .noContent, "\(block.text)")
                let remove = try await client.execute(uri: "/v1/admin/domains/fabrikam.example", method: .delete, headers: admin(harness))
                #expect(remove.status == .noContent, "\(remove.text)")

                let after = try await client.execute(uri: "/v1/admin/domains", method: .get, headers: admin(harness))
                let entries = Dictionary(uniqueKeysWithValues: try after.json(Domains.self).domains.map { ($0.pattern, $0.action) })
                #expect(entries == ["fabrikam.example": "remove", "northwind.example": "allow", "*.tailspin.example": "block"])
            }
            let stored = try await harness.store.allowlistChanges().map(\.change.pattern.description).sorted()
            #expect(stored == ["*.tailspin.example", "fabrikam.example", "northwind.example"])
        }
    }

    @Test(
        "domain routes refuse bad input with a 4xx JSON error and store nothing",
        arguments: [
            (HTTPRequest.Method.put, "/v1/admin/domains/northwind.example", #"{"trust": "best-friends"}"#, 400, "invalid-input"),
            (.put, "/v1/admin/domains/northwind.example", #"{"additionalDomains": ["not a domain"]}"#, 400, "invalid-input"),
            (.put, "/v1/admin/domains/northwind.example", #"{"route": "::::"}"#, 400, "invalid-input"),
            (.put, "/v1/admin/domains/northwind.example", #"{"keepAlive": "yes"}"#, 400, "invalid-body"),
            (.put, "/v1/admin/domains/northwind.example", "not json", 400, "invalid-body"),
            (.put, "/v1/admin/domains/not a domain", "{}", 400, "invalid-input"),
            (.put, "/v1/admin/domains/contoso.example", "{}", 400, "invalid-input"),
            (.put, "/v1/admin/domains/*.example", "{}", 400, "invalid-input"),
            (.put, "/v1/admin/domains/northwind.example", #"{"additionalDomains": ["Contoso.example"]}"#, 400, "invalid-input"),
            (.post, "/v1/admin/domains/north%20wind.example/block", "", 400, "invalid-input"),
            (.delete, "/v1/admin/domains/*.*.example", "", 400, "invalid-input"),
            (.get, "/v1/admin/domains/*.*.example", "", 400, "invalid-input"),
            (.get, "/v1/admin/domains/nowhere.example", "", 404, "not-found"),
            (.get, "/v1/admin/check?dns=maybe", "", 400, "invalid-input"),
            (.get, "/v1/admin/check?verbose=1", "", 400, "unknown-parameter"),
            (.get, "/v1/admin/check?dns=false&dns=true", "", 400, "repeated-parameter"),
        ]
    )
    func domainsRefused(method: HTTPRequest.Method, uri: String, body: String, status: Int, code: String) async throws {
        try await APIHarness.with { harness in
            let before = try await StoreState(harness)
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: uri, method: method, headers: admin(harness), body: .json(body))
                #expect(response.status.code == status, "\(response.text)")
                #expect(response.errorCode == code, "\(response.text)")
            }
            #expect(try await StoreState(harness) == before)
        }
    }

    @Test("a refusal of a partner's settings names the JSON field, not the command's option")
    func refusalNamesField() async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let response = try await client.execute(
                    uri: "/v1/admin/domains/northwind.example", method: .put, headers: admin(harness), body: .json(#"{"connectionLimit": 0}"#)
                )
                #expect(response.status == .badRequest)
                let message = try response.json(ErrorBody.self).error.message
                #expect(message.contains("'connectionLimit'"), "\(message)")
                #expect(!message.contains("--"), "\(message)")
            }
        }
    }

    // MARK: - Users

    @Test("POST users creates a user whose token works once; GET lists them; token replaces it; DELETE removes them")
    func users() async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let created = try await client.execute(
                    uri: "/v1/admin/users", method: .post, headers: admin(harness), body: .json(#"{"jid": "Carol@Contoso.example", "name": "Carol"}"#)
                )
                #expect(created.status == .created, "\(created.text)")
                let issued = try created.json(IssuedToken.self)
                #expect(issued.jid == "carol@contoso.example")
                let carol = try JID("carol@contoso.example")
                #expect(try await harness.store.owner(ofToken: issued.token) == .user(carol))

                let list = try await client.execute(uri: "/v1/admin/users", method: .get, headers: admin(harness))
                #expect(try list.json(Users.self).users == [User(jid: "alice@contoso.example"), User(jid: "carol@contoso.example", name: "Carol")])

                let replaced = try await client.execute(uri: "/v1/admin/users/carol@contoso.example/token", method: .post, headers: admin(harness))
                #expect(replaced.status == .ok, "\(replaced.text)")
                let newToken = try replaced.json(IssuedToken.self).token
                #expect(newToken != issued.token)
                #expect(try await harness.store.owner(ofToken: issued.token) == nil, "the old token stops working")
                #expect(try await harness.store.owner(ofToken: newToken) == .user(carol))

                let removed = try await client.execute(uri: "/v1/admin/users/carol@contoso.example", method: .delete, headers: admin(harness))
                #expect(removed.status == .noContent, "\(removed.text)")
                #expect(try await harness.store.user(carol) == nil)
                #expect(try await harness.store.owner(ofToken: newToken) == nil)
            }
        }
    }

    @Test(
        "user routes refuse bad input with a 4xx JSON error and change nothing",
        arguments: [
            (HTTPRequest.Method.post, "/v1/admin/users", #"{"jid": "carol@fabrikam.example"}"#, 400, "invalid-input"),
            (.post, "/v1/admin/users", #"{"jid": "contoso.example"}"#, 400, "invalid-input"),
            (.post, "/v1/admin/users", #"{"jid": "carol@contoso.example/desk"}"#, 400, "invalid-input"),
            (.post, "/v1/admin/users", #"{"jid": "carol@@contoso.example"}"#, 400, "invalid-input"),
            (.post, "/v1/admin/users", #"{"jid": "carol@contoso.example", "name": ""}"#, 400, "invalid-input"),
            (.post, "/v1/admin/users", #"{"name": "Carol"}"#, 400, "invalid-body"),
            (.post, "/v1/admin/users", #"{"jid": "alice@contoso.example"}"#, 409, "conflict"),
            (.delete, "/v1/admin/users/carol@contoso.example", "", 404, "not-found"),
            (.delete, "/v1/admin/users/%40contoso.example", "", 400, "invalid-input"),
            (.post, "/v1/admin/users/carol@contoso.example/token", "", 404, "not-found"),
            (.post, "/v1/admin/users/alice@contoso.example%2Fdesk/token", "", 400, "invalid-input"),
        ]
    )
    func usersRefused(method: HTTPRequest.Method, uri: String, body: String, status: Int, code: String) async throws {
        try await APIHarness.with { harness in
            let before = try await StoreState(harness)
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: uri, method: method, headers: admin(harness), body: .json(body))
                #expect(response.status.code == status, "\(response.text)")
                #expect(response.errorCode == code, "\(response.text)")
            }
            #expect(try await StoreState(harness) == before)
        }
    }

    // MARK: - Links

    /// The answer of `GET /v1/admin/links`, as a client reads it.
    struct LinkList: Decodable {
        struct Link: Decodable {
            var domain: String
            var direction: String
            var localDomain: String?
            var state: String
            var authentication: String?
            var tls: String?
            var establishedAt: Int64?
            var ageSeconds: Int64?
            var queuedStanzas: Int
        }
        var takenAt: Int64
        var links: [Link]
    }

    @Test("GET links reports contoso's link to fabrikam as the gateway has it: dialback, no TLS, its age and empty queue")
    func links() async throws {
        try await APIHarness.with { harness in
            let bobsEvents = await harness.fabrikam.events(for: APIHarness.bob)
            try await harness.application().test(.router) { client in
                let none = try await client.execute(uri: "/v1/admin/links", method: .get, headers: admin(harness))
                #expect(none.status == .ok)
                #expect(try none.json(LinkList.self).links.isEmpty)

                let sent = try await client.execute(
                    uri: "/v1/me/messages", method: .post, headers: harness.aliceAuthorization,
                    body: .json(#"{"to": "bob@fabrikam.example", "body": "Hello", "id": "m1"}"#)
                )
                #expect(sent.status == .accepted, "\(sent.text)")
                guard case .message = try await nextEvent(bobsEvents, waitingFor: "alice's message") else {
                    Issue.record("bob got no message")
                    return
                }
                let response = try await client.execute(uri: "/v1/admin/links", method: .get, headers: admin(harness))
                #expect(response.status == .ok, "\(response.text)")
                let list = try response.json(LinkList.self)
                let link = try #require(list.links.first { $0.direction == "outbound" }, "\(response.text)")
                #expect(link.domain == "fabrikam.example")
                #expect(link.localDomain == "contoso.example")
                #expect(link.state == "established")
                #expect(link.authentication == "dialback")
                #expect(link.tls == "none")
                #expect(link.queuedStanzas == 0)
                let established = try #require(link.establishedAt)
                #expect(established <= list.takenAt)
                #expect(link.ageSeconds == (list.takenAt - established) / 1000)
            }
        }
    }
}
