package import NIOCore
import NIOPosix

/// Accepts server-to-server connections (port 5269 by default, RFC 6120 §14.7, or a direct TLS
/// port, XEP-0368) and gives each its own `InboundStreamHandler`.
package enum FederationListener {
    /// Binds and starts accepting; the returned channel's `localAddress` tells the port when `port`
    /// is 0. `makeHandler` runs on the new connection's event loop, with its channel. Handlers made for `.directTLS`
    /// get their TLS server handler in front, so that not one byte is read in the clear; a peer that
    /// fails the handshake is closed.
    package static func bind(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        makeHandler: @escaping @Sendable (any Channel) -> InboundStreamHandler
    ) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = makeHandler(channel)
                    if handler.transport == .directTLS {
                        try channel.pipeline.syncOperations.addHandler(handler.makeTLSHandler())
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}
