import Configuration
import Testing

@Suite("Configuration: [api]")
struct APIConfigurationTests {
    @Test("defaults: 127.0.0.1:8080, no warning")
    func defaults() throws {
        let configuration = try GatewayConfiguration.load(toml: "")
        #expect(configuration.api == APISettings(address: "127.0.0.1", port: 8080))
        #expect(configuration.api.isLoopback)
        #expect(!configuration.warnings.contains { $0.contains("api") })
    }

    @Test("address and port are read, IPv6 included")
    func keys() throws {
        let configuration = try GatewayConfiguration.load(toml: "[api]\naddress = '::1'\nport = 18080")
        #expect(configuration.api == APISettings(address: "::1", port: 18080))
        #expect(configuration.api.isLoopback)
        let base = try GatewayConfiguration.load(toml: "[api]\nport = 9000")
        #expect(try GatewayConfiguration.load(toml: "[api]\naddress = '127.0.0.2'", over: base).api == APISettings(address: "127.0.0.2", port: 9000))
    }

    @Test("event-buffer-bytes: 1 MiB unless set")
    func eventBuffer() throws {
        #expect(try GatewayConfiguration.load(toml: "").api.eventBufferBytes == 1 << 20)
        #expect(try GatewayConfiguration.load(toml: "[api]\nevent-buffer-bytes = 65536").api.eventBufferBytes == 65536)
    }

    @Test("connection-limit, idle-timeout and request-timeout: 1024, 60 s and 30 s unless set")
    func connectionSettings() throws {
        let defaults = try GatewayConfiguration.load(toml: "").api
        #expect(defaults.connectionLimit == 1024)
        #expect(defaults.idleTimeout == .seconds(60))
        #expect(defaults.requestTimeout == .seconds(30))
        let set = try GatewayConfiguration.load(toml: "[api]\nconnection-limit = 10\nidle-timeout = 5\nrequest-timeout = 7").api
        #expect(set.connectionLimit == 10)
        #expect(set.idleTimeout == .seconds(5))
        #expect(set.requestTimeout == .seconds(7))
    }

    @Test("an address beyond loopback is allowed, with a warning naming the setting")
    func exposed() throws {
        let configuration = try GatewayConfiguration.load(toml: "[api]\naddress = '0.0.0.0'")
        #expect(configuration.api.address == "0.0.0.0")
        #expect(!configuration.api.isLoopback)
        #expect(configuration.warnings.contains { $0.contains("'api.address' = '0.0.0.0' exposes the internal API") })
    }

    @Test("a port shared with [listen] is refused, whichever section comes first")
    func sharedPort() throws {
        expectRefusal("[api]\naddress = '0.0.0.0'\nport = 5269", containing: "'api.port' = 5269 is also 'listen.port'")
        expectRefusal("[api]\nport = 5269", containing: "'api.port' = 5269 is also 'listen.port'")
        expectRefusal("[api]\nport = 15269\n[listen]\nport = 15269", containing: "'api.port' = 15269 is also 'listen.port'")
        expectRefusal(
            "[tls]\ncertificate = 'a.pem'\nkey = 'a.key'\n[listen]\ndirect-tls-port = 5270\n[api]\nport = 5270",
            containing: "'api.port' = 5270 is also 'listen.direct-tls-port'"
        )
        let apart = try GatewayConfiguration.load(toml: "[listen]\naddress = '127.0.0.1'\nport = 8080\n[api]\naddress = '127.0.0.2'")
        #expect(apart.api.port == apart.listen.port, "distinct addresses may share a port number")
    }

    @Test("mistakes name the setting", arguments: [
        ("[api]\naddress = 'localhost'", "'api.address' = 'localhost' must be an IP address"),
        ("[api]\naddress = 1", "'api.address' must be a string"),
        ("[api]\nport = 0", "'api.port' must be a port from 1 to 65535"),
        ("[api]\nport = 65536", "'api.port' must be a port from 1 to 65535"),
        ("[api]\nport = '8080'", "'api.port' must be an integer"),
        ("[api]\nhost = '127.0.0.1'", "unknown setting 'api.host'; expected one of: address, connection-limit, event-buffer-bytes, idle-timeout, port, request-timeout"),
        ("[api]\nconnection-limit = 0", "'api.connection-limit' is 0; use a number of connections from 1 to 1000000"),
        ("[api]\nidle-timeout = 0", "'api.idle-timeout' is 0; use a number of seconds from 1 to"),
        ("[api]\nrequest-timeout = '30s'", "'api.request-timeout' must be an integer"),
        ("[api]\nevent-buffer-bytes = 65535", "'api.event-buffer-bytes' is 65535; use a number of bytes from 65536 (64 KiB) to 1073741824 (1 GiB)"),
        ("[api]\nevent-buffer-bytes = 1073741825", "'api.event-buffer-bytes' is 1073741825"),
        ("api = 8080", "'api' must be a table"),
    ])
    func mistakes(toml: String, expected: String) {
        expectRefusal(toml, containing: expected)
    }
}
