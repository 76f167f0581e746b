package import NIOCore
import NIOPosix

/// An internal user's event stream (`GET /v1/me/events`) on a raw loopback connection, where the
/// test sees every frame the server sends, close frames and their codes included, and may write
/// frames no WebSocket client library would.
package enum RawEventStream {
    /// A frame the server sent.
    package struct ServerFrame: Sendable {
        /// Whether this is the last frame of its message.
        package var fin: Bool
        package var opcode: UInt8
        package var payload: [UInt8]

        /// A close frame's status code.
        package var closeCode: UInt16? {
            guard opcode == 0x8, payload.count >= 2 else { return nil }
            return UInt16(payload[0]) << 8 | UInt16(payload[1])
        }
    }

    package struct Failed: Error, CustomStringConvertible {
        package var description: String
    }

    /// Reads the frames in `buffer` (after the handshake), leaving an incomplete one in it.
    package static func frames(_ buffer: inout ByteBuffer) -> [ServerFrame] {
        var frames: [ServerFrame] = []
        while let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)
        {
            var offset = 2
            var length = Int(second & 0x7F)
            if length == 126 {
                guard let extended = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self) else { break }
                (length, offset) = (Int(extended), 4)
            } else if length == 127 {
                guard let extended = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt64.self) else { break }
                (length, offset) = (Int(extended), 10)
            }
            guard let payload = buffer.getBytes(at: buffer.readerIndex + offset, length: length) else { break }
            buffer.moveReaderIndex(forwardBy: offset + length)
            frames.append(ServerFrame(fin: first & 0x80 != 0, opcode: first & 0x0F, payload: payload))
        }
        return frames
    }

    /// Opens `token`'s event stream on a raw connection, waits for its `ready` event, runs
    /// `afterReady` with the connection's writer, then reads until the server closes the
    /// connection (at most 10 s). Returns every frame the server sent.
    package static func session(
        port: Int, token: String, afterReady: @escaping @Sendable (NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Void
    ) async throws -> [ServerFrame] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: [ServerFrame]?.self) { group in
                group.addTask {
                    try await outbound.write(
                        ByteBuffer(
                            string: "GET /v1/me/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer \(token)\r\n\r\n"
                        )
                    )
                    var received = ByteBuffer()
                    var upgraded = false
                    var ready = false
                    var frames: [ServerFrame] = []
                    for try await var chunk in inbound {
                        received.writeBuffer(&chunk)
                        if !upgraded {
                            guard let end = received.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                            let head = received.readString(length: end.upperBound - received.readableBytesView.startIndex) ?? ""
                            guard head.hasPrefix("HTTP/1.1 101") else { throw Failed(description: "the upgrade was refused: \(head)") }
                            upgraded = true
                        }
                        frames += Self.frames(&received)
                        if !ready, frames.contains(where: { String(decoding: $0.payload, as: UTF8.self).contains(#""ready""#) }) {
                            ready = true
                            try await afterReady(outbound)
                        }
                    }
                    return frames
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let first else { throw Failed(description: "the server did not close the stream within 10 s") }
                return first
            }
        }
    }
}
