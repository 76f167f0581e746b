import Federation
import NIOCore
import NIOPosix

/// How one attempt (one query sent to one nameserver over one transport) ended.
enum DNSExchangeResult: Sendable, Hashable {
    /// A response that answers the query: its id, question and QR bit match.
    case answered(DNSLookupOutcome<DNSRecordData>)
    /// A matching response with TC set: the query must be repeated over TCP.
    case truncated
    /// Nothing usable before the deadline, or the socket failed (refused, unreachable, reset).
    case failed
}

/// What one received message means for the query waiting on it.
enum DNSResponseVerdict: Sendable, Hashable {
    /// The response to the query.
    case answer(DNSLookupOutcome<DNSRecordData>)
    /// The response to the query, cut short (TC).
    case truncated
    /// Not a response to this query (a stray or spoofed datagram, or garbage): keep waiting.
    case ignore

    /// Classifies `bytes` received for `query`, trusting only what ``DNSMessage/lookupOutcome(for:)``
    /// accepts. The one exception is a truncated response whose body is cut off mid-record and so
    /// does not decode: if its header has QR, our id and TC, it is taken as truncated, since the
    /// only consequence is asking again over TCP.
    init(_ bytes: [UInt8], for query: DNSQuery) {
        guard let header = try? DNSHeader(decoding: bytes), header.isResponse, header.id == query.id else {
            self = .ignore
            return
        }
        let message: DNSMessage
        do {
            message = try DNSMessage(decoding: bytes)
        } catch {
            self = header.isTruncated ? .truncated : .ignore
            return
        }
        do {
            self = .answer(try message.lookupOutcome(for: query))
        } catch .truncated {
            self = .truncated
        } catch {
            self = .ignore
        }
    }
}

/// The transport of one attempt.
enum DNSTransport: Sendable, Hashable {
    /// One datagram each way (RFC 1035 §4.2.1), on a socket connected to the nameserver so that the
    /// kernel drops datagrams from any other source.
    case udp
    /// A TCP connection with each message preceded by its length as two big-endian octets
    /// (RFC 1035 §4.2.2), for answers too large for a datagram.
    case tcp
}

/// Sends one query to one nameserver and waits, up to a deadline, for the response.
enum DNSExchange {
    /// Runs one attempt. Every path ends in a ``DNSExchangeResult``: the deadline (a task scheduled
    /// on the socket's event loop) resolves it to ``DNSExchangeResult/failed`` if nothing else
    /// did, and the socket is closed once the result is known.
    static func run(
        _ query: DNSQuery,
        to nameserver: DNSNameserver,
        over transport: DNSTransport,
        timeout: TimeAmount,
        group: any EventLoopGroup
    ) async -> DNSExchangeResult {
        guard let address = try? nameserver.socketAddress else { return .failed }
        let loop = group.next()
        let promise = loop.makePromise(of: DNSExchangeResult.self)
        let deadline = loop.scheduleTask(in: timeout) { promise.succeed(.failed) }
        let payload: [UInt8]
        let connecting: EventLoopFuture<any Channel>
        switch transport {
        case .udp:
            payload = query.encoded()
            connecting = DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DNSDatagramHandler(query: query, promise: promise))
                    }
                }
                .connect(to: address)
        case .tcp:
            let message = query.encoded()
            payload = [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
            connecting = ClientBootstrap(group: loop)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DNSStreamHandler(query: query, promise: promise))
                    }
                }
                .connect(to: address)
        }
        connecting.whenComplete { result in
            switch result {
            case .success(let channel):
                channel.writeAndFlush(channel.allocator.buffer(bytes: payload)).whenFailure { _ in
                    promise.succeed(.failed)
                }
            case .failure:
                promise.succeed(.failed)
            }
        }
        promise.futureResult.whenComplete { _ in
            deadline.cancel()
            connecting.whenSuccess { channel in channel.close(promise: nil) }
        }
        return (try? await promise.futureResult.get()) ?? .failed
    }
}

extension DNSNameserver {
    /// The nameserver as a socket address, built from the address octets so that no text is parsed
    /// (and no name could ever be resolved) on the way.
    var socketAddress: SocketAddress {
        get throws {
            let octets: [UInt8]
            switch address {
            case .v4(let v4): octets = v4.octets
            case .v6(let v6): octets = v6.octets
            }
            return try SocketAddress(packedIPAddress: ByteBuffer(bytes: octets), port: Int(port))
        }
    }
}

/// Waits for the datagram that answers the query; every other datagram is dropped.
final class DNSDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let query: DNSQuery
    private let promise: EventLoopPromise<DNSExchangeResult>

    init(query: DNSQuery, promise: EventLoopPromise<DNSExchangeResult>) {
        self.query = query
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        switch DNSResponseVerdict(Array(envelope.data.readableBytesView), for: query) {
        case .answer(let outcome): promise.succeed(.answered(outcome))
        case .truncated: promise.succeed(.truncated)
        case .ignore: break
        }
    }

    /// An ICMP "port unreachable" surfaces here as ECONNREFUSED on the connected socket: the
    /// nameserver is not listening, so waiting out the timeout would gain nothing.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.succeed(.failed)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(.failed)
        context.fireChannelInactive()
    }
}

/// Reads length-prefixed messages from a TCP connection until one answers the query. A truncated
/// answer over TCP cannot be completed anywhere else, so it fails the attempt.
final class DNSStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let query: DNSQuery
    private let promise: EventLoopPromise<DNSExchangeResult>
    private var received = ByteBuffer()

    init(query: DNSQuery, promise: EventLoopPromise<DNSExchangeResult>) {
        self.query = query
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        received.writeBuffer(&chunk)
        while let length = received.getInteger(at: received.readerIndex, as: UInt16.self),
            received.readableBytes >= 2 + Int(length)
        {
            received.moveReaderIndex(forwardBy: 2)
            guard let bytes = received.readBytes(length: Int(length)) else { break }
            switch DNSResponseVerdict(bytes, for: query) {
            case .answer(let outcome):
                promise.succeed(.answered(outcome))
                return
            case .truncated:
                promise.succeed(.failed)
                return
            case .ignore:
                continue
            }
        }
        received.discardReadBytes()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.succeed(.failed)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(.failed)
        context.fireChannelInactive()
    }
}
