package import Configuration
package import FederationLinks

extension FederationTLS {
    /// Reads the certificate chain, key and trusted roots `[tls]` names: what the launch uses, and
    /// what `consulate check` runs to report unreadable or malformed files before a start fails.
    /// The refusal names the section.
    package init(_ files: TLSFiles) throws(TLSFilesError) {
        do throws(TLSFilesError) {
            try self.init(certificatePath: files.certificate, keyPath: files.key, caBundlePath: files.caBundle)
        } catch {
            throw TLSFilesError(message: "[tls]: \(error.message)")
        }
    }
}
