import XMLStreaming
import XMPP

/// Choosing what to negotiate next, and running the SASL and dialback sub-machines.
extension OutboundStreamStateMachine {
    mutating func streamOpened(_ raw: XMLStreamHeader, _ awaiting: AwaitingStreamHeader) -> [Action] {
        let header: StreamHeader
        do {
            header = try StreamHeader(raw, expectedContentNamespace: Namespace.server)
        } catch {
            return fail(.protocolViolation, "\(remoteDomain)'s stream header was refused: \(error)", streamError: error, .awaitPeerClose)
        }
        let stream = OpenStream(security: awaiting.security, header: header, authenticated: awaiting.authenticated)
        guard let version = header.version, version.major >= 1 else { return legacyStreamOpened(stream) }
        state = .awaitingFeatures(stream)
        return []
    }

    /// RFC 6120 §4.7.5: a peer without version 1.0 has no stream features, hence no TLS and no
    /// SASL; dialback is all it can do (XEP-0220 §2.6 calls this the legacy case). A
    /// verification-only connection sends its requests right after the header.
    mutating func legacyStreamOpened(_ stream: OpenStream) -> [Action] {
        if stream.authenticated { return establish(.saslOverTLS, on: stream) }
        if policy.tls == .required && !stream.security.isEncrypted {
            return fail(
                .policy,
                "TLS is required for \(remoteDomain) (\(policy)), but its stream has no version 1.0, so it cannot negotiate TLS",
                streamError: StreamError(.unsupportedVersion, text: "this server needs a version 1.0 stream"),
                .awaitPeerClose
            )
        }
        guard purpose == .link else { return startVerifying() }
        return authenticate(on: stream, features: nil, dialbackOffered: true, saslRefusal: nil)
    }

    /// The order of Prosody and ejabberd (reference `federation-servers.md` §1.2, §2.2): STARTTLS
    /// first when offered and allowed, then SASL EXTERNAL, then dialback. After SASL success, the
    /// features of the restarted stream complete negotiation, whatever they list. A
    /// verification-only connection stops where authentication would start.
    mutating func featuresReceived(_ features: XMLElement, on stream: OpenStream) -> [Action] {
        if stream.authenticated { return establish(.saslOverTLS, on: stream) }
        if !stream.security.isEncrypted {
            let starttls = features.firstElement(named: "starttls", namespace: Namespace.tls)
            if starttls != nil && policy.tls != .notSupported {
                state = .negotiatingTLS
                return [.sendElement(XMLElement("starttls", namespace: Namespace.tls))]
            }
            if policy.tls == .required {
                return fail(
                    .policy,
                    "TLS is required for \(remoteDomain) (\(policy)), but it does not offer STARTTLS",
                    streamError: StreamError(.policyViolation, text: "this server requires TLS"),
                    .awaitPeerClose
                )
            }
            if starttls?.firstElement(named: "required", namespace: Namespace.tls) != nil {
                // RFC 6120 §4.9.3.22: a mandatory-to-negotiate feature we do not use, with no
                // alternative.
                return fail(
                    .policy,
                    "\(remoteDomain) requires TLS, which is not-supported for it (\(policy))",
                    streamError: StreamError(.unsupportedFeature, text: "this server does not use TLS with yours"),
                    .awaitPeerClose
                )
            }
        }
        guard purpose == .link else { return startVerifying() }
        let dialbackOffered = DialbackStreamFeature(in: features) != nil
        return authenticate(on: stream, features: features, dialbackOffered: dialbackOffered, saslRefusal: nil)
    }

    /// SASL EXTERNAL if the stream is encrypted, the policy allows it, it has not been refused on
    /// this stream and the peer offers it; otherwise dialback if the policy allows it over this
    /// kind of stream, the peer offers it and we have a secret; otherwise the stream fails with
    /// every reason spelled out.
    ///
    /// - Parameters:
    ///   - features: the features to look for EXTERNAL in; `nil` on a pre-1.0 stream and after a
    ///     SASL failure, where no new features come.
    ///   - saslRefusal: the condition the peer refused EXTERNAL with, on this stream.
    mutating func authenticate(
        on stream: OpenStream,
        features: XMLElement?,
        dialbackOffered: Bool,
        saslRefusal: SASLFailure?
    ) -> [Action] {
        let encrypted = stream.security.isEncrypted
        let allowed = policy.expectedAuthentication
        let noSASL: String
        if !allowed.contains(.saslOverTLS) {
            noSASL = policy.sasl == .notSupported
                ? "SASL is not-supported for this partner" : "SASL needs TLS, which is not-supported for this partner"
        } else if !encrypted {
            noSASL = "SASL EXTERNAL needs TLS, which the peer does not offer"
        } else if let saslRefusal {
            noSASL = "the peer refused SASL EXTERNAL (\(saslRefusal.rawValue))"
        } else if let features {
            var initiator = SASLExternal.Initiator(localDomain: localDomain)
            if case .send(let auth) = initiator.featuresReceived(features) {
                state = .authenticatingSASL(AuthenticatingSASL(initiator: initiator, stream: stream, peerOffersDialback: dialbackOffered))
                return [.sendElement(auth)]
            }
            noSASL = "the peer does not offer SASL EXTERNAL (most likely it does not accept this server's certificate)"
        } else {
            noSASL = "a pre-1.0 stream has no SASL"
        }

        let dialbackMethod: AuthenticationMethod = encrypted ? .tlsDialback : .tcpDialback
        let noDialback: String
        if !policy.supportDialback {
            noDialback = "dialback is off for this partner"
        } else if !allowed.contains(dialbackMethod) {
            noDialback = encrypted
                ? "dialback is not accepted when TLS and SASL are both required"
                : "dialback over unencrypted TCP is not accepted when TLS is required"
        } else if !dialbackOffered {
            noDialback = "the peer does not offer dialback"
        } else if let dialbackSecret {
            return startDialback(on: stream, secret: dialbackSecret)
        } else {
            noDialback = "no dialback secret is configured"
        }

        let reason = "no way to authenticate to \(remoteDomain) under \(policy): \(noSASL); \(noDialback)"
        if let saslRefusal { return fail(.saslRefused(saslRefusal), reason, .awaitPeerClose) }
        let error =
            features == nil
            ? StreamError(.unsupportedVersion, text: "this server needs a version 1.0 stream to authenticate")
            : StreamError(.unsupportedFeature, text: "no authentication method is acceptable to both servers")
        return fail(.policy, reason, streamError: error, .awaitPeerClose)
    }

