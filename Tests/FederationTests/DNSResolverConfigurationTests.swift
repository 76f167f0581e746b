import XMPP
import Federation
import Testing

@Suite("DNS resolver configuration")
struct DNSResolverConfigurationTests {
    @Test("nameservers are IP literals with an optional port", arguments: [
        ("127.0.0.1:5353", "127.0.0.1:5353"),
        ("127.0.0.1", "127.0.0.1:53"),
        ("[::1]:5353", "[::1]:5353"),
        ("[::1]", "[::1]:53"),
        ("::1", "[::1]:53"),
        ("2001:db8::53", "[2001:db8::53]:53"),
    ])
    func parsesNameserver(text: String, expected: String) throws {
        #expect(try DNSNameserver(text).description == expected)
    }

    @Test("a loopback test server is configured by address and port")
    func loopbackServer() throws {
        let nameserver = try DNSNameserver("127.0.0.1:5353")
        #expect(nameserver.address == IPAddress("127.0.0.1"))
        #expect(nameserver.port == 5353)
        let configuration = try DNSResolverConfiguration(nameservers: [nameserver], timeout: .milliseconds(500), attempts: 1)
        #expect(configuration.nameservers == [nameserver])
        #expect(configuration.timeout == .milliseconds(500))
        #expect(configuration.attempts == 1)
    }

    @Test("host names and malformed text are refused", arguments: [
        ("localhost", DNSResolverConfigurationError.notAnIPAddress("localhost")),
        ("ns1.example.com:53", .notAnIPAddress("ns1.example.com:53")),
        ("[::1", .notAnIPAddress("[::1")),
        ("[::1]5353", .notAnIPAddress("[::1]5353")),
        ("[127.0.0.1]:53", .notAnIPAddress("[127.0.0.1]:53")),
        ("", .notAnIPAddress("")),
        ("127.0.0.1:0", .invalidPort("0")),
        ("127.0.0.1:65536", .invalidPort("65536")),
        ("127.0.0.1:", .invalidPort("")),
        ("127.0.0.1:+53", .invalidPort("+53")),
        ("[::1]:dns", .invalidPort("dns")),
    ])
    func refusesNameserver(text: String, error: DNSResolverConfigurationError) {
        #expect(throws: error) { try DNSNameserver(text) }
    }

    @Test("a configuration needs a nameserver, a sane timeout and attempt count")
    func validation() throws {
        let nameserver = try DNSNameserver("192.0.2.53")
        #expect(throws: DNSResolverConfigurationError.noNameservers) { try DNSResolverConfiguration(nameservers: []) }
        #expect(throws: DNSResolverConfigurationError.timeoutOutOfRange(.zero)) {
            try DNSResolverConfiguration(nameservers: [nameserver], timeout: .zero)
        }
        #expect(throws: DNSResolverConfigurationError.timeoutOutOfRange(.seconds(61))) {
            try DNSResolverConfiguration(nameservers: [nameserver], timeout: .seconds(61))
        }
        #expect(throws: DNSResolverConfigurationError.attemptsOutOfRange(0)) {
            try DNSResolverConfiguration(nameservers: [nameserver], attempts: 0)
        }
        #expect(throws: DNSResolverConfigurationError.attemptsOutOfRange(11)) {
            try DNSResolverConfiguration(nameservers: [nameserver], attempts: 11)
        }
        let defaults = try DNSResolverConfiguration(nameservers: [nameserver])
        #expect(defaults.timeout == .seconds(5) && defaults.attempts == 2)
        let address = try #require(IPAddress("10.0.0.1"))
        #expect(throws: DNSResolverConfigurationError.invalidPort("0")) { try DNSNameserver(address: address, port: 0) }
    }

    @Test("error messages name the bad value")
    func messages() {
        #expect(DNSResolverConfigurationError.notAnIPAddress("localhost").description.contains("\"localhost\""))
        #expect(DNSResolverConfigurationError.invalidPort("0").description.contains("\"0\""))
    }
}
