/// Whether a partner's streams must, may or must not negotiate a feature (TLS or SASL), as Lync's
/// `TlsNegotiation` and `SaslNegotiation`. Raw values are the tokens used in `federation.toml`.
package enum NegotiationRequirement: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The stream is refused unless the feature is negotiated.
    case required
    /// Used when the partner offers it; the partner decides.
    case optional
    /// Never offered and never used.
    case notSupported = "not-supported"

    package var description: String { rawValue }
}

/// A way a peer server can prove it owns its domain, as listed in Microsoft's negotiation matrix.
package enum AuthenticationMethod: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// SASL EXTERNAL with the peer's certificate, over a TLS stream (RFC 6120 §6, XEP-0178).
    case saslOverTLS = "SASL over TLS"
    /// Server dialback (XEP-0220) on a stream protected by TLS.
    case tlsDialback = "TLS dialback"
    /// Server dialback on an unencrypted stream.
    case tcpDialback = "TCP dialback"

    package var description: String { rawValue }
}

/// How a partner's streams are secured and authenticated: TLS, SASL and whether dialback is
/// accepted, the three settings of Lync's negotiation matrix (reference
/// `presence-and-partners.md` §6).
///
/// Of the 18 combinations, 5 leave no way to authenticate a peer and are refused when a policy is
/// validated; several others work but not as an admin would expect, and produce warnings. Keeping
/// the three settings in one value lets that judgement be made, and tested, in one place.
package struct NegotiationPolicy: Sendable, Hashable, CustomStringConvertible {
    package var tls: NegotiationRequirement
    package var sasl: NegotiationRequirement
    /// Whether server dialback is accepted and used "where certificates cannot be used"; when off,
    /// dialback requests are ignored.
    package var supportDialback: Bool

    /// Microsoft's defaults (row 1): TLS required, SASL required, dialback on.
    package init(tls: NegotiationRequirement = .required, sasl: NegotiationRequirement = .required, supportDialback: Bool = true) {
        self.tls = tls
        self.sasl = sasl
        self.supportDialback = supportDialback
    }

    /// Microsoft's defaults: TLS required, SASL required, dialback on.
    package static let `default` = NegotiationPolicy()

    /// The row of Microsoft's "XMPP Federation Negotiation Methods Matrix" (1–18) this combination
    /// is, so that logs and docs can point at it: SASL varies slowest, then TLS, then dialback.
    package var matrixRow: Int {
        let order: [NegotiationRequirement] = [.required, .optional, .notSupported]
        let saslIndex = order.firstIndex(of: sasl) ?? 0
        let tlsIndex = order.firstIndex(of: tls) ?? 0
        return saslIndex * 6 + tlsIndex * 2 + (supportDialback ? 1 : 2)
    }

    /// The methods a peer can authenticate with under this combination (the matrix's "expected
    /// authentication" column), strongest first.
    ///
    /// SASL EXTERNAL needs TLS. Dialback over TLS is ruled out when both TLS and SASL are required,
    /// since every peer must then use SASL; dialback over plain TCP is ruled out whenever TLS is
    /// required.
    package var expectedAuthentication: [AuthenticationMethod] {
        var methods: [AuthenticationMethod] = []
        if sasl != .notSupported && tls != .notSupported { methods.append(.saslOverTLS) }
        if supportDialback && tls != .notSupported && !(tls == .required && sasl == .required) {
            methods.append(.tlsDialback)
        }
        if supportDialback && tls != .required { methods.append(.tcpDialback) }
        return methods
    }

    /// Whether a peer may authenticate by dialback on a stream that is (or is not) protected by TLS.
    /// Both stream directions ask this one question, so that a partner for whom SASL is required is
    /// never admitted by dialback.
    package func allowsDialback(overTLS: Bool) -> Bool {
        expectedAuthentication.contains(overTLS ? .tlsDialback : .tcpDialback)
    }

    /// Whether a peer can authenticate at all. False for exactly rows 6, 12, 14, 16 and 18: dialback
    /// off and no usable SASL-over-TLS path.
    package var isValid: Bool { !expectedAuthentication.isEmpty }

    /// Why an invalid combination cannot work and how to fix it; `nil` when it is valid.
    package var problem: String? {
        guard !isValid else { return nil }
        switch (tls, sasl) {
        case (.notSupported, .notSupported):
            return "TLS and SASL not-supported with dialback off leaves no way to authenticate; enable dialback, or allow TLS and SASL"
        case (.notSupported, _):
            return "TLS not-supported with SASL \(sasl) and dialback off leaves no way to authenticate, "
                + "because SASL needs TLS; enable dialback or allow TLS (optional or required)"
        default:
            return "SASL not-supported with dialback off leaves no way to authenticate; "
                + "allow SASL (optional or required) or enable dialback"
        }
    }

    /// What will not work as the combination suggests (the matrix's warning rows 1, 3–5 and 9–11);
    /// empty for the other valid rows and for invalid ones, which have `problem` instead.
    package var warnings: [String] {
        guard isValid else { return [] }
        switch (tls, sasl, supportDialback) {
        case (.required, .required, true):
            return [
                "dialback is enabled but will never be used: with TLS and SASL both required every peer must "
                    + "authenticate with SASL EXTERNAL over TLS; make SASL optional to let partners without a "
                    + "usable certificate fall back to dialback over TLS, or turn dialback off to say so",
            ]
        case (.optional, .required, _):
            return [
                "SASL is required but TLS is only optional, and SASL needs TLS: a peer that does not negotiate "
                    + "TLS cannot complete SASL and negotiation may fail; require TLS",
            ]
        case (.notSupported, .required, _), (.notSupported, .optional, _):
            return [
                "SASL is \(sasl) but TLS is not-supported, and SASL needs TLS: SASL can never be used and peers "
                    + "authenticate only with dialback over unencrypted TCP; allow TLS, or make SASL not-supported to say so",
            ]
        case (.optional, .optional, true):
            return [
                "SASL needs TLS, which is only optional: whether a peer uses SASL, dialback over TLS or dialback "
                    + "over unencrypted TCP depends on what it offers; require TLS to rule out unencrypted streams",
            ]
        case (.optional, .optional, false):
            return [
                "SASL needs TLS, which is only optional: with dialback off, a peer that does not negotiate TLS "
                    + "cannot authenticate; require TLS",
            ]
        default:
            return []
        }
    }

    /// `tls=required sasl=required dialback=on`, for logs.
    package var description: String {
        "tls=\(tls) sasl=\(sasl) dialback=\(supportDialback ? "on" : "off")"
    }
}
