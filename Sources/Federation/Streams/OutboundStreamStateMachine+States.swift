import XMPP

extension OutboundStreamStateMachine {
    /// Where the conversation is. Each case carries what that step needs and nothing it does not:
    /// the negotiated security travels from stream to stream, the peer's header only lives as long
    /// as its stream, and a sub-machine only exists while its protocol runs.
    enum State: Sendable {
        /// The connection is not up yet.
        case idle
        /// Our header is out; the peer's is awaited.
        case awaitingStreamHeader(AwaitingStreamHeader)
        /// Both headers are out; the peer's `<stream:features>` are awaited.
        case awaitingFeatures(OpenStream)
        /// `<starttls/>` is out; `<proceed/>` or `<failure/>` is awaited.
        case negotiatingTLS
        /// `<proceed/>` arrived; the handler is running the TLS handshake. Nothing may be written
        /// or read in plaintext now.
        case awaitingTLSHandshake
        /// `<auth mechanism='EXTERNAL'/>` is out.
        case authenticatingSASL(AuthenticatingSASL)
        /// `<db:result/>` is out (or waits for the stream ID).
        case dialback(DialbackNegotiation)
        /// Stanzas may flow.
        case established(OutboundEstablishedStream)
        /// A verification-only connection is ready: `<db:verify/>` requests go out, answers come
        /// back, and nothing else is negotiated.
        case verifying
        /// Our closing tag is out; the peer's is awaited.
        case closing(Ending)
        /// Nothing more happens on this connection.
        case closed(Ending)
    }

    struct AwaitingStreamHeader: Sendable {
        var security: OutboundStreamSecurity
        /// SASL succeeded before this restart: the stream is established once its features come.
        var authenticated: Bool
    }

    /// A stream both sides have opened.
    struct OpenStream: Sendable {
        var security: OutboundStreamSecurity
        /// The peer's validated header; its `id` is what dialback keys are bound to.
        var header: StreamHeader
        var authenticated: Bool
    }

    struct AuthenticatingSASL: Sendable {
        var initiator: SASLExternal.Initiator
        var stream: OpenStream
        /// Whether the features that led here offered dialback, for the fallback on `<failure/>`
        /// (no new features come on the same stream).
        var peerOffersDialback: Bool
    }

    struct DialbackNegotiation: Sendable {
        var initiator: DialbackInitiator
        var stream: OpenStream
    }

    /// How the stream ended, kept so that later events and stanzas get a consistent answer.
    struct Ending: Sendable {
        /// `nil` when the link layer closed an established stream on purpose.
        var failure: OutboundFailure?
        var wasEstablished: Bool
    }
}

extension OutboundStreamStateMachine.State {
    var phase: OutboundStreamStateMachine.Phase {
        switch self {
        case .idle: .idle
        case .awaitingStreamHeader: .awaitingStreamHeader
        case .awaitingFeatures: .awaitingFeatures
        case .negotiatingTLS: .negotiatingTLS
        case .awaitingTLSHandshake: .awaitingTLSHandshake
        case .authenticatingSASL: .authenticatingSASL
        case .dialback: .dialback
        case .established: .established
        case .verifying: .verifying
        case .closing: .closing
        case .closed: .closed
        }
    }

    /// Whether our stream is open and writable in plaintext or over settled TLS: not before the
    /// connection is up, not during the TLS handshake, not after our closing tag.
    var ourStreamIsOpen: Bool {
        switch self {
        case .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .authenticatingSASL, .dialback, .established, .verifying:
            true
        case .idle, .awaitingTLSHandshake, .closing, .closed:
            false
        }
    }

    var ending: OutboundStreamStateMachine.Ending? {
        switch self {
        case .closing(let ending), .closed(let ending): ending
        default: nil
        }
    }
}
