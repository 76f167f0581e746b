package import Crypto
package import NIOSSL
package import X509

/// The test CA's certificates and keys as swift-nio-ssl takes them, and the client side of a
/// peer's TLS: what the loopback tests of the stream handlers and of the gateway share.
package enum TestTLS {
    package static func nioCertificate(_ certificate: Certificate) throws -> NIOSSLCertificate {
        try NIOSSLCertificate(bytes: Array(certificate.serializeAsPEM().derBytes), format: .der)
    }

    package static func nioKey(_ key: P256.Signing.PrivateKey) throws -> NIOSSLPrivateKey {
        try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)
    }

    /// A peer's TLS client: `leaf` as its certificate, the test CA trusted, ALPN `xmpp-server`.
    package static func clientContext(pki: TestPKI, leaf: TestPKI.Leaf) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateChain = [.certificate(try nioCertificate(leaf.certificate))]
        configuration.privateKey = .privateKey(try nioKey(leaf.key))
        configuration.trustRoots = .certificates([try nioCertificate(pki.ca)])
        configuration.applicationProtocols = ["xmpp-server"]
        return try NIOSSLContext(configuration: configuration)
    }

    /// The stream header a remote server writes to contoso.example.
    package static func header(from: String = "fabrikam.example") -> String {
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='\(from)' to='contoso.example' version='1.0'>"
    }
}
