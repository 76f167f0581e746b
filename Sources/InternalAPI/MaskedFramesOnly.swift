import NIOCore
import NIOWebSocket

/// RFC 6455 §5.1: a server must close the connection on a frame from the client that is not
/// masked. NIO's decoder and hummingbird-websocket accept them, so this handler stands after the
/// decoder of every event stream: an unmasked frame is answered with a close frame, 1002
/// (protocol error), and the connection is closed.
final class MaskedFramesOnly: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private var closing = false

    /// Puts the handler right after the connection's WebSocket frame decoder.
    static func install(on channel: any Channel) async throws {
        try await channel.eventLoop.submit {
            let operations = channel.pipeline.syncOperations
            let decoder = try operations.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try operations.addHandler(MaskedFramesOnly(), position: .after(decoder))
        }.get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let frame = unwrapInboundIn(data)
        guard frame.maskKey == nil else {
            context.fireChannelRead(data)
            return
        }
        closing = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: .protocolError)
        let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(close)).assumeIsolated().whenComplete { _ in loopBound.value.close(promise: nil) }
    }
}