    /// `<success/>` restarts the stream (RFC 6120 §6.4.6); `<failure/>` falls back to dialback on
    /// the same stream, as Prosody and ejabberd do.
    mutating func saslElementReceived(_ element: XMLElement, _ sasl: AuthenticatingSASL) -> [Action] {
        var sasl = sasl
        switch sasl.initiator.received(element) {
        case .send(let reply):
            state = .authenticatingSASL(sasl)
            return [.sendElement(reply)]
        case .authenticated:
            state = .awaitingStreamHeader(AwaitingStreamHeader(security: sasl.stream.security, authenticated: true))
            return [.restartStream, .sendBytes(streamHeaderBytes)]
        case .failed(let failure):
            return authenticate(on: sasl.stream, features: nil, dialbackOffered: sasl.peerOffersDialback, saslRefusal: failure)
        case .protocolError(let error):
            return fail(.protocolViolation, "\(remoteDomain) broke SASL: \(error)", streamError: error, .awaitPeerClose)
        case .notOffered:
            let error = StreamError(.undefinedCondition, text: "unexpected SASL element <\(element.name)/>")
            return fail(.protocolViolation, "\(remoteDomain) broke SASL: \(error)", streamError: error, .awaitPeerClose)
        }
    }

    /// A fresh `DialbackInitiator` per stream, since keys are bound to the stream ID.
    mutating func startDialback(on stream: OpenStream, secret: DialbackSecret) -> [Action] {
        var initiator = DialbackInitiator(secret: secret)
        var steps = initiator.streamHeaderReceived(stream.header)
        steps += initiator.authorizationRequested(for: domainPair)
        state = .dialback(DialbackNegotiation(initiator: initiator, stream: stream))
        return run(steps, on: stream)
    }

    mutating func dialbackResultReceived(_ element: XMLElement, _ dialback: DialbackNegotiation) -> [Action] {
        let result: DialbackResult
        do {
            result = try DialbackResult(element)
        } catch {
            return fail(.protocolViolation, "\(remoteDomain) sent a malformed <db:result/>: \(error)", streamError: error, .awaitPeerClose)
        }
        var dialback = dialback
        let steps = dialback.initiator.resultReceived(result)
        state = .dialback(dialback)
        return run(steps, on: dialback.stream)
    }

    /// Turns the dialback sub-machine's actions into ours, stopping at the first that ends
    /// negotiation.
    private mutating func run(_ steps: [DialbackInitiator.Action], on stream: OpenStream) -> [Action] {
        var actions: [Action] = []
        for step in steps {
            switch step {
            case .send(let element):
                actions.append(.sendElement(element))
            case .domainPairAuthorized(let pair) where pair == domainPair:
                return actions + establish(stream.security.isEncrypted ? .tlsDialback : .tcpDialback, on: stream)
            case .domainPairAuthorized:
                continue
            case .domainPairRefused(let pair, let refusal):
                // After `invalid` the peer is expected to close (XEP-0220 §2.1.1); after an error
                // the stream could stay, but it has nothing left to carry.
                let reason = "\(remoteDomain) did not authorize \(pair) with dialback: \(refusal)"
                return actions + fail(.dialbackRefused(refusal), reason, .awaitPeerClose)
            case .closeStream(let error):
                return actions + fail(.protocolViolation, "\(remoteDomain) broke dialback: \(error)", streamError: error, .awaitPeerClose)
            }
        }
        return actions
    }

    mutating func establish(_ method: AuthenticationMethod, on stream: OpenStream) -> [Action] {
        let established = OutboundEstablishedStream(
            localDomain: localDomain,
            remoteDomain: remoteDomain,
            method: method,
            security: stream.security,
            streamID: stream.header.id
        )
        state = .established(established)
        return [.established(established)] + sendQueuedVerifications()
    }
}
