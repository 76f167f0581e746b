import Configuration
import CoreMetrics
import Foundation
import Gateway
import GatewayServer
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import PresenceModel
import Storage
import Testing
import XMPP

/// `consulate serve` as a library: a temporary SQLite store holding alice and her token, the
/// gateway launched from it with the federation listener and the internal API on loopback (port 0:
/// any free one), and a real HTTP client.
struct ServedStore {
    static let alice = try! JID("alice@contoso.example")

    let directory: URL
    let configuration: GatewayConfiguration
    let aliceToken: String

    var path: String { configuration.store.path }
    var configurationPath: String { directory.appendingPathComponent("federation.toml").path }

    /// The configuration file, with fabrikam.example as a partner whose route is a closed loopback
    /// port (links fail at once, without DNS), or without any partner.
    static func toml(storePath: String, withPartner: Bool = true) -> String {
        var text = """
            [gateway]
            domains = ["contoso.example"]
            [listen]
            address = "127.0.0.1"
            [api]
            address = "127.0.0.1"
            [dns]
            nameservers = ["127.0.0.1"]
            [store]
            path = "\(storePath)"

            """
        if withPartner {
            text += """
                [[partner]]
                domain = "fabrikam.example"
                trust = "federated"
                tls = "not-supported"
                sasl = "not-supported"
                route = "127.0.0.1:1"

                """
        }
        return text
    }

    /// Runs `body` with a store in a fresh temporary directory, removed afterwards.
    static func with(_ body: (ServedStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("consulate.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.saveUser(InternalUser(jid: alice.description))
        let token = try await store.issueToken(for: .user(alice), at: Timestamp(secondsSinceEpoch: 1_700_000_000))
        let toml = Self.toml(storePath: path)
        // The file is what SIGHUP reloads; the ports are set to 0 (any free one) after loading.
        try toml.write(to: directory.appendingPathComponent("federation.toml"), atomically: true, encoding: .utf8)
        var configuration = try GatewayConfiguration.load(toml: toml)
        configuration.listen.port = 0
        configuration.api.port = 0
        try await body(ServedStore(directory: directory, configuration: configuration, aliceToken: token))
    }

    /// Launches the server, runs `body` with a client connected to its API, then stops the server
    /// and waits until it has shut down (the gateway's last writes included).
    func serving(exposition: PrometheusExposition? = nil, _ body: (TestClient) async throws -> Void) async throws {
        try await serving(exposition: exposition) { _, client in try await body(client) }
    }

    /// `serving(_:)` with the launched server at hand too (its gateway and reloader).
    func serving(exposition: PrometheusExposition? = nil, _ body: (GatewayServer, TestClient) async throws -> Void) async throws {
        let server = try await GatewayLauncher.launch(
            configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, exposition: exposition, handlesSignals: false,
            configurationPath: configurationPath
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let address = await server.apiAddress()
            let port = try #require(address?.port, "the API did not start")
            #expect(address?.ipAddress == "127.0.0.1", "the API listens on [api] address")
            let client = TestClient(host: "127.0.0.1", port: port)
            client.connect()
            do {
                try await body(server, client)
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                await server.stop()
                throw error
            }
            await server.stop()
            try await group.waitForAll()
        }
    }

    var authorization: HTTPFields { [.authorization: "Bearer \(aliceToken)", .contentType: "application/json"] }
}

/// The parts of the API's JSON these tests read back.
struct PresenceBody: Decodable, Equatable {
    var availability: Int
    var state: String
    var note: String?
}

struct ContactsBody: Decodable {
    struct Contact: Decodable {
        struct Subscription: Decodable {
            var state: String
            var pendingOut: Bool
        }

        var jid: String
        var name: String?
        var groups: [String]
        var access: String
        var subscription: Subscription
    }

    var contacts: [Contact]
}

extension TestClient.Response {
    func json<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data((body ?? ByteBuffer()).readableBytesView))
    }

