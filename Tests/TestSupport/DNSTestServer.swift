import XMPP
package import Federation
import NIOConcurrencyHelpers
package import NIOCore
import NIOPosix

/// An authoritative DNS server on 127.0.0.1 for the resolver tests: UDP and TCP on the same
/// ephemeral port, answering from a table of records with the pure `DNSMessage` encoder, and
/// logging every query it receives so that tests can count attempts.
///
/// A name with no records at all is NXDOMAIN; a name with records of other types is NODATA, as a
/// real authoritative server answers. ``Behaviour`` makes it misbehave on purpose.
///
/// Shared by the test targets (the resolver's tests, `consulate check`'s) through
/// `ConsulateTestSupport`, so that every DNS test talks to the same server.
package final class DNSTestServer: Sendable {
    package enum Transport: Sendable, Hashable {
        case udp
        case tcp
    }

    /// One query as the server decoded it.
    package struct ReceivedQuery: Sendable, Hashable {
        package var transport: Transport
        package var id: UInt16
        package var question: DNSQuestion
    }

    /// A message sent before the real answer that the resolver must not take for it. Each carries
    /// records (127.0.0.66, `::66`, `decoy.test:6666`) owned by the asked name, so that a resolver
    /// trusting it would return them.
    package enum Decoy: Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// Another query id.
        case wrongID
        /// The right id, another question.
        case wrongQuestion
        /// The right id and question, QR clear.
        case notAResponse
        /// The right id, QR set, the body cut off so that it does not decode.
        case undecodable

        package var description: String {
            switch self {
            case .wrongID: "wrong id"
            case .wrongQuestion: "wrong question"
            case .notAResponse: "QR clear"
            case .undecodable: "undecodable body"
            }
        }
    }

    package struct Behaviour: Sendable {
        /// Receive and log queries but never answer.
        package var silent = false
        /// Answer every query with this RCODE and no records (SERVFAIL, NXDOMAIN, …).
        package var responseCode: DNSResponseCode?
        /// Over UDP, set TC and send only the first answer record; TCP gets the whole answer.
        package var truncateUDP = false
        /// Send this before the real answer, over either transport.
        package var decoy: Decoy?
        /// Whether the real answer follows the decoy.
        package var answerAfterDecoy = true

        package init() {}
    }

    package let nameserver: DNSNameserver
    private let udp: any Channel
    private let tcp: any Channel
    private let responder: Responder

    private init(nameserver: DNSNameserver, udp: any Channel, tcp: any Channel, responder: Responder) {
        self.nameserver = nameserver
        self.udp = udp
        self.tcp = tcp
        self.responder = responder
    }

    /// Every query received so far, in arrival order.
    package var received: [ReceivedQuery] { responder.received }

    /// Every query received, once at least `count` have been read. A resolver that gave up on a
    /// silent server has sent its last query, but on a loaded machine this server's event loop may
    /// not have read it yet; waiting for the count (bounded) keeps exact-count checks honest.
    package func received(atLeast count: Int, within limit: Duration = .seconds(5)) async -> [ReceivedQuery] {
        let deadline = ContinuousClock.now + limit
        while responder.received.count < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return responder.received
    }

    /// How many times `name`/`type` was asked, over `transport` or either.
    package func count(_ name: String, _ type: DNSRecordType, over transport: Transport? = nil) throws -> Int {
        let question = DNSQuestion(name: try DNSName(name), type: type)
        return received.filter { $0.question == question && (transport == nil || $0.transport == transport) }.count
    }

    /// The distinct questions received, as `name TYPE` text, sorted.
    package var questions: [String] {
        Set(received.map { "\($0.question.name) \($0.question.type)" }).sorted()
    }

    /// Starts a server, runs `body` with it, and stops it whatever `body` does.
    package static func with<Result>(
        _ records: [DNSResourceRecord],
        behaviour: Behaviour = Behaviour(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: (DNSTestServer) async throws -> Result
    ) async throws -> Result {
        let server = try await start(records, behaviour: behaviour, group: group)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    package struct NoFreePort: Error {}

    /// A zone record that cannot be made from the text a test wrote.
    package struct InvalidRecord: Error {
        package var text: String
    }

    /// Binds UDP on an ephemeral port of 127.0.0.1, then TCP on the same port (trying again with
    /// another port in the rare case that the TCP one is taken).
    package static func start(
        _ records: [DNSResourceRecord],
        behaviour: Behaviour = Behaviour(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> DNSTestServer {
        let responder = Responder(records: records, behaviour: behaviour)
        for _ in 0..<10 {
            let udp = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DatagramResponder(responder: responder))
                    }
                }
                .bind(host: "127.0.0.1", port: 0)
                .get()
            guard let port = udp.localAddress?.port else {
                try? await udp.close()
                continue
            }
            do {
                let tcp = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(StreamResponder(responder: responder))
                        }
                    }
                    .bind(host: "127.0.0.1", port: port)
                    .get()
                let nameserver = try DNSNameserver(address: .v4(try DNSZone.ipv4("127.0.0.1")), port: UInt16(port))
                return DNSTestServer(nameserver: nameserver, udp: udp, tcp: tcp, responder: responder)
            } catch {
                try? await udp.close()
            }
        }
        throw NoFreePort()
    }

    package func stop() async {
        try? await udp.close()
        try? await tcp.close()
    }

    /// Decides the answers and keeps the log; shared by both transports' handlers.
    final class Responder: Sendable {
        private let records: [DNSResourceRecord]
        private let behaviour: Behaviour
        private let log = NIOLockedValueBox<[ReceivedQuery]>([])

        init(records: [DNSResourceRecord], behaviour: Behaviour) {
            self.records = records
            self.behaviour = behaviour
        }

        var received: [ReceivedQuery] { log.withLockedValue { $0 } }

        /// The messages to send back for `bytes`, in order; none for silence or a query that does
        /// not decode.
        func respond(to bytes: [UInt8], over transport: Transport) -> [[UInt8]] {
            guard let query = try? DNSMessage(decoding: bytes), let question = query.questions.first else { return [] }
            log.withLockedValue { $0.append(ReceivedQuery(transport: transport, id: query.header.id, question: question)) }
            if behaviour.silent { return [] }

            var header = DNSHeader(id: query.header.id)
            header.isResponse = true
            header.isAuthoritativeAnswer = true
            header.recursionDesired = query.header.recursionDesired
            var answer = DNSMessage(header: header, questions: [question])
            if let code = behaviour.responseCode {
                answer.header.responseCode = code
            } else {
                answer.answers = records.filter { $0.name == question.name && $0.type == question.type }
                if !records.contains(where: { $0.name == question.name }) {
                    answer.header.responseCode = .nameError
                }
            }
            if transport == .udp, behaviour.truncateUDP {
                answer.header.isTruncated = true
                answer.answers = Array(answer.answers.prefix(1))
            }

            var messages: [[UInt8]] = []
            if let decoy = behaviour.decoy {
                messages.append(Self.decoy(decoy, for: query.header.id, question: question))
                if !behaviour.answerAfterDecoy { return messages }
            }
            if let encoded = try? answer.encoded() { messages.append(encoded) }
            return messages
        }

        private static func decoy(_ kind: Decoy, for id: UInt16, question: DNSQuestion) -> [UInt8] {
            var header = DNSHeader(id: id)
            header.isResponse = true
            var message = DNSMessage(header: header, questions: [question])
            let data: DNSRecordData? =
                switch question.type {
                case .a: IPv4Address("127.0.0.66").map { .a($0) }
                case .aaaa: IPv6Address("::66").map { .aaaa($0) }
                case .srv: (try? DNSName("decoy.test")).map { .srv(SRVRecord(priority: 0, weight: 0, port: 6666, target: $0)) }
                default: nil
                }
            if let data { message.answers = [DNSResourceRecord(name: question.name, ttl: 60, data: data)] }
            switch kind {
            case .wrongID: message.header.id = id ^ 0x5A5A
            case .wrongQuestion: message.questions = [DNSQuestion(name: (try? DNSName("decoy.test")) ?? .root, type: question.type)]
            case .notAResponse: message.header.isResponse = false
            case .undecodable: break
            }
            let bytes = (try? message.encoded()) ?? []
            return kind == .undecodable ? Array(bytes.dropLast(3)) : bytes
        }
    }

    /// Answers datagrams to whoever sent them.
    final class DatagramResponder: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>

        private let responder: Responder

        init(responder: Responder) {
            self.responder = responder
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            for reply in responder.respond(to: Array(envelope.data.readableBytesView), over: .udp) {
                let buffer = context.channel.allocator.buffer(bytes: reply)
                context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)), promise: nil)
            }
            context.flush()
        }
    }

    /// Answers length-prefixed queries on one TCP connection.
    final class StreamResponder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let responder: Responder
        private var pending = ByteBuffer()

        init(responder: Responder) {
            self.responder = responder
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var chunk = unwrapInboundIn(data)
            pending.writeBuffer(&chunk)
            while let length = pending.getInteger(at: pending.readerIndex, as: UInt16.self),
                pending.readableBytes >= 2 + Int(length)
            {
                pending.moveReaderIndex(forwardBy: 2)
                guard let query = pending.readBytes(length: Int(length)) else { break }
                for reply in responder.respond(to: query, over: .tcp) {
                    var buffer = context.channel.allocator.buffer(capacity: reply.count + 2)
                    buffer.writeInteger(UInt16(reply.count))
                    buffer.writeBytes(reply)
                    context.write(wrapOutboundOut(buffer), promise: nil)
                }
            }
            pending.discardReadBytes()
            context.flush()
        }
    }
}

