import ConsulateTestSupport
import FederationLinks
import Foundation
import Testing
import X509

@Suite("TLS files")
struct TLSFilesTests {
    @Test("a chain, its key and a CA bundle load; the roots are the bundle's")
    func loads() throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf(identifiers: [.dns("contoso.example")])
        let directory = try TestFiles.write([
            "chain.pem": try leaf.certificate.serializeAsPEM().pemString,
            "key.pem": leaf.key.pemRepresentation,
            "ca.pem": try pki.ca.serializeAsPEM().pemString + "\n" + (try TestPKI(name: "Second root").ca.serializeAsPEM().pemString),
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try FederationTLS(
            certificatePath: directory.appendingPathComponent("chain.pem").path,
            keyPath: directory.appendingPathComponent("key.pem").path,
            caBundlePath: directory.appendingPathComponent("ca.pem").path
        )
        #expect(tls.certificateChain.count == 1)
        #expect(tls.verifier.trustRoots.count == 2)
        let server = try tls.serverContext()
        let client = try tls.clientContext()
        #expect(try tls.serverContext() === server, "one server context, shared by every inbound connection")
        #expect(try tls.clientContext() === client, "one client context, shared by every outbound connection")
        #expect(server !== client)
    }

    @Test("missing and malformed files are refused with the file named")
    func refusals() throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf(identifiers: [.dns("contoso.example")])
        let directory = try TestFiles.write([
            "chain.pem": try leaf.certificate.serializeAsPEM().pemString,
            "key.pem": leaf.key.pemRepresentation,
            "ca.pem": try pki.ca.serializeAsPEM().pemString,
            "junk.pem": "not pem at all",
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let cases: [(String, String, String, String)] = [
            (path("missing.pem"), path("key.pem"), path("ca.pem"), "cannot read the certificate file"),
            (path("junk.pem"), path("key.pem"), path("ca.pem"), "holds no PEM certificate"),
            (path("chain.pem"), path("junk.pem"), path("ca.pem"), "holds no PEM private key"),
            (path("chain.pem"), path("key.pem"), path("junk.pem"), "holds no PEM CA certificate"),
        ]
        for (certificate, key, bundle, expected) in cases {
            do throws(TLSFilesError) {
                _ = try FederationTLS(certificatePath: certificate, keyPath: key, caBundlePath: bundle)
                Issue.record("accepted \(certificate) / \(key) / \(bundle)")
            } catch {
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
    }
}
