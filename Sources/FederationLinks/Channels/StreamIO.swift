import Logging
import NIOCore
import XMLStreaming
import XMPP

/// What both stream handlers do with bytes: parse a read into stream events, and write elements
/// with the prefixes in scope on an s2s stream (`stream:`, `db:`). One instance per connection.
struct StreamIO {
    let parser: XMLStreamParser
    private var events: [XMLStreamEvent] = []

    static let serializer = XMLSerializer(
        defaultNamespace: Namespace.server,
        prefixes: [Namespace.streams: "stream", Namespace.dialback: "db"]
    )

    init(limits: XMLStreamLimits) {
        parser = XMLStreamParser(limits: limits)
    }

    /// The events `buffer` completed, and the parse failure that ended them, if any.
    mutating func read(_ buffer: ByteBuffer) -> (events: [XMLStreamEvent], failure: XMLStreamError?) {
        events.removeAll(keepingCapacity: true)
        var failure: XMLStreamError?
        buffer.withUnsafeReadableBytes { bytes in
            do throws(XMLStreamError) {
                try parser.feed(bytes, into: &events)
            } catch {
                failure = error
            }
        }
        return (events, failure)
    }

    /// Writes `bytes`, flushing them at once unless `flush` is off (a batch then flushes once, at
    /// its end).
    static func write(_ bytes: [UInt8], context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil, flush: Bool = true) {
        let data = NIOAny(context.channel.allocator.buffer(bytes: bytes))
        if flush { context.writeAndFlush(data, promise: promise) } else { context.write(data, promise: promise) }
    }

    static func write(_ element: XMLElement, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil, flush: Bool = true) {
        write(serializer.bytes(element), context: context, promise: promise, flush: flush)
    }

    /// The peer's `address:port` (`[address]:port` for IPv6), the `remote-address` of both
    /// handlers' log records, so that a stream in the logs can be matched to a connection.
    static func remoteAddress(of channel: any Channel) -> Logger.MetadataValue {
        guard let address = channel.remoteAddress, let ip = address.ipAddress, let port = address.port else {
            return "\(channel.remoteAddress.map { "\($0)" } ?? "unknown")"
        }
        if case .v6 = address { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }

    /// `<stream:error>` (if any) then `</stream:stream>`.
    static func closingBytes(_ error: StreamError?) -> [UInt8] {
        (error.map { serializer.bytes($0.element) } ?? []) + XMLSerializer.streamClose
    }
}
