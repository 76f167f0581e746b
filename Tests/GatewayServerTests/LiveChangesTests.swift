import Administration
import ConsulateTestSupport
import Configuration
import Foundation
import Gateway
import GatewayServer
import Hummingbird
import HummingbirdTesting
import InternalAPI
import NIOCore
import NIOPosix
import PresenceModel
import Storage
import Testing
import Translation
import XMPP

/// Changes made while `consulate serve` runs take effect without a restart: allowlist and user
/// changes through the admin API at once, `federation.toml` and `consulate domains` changes on
/// reload (SIGHUP runs the same `ConfigurationReloader.reloadFile()` these tests call).
@Suite("GatewayServer: live changes")
struct LiveChangesTests {
    static let erin = try! JID("erin@fabrikam.example")

    static func chat(_ id: String) -> Message {
        Message(type: .chat, id: id, bodies: [LocalizedText("hello \(id)")])
    }

    struct NoFailure: Error {}

    /// The first delivery failure among `events`, or a thrown `NoFailure` after 10 seconds.
    static func firstFailure(_ events: EventSubscription) async throws -> StanzaError? {
        try await withThrowingTaskGroup(of: StanzaError?.self) { group in
            group.addTask {
                for await event in events {
                    if case .deliveryFailed(_, _, let error) = event { return error }
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                throw NoFailure()
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    @Test("a reload that removes a partner bounces its queue not-allowed; an invalid file changes nothing")
    func reloadRemovesPartner() async throws {
        try await ServedStore.with { served in
            try await served.serving { server, _ in
                let store = try SQLiteStore(path: served.path)
                let events = await server.gateway.events(for: ServedStore.alice)
                try await server.gateway.apply(.sendMessage(user: ServedStore.alice, to: Self.erin, Self.chat("m1")))
                #expect(try await store.pending(for: "fabrikam.example").count == 1, "queued: fabrikam's server does not answer")

                try "[gateway\nbroken".write(toFile: served.configurationPath, atomically: true, encoding: .utf8)
                await #expect(throws: LaunchError.self) { try await server.reloader.reloadFile() }
                try await server.gateway.apply(.sendMessage(user: ServedStore.alice, to: Self.erin, Self.chat("m2")))
                #expect(try await store.pending(for: "fabrikam.example").count == 2, "the old settings still allow fabrikam")

                let withoutPartner = ServedStore.toml(storePath: served.path, withPartner: false)
                try withoutPartner.write(toFile: served.configurationPath, atomically: true, encoding: .utf8)
                let needRestart = try await server.reloader.reloadFile()
                #expect(needRestart == ["[listen]", "[api]"], "the test's ports were 0; the file's are the defaults")
                #expect(try await Self.firstFailure(events)?.condition == .notAllowed)
                #expect(try await store.pending(for: "fabrikam.example").isEmpty, "bounced messages leave the queue")
            }
        }
    }

    @Test("a reload that changes our domains says they need a restart, every time, and keeps serving the launched ones")
    func reloadKeepsLocalDomains() async throws {
        try await ServedStore.with { served in
            try await served.serving { server, _ in
                let moved = ServedStore.toml(storePath: served.path).replacingOccurrences(of: #"domains = ["contoso.example"]"#, with: #"domains = ["northwind.example"]"#)
                try moved.write(toFile: served.configurationPath, atomically: true, encoding: .utf8)
                #expect(try await server.reloader.reloadFile().contains("[gateway] domains"))
                #expect(try await server.reloader.reloadFile().contains("[gateway] domains"), "still not applied: still reported")
                let answer = try await Self.streamAnswer(port: server.ports.startTLS, header: Self.header(to: "contoso.example"))
                #expect(answer.contains("</stream:features>") && !answer.contains("host-unknown"), "contoso.example is still served: \(answer)")
            }
        }
    }

    static func header(to domain: String) -> String {
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='fabrikam.example' to='\(domain)' version='1.0'>"
    }

    /// What the federation listener answers a peer's stream header with, up to its features or
    /// the end of the stream.
    static func streamAnswer(port: Int, header: String) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: header))
            var text = ""
            for try await chunk in inbound {
                text += String(buffer: chunk)
                if text.contains("</stream:features>") || text.contains("</stream:stream>") { break }
            }
            return text
        }
    }

    @Test("a domain blocked through the admin API is refused at once; a user added there can use the API at once")
    func adminChangesApplyAtOnce() async throws {
        try await ServedStore.with { served in
            let adminToken = try await SQLiteStore(path: served.path).issueToken(for: .admin, at: Timestamp(secondsSinceEpoch: 1_700_000_000))
            let admin: HTTPFields = [.authorization: "Bearer \(adminToken)", .contentType: "application/json"]
            try await served.serving { server, client in
                let events = await server.gateway.events(for: ServedStore.alice)
                let blocked = try await client.post("/v1/admin/domains/fabrikam.example/block", headers: admin, body: ByteBuffer())
                #expect(blocked.status == .noContent, "\(blocked.text)")
                try await server.gateway.apply(.sendMessage(user: ServedStore.alice, to: Self.erin, Self.chat("m1")))
                #expect(try await Self.firstFailure(events)?.condition == .notAllowed)

                let added = try await client.post("/v1/admin/users", headers: admin, body: ByteBuffer(string: #"{"jid": "bob@contoso.example"}"#))
                #expect(added.status == .created, "\(added.text)")
                struct Issued: Decodable { var token: String }
                let token = try added.json(Issued.self).token
                let presence = try await client.get("/v1/me/presence", headers: [.authorization: "Bearer \(token)"])
                #expect(presence.status == .ok, "the new user is known to the running gateway: \(presence.text)")

                let removed = try await client.delete("/v1/admin/users/bob@contoso.example", headers: admin, body: ByteBuffer())
                #expect(removed.status == .noContent, "\(removed.text)")
                #expect(await server.gateway.user(try JID("bob@contoso.example")) == nil)
            }
        }
    }

    @Test("a token replaced through the admin API closes the event stream it opened, 1008, at once")
    func replacedTokenClosesStream() async throws {
        try await ServedStore.with { served in
            let adminToken = try await SQLiteStore(path: served.path).issueToken(for: .admin, at: Timestamp(secondsSinceEpoch: 1_700_000_000))
            try await served.serving { server, client in
                let port = try #require(await server.apiAddress()?.port)
                let frames = try await RawEventStream.session(port: port, token: served.aliceToken) { _ in
                    let replaced = try await client.post(
                        "/v1/admin/users/alice@contoso.example/token", headers: [.authorization: "Bearer \(adminToken)"], body: ByteBuffer()
                    )
                    #expect(replaced.status == .ok, "\(replaced.text)")
                }
                #expect(frames.compactMap(\.closeCode) == [1008])
            }
        }
    }

    @Test("AdminClient reads GET /v1/admin/links with the queued link; after a reload the admin routes show the file's new partners")
    func linksAndReloadedPartners() async throws {
        try await ServedStore.with { served in
            let adminToken = try await SQLiteStore(path: served.path).issueToken(for: .admin, at: Timestamp(secondsSinceEpoch: 1_700_000_000))
            let admin: HTTPFields = [.authorization: "Bearer \(adminToken)"]
            struct Domains: Decodable {
                struct Domain: Decodable { var pattern: String, source: String }
                var domains: [Domain]
            }
            try await served.serving { server, client in
                let port = try #require(await server.apiAddress()?.port)
                let links = AdminClient(address: served.configuration.api.address, port: port, token: adminToken)
                #expect(try await links.links().links.isEmpty)
                try await server.gateway.apply(.sendMessage(user: ServedStore.alice, to: Self.erin, Self.chat("m1")))
                let queued = try await links.links().links
                #expect(queued.map(\.domain) == ["fabrikam.example"])
                #expect(queued.first?.direction == "outbound")
                #expect(queued.first?.queuedStanzas == 1, "fabrikam's server does not answer: the message waits")
                #expect(queued.first?.state != "established" && queued.first?.authentication == nil)
                let asAlice = AdminClient(address: "127.0.0.1", port: port, token: served.aliceToken)
                await #expect {
                    _ = try await asAlice.links()
                } throws: { error in
                    guard case AdminClientError.refused(let status, let message) = error else { return false }
                    return status == 403 && message.hasSuffix("(user-token)")
                }

                let before = try await client.get("/v1/admin/domains", headers: admin).json(Domains.self).domains
                #expect(before.map(\.pattern) == ["fabrikam.example"] && before.map(\.source) == ["file"])
                try ServedStore.toml(storePath: served.path, withPartner: false).write(toFile: served.configurationPath, atomically: true, encoding: .utf8)
                _ = try await server.reloader.reloadFile()
                #expect(try await client.get("/v1/admin/domains", headers: admin).json(Domains.self).domains.isEmpty, "the reloaded file has no partner")
                #expect(try await links.links().links.isEmpty, "the link is closed, its queue bounced")
            }
        }
    }

    @Test("GET /v1/admin/check checks the configuration file as it is now, as consulate check does")
    func checkOverTheAPI() async throws {
        try await ServedStore.with { served in
            let adminToken = try await SQLiteStore(path: served.path).issueToken(for: .admin, at: Timestamp(secondsSinceEpoch: 1_700_000_000))
            let admin: HTTPFields = [.authorization: "Bearer \(adminToken)"]
            struct Report: Decodable {
                struct Finding: Decodable { var severity: String, message: String, fix: String? }
                var errors: Int
                var warnings: Int
                var findings: [Finding]
            }
            try await served.serving { _, client in
                let valid = try await client.get("/v1/admin/check?dns=false", headers: admin).json(Report.self)
                #expect(valid.errors == 0, "\(valid.findings)")
                #expect(valid.findings.first?.message.hasPrefix("\(served.configurationPath) is valid") == true, "\(valid.findings)")
                #expect(valid.findings.contains { $0.message.contains("DNS was not checked") })

                try "[gateway\nbroken".write(toFile: served.configurationPath, atomically: true, encoding: .utf8)
                let broken = try await client.get("/v1/admin/check?dns=false", headers: admin).json(Report.self)
                #expect(broken.errors == 1 && broken.findings.count == 1, "\(broken.findings)")
                #expect(broken.findings.first?.severity == "error" && broken.findings.first?.fix != nil)
            }
        }
    }

    @Test("AdminClient says when nothing listens at the API's address, or nothing answers in time")
    func adminClientUnreachable() async throws {
        await #expect {
            _ = try await AdminClient(address: "0.0.0.0", port: 1, token: "t").links()
        } throws: { error in
            guard case AdminClientError.unreachable(let message) = error else { return false }
            return message.contains("http://127.0.0.1:1") && message.contains("consulate serve")
        }
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        await #expect {
            _ = try await AdminClient(address: "127.0.0.1", port: port, token: "t", timeout: .milliseconds(200)).links()
        } throws: { error in
            guard case AdminClientError.unreachable(let message) = error else { return false }
            return message.contains("did not answer within 200 ms")
        }
        try await silent.close()
    }

    @Test("the store's claim refuses a second server, and only a held claim names a running server")
    func runningServerClaim() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-pid-\(UUID().uuidString).sqlite").path
        let running = RunningServer(storePath: path)
        #expect(running.runningPID() == nil)
        let claim = try running.claim()
        #expect(running.runningPID() == getpid())
        #expect(throws: RunningServer.AlreadyRunning(pid: getpid()), "a second server on the store") { _ = try running.claim() }
        claim.release()
        #expect(running.runningPID() == nil)
        #expect(try String(contentsOfFile: running.path, encoding: .utf8).isEmpty, "the file stays, naming nobody")

        try "\(getpid())\n".write(toFile: running.path, atomically: true, encoding: .utf8)
        #expect(running.runningPID() == nil, "a file left by a server killed with SIGKILL names a live pid, but nobody holds it")
        #expect(running.notify(.users) == .notRunning)
        let again = try running.claim()
        #expect(running.runningPID() == getpid(), "a left file is taken over")
        again.release()
    }
}
