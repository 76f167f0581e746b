package import Configuration
import FederationLinks
package import Foundation
import SwiftASN1
import X509

extension ConfigurationCheck {
    /// A certificate that expires within this time is reported (a warning), so that there is time to
    /// renew it before partners start refusing it.
    package static let expiryWarning: TimeInterval = 30 * 86_400

    /// What is wrong with our certificate and key (`[tls]`) at `now`: the files load as
    /// `consulate serve` loads them, the key belongs to the certificate, the certificate is valid
    /// now and for the next 30 days, it names every domain of `gateway.domains` (RFC 6125, through
    /// `CertificateIdentity`, as partners read it), and its chain verifies against the CA bundle.
    ///
    /// A chain that does not verify is a warning, not an error: the bundle is the roots *we* trust
    /// for partners' certificates, partners may trust our CA without us doing so, and dialback
    /// works without a trusted certificate.
    package static func certificateFindings(_ files: TLSFiles?, domains: Set<String>, now: Date) async -> [Finding] {
        guard let files else {
            return [
                Finding(
                    .warning, "[tls] is not configured: links can only be plaintext with dialback, which most servers refuse",
                    fix: "add [tls] with certificate and key (PEM) for the gateway's domains"
                )
            ]
        }
        let tls: FederationTLS
        do throws(TLSFilesError) {
            tls = try FederationTLS(files)
        } catch {
            return [Finding(.error, error.message, fix: "fix the path in [tls] or the file (PEM, readable by the user running consulate)")]
        }
        let chain: [Certificate]
        do {
            chain = try tls.certificateChain.map { try Certificate(derEncoded: $0.toDERBytes()) }
        } catch {
            return [
                Finding(
                    .error, "[tls] certificate '\(files.certificate)' is not a valid X.509 certificate: \(error)",
                    fix: "replace it with the PEM certificate your CA issued, followed by its intermediates"
                )
            ]
        }
        guard let leaf = chain.first else { return [] }
        var findings: [Finding] = []
        if let finding = keyFinding(files, leaf: leaf) { findings.append(finding) }
        let validity = validityFinding(leaf, files: files, now: now)
        findings.append(validity)
        findings += nameFindings(leaf, files: files, domains: domains)
        // An expired or not yet valid leaf fails the chain too; that was said once already.
        if validity.severity != .error {
            findings.append(await chainFinding(chain, roots: tls.verifier.trustRoots, files: files, now: now))
        }
        return findings
    }

    /// Whether the key file's key is the certificate's: a mismatched pair loads, and fails every
    /// TLS handshake. `nil` when the pair matches.
    static func keyFinding(_ files: TLSFiles, leaf: Certificate) -> Finding? {
        let text = (try? String(contentsOfFile: files.key, encoding: .utf8)) ?? ""
        let documents = (try? PEMDocument.parseMultiple(pemString: text)) ?? []
        guard let key = documents.lazy.compactMap({ try? Certificate.PrivateKey(pemDocument: $0) }).first else {
            return Finding(
                .note, "[tls] key '\(files.key)' loads, but its type is not one the check can compare with the certificate",
                fix: "to have it checked, use an unencrypted PKCS#8, SEC1 (EC) or PKCS#1 (RSA) PEM key"
            )
        }
        guard key.publicKey != leaf.publicKey else { return nil }
        return Finding(
            .error, "[tls] key '\(files.key)' is not the key of the certificate in '\(files.certificate)': every TLS handshake would fail",
            fix: "configure the key the certificate was requested with, or have the certificate re-issued for this key"
        )
    }

    /// Not yet valid or expired: an error; expiring within ``expiryWarning``: a warning.
    static func validityFinding(_ leaf: Certificate, files: TLSFiles, now: Date) -> Finding {
        let renew = "renew the certificate and replace '\(files.certificate)' (and the key, if it changed), then restart consulate"
        let until = Self.day(leaf.notValidAfter)
        if now < leaf.notValidBefore {
            return Finding(
                .error, "[tls] certificate '\(files.certificate)' is not valid before \(Self.day(leaf.notValidBefore))",
                fix: "check the machine's clock, or wait for the certificate's start date"
            )
        }
        if now >= leaf.notValidAfter {
            return Finding(.error, "[tls] certificate '\(files.certificate)' expired on \(until): partners refuse it", fix: renew)
        }
        let remaining = leaf.notValidAfter.timeIntervalSince(now)
        if remaining < expiryWarning {
            let days = Int(remaining / 86_400)
            return Finding(.warning, "[tls] certificate '\(files.certificate)' expires on \(until), in \(days) day\(days == 1 ? "" : "s")", fix: renew)
        }
        return Finding(.note, "[tls] certificate '\(files.certificate)' is valid until \(until)")
    }

    /// One error per domain of `gateway.domains` that the certificate does not name: partners
    /// would not accept it for that domain (no SASL EXTERNAL; many refuse the link).
    static func nameFindings(_ leaf: Certificate, files: TLSFiles, domains: Set<String>) -> [Finding] {
        let identity = CertificateIdentity(leaf)
        let missing = domains.subtracting(identity.coveredDomains(among: domains)).sorted()
        guard !missing.isEmpty else {
            return [Finding(.note, "[tls] certificate names every domain of gateway.domains (\(domains.sorted().joined(separator: ", ")))")]
        }
        let named = identity.dnsNames + identity.xmppAddresses + identity.srvNames + identity.commonNames
        let names = named.isEmpty ? "no names" : named.joined(separator: ", ")
        return missing.map { domain in
            Finding(
                .error, "[tls] certificate '\(files.certificate)' does not name \(domain) (it names \(names)): partners will not accept it for \(domain)",
                fix: "get a certificate with \(domain) in its subjectAltName (DNS:\(domain), or an id-on-xmppAddr or SRV-ID), or remove \(domain) from gateway.domains"
            )
        }
    }

    /// Whether the chain in the certificate file leads to a root of the CA bundle at `now`.
    static func chainFinding(_ chain: [Certificate], roots: [Certificate], files: TLSFiles, now: Date) async -> Finding {
        switch await PeerCertificateVerifier(trustRoots: roots).validate(chain, at: now) {
        case .valid, .absent:
            return Finding(.note, "[tls] certificate chain verifies against the CA bundle '\(files.caBundle)'")
        case .invalid(let reason):
            return Finding(
                .warning,
                "[tls] certificate chain in '\(files.certificate)' does not verify against the CA bundle '\(files.caBundle)' (\(reason)): partners that trust the same roots will refuse it",
                fix: "put the intermediate certificates after ours in '\(files.certificate)', or use a certificate from a CA your partners trust"
            )
        }
    }

    /// A date as `2025-01-31`, in UTC, the way certificate tools print validity.
    static func day(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}
