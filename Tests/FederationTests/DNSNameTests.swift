import XMPP
import Federation
import Testing

@Suite("DNS names and IP addresses")
struct DNSNameTests {
    // MARK: - Names

    @Test("names compare case-insensitively and ignore one trailing dot")
    func caseInsensitive() throws {
        let name = try DNSName("XMPP.Example.COM.")
        #expect(name == (try DNSName("xmpp.example.com")))
        #expect(name.hashValue == (try DNSName("xmpp.example.com")).hashValue)
        #expect(name.description == "xmpp.example.com")
        #expect(name.labels.map { String(decoding: $0, as: UTF8.self) } == ["xmpp", "example", "com"])
        #expect(name != (try DNSName("xmpp.example.org")))
    }

    @Test("`.` is the root, which has no labels")
    func root() throws {
        let root = try DNSName(".")
        #expect(root == .root)
        #expect(root.isRoot && root.labels.isEmpty)
        #expect(root.wireLength == 1)
        #expect(root.description == ".")
        #expect(!(try DNSName("a")).isRoot)
    }

    @Test("bad names are refused with the reason", arguments: [
        ("", DNSNameError.empty),
        ("a..b", .emptyLabel),
        (".a", .emptyLabel),
        ("a.b..", .emptyLabel),
        ("café.example", .nonASCII),
        ("xn--caf-dma.ex ample", .invalidCharacter(0x20)),
        ("a\\.b", .invalidCharacter(0x5C)),
        ("tab\t.example", .invalidCharacter(0x09)),
        (String(repeating: "a", count: 64) + ".example", .labelTooLong(64)),
    ])
    func refused(text: String, error: DNSNameError) {
        #expect(throws: error) { try DNSName(text) }
    }

    @Test("the 255-octet wire limit is exact")
    func wireLimit() throws {
        let label = String(repeating: "a", count: 63)
        let fits = [label, label, label, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(try DNSName(fits).wireLength == 255)
        #expect(throws: DNSNameError.nameTooLong(256)) { try DNSName(fits + "b") }
        #expect(try DNSName(label).labels.first?.count == 63)
    }

    @Test("the non-ASCII refusal tells the caller to convert to A-labels")
    func nonASCIIMessage() {
        #expect(DNSNameError.nonASCII.description.contains("A-labels"))
    }

    @Test("prepending service labels builds the SRV query name")
    func prepending() throws {
        let domain = try DNSName("example.com")
        #expect(try XMPPServerService.directTLS.queryName(for: domain) == (try DNSName("_xmpps-server._tcp.example.com")))
        #expect(try XMPPServerService.startTLS.queryName(for: domain) == (try DNSName("_xmpp-server._tcp.example.com")))
        #expect(try XMPPServerService.startTLS.queryName(for: domain).isSubdomain(of: domain))
        #expect(!domain.isSubdomain(of: try DNSName("xample.com")))
        let label = String(repeating: "a", count: 63)
        let long = try DNSName([label, label, label, String(repeating: "b", count: 50)].joined(separator: "."))
        #expect(throws: DNSNameError.self) { try XMPPServerService.startTLS.queryName(for: long) }
    }

    @Test("wire labels with dots, backslashes or binary octets are escaped in descriptions")
    func escapedDescription() throws {
        let name = try DNSName(labels: [[0x61, 0x2E, 0x62], [0x5C, 0x00, 0xFF]])
        #expect(name.description == "a\\046b.\\092\\000\\255")
        #expect(throws: DNSNameError.emptyLabel) { try DNSName(labels: [[0x61], []]) }
        #expect(throws: DNSNameError.labelTooLong(64)) { try DNSName(labels: [Array(repeating: 0x61, count: 64)]) }
    }

    // MARK: - Addresses

    @Test("IPv4 dotted quads parse; anything else does not", arguments: [
        ("192.0.2.1", [UInt8](arrayLiteral: 192, 0, 2, 1)),
        ("0.0.0.0", [0, 0, 0, 0]),
        ("255.255.255.255", [255, 255, 255, 255]),
        ("256.0.0.1", nil),
        ("1.2.3", nil),
        ("1.2.3.4.5", nil),
        ("01.2.3.4", nil),
        ("1..3.4", nil),
        ("1.2.3.4 ", nil),
        ("a.b.c.d", nil),
        ("", nil),
    ])
    func ipv4(text: String, octets: [UInt8]?) {
        #expect(IPv4Address(text)?.octets == octets)
        if octets != nil { #expect(IPv4Address(text)?.description == text) }
    }

    @Test("IPv6 text parses to the right octets and prints in RFC 5952 form", arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("::FFFF:c000:0201", "::ffff:192.0.2.1"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func ipv6(text: String, canonical: String) throws {
        let address = try #require(IPv6Address(text))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test("malformed IPv6 text is refused", arguments: [
        "", ":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", "1:", ":1",
        "[::1]", "fe80::1%eth0", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "1.2.3.4",
    ])
    func ipv6Refused(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test("IPv6 octets come out in network order")
    func ipv6Octets() throws {
        let address = try #require(IPv6Address("2001:db8::a:b"))
        #expect(address.octets == [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0A, 0, 0x0B])
        #expect(IPv6Address(octets: [1, 2, 3]) == nil)
        #expect(IPv4Address(octets: [1, 2, 3, 4, 5]) == nil)
    }

    @Test("IPAddress tells addresses from host names")
    func ipAddress() throws {
        #expect(IPAddress("192.0.2.1") == .v4(try #require(IPv4Address(octets: [192, 0, 2, 1]))))
        #expect(IPAddress("::1")?.description == "::1")
        #expect(IPAddress("localhost") == nil)
        #expect(IPAddress("example.com") == nil)
    }
}
