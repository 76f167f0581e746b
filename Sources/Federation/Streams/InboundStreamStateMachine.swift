package import XMLStreaming
package import XMPP

/// The receiving server's side of one server-to-server connection (RFC 6120 §4–§6, XEP-0220,
/// XEP-0178), as a pure state machine: events in, actions out, no I/O. A thin channel handler feeds
/// it parser events and TLS results and executes its actions.
///
/// The path a peer takes: stream header → our header and features → STARTTLS → (restart) →
/// SASL EXTERNAL → (restart) → stanzas; or dialback on the TLS (or, where policy allows, plain)
/// stream, domain pair by domain pair. On a direct TLS connection (XEP-0368) the handshake comes
/// first and the STARTTLS step is skipped; the rest is the same. Nothing but negotiation is
/// processed before authentication, and every stanza afterwards passes `InboundAddressing`.
package struct InboundStreamStateMachine: Sendable {
    package struct Configuration: Sendable {
        /// The domains this gateway serves.
        package var localDomains: Set<String>
        /// Who may federate, and how.
        package var policy: FederationPolicy
        /// The secret our dialback keys derive from; the process supplies one even when the
        /// configuration has none, so the authoritative role always works.
        package var dialbackSecret: DialbackSecret

        package init(localDomains: Set<String>, policy: FederationPolicy, dialbackSecret: DialbackSecret) {
            self.localDomains = localDomains
            self.policy = policy
            self.dialbackSecret = dialbackSecret
        }
    }

    /// How the connection reached us, which decides how TLS comes about.
    package enum Transport: Sendable, Hashable {
        /// Plain TCP (port 5269): TLS, where used, is negotiated with STARTTLS (RFC 6120 §5).
        case startTLS
        /// TLS from the first byte (XEP-0368, the port `_xmpps-server._tcp` points to): the handshake
        /// comes before the stream header, so STARTTLS is never offered and the stream counts as
        /// TLS-protected for policy from the start.
        case directTLS
    }

    package enum Action: Sendable, Hashable {
        /// Write these bytes (our stream header).
        case sendBytes([UInt8])
        case sendElement(XMLElement)
        /// `<proceed/>` has been queued: insert the TLS server handler after it is written. Any bytes
        /// the peer sent after `<starttls/>` in the same read must be refused (`policy-violation`),
        /// never parsed, as they were not protected by TLS.
        case startTLS
        /// Reset the parser for the peer's new stream header (after TLS or SASL success).
        case restartStream
        /// Direct TLS only: the peer claims `domain` in its first stream header, after the handshake.
        /// Report which domains its certificate validated for with `peerCertificateChecked`; our
        /// header and features wait for the answer, as SASL EXTERNAL is offered only on it.
        case checkPeerCertificate(domain: String)
        /// The peer authenticated `pair.remote` for our `pair.local` (the stream's `to` for SASL, the
        /// dialback pair's target): switch the parser to post-authentication limits.
        case authenticated(pair: LinkKey, method: AuthenticationMethod)
        /// An authenticated stanza for the router.
        case deliver(Stanza)
        /// Ask the authoritative server for `domain` to check a dialback key, over an outbound
        /// connection, and report the answer with `dialbackVerificationAnswered`.
        case requestDialbackVerification(authoritativeDomain: String, verify: DialbackVerify)
        /// A dialback domain pair was refused; the `<db:result/>` answer saying so is among the
        /// actions before it. Nothing is queued on an inbound stream, so this is for the operator's
        /// log: a peer whose header named no `from` is refused here, not at the stream level.
        case dialbackRefused(DialbackDomainPair, DialbackRefusal)
        /// Send the stream error (if any) and `</stream:stream>`, then close the connection.
        case close(StreamError?)
        /// Close the connection without writing: there is no stream to end yet (no header of ours,
        /// or a direct TLS handshake not finished).
        case disconnect
    }

    /// A stream header that is allowed but not yet answered, while the certificate is checked.
    private struct PendingOpen: Sendable {
        var streamID: String
        var header: StreamHeader
        var to: JID
    }

    private enum Phase: Sendable {
        case awaitingTLSHandshake
        case awaitingHeader
        case checkingCertificate(PendingOpen)
        case open
        case startingTLS
        case closed
    }

    package let configuration: Configuration
    /// Whether TLS is negotiated with STARTTLS or came before the first byte.
    package let transport: Transport
    private var phase: Phase
    private var tlsActive = false
    private var certificateDomains: Set<String> = []
    /// Direct TLS: whether `.checkPeerCertificate` has been answered (once per connection).
    private var certificateChecked = false
    /// The domain the peer claimed in its stream header, once it was allowed to federate: what its
    /// certificate has to cover for SASL EXTERNAL.
    package private(set) var peerDomain: String?
    /// Our domain the peer's current stream header is addressed to.
    private var localDomain: String?
    /// Whether we have sent a stream header on this connection, so that a stream error can follow.
    private var sentHeader = false
    private var partner: PartnerPolicy?
    private var offeredTLS = false
    private var sasl: SASLExternal.Receiver?
    private var saslDomain: String?
    private var dialback: DialbackReceiver?
    private var authorizedPairs: Set<DialbackDomainPair> = []

    /// A `.directTLS` machine accepts nothing until `directTLSEstablished()`.
    package init(configuration: Configuration, transport: Transport = .startTLS) {
        self.configuration = configuration
        self.transport = transport
        phase = transport == .directTLS ? .awaitingTLSHandshake : .awaitingHeader
    }

    /// A stream whose peer has just authenticated `domain` with SASL EXTERNAL over TLS, as after
    /// `<success/>` (RFC 6120 §6.4.6): the restarted stream's header comes next, then stanzas. What
    /// the fixtures that do not replay a negotiation start from, so that their stanzas pass the
    /// checks production runs (the header against the SASL domain and ours, `InboundAddressing`).
    package init(configuration: Configuration, authenticatedFor domain: String) {
        self.init(configuration: configuration)
        tlsActive = true
        peerDomain = domain
        saslDomain = domain
        if case .allowed(let partner) = configuration.policy.decision(for: domain) { self.partner = partner }
    }

    /// Whether stanzas can flow: some domain authenticated on this stream.
    package var isAuthenticated: Bool { saslDomain != nil || !authorizedPairs.isEmpty }

    // MARK: - Events

    /// The peer's stream header. `streamID` is the fresh, unpredictable id for our response header
    /// (the caller draws it, so the machine stays free of randomness).
    package mutating func streamHeaderReceived(_ raw: XMLStreamHeader, streamID: String) -> [Action] {
        switch phase {
        case .awaitingHeader:
            break
        case .awaitingTLSHandshake:
            return close(StreamError(.policyViolation, text: "data before the TLS handshake"))
        case .checkingCertificate, .open, .startingTLS, .closed:
            return close(StreamError(.notWellFormed, text: "a second stream header without a restart"))
        }
        let header: StreamHeader
        do throws(StreamError) {
            header = try StreamHeader(raw, expectedContentNamespace: Namespace.server)
        } catch {
            return openAndClose(streamID: streamID, to: nil, error: error)
        }
        guard let to = header.to, configuration.localDomains.contains(to.domainpart) else {
            return openAndClose(streamID: streamID, to: header.from, error: StreamError(.hostUnknown, text: "this gateway does not serve '\(header.to?.description ?? "")'"))
        }
        if let from = header.from {
            if let saslDomain, from.domainpart != saslDomain {
                return openAndClose(streamID: streamID, to: header.from, error: StreamError(.invalidFrom, text: "the stream was authenticated for \(saslDomain)"))
            }
            switch configuration.policy.decision(for: from.domainpart) {
            case .refused(let reason):
                return openAndClose(
                    streamID: streamID, to: header.from,
                    error: StreamError(.policyViolation, text: "\(from.domainpart) may not federate with this gateway (\(reason))")
                )
            case .allowed(let partner):
                if transport == .directTLS, partner.negotiation.tls == .notSupported {
                    return openAndClose(
                        streamID: streamID, to: header.from,
                        error: StreamError(.policyViolation, text: "\(from.domainpart) is set to tls = not-supported, so it may not connect with direct TLS")
                    )
                }
                peerDomain = from.domainpart
                self.partner = partner
            }
        }
        if transport == .directTLS, !certificateChecked, let peerDomain {
            phase = .checkingCertificate(PendingOpen(streamID: streamID, header: header, to: to))
            return [.checkPeerCertificate(domain: peerDomain)]
        }
        return open(streamID: streamID, header: header, to: to)
    }

    /// Answers a header that passed every check: our header, then the features.
    private mutating func open(streamID: String, header: StreamHeader, to: JID) -> [Action] {
        phase = .open
        localDomain = to.domainpart
        sentHeader = true
        let response = StreamHeader(from: to.domain, to: header.from?.domain, id: streamID, version: header.version == nil ? nil : .current)
        var actions: [Action] = [.sendBytes(response.bytes(declaringDialback: true))]
        dialback = makeDialbackReceiver(streamID: streamID)
        if header.version != nil {
            actions.append(.sendElement(features()))
        }
        return actions
    }

    /// A complete top-level element from the peer.
    package mutating func elementReceived(_ element: XMLElement) -> [Action] {
        guard case .open = phase else {
            if case .closed = phase { return [] }
            return close(StreamError(.notAuthorized, text: "nothing may be sent while the stream is being secured"))
        }
        switch element.namespace {
        case Namespace.streams where element.name == "error":
            phase = .closed
            return [.close(nil)]
        case Namespace.tls:
            return startTLS(element)
        case Namespace.sasl:
            return authenticateSASL(element)
        case Namespace.dialback:
            return handleDialback(element)
        case Namespace.server:
            return handleStanza(element)
        default:
            return close(StreamError(.unsupportedStanzaType, text: "unexpected {\(element.namespace)}\(element.name)"))
        }
    }

    /// TLS is up after `.startTLS`; `peerCertificateDomains` are the domains the peer's certificate
    /// was validated for (empty when it presented none, or none that validated).
    package mutating func tlsEstablished(peerCertificateDomains: Set<String>) -> [Action] {
        guard case .startingTLS = phase else { return close(StreamError(.internalServerError, text: "TLS finished unexpectedly")) }
        tlsActive = true
        certificateDomains = peerCertificateDomains
        phase = .awaitingHeader
        return [.restartStream]
    }

    /// The handshake of a `.directTLS` connection completed: the peer's stream header may come. Its
    /// certificate is asked about once the header says which domain it claims
    /// (`.checkPeerCertificate`).
    package mutating func directTLSEstablished() -> [Action] {
        guard case .awaitingTLSHandshake = phase else { return close(StreamError(.internalServerError, text: "TLS finished unexpectedly")) }
        tlsActive = true
        phase = .awaitingHeader
        return []
    }

    /// The answer to `.checkPeerCertificate`: the domains the certificate from the handshake was
    /// validated for (empty when the peer presented none, or none that validated). The same rule as
    /// after STARTTLS then decides on SASL EXTERNAL and dialback without dialing back.
    package mutating func peerCertificateChecked(provenDomains: Set<String>) -> [Action] {
        guard case .checkingCertificate(let pending) = phase else {
            return close(StreamError(.internalServerError, text: "a certificate check that was not asked for"))
        }
        certificateDomains = provenDomains
        certificateChecked = true
        return open(streamID: pending.streamID, header: pending.header, to: pending.to)
    }

    package mutating func parseFailed(_ error: XMLStreamError) -> [Action] {
        close(StreamError(error))
    }

    /// The peer sent `</stream:stream>`: answer in kind.
    package mutating func peerClosedStream() -> [Action] {
        if case .closed = phase { return [] }
        phase = .closed
        return [.close(nil)]
    }

    /// The authoritative server answered a verification requested with `.requestDialbackVerification`.
    package mutating func dialbackVerificationAnswered(_ answer: DialbackVerify) -> [Action] {
        guard dialback != nil else { return [] }
        return map(dialback!.verifyResponseReceived(answer))
    }

    /// The authoritative server could not be reached or did not answer in time.
    package mutating func dialbackVerificationFailed(_ request: DialbackVerify, _ failure: DialbackVerificationFailure) -> [Action] {
        guard dialback != nil else { return [] }
        return map(dialback!.verificationFailed(request, failure))
    }

    // MARK: - Negotiation

    /// RFC 6120 §4.3.2 features: STARTTLS until TLS is up (required when the partner requires TLS);
    /// then SASL EXTERNAL only for a certificate valid for the claimed domain; dialback where the
    /// partner allows it and TLS is up or not required. After SASL, nothing is left to negotiate.
    private mutating func features() -> XMLElement {
        var features = XMLElement("features", namespace: Namespace.streams)
        guard saslDomain == nil else { return features }
        let negotiation = partner?.negotiation ?? NegotiationPolicy(tls: .optional, sasl: .optional, supportDialback: true)
        offeredTLS = !tlsActive && negotiation.tls != .notSupported
        if offeredTLS {
            var starttls = XMLElement("starttls", namespace: Namespace.tls)
            if negotiation.tls == .required { starttls.append(XMLElement("required", namespace: Namespace.tls)) }
            features.append(starttls)
        }
        sasl = SASLExternal.Receiver(
            claimedDomain: tlsActive && negotiation.sasl != .notSupported ? peerDomain : nil,
            certificateDomains: certificateDomains
        )
        if let mechanisms = sasl?.mechanismsFeature { features.append(mechanisms) }
        if negotiation.allowsDialback(overTLS: tlsActive) {
            features.append(DialbackStreamFeature(supportsErrors: true).element)
        }
        return features
    }

    private mutating func startTLS(_ element: XMLElement) -> [Action] {
        guard element.name == "starttls", offeredTLS, !tlsActive else {
            // RFC 6120 §5.4.2.2: a failure, then the stream is closed.
            phase = .closed
            return [.sendElement(XMLElement("failure", namespace: Namespace.tls)), .close(nil)]
        }
        phase = .startingTLS
        return [.sendElement(XMLElement("proceed", namespace: Namespace.tls)), .startTLS]
    }

    private mutating func authenticateSASL(_ element: XMLElement) -> [Action] {
        guard saslDomain == nil, sasl != nil else {
            return close(StreamError(.policyViolation, text: "SASL is not available on this stream"))
        }
        switch sasl!.received(element) {
        case .send(let reply):
            return [.sendElement(reply)]
        case .failed(_, let failure):
            return [.sendElement(failure)]
        case .authenticated(let domain, let success):
            saslDomain = domain
            phase = .awaitingHeader
            return [.sendElement(success), .authenticated(pair: LinkKey(local: localDomain ?? "", remote: domain), method: .saslOverTLS), .restartStream]
        }
    }

    private mutating func handleDialback(_ element: XMLElement) -> [Action] {
        let parsed: DialbackElement
        do throws(StreamError) {
            parsed = try DialbackElement(element)
        } catch {
            return close(error)
        }
        switch parsed {
        case .result(let result):
            guard dialback != nil else { return close(StreamError(.notAuthorized, text: "dialback is not available on this stream")) }
            return map(dialback!.resultReceived(result))
        case .verify(let verify):
            let authority = DialbackAuthority(secret: configuration.dialbackSecret, localDomains: configuration.localDomains)
            switch authority.verifyReceived(verify) {
            case .send(let reply): return [.sendElement(reply)]
            case .closeStream(let error): return close(error)
            }
        }
    }

    /// The policy for each new dialback pair: refused domains get `forbidden`; partners that do not
    /// do dialback, or must use SASL, get `not-authorized`; TLS first where it is required
    /// (`policy-violation`); a
    /// sender whose certificate already validated on this TLS stream is admitted without dialing
    /// back (the XEP-0344 idea); everyone else is dialed back.
    private func makeDialbackReceiver(streamID: String) -> DialbackReceiver {
        let policy = configuration.policy
        let tlsActive = self.tlsActive
        let certificateDomains = self.certificateDomains
        return DialbackReceiver(streamID: streamID, localDomains: configuration.localDomains) { pair in
            guard case .allowed(let partner) = policy.decision(for: pair.sender) else { return .refuse(.forbidden) }
            guard partner.negotiation.supportDialback else { return .refuse(.notAuthorized) }
            if partner.negotiation.tls == .required, !tlsActive { return .refuse(.policyViolation) }
            guard partner.negotiation.allowsDialback(overTLS: tlsActive) else { return .refuse(.notAuthorized) }
            if tlsActive, certificateDomains.contains(pair.sender) { return .authorizeWithoutVerification }
            return .verifyKey
        }
    }

    private mutating func map(_ actions: [DialbackReceiver.Action]) -> [Action] {
        var result: [Action] = []
        for action in actions {
            switch action {
            case .send(let element):
                result.append(.sendElement(element))
            case .requestVerification(let domain, let verify):
                result.append(.requestDialbackVerification(authoritativeDomain: domain, verify: verify))
            case .domainPairAuthorized(let pair):
                authorizedPairs.insert(pair)
                result.append(.authenticated(pair: LinkKey(local: pair.target, remote: pair.sender), method: tlsActive ? .tlsDialback : .tcpDialback))
            case .domainPairRefused(let pair, let refusal):
                result.append(.dialbackRefused(pair, refusal))
            case .closeStream(let error):
                result += close(error)
                return result
            }
        }
        return result
    }

    // MARK: - Stanzas

    private mutating func handleStanza(_ element: XMLElement) -> [Action] {
        guard isAuthenticated else {
            if !tlsActive, partner?.negotiation.tls == .required {
                return close(StreamError(.policyViolation, text: "TLS is required before anything else"))
            }
            return close(StreamError(.notAuthorized, text: "stanzas are accepted only after authentication"))
        }
        let saslDomain = self.saslDomain
        let pairs = authorizedPairs
        let verdict = InboundAddressing.check(element, localDomains: configuration.localDomains) { sender, target in
            sender == saslDomain || pairs.contains(DialbackDomainPair(sender: sender, target: target))
        }
        switch verdict {
        case .stanza(let stanza): return [.deliver(stanza)]
        case .reply(let reply): return [.sendElement(reply)]
        case .fail(let error): return close(error)
        }
    }

    // MARK: - Ending

    /// The gateway ends the stream (a limit, a timeout, a reloaded policy): with `error`, preceded
    /// by our header when we have sent none yet (RFC 6120 §4.9.1.2), so that the error is read in
    /// a stream; or politely, with our closing tag alone. `streamID` is for that header. Before a
    /// direct TLS handshake nothing can be written, and a polite close of a stream we never opened
    /// has nothing to write: the connection just closes.
    package mutating func closeRequested(_ error: StreamError?, streamID: String) -> [Action] {
        switch phase {
        case .closed:
            return []
        case .awaitingTLSHandshake:
            phase = .closed
            return [.disconnect]
        case .awaitingHeader, .checkingCertificate, .open, .startingTLS:
            switch (error, sentHeader) {
            case (let error?, true):
                return close(error)
            case (let error?, false):
                return openAndClose(streamID: streamID, to: nil, error: error)
            case (nil, true):
                phase = .closed
                return [.close(nil)]
            case (nil, false):
                phase = .closed
                return [.disconnect]
            }
        }
    }

    private mutating func close(_ error: StreamError) -> [Action] {
        if case .closed = phase { return [] }
        phase = .closed
        return [.close(error)]
    }

    /// RFC 6120 §4.9.1.2: an error found in the peer's header is sent after our own header.
    private mutating func openAndClose(streamID: String, to peer: JID?, error: StreamError) -> [Action] {
        let from = configuration.localDomains.sorted().first.flatMap { try? JID($0) }
        let header = StreamHeader(from: from, to: peer?.domain, id: streamID)
        phase = .closed
        sentHeader = true
        return [.sendBytes(header.bytes(declaringDialback: true)), .close(error)]
    }
}
