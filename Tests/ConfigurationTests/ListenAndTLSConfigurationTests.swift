import Configuration
import Testing

@Suite("Configuration: [listen] and [tls]")
struct ListenAndTLSConfigurationTests {
    @Test("defaults: 0.0.0.0:5269, no direct TLS, no TLS files")
    func defaults() throws {
        let configuration = try GatewayConfiguration.load(toml: "")
        #expect(configuration.listen == ListenSettings(address: "0.0.0.0", port: 5269, directTLSPort: nil))
        #expect(configuration.tls == nil)
    }

    @Test("every key is read, IPv6 included")
    func keys() throws {
        let configuration = try GatewayConfiguration.load(
            toml: """
                [listen]
                address = '::1'
                port = 15269
                direct-tls-port = 15270
                [tls]
                certificate = 'a.pem'
                key = 'a.key'
                ca-bundle = 'ca.pem'
                """
        )
        #expect(configuration.listen == ListenSettings(address: "::1", port: 15269, directTLSPort: 15270))
        #expect(configuration.tls == TLSFiles(certificate: "a.pem", key: "a.key", caBundle: "ca.pem"))
        let systemRoots = try GatewayConfiguration.load(toml: "[tls]\ncertificate = 'a.pem'\nkey = 'a.key'")
        #expect(systemRoots.tls?.caBundle == TLSFiles.systemCABundle)
    }

    @Test("mistakes name the setting", arguments: [
        ("[listen]\naddress = 'xmpp.example.org'", "'listen.address'"),
        ("[listen]\nport = 0", "'listen.port' must be a port"),
        ("[listen]\nport = 70000", "'listen.port' must be a port"),
        ("[listen]\nport = 5269\ndirect-tls-port = 5269", "must differ"),
        ("[listen]\nhost = '0.0.0.0'", "unknown setting 'listen.host'"),
        ("[tls]\nkey = 'a.key'", "'tls.certificate' is required"),
        ("[tls]\ncertificate = 'a.pem'", "'tls.key' is required"),
    ])
    func mistakes(toml: String, expected: String) {
        do {
            _ = try GatewayConfiguration.load(toml: toml)
            Issue.record("accepted: \(toml)")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test("partners requiring TLS without [tls] are a warning")
    func tlsMissing() throws {
        let without = try GatewayConfiguration.load(toml: "[[partner]]\ndomain = 'fabrikam.example'\nsasl = 'optional'")
        #expect(without.warnings.contains { $0.contains("[tls] is not configured") })
        let with = try GatewayConfiguration.load(toml: "[tls]\ncertificate = 'a.pem'\nkey = 'a.key'\n[[partner]]\ndomain = 'fabrikam.example'\nsasl = 'optional'")
        #expect(!with.warnings.contains { $0.contains("[tls] is not configured") })
    }
}
