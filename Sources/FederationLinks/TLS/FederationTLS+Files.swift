import Foundation
import NIOSSL
import SwiftASN1
import X509

/// Why the TLS files could not be used; the message names the file and the problem.
package struct TLSFilesError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { message }

    package init(message: String) {
        self.message = message
    }
}

extension FederationTLS {
    /// Reads our certificate chain and key and the trusted roots from PEM files, refusing at start-up
    /// what would otherwise fail every handshake later: unreadable files, an empty chain, a key
    /// that does not parse, a bundle without certificates.
    package init(certificatePath: String, keyPath: String, caBundlePath: String) throws(TLSFilesError) {
        func read(_ path: String, _ what: String) throws(TLSFilesError) -> String {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw TLSFilesError(message: "cannot read the \(what) file '\(path)'")
            }
            return text
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(Array(try read(certificatePath, "certificate").utf8))
        } catch let error as TLSFilesError {
            throw error
        } catch {
            throw TLSFilesError(message: "'\(certificatePath)' holds no PEM certificate: \(error)")
        }
        guard !chain.isEmpty else { throw TLSFilesError(message: "'\(certificatePath)' holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: Array(try read(keyPath, "key").utf8), format: .pem)
        } catch let error as TLSFilesError {
            throw error
        } catch {
            throw TLSFilesError(message: "'\(keyPath)' holds no PEM private key: \(error)")
        }
        let bundle = try read(caBundlePath, "CA bundle")
        let roots = ((try? PEMDocument.parseMultiple(pemString: bundle)) ?? []).compactMap { try? Certificate(pemDocument: $0) }
        guard !roots.isEmpty else { throw TLSFilesError(message: "'\(caBundlePath)' holds no PEM CA certificate") }
        self.init(certificateChain: chain, privateKey: key, trustRoots: roots)
    }
}
