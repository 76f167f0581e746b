import SwiftASN1
package import X509

/// The XMPP domains a certificate speaks for, read as RFC 6120 §13.7.1.2 profiles RFC 6125 (and
/// RFC 7712 for delegated domains): `id-on-xmppAddr` and SRV-IDs (`_xmpp-server.example.org`,
/// `_xmpps-server.example.org`) name a domain exactly, DNS-IDs may carry a wildcard for one
/// left-most label, and the subject's common name counts only when the certificate has no
/// subjectAltName identifiers at all.
///
/// Only identity is checked here; the chain is checked by `PeerCertificateVerifier`.
package struct CertificateIdentity: Sendable, Hashable {
    /// `id-on-xmppAddr` (1.3.6.1.5.5.7.8.5).
    static let xmppAddr: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 8, 5]
    /// `id-on-dnsSRV` (1.3.6.1.5.5.7.8.7).
    static let srvName: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 8, 7]

    package private(set) var dnsNames: [String] = []
    package private(set) var srvNames: [String] = []
    package private(set) var xmppAddresses: [String] = []
    package private(set) var commonNames: [String] = []

    package init(_ certificate: Certificate) {
        let names = (try? certificate.extensions.subjectAlternativeNames) ?? nil
        for name in names ?? SubjectAlternativeNames() {
            switch name {
            case .dnsName(let dns):
                dnsNames.append(dns.lowercased())
            case .otherName(let other) where other.typeID == Self.xmppAddr:
                if let value = other.value, let text = try? ASN1UTF8String(asn1Any: value) {
                    xmppAddresses.append(String(text).lowercased())
                }
            case .otherName(let other) where other.typeID == Self.srvName:
                if let value = other.value, let text = try? ASN1IA5String(asn1Any: value) {
                    srvNames.append(String(text).lowercased())
                }
            default:
                break
            }
        }
        if dnsNames.isEmpty, srvNames.isEmpty, xmppAddresses.isEmpty {
            for rdn in certificate.subject {
                for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                    commonNames.append(attribute.value.description.lowercased())
                }
            }
        }
    }

    /// Whether the certificate may be used by a server for `domain` (a normalised domainpart).
    package func covers(_ domain: String) -> Bool {
        if xmppAddresses.contains(domain) { return true }
        if srvNames.contains("_xmpp-server.\(domain)") || srvNames.contains("_xmpps-server.\(domain)") { return true }
        return (dnsNames + commonNames).contains { Self.dnsID($0, matches: domain) }
    }

    /// Of `candidates`, the ones this certificate covers.
    package func coveredDomains(among candidates: some Sequence<String>) -> Set<String> {
        Set(candidates.filter(covers))
    }

    /// RFC 6125 §6.4.3: a wildcard stands for exactly one whole left-most label, and never matches
    /// a domain with fewer labels than the pattern.
    static func dnsID(_ identifier: String, matches domain: String) -> Bool {
        let pattern = identifier.hasSuffix(".") ? String(identifier.dropLast()) : identifier
        guard pattern.hasPrefix("*.") else { return pattern == domain }
        let suffix = pattern.dropFirst(1)
        guard domain.hasSuffix(suffix) else { return false }
        let label = domain.dropLast(suffix.count)
        return !label.isEmpty && !label.contains(".")
    }
}