/// Shorthands for the zone's records; they throw (failing the test) on a typo.
package enum DNSZone {
    package static func srv(_ owner: String, _ target: String, port: UInt16, priority: UInt16 = 0, weight: UInt16 = 0) throws -> DNSResourceRecord {
        DNSResourceRecord(
            name: try DNSName(owner),
            ttl: 300,
            data: .srv(SRVRecord(priority: priority, weight: weight, port: port, target: try DNSName(target)))
        )
    }

    package static func a(_ owner: String, _ address: String) throws -> DNSResourceRecord {
        DNSResourceRecord(name: try DNSName(owner), ttl: 300, data: .a(try ipv4(address)))
    }

    package static func aaaa(_ owner: String, _ address: String) throws -> DNSResourceRecord {
        guard let parsed = IPv6Address(address) else { throw DNSTestServer.InvalidRecord(text: address) }
        return DNSResourceRecord(name: try DNSName(owner), ttl: 300, data: .aaaa(parsed))
    }

    static func ipv4(_ address: String) throws -> IPv4Address {
        guard let parsed = IPv4Address(address) else { throw DNSTestServer.InvalidRecord(text: address) }
        return parsed
    }
}

/// Query ids 0x1000, 0x1001, …, remembering which it gave out, so that a test can check that the
/// ids the server saw are the injected ones.
package final class DNSQueryIDSequence: Sendable {
    private let issued = NIOLockedValueBox<[UInt16]>([])

    package init() {}

    package func next() -> UInt16 {
        issued.withLockedValue { issued in
            let id = 0x1000 + UInt16(issued.count)
            issued.append(id)
            return id
        }
    }

    package var all: [UInt16] { issued.withLockedValue { $0 } }
}
