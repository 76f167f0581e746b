import Federation
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import InternalAPI
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PresenceModel
import Storage
import Translation
import XMPP

/// The internal API of contoso.example's gateway, with everything real: a SQLite store in a
/// temporary file holding alice and her token, and two gateways federating over loopback (TCP
/// dialback, no TLS), so that what the API does is seen arriving at fabrikam.example.
struct APIHarness: Sendable {
    static let alice = try! JID("alice@contoso.example")
    static let bob = try! JID("bob@fabrikam.example")
    static let erin = try! JID("erin@fabrikam.example")

    let contoso: Gateway
    let fabrikam: Gateway
    let store: SQLiteStore
    let aliceToken: String
    let adminToken: String
    let directory: URL
    /// Where each gateway listens, by domain: how they find each other.
    let ports: NIOLockedValueBox<[String: Int]>

    /// Runs `body` with a fresh harness and tears it down afterwards, whatever happens.
    /// - Parameter contosoTrust: how contoso.example trusts fabrikam.example; below Federated,
    ///   subscription requests reach alice instead of being approved for her.
    /// - Parameter aliceContacts: alice's contacts besides bob (a colleague, subscribed both ways).
    /// - Parameter contosoKeepsMessages: contoso's gateway runs on the store (its outbound queue,
    ///   offline messages and history), as `consulate serve` does; otherwise the store holds only
    ///   users and tokens.
    /// - Parameter contosoContactLimit: contoso's `[gateway] contact-limit`.
    static func with<T: Sendable>(
        contosoTrust: PartnerTrust = .federated,
        aliceContacts: [Contact] = [],
        contosoKeepsMessages: Bool = false,
        contosoContactLimit: Int = TranslationConfiguration.defaultContactLimit,
        _ body: (APIHarness) async throws -> T
    ) async throws -> T {
        let harness = try await APIHarness(
            contosoTrust: contosoTrust, aliceContacts: aliceContacts, keepsMessages: contosoKeepsMessages, contactLimit: contosoContactLimit
        )
        do {
            let result = try await body(harness)
            await harness.close()
            return result
        } catch {
            await harness.close()
            throw error
        }
    }

    private init(contosoTrust: PartnerTrust, aliceContacts: [Contact], keepsMessages: Bool, contactLimit: Int) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("consulate.sqlite").path)
        try await store.saveUser(InternalUser(jid: Self.alice.description))
        let now = Timestamp(secondsSinceEpoch: 1_700_000_000)
        aliceToken = try await store.issueToken(for: .user(Self.alice), at: now)
        adminToken = try await store.issueToken(for: .admin, at: now)

        let ports = NIOLockedValueBox<[String: Int]>([:])
        self.ports = ports
        fabrikam = Self.fabrikam(ports: ports)
        contoso = Self.gateway(
            domain: "contoso.example", partner: "fabrikam.example", trust: contosoTrust, ports: ports,
            users: [
                InternalUser(
                    jid: Self.alice.description,
                    contacts: Dictionary(uniqueKeysWithValues: ([Self.both(Self.bob)] + aliceContacts).map { ($0.jid, $0) })
                )
            ],
            store: keepsMessages ? store : nil,
            contactLimit: contactLimit
        )
        let fabrikamPort = try await fabrikam.start().startTLS
        let contosoPort = try await contoso.start().startTLS
        ports.withLockedValue { $0 = ["fabrikam.example": fabrikamPort, "contoso.example": contosoPort] }
    }

    func close() async {
        _ = await contoso.shutdown()
        _ = await fabrikam.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The application under test, on contoso.example's gateway.
    func application(limits: InternalAPI.Limits = InternalAPI.Limits()) -> some ApplicationProtocol {
        Application(router: InternalAPI.router(gateway: contoso, store: store, limits: limits, admin: adminSettings))
    }

    /// The application as `consulate serve` runs it, with the WebSocket upgrade, on a free loopback
    /// port: for `.live` tests, which the event stream needs.
    func liveApplication(limits: InternalAPI.Limits = InternalAPI.Limits(), eventStreamTokens: EventStreamTokens = EventStreamTokens()) -> some ApplicationProtocol {
        let router = InternalAPI.router(gateway: contoso, store: store, limits: limits, admin: adminSettings, eventStreamTokens: eventStreamTokens)
        return Application(
            router: router,
            server: InternalAPI.server(router: router, limits: limits),
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0))
        )
    }

    /// What contoso.example's `federation.toml` would say: its domain, and fabrikam.example as a
    /// partner; and contoso's links.
    var adminSettings: InternalAPI.AdminSettings {
        let contoso = self.contoso
        return InternalAPI.AdminSettings(
            localDomains: ["contoso.example"],
            filePartners: { [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), trust: .federated)] },
            links: { await contoso.linkSnapshot() }
        )
    }

    var aliceAuthorization: HTTPFields { [.authorization: "Bearer \(aliceToken)", .contentType: "application/json"] }

    static func both(_ contact: JID) -> Contact {
        Contact(jid: contact.description, accessLevel: .colleagues, subscription: SubscriptionState(.both))
    }

    /// fabrikam.example's gateway, with bob (alice's colleague) and erin.
    static func fabrikam(ports: NIOLockedValueBox<[String: Int]>) -> Gateway {
        gateway(
            domain: "fabrikam.example", partner: "contoso.example", trust: .federated, ports: ports,
            users: [
                InternalUser(jid: bob.description, contacts: [alice.description: both(alice)]),
                InternalUser(jid: erin.description),
            ]
        )
    }

    private static func gateway(
        domain: String, partner: String, trust: PartnerTrust, ports: NIOLockedValueBox<[String: Int]>, users: [InternalUser],
        store: SQLiteStore? = nil, contactLimit: Int = TranslationConfiguration.defaultContactLimit
    ) -> Gateway {
        let pattern = DomainPattern(exactly: partner)
        var directory = PresenceDirectory()
        users.forEach { directory.add($0) }
        let counter = NIOLockedValueBox(0)
        let plainDialback = NegotiationPolicy(tls: .notSupported, sasl: .notSupported, supportDialback: true)
        return Gateway(
            settings: Gateway.Settings(
                translation: TranslationConfiguration(localDomains: [domain], contactLimit: contactLimit),
                policy: FederationPolicy(partners: [PartnerPolicy(domain: pattern, trust: trust, negotiation: plainDialback)]),
                tls: nil,
                dialbackSecret: DialbackSecret("\(domain) secret for the API test"),
                listenAddress: "127.0.0.1",
                listenPort: 0
            ),
            directory: directory,
            group: MultiThreadedEventLoopGroup.singleton,
            resolveTargets: { target, _ in
                guard let port = ports.withLockedValue({ $0[target] }) else { return .failure(.notFound(reason: "no such test domain \(target)")) }
                let loopback = IPAddress("127.0.0.1")!
                return .success([ConnectionTarget(address: loopback, port: UInt16(port), directTLS: false, host: .address(loopback))])
            },
            makeStreamID: { counter.withLockedValue { $0 += 1; return "\(domain)-\($0)" } },
            store: store
        )
    }

}

/// The JSON error body every refusal carries.
struct ErrorBody: Decodable, Equatable {
    struct Detail: Decodable, Equatable {
        var code: String
        var message: String
    }

    var error: Detail
}

extension TestResponse {
    func json<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
    }

    var errorCode: String? { (try? json(ErrorBody.self))?.error.code }

    var text: String { String(buffer: body) }
}

extension ByteBuffer {
    static func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
}
