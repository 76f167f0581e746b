import NIOConcurrencyHelpers
package import NIOCore
import NIOPosix
package import NIOSSL
import NIOTLS

/// A remote server played by the test over a real loopback socket: it writes what the script
/// says and waits (with a deadline, never a sleep) for text from the gateway.
package final class ScriptedPeer: Sendable {
    package let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    package static func connect(port: Int, group: any EventLoopGroup) async throws -> ScriptedPeer {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return ScriptedPeer(channel: channel, collector: collector)
    }

    /// Connects with TLS from the first byte (XEP-0368 direct TLS) and waits for the handshake.
    package static func connectDirectTLS(port: Int, group: any EventLoopGroup, context: NIOSSLContext, serverHostname: String) async throws -> ScriptedPeer {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        let peer = ScriptedPeer(channel: channel, collector: collector)
        _ = try await peer.receive(until: Collector.handshakeMarker)
        return peer
    }

    /// The ALPN protocol the server chose in the last TLS handshake, if any.
    package var negotiatedProtocol: String? { collector.negotiatedProtocol }

    package func send(_ text: String) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(string: text)).get()
    }

    /// Waits until the gateway has sent `marker`, returns everything up to and including it, and
    /// forgets it. Fails after `seconds`.
    package func receive(until marker: String, seconds: Int64 = 10) async throws -> String {
        try await channel.eventLoop.flatSubmit {
            self.collector.expect(marker, on: self.channel.eventLoop, deadline: .seconds(seconds))
        }.get()
    }

    /// Switches this connection to TLS as a client, as after `<proceed/>`.
    package func startTLS(context: NIOSSLContext, serverHostname: String) async throws {
        try await channel.eventLoop.submit {
            let handler = try NIOSSLClientHandler(context: context, serverHostname: serverHostname)
            try self.channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.get()
    }

    package func close() async {
        try? await channel.close()
    }

    package struct Timeout: Error, CustomStringConvertible {
        package var marker: String
        package var received: String

        package init(marker: String, received: String) {
            self.marker = marker
            self.received = received
        }

        package var description: String { "timed out waiting for \(marker); received so far: \(received)" }
    }

    /// Collects the gateway's bytes as text; only touched on the channel's event loop.
    package final class Collector: ChannelInboundHandler, Sendable {
        package typealias InboundIn = ByteBuffer
        private struct State {
            var text = ""
            var waiting: (marker: String, promise: EventLoopPromise<String>)?
            var negotiatedProtocol: String?
        }
        private let state = NIOLockedValueBox(State())

        /// Put into the received text when a TLS handshake completes, so a script can wait for it.
        package static let handshakeMarker = "<!--tls-->"

        var negotiatedProtocol: String? { state.withLockedValue { $0.negotiatedProtocol } }

        package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event {
                state.withLockedValue {
                    $0.negotiatedProtocol = negotiated
                    $0.text += Self.handshakeMarker
                }
                satisfy()
            }
            context.fireUserInboundEventTriggered(event)
        }

        package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let chunk = buffer.readString(length: buffer.readableBytes) ?? ""
            state.withLockedValue { $0.text += chunk }
            satisfy()
        }

        package func channelInactive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.text += "<!--closed-->" }
            satisfy()
        }

        func expect(_ marker: String, on loop: any EventLoop, deadline: TimeAmount) -> EventLoopFuture<String> {
            let promise = loop.makePromise(of: String.self)
            state.withLockedValue { $0.waiting = (marker, promise) }
            let timeout = loop.scheduleTask(in: deadline) { [state] in
                let received = state.withLockedValue { $0.text }
                promise.fail(Timeout(marker: marker, received: received))
            }
            promise.futureResult.whenComplete { _ in timeout.cancel() }
            satisfy()
            return promise.futureResult
        }

        private func satisfy() {
            let match: (EventLoopPromise<String>, String)? = state.withLockedValue { state in
                guard let waiting = state.waiting, let range = state.text.range(of: waiting.marker) else { return nil }
                let upTo = String(state.text[..<range.upperBound])
                state.text.removeSubrange(..<range.upperBound)
                state.waiting = nil
                return (waiting.promise, upTo)
            }
            if let (promise, text) = match { promise.succeed(text) }
        }
    }
}
