import ConsulateTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import InternalAPI
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PresenceModel
import Storage
import Testing
import Translation
import XMPP

/// An event-stream client that stops reading: its stream is closed once its buffer is full, and
/// every message it did not get waits for it in the store.
@Suite("Event stream: a client that does not read")
struct SlowConsumerTests {
    /// A WebSocket client on a raw connection that reads nothing until told to, then everything
    /// until the server closes: the text messages (reassembled from fragments) and the close code.
    final class StalledClient: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        private let received = NIOLockedValueBox(ByteBuffer())
        private let closed = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)
        private let isClosed = NIOLockedValueBox(false)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            _ = received.withLockedValue { $0.writeBuffer(&buffer) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            isClosed.withLockedValue { $0 = true }
            closed.withLockedValue { $0 }?.resume()
        }

        func untilClosed() async {
            await withCheckedContinuation { continuation in
                let already = isClosed.withLockedValue { closed in closed } || {
                    closed.withLockedValue { $0 = continuation }
                    return false
                }()
                if already { continuation.resume() }
            }
        }

        /// The text messages and the close code in what was read.
        func messages() -> (texts: [String], closeCode: UInt16?) {
            var buffer = received.withLockedValue { $0 }
            guard let head = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { return ([], nil) }
            buffer.moveReaderIndex(forwardBy: head.upperBound - buffer.readableBytesView.startIndex)
            var texts: [String] = []
            var partial: [UInt8] = []
            var closeCode: UInt16?
            for frame in RawEventStream.frames(&buffer) {
                switch frame.opcode {
                case 0x1, 0x0:
                    partial += frame.payload
                    if frame.fin {
                        texts.append(String(decoding: partial, as: UTF8.self))
                        partial = []
                    }
                case 0x8:
                    closeCode = frame.closeCode
                default:
                    break
                }
            }
            return (texts, closeCode)
        }
    }

    struct Event: Decodable {
        struct Fields: Decodable { var id: String? }
        var type: String
        var message: Fields?
    }

    static func messageIDs(_ texts: [String]) -> [String] {
        texts.compactMap { try? JSONDecoder().decode(Event.self, from: Data($0.utf8)) }.filter { $0.type == "message" }.compactMap { $0.message?.id }
    }

    @Test("a client that reads nothing is cut once its buffer is full; a new stream gets every message it missed, from the store")
    func stalledClient() async throws {
        try await APIHarness.with(contosoKeepsMessages: true) { harness in
            try await harness.liveApplication(limits: InternalAPI.Limits(overflowCloseGrace: .seconds(3))).test(.live) { client in
                let port = try #require(client.port)
                let stalled = StalledClient()
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .channelOption(.autoRead, value: false)
                    .channelOption(.socketOption(.so_rcvbuf), value: 16 * 1024)
                    .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(stalled) } }
                    .connect(host: "127.0.0.1", port: port).get()
                try await channel.writeAndFlush(
                    ByteBuffer(
                        string: "GET /v1/me/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer \(harness.aliceToken)\r\n\r\n"
                    )
                ).get()
                try await eventually("alice's event stream is open") { await harness.contoso.eventStreamCount(for: APIHarness.alice) == 1 }

                // Up first, so that the flood is written as it comes rather than queued (and
                // bounced beyond the queue's megabyte) while the link connects.
                harness.fabrikam.perform(.sendMessage(user: APIHarness.bob, to: APIHarness.alice, Message(type: .chat, id: "f0", bodies: [LocalizedText("first")])))
                try await eventually("fabrikam's link is up") {
                    await harness.fabrikam.linkSnapshot().links.contains { $0.direction == .outbound && $0.state == .established }
                }
                // Beyond what the kernel's socket buffers (a few MiB on loopback) and the 1 MiB
                // event buffer hold together.
                let count = 120
                let body = String(repeating: "0123456789", count: 10_000)
                for index in 1...count {
                    harness.fabrikam.perform(.sendMessage(user: APIHarness.bob, to: APIHarness.alice, Message(type: .chat, id: "f\(index)", bodies: [LocalizedText(body)])))
                }
                try await eventually(seconds: 30, "the stream is closed as it overflows") { await harness.contoso.eventStreamCount(for: APIHarness.alice) == 0 }
                try await channel.setOption(.autoRead, value: true).get()
                channel.read()
                await stalled.untilClosed()
                let (texts, closeCode) = stalled.messages()
                let first = Self.messageIDs(texts)
                #expect(first.count < count, "the client was cut before it could get them all")
                #expect(closeCode == nil || closeCode == 1008, "\(String(describing: closeCode))")

                let missing = NIOLockedValueBox(Set((0...count).map { "f\($0)" }).subtracting(first))
                let firstCount = first.count
                try await EventStreamTests.withAlicesEvents(port: port, token: harness.aliceToken, deadline: .seconds(60)) { messages in
                    do {
                        while !missing.withLockedValue({ $0.isEmpty }) {
                            let event = try await EventStreamTests.next("message", from: &messages)
                            if let id = event.message?.id { missing.withLockedValue { _ = $0.remove(id) } }
                        }
                    } catch {
                        let lost = missing.withLockedValue { $0 }.sorted()
                        Issue.record("\(lost.count) never arrived (\(lost.prefix(10))); the first stream got \(firstCount): \(error)")
                    }
                }
            }
        }
    }
}
