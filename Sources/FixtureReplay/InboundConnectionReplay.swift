import Federation
import XMLStreaming
import XMPP

/// One inbound connection replayed through the real `InboundStreamStateMachine`, negotiated from
/// its first byte or starting just after SASL: the peer's bytes go through the parser into the
/// machine, and the machine's actions are carried out the way `InboundStreamHandler` carries them
/// out (parser restarts, post-authentication limits, TLS
/// inserted after `<proceed/>`, nothing after a close). The two things a transcript cannot contain
/// are fixture steps instead: the TLS handshake (`completeTLS`) and the authoritative server's
/// answers. What reaches beyond the connection (our writes, deliveries, verification requests) is
/// returned, in order, for `ReplayGateway` to route.
///
/// Everything here gives the same result however the peer's bytes are chunked, because fixtures are
/// replayed whole and one byte at a time. Where a real connection's outcome would depend on how
/// the bytes were split into reads, the replay picks the outcome of the case the protocol cares
/// about: every non-whitespace byte after `<starttls/>` and before the handshake is plaintext slipped
/// in front of TLS (RFC 6120 §5.4.3.3) and ends the stream with `policy-violation`, as the handler
/// does for such bytes in the same read.
struct InboundConnectionReplay {
    typealias Action = InboundStreamStateMachine.Action

    /// Where the connection's TLS stands.
    enum TLS: Equatable {
        case none
        /// `<proceed/>` was written; only the handshake may follow.
        case handshaking
        case established
    }

    private var machine: InboundStreamStateMachine
    private let parser: XMLStreamParser
    private let limits: (pre: XMLStreamLimits, post: XMLStreamLimits)
    /// The certificate of a direct TLS connection, for the machine's `.checkPeerCertificate`.
    private let directTLSCertificate: Fixture.Certificate?
    private(set) var tls = TLS.none
    private(set) var isClosed = false
    /// Set when `.restartStream` was carried out, so `receive` can check that the block ended there.
    private var restarted = false

    /// The domain the peer claimed in its header, once allowed.
    var peerDomain: String? { machine.peerDomain }

    /// What the handler sends when plaintext follows `<starttls/>`.
    static let injectionError = StreamError(.policyViolation, text: "data after <starttls/> before TLS")

    /// How a replayed connection starts.
    enum Start {
        /// Negotiated from its first byte; with a certificate, TLS from the start (XEP-0368).
        case negotiated(directTLS: Fixture.Certificate?)
        /// Its peer has just authenticated the domain with SASL EXTERNAL over TLS: the restarted
        /// stream's header comes next.
        case authenticated(String)
    }

    init(configuration: InboundStreamStateMachine.Configuration, limits: (pre: XMLStreamLimits, post: XMLStreamLimits), start: Start) {
        self.limits = limits
        switch start {
        case .negotiated(let certificate):
            machine = InboundStreamStateMachine(configuration: configuration, transport: certificate == nil ? .startTLS : .directTLS)
            parser = XMLStreamParser(limits: limits.pre)
            directTLSCertificate = certificate
        case .authenticated(let domain):
            machine = InboundStreamStateMachine(configuration: configuration, authenticatedFor: domain)
            parser = XMLStreamParser(limits: limits.post)
            directTLSCertificate = nil
            tls = .established
        }
    }

    /// The connection is up: a direct TLS connection's handshake has completed.
    mutating func start() -> [Action] {
        guard directTLSCertificate != nil else { return [] }
        tls = .established
        return carryOut(machine.directTLSEstablished())
    }

