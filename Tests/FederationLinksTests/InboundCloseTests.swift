import Federation
import FederationLinks
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing
import XMLStreaming
import XMPP

/// How `InboundStreamHandler.close(_:error:)`, the gateway's way of cutting a connection at a limit
/// or a timeout, ends the stream on the wire, whatever the peer had sent by then.
@Suite("Inbound streams cut by the gateway")
struct InboundCloseTests {
    static let header =
        "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='fabrikam.example' to='contoso.example' version='1.0'>"

    /// A handler for contoso.example on an embedded channel, and what its `closed` callback saw.
    static func channel() throws -> (EmbeddedChannel, NIOLockedValueBox<[StreamError?]>) {
        let closes = NIOLockedValueBox<[StreamError?]>([])
        let partner = PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), negotiation: NegotiationPolicy(tls: .optional, sasl: .notSupported, supportDialback: true))
        let handler = InboundStreamHandler(
            configuration: InboundStreamStateMachine.Configuration(
                localDomains: ["contoso.example"], policy: FederationPolicy(partners: [partner]), dialbackSecret: DialbackSecret("embedded")
            ),
            limits: (XMLStreamLimits.preAuthentication, XMLStreamLimits.postAuthentication),
            tls: nil,
            callbacks: InboundStreamCallbacks(stanzaReceived: { _ in }, closed: { error in closes.withLockedValue { $0.append(error) } }),
            makeStreamID: { "embedded-1" }
        )
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 5269)).wait()
        return (channel, closes)
    }

    static func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    @Test("a connection that sent nothing gets our header, then the stream error, then it closes")
    func silent() throws {
        let (channel, closes) = try Self.channel()
        InboundStreamHandler.close(channel, error: StreamError(.connectionTimeout, text: "too slow"))
        channel.embeddedEventLoop.run()
        let written = try Self.written(channel)
        #expect(written.hasPrefix("<stream:stream "), "\(written)")
        #expect(written.contains("id='embedded-1'"))
        #expect(written.contains("<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"))
        #expect(written.hasSuffix("</stream:stream>"))
        #expect(!channel.isActive)
        #expect(closes.withLockedValue { $0 }.map { $0?.condition } == [.connectionTimeout])
    }

    @Test("a connection halfway through its header is cut the same way: the partial header is never answered")
    func partialHeader() throws {
        let (channel, _) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: String(Self.header.prefix(40))))
        #expect(try Self.written(channel).isEmpty)
        InboundStreamHandler.close(channel, error: StreamError(.connectionTimeout))
        channel.embeddedEventLoop.run()
        let written = try Self.written(channel)
        #expect(written.components(separatedBy: "<stream:stream ").count == 2, "one header of ours: \(written)")
        #expect(written.contains("<connection-timeout "))
        #expect(!channel.isActive)
    }

    @Test("a stream we answered gets only the error; a polite close only our closing tag")
    func opened() throws {
        let (cut, _) = try Self.channel()
        try cut.writeInbound(ByteBuffer(string: Self.header))
        #expect(try Self.written(cut).contains("<stream:features"))
        InboundStreamHandler.close(cut, error: StreamError(.connectionTimeout))
        cut.embeddedEventLoop.run()
        let error = try Self.written(cut)
        #expect(!error.contains("<stream:stream "))
        #expect(error.hasPrefix("<stream:error>") && error.hasSuffix("</stream:stream>"), "\(error)")

        let (idle, closes) = try Self.channel()
        try idle.writeInbound(ByteBuffer(string: Self.header))
        _ = try Self.written(idle)
        InboundStreamHandler.close(idle, error: nil)
        idle.embeddedEventLoop.run()
        #expect(try Self.written(idle) == "</stream:stream>")
        #expect(closes.withLockedValue { $0 }.map { $0?.condition } == [nil])
    }

    @Test("a polite close of a connection that never opened a stream writes nothing")
    func politeBeforeHeader() throws {
        let (channel, closes) = try Self.channel()
        InboundStreamHandler.close(channel, error: nil)
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel).isEmpty)
        #expect(!channel.isActive)
        #expect(closes.withLockedValue { $0 }.count == 1)
    }
}

/// A read that delivered stanzas holds the connection's next read until the gateway says
/// `readMore`: how a partner is kept to the pace at which the gateway takes what it sends.
@Suite("Inbound reads paced by the gateway")
struct InboundReadPacingTests {
    /// Counts the reads that reach the socket end of the pipeline.
    final class ReadRecorder: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = Any
        let reads = NIOLockedValueBox(0)
        func read(context: ChannelHandlerContext) {
            reads.withLockedValue { $0 += 1 }
            context.read()
        }
    }

    @Test("after a read that delivered a stanza, reads wait for readMore; reads before authentication are never held")
    func held() throws {
        let delivered = NIOLockedValueBox(0)
        let verifications = NIOLockedValueBox<[DialbackVerify]>([])
        let partner = PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), negotiation: NegotiationPolicy(tls: .optional, sasl: .notSupported, supportDialback: true))
        let handler = InboundStreamHandler(
            configuration: InboundStreamStateMachine.Configuration(
                localDomains: ["contoso.example"], policy: FederationPolicy(partners: [partner]), dialbackSecret: DialbackSecret("embedded")
            ),
            limits: (XMLStreamLimits.preAuthentication, XMLStreamLimits.postAuthentication),
            tls: nil,
            callbacks: InboundStreamCallbacks(
                stanzaReceived: { _ in },
                verificationRequested: { _, verify, _ in verifications.withLockedValue { $0.append(verify) } },
                readDelivered: { delivered.withLockedValue { $0 += 1 } }
            ),
            makeStreamID: { "embedded-1" }
        )
        let recorder = ReadRecorder()
        let channel = EmbeddedChannel(handlers: [recorder, handler])
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 5269)).wait()

        try channel.writeInbound(ByteBuffer(string: InboundCloseTests.header))
        try channel.writeInbound(ByteBuffer(string: "<db:result from='fabrikam.example' to='contoso.example'>key</db:result>"))
        let before = recorder.reads.withLockedValue { $0 }
        channel.read()
        #expect(recorder.reads.withLockedValue { $0 } == before + 1, "nothing delivered yet: reads flow")

        let verify = try #require(verifications.withLockedValue { $0 }.first)
        InboundStreamHandler.deliverVerificationAnswer(verify.answered(.valid), on: channel)
        channel.embeddedEventLoop.run()
        try channel.writeInbound(ByteBuffer(string: "<message from='bob@fabrikam.example/a' to='alice@contoso.example' type='chat'><body>hi</body></message>"))
        #expect(delivered.withLockedValue { $0 } == 1)
        let held = recorder.reads.withLockedValue { $0 }
        channel.read()
        #expect(recorder.reads.withLockedValue { $0 } == held, "the read waits")

        InboundStreamHandler.readMore(on: channel)
        channel.embeddedEventLoop.run()
        #expect(recorder.reads.withLockedValue { $0 } == held + 1, "the waiting read goes on")
        channel.read()
        #expect(recorder.reads.withLockedValue { $0 } == held + 2)
    }
}

