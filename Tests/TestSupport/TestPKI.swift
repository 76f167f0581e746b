package import Crypto
package import Foundation
import SwiftASN1
package import X509

/// A throwaway certificate authority made in-process for tests: real P-256 keys and X.509
/// certificates, nothing on disk, nothing from the network. Shared by the test targets
/// (`FederationLinksTests`, `AdministrationTests`) through `ConsulateTestSupport`.
package struct TestPKI: Sendable {
    package let caKey = P256.Signing.PrivateKey()
    package let caName: DistinguishedName
    package let ca: Certificate

    /// `validFor` is the CA's validity; by default from an hour ago to a day from now, and tests
    /// that inject a clock pass an interval around their own `now`.
    package init(name: String = "Consulate Test CA", validFor interval: ClosedRange<Date>? = nil) throws {
        caName = try DistinguishedName { CommonName(name) }
        let now = Date()
        let validity = interval ?? (now.addingTimeInterval(-3600)...now.addingTimeInterval(86_400))
        ca = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(caKey.publicKey),
            notValidBefore: validity.lowerBound,
            notValidAfter: validity.upperBound,
            issuer: caName,
            subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey)
        )
    }

    package enum Identifier: Sendable {
        case dns(String)
        case xmppAddr(String)
        case srv(String)
    }

    package struct Leaf: Sendable {
        package let key: P256.Signing.PrivateKey
        package let certificate: Certificate
    }

    /// A server certificate for the identifiers; `usages` is its extended key usage (s2s servers
    /// often have only serverAuth, which must be accepted for clients too).
    package func leaf(
        commonName: String = "server",
        identifiers: [Identifier],
        usages: [ExtendedKeyUsage.Usage] = [.serverAuth],
        validFor interval: ClosedRange<Date>? = nil
    ) throws -> Leaf {
        let key = P256.Signing.PrivateKey()
        let names = try identifiers.map { (identifier: Identifier) -> GeneralName in
            switch identifier {
            case .dns(let name): return .dnsName(name)
            case .xmppAddr(let address):
                return .otherName(.init(typeID: [1, 3, 6, 1, 5, 5, 7, 8, 5], value: try ASN1Any(erasing: ASN1UTF8String(address))))
            case .srv(let name):
                return .otherName(.init(typeID: [1, 3, 6, 1, 5, 5, 7, 8, 7], value: try ASN1Any(erasing: ASN1IA5String(name))))
            }
        }
        let now = Date()
        let validity = interval ?? (now.addingTimeInterval(-3600)...now.addingTimeInterval(86_400))
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(key.publicKey),
            notValidBefore: validity.lowerBound,
            notValidAfter: validity.upperBound,
            issuer: caName,
            subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage(usages)
                if !names.isEmpty { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: .init(caKey)
        )
        return Leaf(key: key, certificate: certificate)
    }
}