    var text: String { String(buffer: body ?? ByteBuffer()) }
}

@Suite("GatewayServer: the store, the gateway and the internal API served together")
struct GatewayServerTests {
    @Test("what alice changes through the API is stored, and a restart from the same store shows it")
    func changesSurviveARestart() async throws {
        try await ServedStore.with { served in
            try await served.serving { client in
                let put = try await client.put(
                    "/v1/me/presence", headers: served.authorization,
                    body: ByteBuffer(string: #"{"availability": "busy", "note": "Q3 planning"}"#)
                )
                #expect(put.status == .ok, "\(put.text)")
                let added = try await client.post(
                    "/v1/me/contacts", headers: served.authorization,
                    body: ByteBuffer(string: #"{"jid": "erin@fabrikam.example", "name": "Erin", "groups": ["Partners"], "access": "workgroup"}"#)
                )
                #expect(added.status == .created, "\(added.text)")
            }

            let stored = try #require(try await SQLiteStore(path: served.path).user(ServedStore.alice))
            #expect(stored.presence.availability.range == .busy, "the presence is in the store once the server has stopped")
            #expect(stored.contact("erin@fabrikam.example")?.accessLevel == .workgroup)

            try await served.serving { client in
                let presence = try await client.get("/v1/me/presence", headers: served.authorization)
                #expect(presence.status == .ok, "\(presence.text)")
                #expect(try presence.json(PresenceBody.self) == PresenceBody(availability: 6500, state: "busy", note: "Q3 planning"))
                let list = try await client.get("/v1/me/contacts", headers: served.authorization)
                let erin = try #require(try list.json(ContactsBody.self).contacts.first { $0.jid == "erin@fabrikam.example" })
                #expect(erin.name == "Erin")
                #expect(erin.groups == ["Partners"])
                #expect(erin.access == "workgroup")
                #expect(erin.subscription.pendingOut, "still waiting for erin's answer after the restart")
            }
        }
    }

    @Test("the launch serves its exposition at /metrics without a token, and no /metrics without one")
    func metricsEndpoint() async throws {
        try await ServedStore.with { served in
            let exposition = PrometheusExposition()
            Counter(label: "consulate_serve_test_total", factory: exposition.factory).increment(by: 2)
            try await served.serving(exposition: exposition) { client in
                let scrape = try await client.get("/metrics")
                #expect(scrape.status == .ok, "\(scrape.text)")
                #expect(scrape.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                #expect(scrape.text.split(separator: "\n").contains("consulate_serve_test_total 2"), "\(scrape.text)")
            }
            try await served.serving { client in
                let scrape = try await client.get("/metrics")
                #expect(scrape.status == .notFound)
            }
        }
    }

    @Test("a taken API port fails the run, and the gateway is shut down all the same")
    func aTakenAPIPortFailsTheRun() async throws {
        try await ServedStore.with { served in
            let blocker = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
            var configuration = served.configuration
            configuration.api.port = try #require(blocker.localAddress?.port)
            let server = try await GatewayLauncher.launch(
                configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, handlesSignals: false
            )
            await #expect(throws: (any Error).self) { try await server.run() }
            #expect(await server.apiAddress() == nil)
            try await blocker.close()
        }
    }

    @Test("a store that cannot be opened is refused before anything listens")
    func unopenableStore() async throws {
        var configuration = try GatewayConfiguration.load(toml: "[gateway]\ndomains = [\"contoso.example\"]\n[dns]\nnameservers = [\"127.0.0.1\"]")
        configuration.store.path = "/nonexistent-directory-\(UUID().uuidString)/consulate.sqlite"
        do {
            _ = try await GatewayLauncher.launch(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, handlesSignals: false)
            Issue.record("launched with a store that cannot exist")
        } catch {
            #expect(error.message.hasPrefix("[store]: cannot open '\(configuration.store.path)'"), "\(error.message)")
        }
    }
}
