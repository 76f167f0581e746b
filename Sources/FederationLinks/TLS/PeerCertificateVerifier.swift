package import Foundation
@_spi(FixedExpiryValidationTime) package import X509

/// What the peer's certificate proved.
package enum PeerCertificateValidation: Sendable, Hashable {
    /// No certificate was presented.
    case absent
    /// The chain validated to a trust root; these are the identities it carries.
    case valid(CertificateIdentity)
    /// A certificate was presented but did not validate; the reason is for logs.
    case invalid(String)

    /// The domains among `candidates` the peer is proven to be.
    package func provenDomains(among candidates: some Sequence<String>) -> Set<String> {
        guard case .valid(let identity) = self else { return [] }
        return identity.coveredDomains(among: candidates)
    }
}

/// Validates peer certificate chains against the configured trust roots (RFC 5280 path
/// validation). Deliberately no extended-key-usage policy: servers authenticate each other with
/// certificates that often carry only `serverAuth`, and those must be accepted on inbound streams too.
/// The validation time is a parameter, so tests can check expiry without touching the clock.
package struct PeerCertificateVerifier: Sendable {
    package let trustRoots: [Certificate]

    package init(trustRoots: [Certificate]) {
        self.trustRoots = trustRoots
    }

    /// `presented` is the chain as sent: the leaf first, then any intermediates.
    package func validate(_ presented: [Certificate], at time: Date) async -> PeerCertificateValidation {
        guard let leaf = presented.first else { return .absent }
        guard !trustRoots.isEmpty else { return .invalid("no trust roots are configured") }
        var verifier = Verifier(rootCertificates: CertificateStore(trustRoots)) {
            RFC5280Policy(fixedExpiryValidationTime: time)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(presented.dropFirst()))
        switch result {
        case .validCertificate:
            return .valid(CertificateIdentity(leaf))
        case .couldNotValidate(let failures):
            let reasons = failures.map { String(describing: $0.policyFailureReason) }
            return .invalid(reasons.isEmpty ? "no path to a trusted root" : reasons.joined(separator: "; "))
        }
    }
}
