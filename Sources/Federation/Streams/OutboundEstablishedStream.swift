/// How an outbound stream is protected. Kept apart from the authentication method because the
/// link layer logs both and because "TLS dialback" with a certificate that did not check out is
/// worth telling apart from one that did.
package enum OutboundStreamSecurity: Sendable, Hashable, CustomStringConvertible {
    /// Plain TCP: no TLS was negotiated.
    case plaintext
    /// TLS negotiated with STARTTLS (RFC 6120 §5).
    case startTLS(peerCertificateValidForRemote: Bool)
    /// TLS from the first byte (XEP-0368), before our stream header.
    case directTLS(peerCertificateValidForRemote: Bool)

    /// Whether the stream runs over TLS, which SASL EXTERNAL and "TLS dialback" need.
    package var isEncrypted: Bool {
        switch self {
        case .plaintext: false
        case .startTLS, .directTLS: true
        }
    }

    /// Whether the peer's certificate was valid for the remote domain; `nil` without TLS. Recorded
    /// for diagnostics only: neither SASL EXTERNAL nor dialback depends on it, as both
    /// authenticate *us* to the peer.
    package var peerCertificateValidForRemote: Bool? {
        switch self {
        case .plaintext: nil
        case .startTLS(let valid), .directTLS(let valid): valid
        }
    }

    /// `STARTTLS (certificate valid)`, for logs.
    package var description: String {
        switch self {
        case .plaintext: "plaintext"
        case .startTLS(let valid): "STARTTLS (certificate \(valid ? "valid" : "not valid") for the peer)"
        case .directTLS(let valid): "direct TLS (certificate \(valid ? "valid" : "not valid") for the peer)"
        }
    }
}

/// An outbound stream that has finished negotiation: stanzas from `localDomain` to `remoteDomain`
/// may now be written to it. Reported once, with `OutboundStreamStateMachine.Action.established`,
/// so the link layer can flush its queue and log how the link came up.
package struct OutboundEstablishedStream: Sendable, Hashable, CustomStringConvertible {
    /// Our domain: the Sender Domain of every stanza on this stream.
    package var localDomain: String
    /// The peer's domain: the Target Domain of every stanza on this stream.
    package var remoteDomain: String
    /// How the peer came to accept us, named as in the partner negotiation matrix, so it can be
    /// checked against `NegotiationPolicy.expectedAuthentication`.
    package var method: AuthenticationMethod
    /// TLS, and whether the peer's certificate checked out.
    package var security: OutboundStreamSecurity
    /// The `id` of the peer's last stream header, to match logs on both sides.
    package var streamID: String?

    package init(
        localDomain: String,
        remoteDomain: String,
        method: AuthenticationMethod,
        security: OutboundStreamSecurity,
        streamID: String?
    ) {
        self.localDomain = localDomain
        self.remoteDomain = remoteDomain
        self.method = method
        self.security = security
        self.streamID = streamID
    }

    /// `capulet.example → montague.example by SASL over TLS, STARTTLS (…)`, for logs.
    package var description: String {
        "\(localDomain) → \(remoteDomain) by \(method), \(security)"
    }
}
