package import XMLStreaming
package import XMPP

/// The initiating server's side of one server-to-server connection (RFC 6120 §4–§6, XEP-0220,
/// XEP-0178, XEP-0368), as a pure state machine: events in, actions out, no I/O, no clock, no
/// randomness. A thin channel handler feeds it parser events, TLS results and timer expiries, and
/// runs the actions in order.
///
/// The path: our header → the peer's header and features → STARTTLS (unless TLS is already up, or
/// the partner's policy rules it out) → restart → SASL EXTERNAL with our certificate, if offered and
/// allowed → restart → established; or, where EXTERNAL is not offered, is refused or is not
/// allowed, dialback for our domain pair on the same stream. A peer without a stream version
/// (pre-1.0) sends no features and goes straight to dialback.
///
/// What is tried is decided by the partner's `NegotiationPolicy`, and a stream only becomes
/// established with a method in its `expectedAuthentication`: TLS is used whenever it is offered
/// and not `not-supported`, SASL before dialback, and a policy that leaves nothing usable ends the
/// stream with a reason naming every method and why it was out.
///
/// The peer never authenticates on this stream (no XEP-0288 bidi), so it may send nothing but
/// negotiation: any stanza from it is `not-authorized`, any other element out of place ends the
/// stream with the stream error that names the problem.
///
/// The stream also carries our `<db:verify/>` requests as the Receiving Server (XEP-0220 §2.1.2),
/// through the `DialbackVerificationRequests` sub-machine: on an established link to the
/// Authoritative Server, or on a connection opened only for them (`Purpose.verification`), which
/// negotiates up to the point where it could authenticate, never authenticates, and closes once
/// every request is answered. Requests handed in before the stream can carry them wait in the
/// machine; when the stream ends, every outstanding one fails, so that no inbound stream waits for
/// an answer that cannot come.
package struct OutboundStreamStateMachine: Sendable {
    /// What the connection is for.
    package enum Purpose: Sendable, Hashable {
        /// A link: authenticate our domain to the peer, then carry stanzas (and, once established,
        /// `<db:verify/>` requests too, which XEP-0220 §2.1.2 allows on any stream to the
        /// Authoritative Server).
        case link
        /// A verification-only connection (XEP-0220 §2.1.2): STARTTLS where the policy says so,
        /// then `<db:verify/>` requests without authenticating, since we only ask and the peer
        /// only answers; closed politely once none is outstanding. Never established, never
        /// carries stanzas.
        case verification
    }

    /// What the handler must do, in order.
    package enum Action: Sendable, Hashable {
        /// Write these bytes: one of our stream headers.
        case sendBytes([UInt8])
        /// Serialize this element inside our stream and write it.
        case sendElement(XMLElement)
        /// `<proceed/>` arrived: insert the TLS client handler ahead of the XMPP handler, with SNI
        /// `serverName` (in A-label form) and ALPN `xmpp-server`; check the peer's certificate for
        /// `serverName`; reset the parser; then report `tlsEstablished` or `tlsFailed`. Bytes that
        /// came after `<proceed/>` in plaintext must be dropped unparsed (STARTTLS injection).
        case startTLS(serverName: String)
        /// SASL succeeded (RFC 6120 §6.4.6): reset the parser now, before the new header that
        /// follows is written, since the peer's next bytes open a new stream.
        case restartStream
        /// Negotiation is complete: flush queued stanzas through `stanzaSendRequested`. The parser
        /// keeps its pre-authentication limits, since the peer sends nothing but negotiation on a
        /// stream we initiated.
        case established(OutboundEstablishedStream)
        /// Negotiation ended without success: return queued stanzas with `bounceError`, log the
        /// reason. What to write and whether to close follow as `close` / `closeConnection`.
        case failed(OutboundFailure)
        /// An established stream ended without the link layer asking: send new stanzas on a new
        /// stream. Log the reason; a `see-other-host` peer error names where to connect.
        case ended(OutboundFailure)
        /// Write `<stream:error>` with this error if there is one, then `</stream:stream>`; keep
        /// reading until the peer's closing tag (`streamClosedByPeer` then says
        /// `.closeConnection`) or until the close timer expires (`timedOut`).
        case close(StreamError?)
        /// Close the connection now.
        case closeConnection
        /// The Authoritative Server answered one of our `<db:verify/>` requests: hand it to the
        /// inbound stream whose ID is `answer.id` (`DialbackReceiver.verifyResponseReceived`).
        case deliverVerificationAnswer(DialbackVerify)
        /// No answer will come on this stream for `request`: tell the inbound stream whose ID is
        /// `request.id` (`DialbackReceiver.verificationFailed`), which refuses the pair with the
        /// dialback error the failure names.
        case verificationFailed(DialbackVerify, DialbackVerificationFailure)
    }

    /// The machine's step, without its data: for logs, metrics and tests.
    package enum Phase: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case idle
        case awaitingStreamHeader = "awaiting-stream-header"
        case awaitingFeatures = "awaiting-features"
        case negotiatingTLS = "negotiating-tls"
        case awaitingTLSHandshake = "awaiting-tls-handshake"
        case authenticatingSASL = "authenticating-sasl"
        case dialback
        case established
        /// A verification-only connection has negotiated what it needs: `<db:verify/>` requests
        /// go out and answers come back.
        case verifying
        case closing
        case closed

        package var description: String { rawValue }
    }

    /// What to do with a stanza the link layer wants to send on this stream.
    package enum StanzaDecision: Sendable, Hashable {
        /// Serialize and write it now.
        case send(XMLElement)
        /// Negotiation is still running: keep it, then send it after `.established` or bounce it
        /// after `.failed`.
        case queue
        /// Negotiation failed on this stream: return the stanza with this error.
        case bounce(StanzaError)
        /// The established stream has ended or is ending, or this is a verification-only
        /// connection, which carries no stanzas: send the stanza on another stream.
        case streamEnded
    }

    /// What happens to a `<db:verify/>` request handed to this stream.
    package enum VerificationDecision: Sendable, Hashable {
        /// Write this request now; its answer (or its failure) comes later as an action.
        case send(XMLElement)
        /// The stream cannot carry requests yet: the machine keeps it and sends it once it can
        /// (after `.established`, or on a verification-only connection once TLS and the features
        /// are settled), or fails it if the stream never gets there.
        case queued
        /// Nothing to send: an identical request (same `from`, `to` and `id`) is already
        /// outstanding here and its answer settles both, or the element carries no key.
        case ignored
        /// The stream is ending or over and will carry no more requests: ask over another
        /// connection. Nothing was recorded, so no failure will be reported for it here.
        case streamEnded
    }

    /// Our domain (canonical domainpart): `from` of our headers, the dialback Sender Domain, the
    /// SASL EXTERNAL authorization identity.
    package let localDomain: String
    /// The peer's domain (canonical domainpart): `to` of our headers, the TLS server name.
    package let remoteDomain: String
    /// The partner's TLS × SASL × dialback settings.
    package let policy: NegotiationPolicy
    /// Whether TLS is up before the first byte (XEP-0368), so there is no STARTTLS step.
    package let directTLS: Bool
    /// A link, or a connection only for dialback verification requests.
    package let purpose: Purpose
    /// Without a secret, dialback cannot be used.
    let dialbackSecret: DialbackSecret?
    let streamHeaderBytes: [UInt8]
    var state = State.idle
    /// Our `<db:verify/>` requests sent on this stream and not yet answered.
    var verifications = DialbackVerificationRequests()
    /// Requests handed in before the stream could carry them, oldest first.
    var queuedVerifications: [DialbackVerify] = []

    /// - Parameters:
    ///   - localDomain: our domain; must be a bare domain.
    ///   - remoteDomain: the domain the link is for; must be a bare domain.
    ///   - policy: the partner's negotiation policy. An invalid one fails the stream at once.
    ///   - dialbackSecret: the secret our dialback keys derive from; `nil` rules dialback out.
    ///   - directTLS: whether the connection is direct TLS (XEP-0368).
    ///   - purpose: a link (the default), or a verification-only connection.
    /// - Throws: `JIDError` when a domain is malformed or not a bare domain, since both go into
    ///   stream headers and dialback keys.
    package init(
        localDomain: String,
        remoteDomain: String,
        policy: NegotiationPolicy,
        dialbackSecret: DialbackSecret?,
        directTLS: Bool,
        purpose: Purpose = .link
    ) throws(JIDError) {
        let local = try Self.domain(localDomain)
        let remote = try Self.domain(remoteDomain)
        self.localDomain = local.domainpart
        self.remoteDomain = remote.domainpart
        self.policy = policy
        self.dialbackSecret = dialbackSecret
        self.directTLS = directTLS
        self.purpose = purpose
        streamHeaderBytes = StreamHeader(from: local, to: remote, version: .current, contentNamespace: Namespace.server)
            .bytes(declaringDialback: true)
    }

    private static func domain(_ string: String) throws(JIDError) -> JID {
        let address = try JID(string)
        guard address.isDomain else { throw JIDError("a stream's domains must be bare domains") }
        return address
    }

    /// The step the machine is at.
    package var phase: Phase { state.phase }

    /// The established stream, while stanzas may flow.
    package var establishedStream: OutboundEstablishedStream? {
        if case .established(let stream) = state { stream } else { nil }
    }

    /// Why the stream ended, once it has; `nil` while it runs, after a requested close of an
    /// established stream, and after a verification-only connection closed with every request
    /// answered.
    package var failure: OutboundFailure? { state.ending?.failure }

    /// `<db:verify/>` requests not yet answered: those sent first, then those waiting for the
    /// stream to be able to carry them.
    package var outstandingVerifications: [DialbackVerify] {
        verifications.pendingRequests + queuedVerifications
    }

    /// The Sender Domain → Target Domain pair dialback asks for.
    var domainPair: DialbackDomainPair { DialbackDomainPair(sender: localDomain, target: remoteDomain) }

    // MARK: - Events

    /// The TCP connection is up (for direct TLS: the TLS handshake is done too, and
    /// `peerCertificateValidForRemote` says whether the certificate checked out; a plain connection
    /// has no certificate and the flag is not used). Sends our stream header, declaring `db:` so
    /// that dialback can follow.
    package mutating func connectionEstablished(peerCertificateValidForRemote: Bool = false) -> [Action] {
        switch state {
        case .idle:
            break
        case .closing, .closed:
            return []
        case .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .awaitingTLSHandshake, .authenticatingSASL, .dialback, .established, .verifying:
            return fail(
                .internalError,
                "the connection to \(remoteDomain) was reported established twice",
                streamError: StreamError(.internalServerError),
                .closeNow
            )
        }
        if let problem = policy.problem {
            return fail(.policy, "the negotiation policy for \(remoteDomain) cannot work: \(problem)", .abort)
        }
        if directTLS && policy.tls == .notSupported {
            return fail(.policy, "a direct TLS connection to \(remoteDomain), where TLS is not-supported (\(policy))", .abort)
        }
        let security: OutboundStreamSecurity =
            directTLS ? .directTLS(peerCertificateValidForRemote: peerCertificateValidForRemote) : .plaintext
        state = .awaitingStreamHeader(AwaitingStreamHeader(security: security, authenticated: false))
        return [.sendBytes(streamHeaderBytes)]
    }

    /// Dispatches one parser event.
    package mutating func streamEventReceived(_ event: XMLStreamEvent) -> [Action] {
        switch event {
        case .streamOpened(let header): streamHeaderReceived(header)
        case .element(let element): elementReceived(element)
        case .streamClosed: streamClosedByPeer()
        }
    }

    /// The peer's stream header. It is validated (`StreamHeader`) and kept for its `id`; a header
    /// without a version (or below 1.0) means no features will come (RFC 6120 §4.7.5), so dialback
    /// starts at once if the policy allows it.
    package mutating func streamHeaderReceived(_ header: XMLStreamHeader) -> [Action] {
        switch state {
        case .awaitingStreamHeader(let awaiting):
            return streamOpened(header, awaiting)
        case .closing, .closed:
            return []
        case .awaitingTLSHandshake:
            return fail(
                .protocolViolation,
                "\(remoteDomain) opened a stream after <proceed/>, before TLS was set up; unprotected data is refused",
                .abort
            )
        case .idle, .awaitingFeatures, .negotiatingTLS, .authenticatingSASL, .dialback, .established, .verifying:
            return fail(
                .internalError,
                "a stream header from \(remoteDomain) was reported while \(phase), where none can come without a restart",
                streamError: StreamError(.internalServerError),
                .closeNow
            )
        }
    }

    /// A depth-1 element from the peer: features, TLS, SASL or dialback answers (to our
    /// `<db:result/>` or, once requests can be sent, to our `<db:verify/>`), a stream error, or
    /// something that ends the stream.
    package mutating func elementReceived(_ element: XMLElement) -> [Action] {
        switch state {
        case .closing, .closed:
            return []
        case .idle:
            return fail(.internalError, "an element from \(remoteDomain) was reported before the connection was", .abort)
        case .awaitingTLSHandshake:
            return fail(
                .protocolViolation,
                "\(remoteDomain) sent <\(element.name)/> after <proceed/>, before TLS was set up; unprotected data is refused",
                .abort
            )
        case .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .authenticatingSASL, .dialback, .established, .verifying:
            break
        }
        if let peerError = StreamError(element: element) {
            // RFC 6120 §4.9.1.1: a stream error is never answered with one.
            return fail(.peerStreamError(peerError), "\(remoteDomain) ended the stream with <\(peerError)>", .awaitPeerClose)
        }
        switch state {
        case .awaitingFeatures(let stream) where element.name == "features" && element.namespace == Namespace.streams:
            return featuresReceived(element, on: stream)
        case .negotiatingTLS where element.name == "proceed" && element.namespace == Namespace.tls:
            state = .awaitingTLSHandshake
            return [.startTLS(serverName: remoteDomain)]
        case .negotiatingTLS where element.name == "failure" && element.namespace == Namespace.tls:
            return fail(.tlsFailed, "\(remoteDomain) answered <starttls/> with <failure/>", .awaitPeerClose)
        case .authenticatingSASL(let sasl) where element.namespace == Namespace.sasl:
            return saslElementReceived(element, sasl)
        case .dialback(let dialback) where element.name == "result" && element.namespace == Namespace.dialback:
            return dialbackResultReceived(element, dialback)
        case .established where element.name == "verify" && element.namespace == Namespace.dialback,
            .verifying where element.name == "verify" && element.namespace == Namespace.dialback:
            return verifyElementReceived(element)
        default:
            return unexpectedElementReceived(element)
        }
    }

    /// The handler finished the TLS handshake asked for with `.startTLS`. Sends the new stream
    /// header (RFC 6120 §5.4.3.3); everything learnt before TLS is forgotten.
    /// `peerCertificateValidForRemote` is recorded for diagnostics and the established stream.
    package mutating func tlsEstablished(peerCertificateValidForRemote: Bool) -> [Action] {
        switch state {
        case .awaitingTLSHandshake:
            let security = OutboundStreamSecurity.startTLS(peerCertificateValidForRemote: peerCertificateValidForRemote)
            state = .awaitingStreamHeader(AwaitingStreamHeader(security: security, authenticated: false))
            return [.sendBytes(streamHeaderBytes)]
        case .closing, .closed:
            return []
        case .idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .authenticatingSASL, .dialback, .established, .verifying:
            return fail(.internalError, "TLS with \(remoteDomain) was reported set up while \(phase), where none was asked for", .abort)
        }
    }

    /// The TLS handshake (STARTTLS or direct) or the TLS layer failed. Nothing more can be written.
    package mutating func tlsFailed(reason: String) -> [Action] {
        switch state {
        case .closing(let ending):
            state = .closed(ending)
            return [.closeConnection]
        case .closed:
            return []
        case .idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .awaitingTLSHandshake, .authenticatingSASL, .dialback, .established, .verifying:
            return fail(.tlsFailed, "TLS with \(remoteDomain) failed: \(reason)", .abort)
        }
    }

    /// The peer's `</stream:stream>`. Before our own closing tag, we answer with one and close.
    package mutating func streamClosedByPeer() -> [Action] {
        switch state {
        case .closing(let ending):
            state = .closed(ending)
            return [.closeConnection]
        case .closed:
            return []
        case .idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .awaitingTLSHandshake, .authenticatingSASL, .dialback, .established, .verifying:
            return fail(.closedByPeer, "\(remoteDomain) closed its stream while \(phase)", .closeNow)
        }
    }

    /// The parser gave up on the peer's bytes: the matching stream error, then close at once, since
    /// nothing more can be read.
    package mutating func parseFailed(_ error: XMLStreamError) -> [Action] {
        switch state {
        case .closing(let ending):
            state = .closed(ending)
            return [.closeConnection]
        case .closed:
            return []
        case .idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .awaitingTLSHandshake, .authenticatingSASL, .dialback, .established, .verifying:
            return fail(
                .protocolViolation,
                "\(remoteDomain)'s stream could not be parsed: \(error)",
                streamError: StreamError(error),
                .closeNow
            )
        }
    }

    /// The handler's timer expired: the stream-establishment timer while negotiating, or while a
    /// verification-only connection still waits for answers (`connection-timeout`, and what is
    /// outstanding fails), or the close timer while waiting for the peer's closing tag. An
    /// established stream ignores it.
    package mutating func timedOut() -> [Action] {
        switch state {
        case .closing(let ending):
            state = .closed(ending)
            return [.closeConnection]
        case .closed, .established:
            return []
        case .verifying:
            return fail(
                .timedOut,
                "\(remoteDomain) did not answer \(verifications.pendingRequests.count) dialback verification request(s) in time",
                streamError: StreamError(.connectionTimeout, text: "dialback verification took too long"),
                .closeNow
            )
        case .idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .awaitingTLSHandshake, .authenticatingSASL, .dialback:
            return fail(
                .timedOut,
                "negotiation with \(remoteDomain) did not finish in time (stopped while \(phase))",
                streamError: StreamError(.connectionTimeout, text: "stream negotiation took too long"),
                .closeNow
            )
        }
    }

    /// The connection is gone (the channel became inactive). Nothing can be written any more.
    package mutating func connectionClosed() -> [Action] {
        switch state {
        case .closing(let ending):
            state = .closed(ending)
            return []
        case .closed:
            return []
        case .idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .awaitingTLSHandshake, .authenticatingSASL, .dialback, .established, .verifying:
            return fail(.connectionLost, "the connection to \(remoteDomain) was lost while \(phase)", .alreadyClosed)
        }
    }

    /// The link layer has a stanza for this stream. Only an established stream sends; before that
    /// the answer is to queue (on a link) or to use another stream (on a verification-only
    /// connection), after it to bounce or to use a new stream. Never refuses by crashing, whatever
    /// the state.
    package func stanzaSendRequested(_ stanza: XMLElement) -> StanzaDecision {
        switch state {
        case .established:
            return .send(stanza)
        case .closing(let ending), .closed(let ending):
            if !ending.wasEstablished, let failure = ending.failure { return .bounce(failure.bounceError) }
            return .streamEnded
        case .verifying:
            return .streamEnded
        case .idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .awaitingTLSHandshake, .authenticatingSASL, .dialback:
            return purpose == .link ? .queue : .streamEnded
        }
    }

    /// An inbound stream needs a dialback key checked by the peer, the Authoritative Server for
    /// the key's Sender Domain (the request's `to`). Sent at once on an established link or a
    /// verification-only connection that is ready; kept until then while negotiating; refused with
    /// `.streamEnded` once the stream is ending, so the caller can ask over another connection.
    package mutating func verificationRequested(_ request: DialbackVerify) -> VerificationDecision {
        guard case .key = request.payload else { return .ignored }
        switch state {
        case .closing, .closed:
            return .streamEnded
        case .established, .verifying:
            return Self.verificationDecision(verifications.verificationRequested(request))
        case .idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .awaitingTLSHandshake, .authenticatingSASL, .dialback:
            queuedVerifications.append(request)
            return .queued
        }
    }

    /// The link layer wants the stream closed (idle link, shutdown, policy change). Before
    /// establishment (and a verification-only connection never gets there) this is a failure, so
    /// that queued stanzas are bounced; outstanding verification requests fail in every case.
    package mutating func closeRequested() -> [Action] {
        switch state {
        case .closing, .closed:
            return []
        case .established:
            return closeWithoutFailure()
        case .idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .awaitingTLSHandshake, .authenticatingSASL, .dialback, .verifying:
            return fail(.closeRequested, "the stream to \(remoteDomain) was closed on request while \(phase)", .awaitPeerClose)
        }
    }
}