    /// The peer writes `bytes`, `chunkSize` at a time (all at once when `nil`). `nextStreamID`
    /// draws the id of each response header.
    mutating func receive(_ bytes: [UInt8], chunkSize: Int?, nextStreamID: () -> String) throws(ReplayGateway.ScriptError) -> [Action] {
        var result: [Action] = []
        let size = max(chunkSize ?? bytes.count, 1)
        var offset = 0
        while offset < bytes.count, !isClosed {
            let chunk = Array(bytes[offset..<min(offset + size, bytes.count)])
            offset += chunk.count
            if tls == .handshaking {
                if !Self.isWhitespace(chunk) { result += carryOut([.close(Self.injectionError)]) }
                continue
            }
            var events: [XMLStreamEvent] = []
            var failure: XMLStreamError?
            do throws(XMLStreamError) {
                try parser.feed(chunk, into: &events)
            } catch {
                failure = error
            }
            var interrupted = false
            for (index, event) in events.enumerated() where !isClosed && !interrupted {
                // Whether the peer sent more than this event in the read; asked before a restart
                // resets the parser's count.
                let trailing = index + 1 < events.count || parser.bytesAfterLastElement > 0 || failure != nil
                let tlsBefore = tls
                restarted = false
                result += carryOut(handle(event, nextStreamID: nextStreamID))
                if tls == .handshaking, tlsBefore != .handshaking {
                    interrupted = true
                    if trailing { result += carryOut([.close(Self.injectionError)]) }
                } else if restarted {
                    interrupted = true
                    if trailing || !Self.isWhitespace(bytes[offset...]) {
                        throw ReplayGateway.ScriptError(
                            message: "the peer wrote on after the element that restarts the stream, before the gateway could answer it; "
                                + "end the block there and restart the stream in a later step"
                        )
                    }
                    offset = bytes.count
                }
            }
            if let failure, !isClosed, !interrupted {
                result += carryOut(machine.parseFailed(failure))
            }
        }
        return result
    }

    /// The TLS handshake started by `<proceed/>` has completed with `certificate`.
    mutating func completeTLS(_ certificate: Fixture.Certificate) -> [Action] {
        tls = .established
        return carryOut(machine.tlsEstablished(peerCertificateDomains: certificate.provenDomains(claimed: machine.peerDomain)))
    }

    /// The authoritative server answered one of this connection's verification requests.
    mutating func verificationAnswered(_ answer: DialbackVerify) -> [Action] {
        isClosed ? [] : carryOut(machine.dialbackVerificationAnswered(answer))
    }

    /// No answer will come for one of this connection's verification requests.
    mutating func verificationFailed(_ request: DialbackVerify, _ failure: DialbackVerificationFailure) -> [Action] {
        isClosed ? [] : carryOut(machine.dialbackVerificationFailed(request, failure))
    }

    /// The gateway ends the stream (with `error`, or politely), as `InboundStreamHandler.close(_:error:)`
    /// does; `streamID` is for our header if we have sent none.
    mutating func close(with error: StreamError?, streamID: String) -> [Action] {
        carryOut(machine.closeRequested(error, streamID: streamID))
    }

    private mutating func handle(_ event: XMLStreamEvent, nextStreamID: () -> String) -> [Action] {
        switch event {
        case .streamOpened(let header): machine.streamHeaderReceived(header, streamID: nextStreamID())
        case .element(let element): machine.elementReceived(element)
        case .streamClosed: machine.peerClosedStream()
        }
    }

    /// Does what the handler does itself and returns the rest; nothing is done after a close.
    private mutating func carryOut(_ actions: [Action]) -> [Action] {
        var rest: [Action] = []
        for action in actions {
            guard !isClosed else { break }
            switch action {
            case .startTLS:
                tls = .handshaking
            case .restartStream:
                parser.restart()
                restarted = true
            case .checkPeerCertificate(let domain):
                rest += carryOut(machine.peerCertificateChecked(provenDomains: directTLSCertificate?.provenDomains(claimed: domain) ?? []))
            case .authenticated:
                parser.limits = limits.post
                rest.append(action)
            case .close, .disconnect:
                isClosed = true
                rest.append(action)
            case .sendBytes, .sendElement, .deliver, .requestDialbackVerification, .dialbackRefused:
                rest.append(action)
            }
        }
        return rest
    }

    private static func isWhitespace(_ bytes: some Sequence<UInt8>) -> Bool {
        bytes.allSatisfy { Character(Unicode.Scalar($0)).isXMLWhitespace }
    }
}
