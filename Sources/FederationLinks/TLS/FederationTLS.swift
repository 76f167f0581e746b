package import Foundation
import NIOConcurrencyHelpers
import NIOCore
package import NIOSSL
package import X509

/// Our certificate and key, the roots we trust, and the NIOSSL contexts made from them for both
/// directions. Peer certificates never fail the handshake: a peer without a trusted certificate may
/// still authenticate by dialback over TLS, so the handshake completes and what the certificate
/// proved is recorded (`PeerCertificateRecord`) for SASL EXTERNAL and policy to use.
package struct FederationTLS: Sendable {
    package let certificateChain: [NIOSSLCertificate]
    package let privateKey: NIOSSLPrivateKey
    package let verifier: PeerCertificateVerifier
    /// XEP-0368 / RFC 7590: the ALPN protocol for server-to-server XMPP.
    package static let alpnProtocol = "xmpp-server"
    /// The two contexts, each made on first use and then shared by every connection: making one
    /// parses the chain and key again and builds an SSL_CTX, which costs more than a handshake's
    /// share of work, and NIOSSL's handlers share a context safely.
    private let contexts = Contexts()

    private final class Contexts: Sendable {
        let server = NIOLockedValueBox<NIOSSLContext?>(nil)
        let client = NIOLockedValueBox<NIOSSLContext?>(nil)
    }

    package init(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey, trustRoots: [Certificate]) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.verifier = PeerCertificateVerifier(trustRoots: trustRoots)
    }

    package func serverContext() throws -> NIOSSLContext {
        try Self.once(contexts.server, makeServerContext)
    }

    package func clientContext() throws -> NIOSSLContext {
        try Self.once(contexts.client, makeClientContext)
    }

    /// What `box` holds, made by `make` the first time.
    private static func once(_ box: NIOLockedValueBox<NIOSSLContext?>, _ make: () throws -> NIOSSLContext) throws -> NIOSSLContext {
        try box.withLockedValue { cached in
            if let cached { return cached }
            let made = try make()
            cached = made
            return made
        }
    }

    private func makeServerContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) },
            privateKey: .privateKey(privateKey)
        )
        configuration.certificateVerification = .optionalVerification
        configuration.applicationProtocols = [Self.alpnProtocol]
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }

    private func makeClientContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateChain = certificateChain.map { .certificate($0) }
        configuration.privateKey = .privateKey(privateKey)
        configuration.certificateVerification = .noHostnameVerification
        configuration.applicationProtocols = [Self.alpnProtocol]
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }

    /// The verification callback for either handler: validates the presented chain with our own
    /// verifier (at `now()`), records the outcome in `record`, and lets the handshake go on.
    package func verificationCallback(
        record: PeerCertificateRecord,
        now: @escaping @Sendable () -> Date
    ) -> NIOSSLCustomVerificationCallback {
        let verifier = self.verifier
        return { presented, promise in
            let chain = presented.compactMap { try? Certificate(derEncoded: $0.toDERBytes()) }
            promise.completeWithTask {
                record.set(await verifier.validate(chain, at: now()))
                return .certificateVerified
            }
        }
    }
}

/// Where the TLS verification callback leaves what the peer's certificate proved, for the stream
/// handler to read once the handshake has completed.
package final class PeerCertificateRecord: Sendable {
    private let box = NIOLockedValueBox(PeerCertificateValidation.absent)

    package init() {}

    package var validation: PeerCertificateValidation { box.withLockedValue { $0 } }

    func set(_ validation: PeerCertificateValidation) {
        box.withLockedValue { $0 = validation }
    }
}
