@testable import InternalAPI
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// A connection that never sends its first request must not keep the API from shutting down:
/// until that request, `UpgradeRefusalHandler` is the only handler that closes it on quiescing
/// (`RequestGuard`'s idle timeout closes it otherwise: `RequestGuardTests`).
@Suite("Connections that send no request")
struct SilentConnectionTests {
    static func channel() throws -> EmbeddedChannel {
        let handler = UpgradeRefusalHandler(wouldUpgrade: { _, _, _ in false }, logger: Logger(label: "test"))
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return channel
    }

    @Test("a silent connection is closed when the server quiesces")
    func closedOnQuiesce() throws {
        let channel = try Self.channel()
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
    }

    @Test(
        "an Upgrade that is not a WebSocket handshake is passed on as a plain request, unprobed (the probe would run the route)",
        arguments: [(HTTPMethod.DELETE, "websocket"), (.POST, "websocket"), (.GET, "h2c")]
    )
    func otherUpgradesAreNotProbed(method: HTTPMethod, upgrade: String) throws {
        let probes = NIOLockedValueBox(0)
        let handler = UpgradeRefusalHandler(
            wouldUpgrade: { _, _, _ in
                probes.withLockedValue { $0 += 1 }
                return true
            },
            logger: Logger(label: "test")
        )
        let channel = EmbeddedChannel(handler: handler)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: "/v1/admin/users/carol@contoso.example")
        head.headers.add(name: "Connection", value: "keep-alive, Upgrade")
        head.headers.add(name: "Upgrade", value: upgrade)
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        guard case .head(let passed)? = try channel.readInbound(as: HTTPServerRequestPart.self) else {
            Issue.record("the request was not passed on")
            return
        }
        #expect(probes.withLockedValue { $0 } == 0)
        #expect(passed.method == method && passed.uri == head.uri)
        #expect(!passed.headers.contains(name: "upgrade"))
        #expect(passed.headers[canonicalForm: "connection"] == ["keep-alive"])
        _ = try channel.finish()
    }
}
