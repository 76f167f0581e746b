import Configuration
import Testing

@Suite("Configuration: [listen] and [tls]")
struct ListenAndTLSConfigurationTests {
    @Test("defaults: 0.0.0.0:5269, no TLS files")
    func defaults() throws {
        let configuration = try GatewayConfiguration.load(toml: "")
        #expect(configuration.listen == ListenSettings(address: "0.0.0.0", port: 5269))
        #expect(configuration.listen.directTLSPort == nil, "no direct TLS listener unless configured")
        #expect(configuration.tls == nil)
    }

    static let tls = "[tls]\ncertificate = 'a.pem'\nkey = 'a.key'"

    @Test("direct-tls-port is read, with [tls] before or after [listen]")
    func directTLSPort() throws {
        let after = try GatewayConfiguration.load(toml: "[listen]\ndirect-tls-port = 5270\n\(Self.tls)")
        #expect(after.listen == ListenSettings(address: "0.0.0.0", port: 5269, directTLSPort: 5270))
        let before = try GatewayConfiguration.load(toml: "\(Self.tls)\n[listen]\nport = 15269\ndirect-tls-port = 15270")
        #expect(before.listen == ListenSettings(address: "0.0.0.0", port: 15269, directTLSPort: 15270))
        let base = try GatewayConfiguration.load(toml: Self.tls)
        #expect(try GatewayConfiguration.load(toml: "[listen]\ndirect-tls-port = 5270", over: base).listen.directTLSPort == 5270, "[tls] from the base counts")
    }

    @Test("direct-tls-port mistakes name the setting", arguments: [
        ("[listen]\ndirect-tls-port = 5270", "'listen.direct-tls-port' needs [tls]"),
        ("[listen]\ndirect-tls-port = 0\n\(tls)", "'listen.direct-tls-port' must be a port from 1 to 65535"),
        ("[listen]\ndirect-tls-port = 65536\n\(tls)", "'listen.direct-tls-port' must be a port from 1 to 65535"),
        ("[listen]\ndirect-tls-port = '5270'\n\(tls)", "'listen.direct-tls-port' must be an integer"),
        ("[listen]\ndirect-tls-port = 5269\n\(tls)", "'listen.direct-tls-port' = 5269 is also 'listen.port'"),
        ("[listen]\nport = 5270\ndirect-tls-port = 5270\n\(tls)", "direct TLS needs a port of its own"),
    ])
    func directTLSMistakes(toml: String, expected: String) {
        expectRefusal(toml, containing: expected)
    }

    @Test("every key is read, IPv6 included")
    func keys() throws {
        let configuration = try GatewayConfiguration.load(
            toml: """
                [listen]
                address = '::1'
                port = 15269
                [tls]
                certificate = 'a.pem'
                key = 'a.key'
                ca-bundle = 'ca.pem'
                """
        )
        #expect(configuration.listen == ListenSettings(address: "::1", port: 15269))
        #expect(configuration.tls == TLSFiles(certificate: "a.pem", key: "a.key", caBundle: "ca.pem"))
        let systemRoots = try GatewayConfiguration.load(toml: "[tls]\ncertificate = 'a.pem'\nkey = 'a.key'")
        #expect(systemRoots.tls?.caBundle == TLSFiles.systemCABundle)
    }

    @Test("mistakes name the setting", arguments: [
        ("[listen]\naddress = 'xmpp.example.org'", "'listen.address'"),
        ("[listen]\nport = 0", "'listen.port' must be a port"),
        ("[listen]\nport = 70000", "'listen.port' must be a port"),
        ("[listen]\nhost = '0.0.0.0'", "unknown setting 'listen.host'"),
        ("[tls]\nkey = 'a.key'", "'tls.certificate' is required"),
        ("[tls]\ncertificate = 'a.pem'", "'tls.key' is required"),
    ])
    func mistakes(toml: String, expected: String) {
        expectRefusal(toml, containing: expected)
    }

    @Test("partners requiring TLS without [tls] are a warning")
    func tlsMissing() throws {
        let without = try GatewayConfiguration.load(toml: "[[partner]]\ndomain = 'fabrikam.example'\nsasl = 'optional'")
        #expect(without.warnings.contains { $0.contains("[tls] is not configured") })
        let with = try GatewayConfiguration.load(toml: "[tls]\ncertificate = 'a.pem'\nkey = 'a.key'\n[[partner]]\ndomain = 'fabrikam.example'\nsasl = 'optional'")
        #expect(!with.warnings.contains { $0.contains("[tls] is not configured") })
    }
}

@Suite("Configuration: [dns]")
struct DNSConfigurationTests {
    @Test("nameservers, timeout and attempts are read; nothing configured means the system's list at start")
    func keys() throws {
        #expect(try GatewayConfiguration.load(toml: "").dns == nil)
        let dns = try #require(try GatewayConfiguration.load(toml: "[dns]\nnameservers = ['127.0.0.1:5353', '[::1]']\ntimeout = 1\nattempts = 3").dns)
        #expect(dns.nameservers.map(\.description) == ["127.0.0.1:5353", "[::1]:53"])
        #expect(dns.timeout == .seconds(1))
        #expect(dns.attempts == 3)
    }

    @Test("host names and empty lists are refused", arguments: [
        ("[dns]\nnameservers = ['dns.example']", "'dns.nameservers'"),
        ("[dns]\nnameservers = []", "'dns.nameservers' is required"),
        ("[dns]\ntimeout = 3", "'dns.nameservers' is required"),
    ])
    func refused(toml: String, expected: String) {
        expectRefusal(toml, containing: expected)
    }
}
