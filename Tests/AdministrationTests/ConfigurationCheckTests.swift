import Administration
import Configuration
import ConsulateTestSupport
import Federation
import FederationLinks
import Foundation
import NIOPosix
import Testing
import X509

typealias Finding = ConfigurationCheck.Finding

/// The time every check here runs at: fixed, so that certificate validity is decided by the test's
/// intervals and never by the machine's clock.
let checkTime = Date(timeIntervalSince1970: 1_900_000_000)
let day: TimeInterval = 86_400

/// A temporary directory with `files` written in it, removed after `body`.
func withFiles<T>(_ files: [String: String], _ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-check-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    return try await body(directory)
}

/// The findings of one severity, as their messages.
func messages(_ findings: [Finding], _ severity: Finding.Severity) -> [String] {
    findings.filter { $0.severity == severity }.map(\.message)
}

@Suite("consulate check: certificates")
struct CertificateCheckTests {
    /// A CA valid for a year either side of `checkTime`.
    let pki: TestPKI
    let domains: Set<String> = ["contoso.example", "chat.contoso.example"]

    init() throws {
        pki = try TestPKI(validFor: checkTime.addingTimeInterval(-365 * day)...checkTime.addingTimeInterval(365 * day))
    }

    /// The findings for `leaf` with `key` (the leaf's own by default) and `bundle` as the CA bundle.
    func findings(
        for leaf: TestPKI.Leaf,
        key: String? = nil,
        bundle: TestPKI? = nil,
        domains: Set<String>? = nil
    ) async throws -> [Finding] {
        let files = [
            "chain.pem": try leaf.certificate.serializeAsPEM().pemString,
            "key.pem": key ?? leaf.key.pemRepresentation,
            "ca.pem": try (bundle ?? pki).ca.serializeAsPEM().pemString,
        ]
        return try await withFiles(files) { directory in
            let tls = TLSFiles(
                certificate: directory.appendingPathComponent("chain.pem").path,
                key: directory.appendingPathComponent("key.pem").path,
                caBundle: directory.appendingPathComponent("ca.pem").path
            )
            return await ConfigurationCheck.certificateFindings(tls, domains: domains ?? self.domains, now: checkTime)
        }
    }

    func leaf(_ identifiers: [TestPKI.Identifier] = [.dns("contoso.example"), .dns("*.contoso.example")], from start: TimeInterval = -10 * day, to end: TimeInterval = 90 * day) throws -> TestPKI.Leaf {
        try pki.leaf(identifiers: identifiers, validFor: checkTime.addingTimeInterval(start)...checkTime.addingTimeInterval(end))
    }

    @Test("a certificate naming every domain, with its key and a chain to the bundle, gives notes only")
    func good() async throws {
        let findings = try await findings(for: try leaf())
        #expect(findings.allSatisfy { $0.severity == .note }, "\(findings)")
        #expect(messages(findings, .note).contains { $0.contains("is valid until 2030-06-15") })
        #expect(messages(findings, .note).contains { $0.contains("chain verifies") })
        #expect(messages(findings, .note).contains { $0.contains("names every domain") })
    }

    @Test("an expired certificate is an error, and its chain is not reported a second time")
    func expired() async throws {
        let findings = try await findings(for: try leaf(from: -100 * day, to: -1 * day))
        #expect(messages(findings, .error).count == 1)
        #expect(messages(findings, .error).first?.contains("expired on 2030-03-16") == true, "\(findings)")
        #expect(findings.first { $0.severity == .error }?.fix?.contains("renew") == true)
        #expect(!findings.contains { $0.message.contains("verif") })
    }

    @Test("a certificate that is not valid yet is an error")
    func notYetValid() async throws {
        let findings = try await findings(for: try leaf(from: 1 * day, to: 90 * day))
        #expect(messages(findings, .error).first?.contains("is not valid before") == true, "\(findings)")
    }

    @Test("a certificate expiring within 30 days is a warning; one expiring in 31 days is not", arguments: [(10.0, true), (29.5, true), (31.0, false)])
    func expiringSoon(daysLeft: Double, warned: Bool) async throws {
        let findings = try await findings(for: try leaf(to: daysLeft * day))
        #expect(messages(findings, .error).isEmpty, "\(findings)")
        let warning = messages(findings, .warning).first { $0.contains("expires on") }
        #expect((warning != nil) == warned, "\(findings)")
        if daysLeft == 10 { #expect(warning?.hasSuffix("in 10 days") == true) }
    }

    @Test("each domain the certificate does not name is an error naming it (RFC 6125: a wildcard covers one label only)")
    func wrongName() async throws {
        let findings = try await findings(
            for: try leaf([.dns("*.contoso.example")]), domains: ["contoso.example", "chat.contoso.example", "a.b.contoso.example"]
        )
        let errors = messages(findings, .error)
        #expect(errors.count == 2, "\(findings)")
        #expect(errors.contains { $0.contains("does not name a.b.contoso.example") })
        #expect(errors.contains { $0.contains("does not name contoso.example (it names *.contoso.example)") })
        #expect(!errors.contains { $0.contains("does not name chat.contoso.example") })
        #expect(findings.first { $0.severity == .error }?.fix?.contains("subjectAltName") == true)
    }

    @Test("an id-on-xmppAddr or SRV-ID names a domain too")
    func otherIdentifiers() async throws {
        let findings = try await findings(for: try leaf([.xmppAddr("contoso.example"), .srv("_xmpp-server.chat.contoso.example")]))
        #expect(messages(findings, .error).isEmpty, "\(findings)")
    }

    @Test("a key that is not the certificate's is an error")
    func mismatchedKey() async throws {
        let other = try leaf()
        let findings = try await findings(for: try leaf(), key: other.key.pemRepresentation)
        let errors = messages(findings, .error)
        #expect(errors.count == 1, "\(findings)")
        #expect(errors.first?.contains("is not the key of the certificate") == true)
    }

    @Test("a chain that does not lead to the CA bundle is a warning")
    func foreignChain() async throws {
        let stranger = try TestPKI(name: "Someone Else", validFor: checkTime.addingTimeInterval(-day)...checkTime.addingTimeInterval(day))
        let findings = try await findings(for: try leaf(), bundle: stranger)
        #expect(messages(findings, .error).isEmpty, "\(findings)")
        #expect(messages(findings, .warning).count == 1)
        #expect(messages(findings, .warning).first?.contains("does not verify against the CA bundle") == true)
    }

    @Test("unreadable files are an error naming the file; no [tls] is a warning")
    func missingFiles() async throws {
        let tls = TLSFiles(certificate: "/nonexistent/chain.pem", key: "/nonexistent/key.pem", caBundle: "/nonexistent/ca.pem")
        let findings = await ConfigurationCheck.certificateFindings(tls, domains: domains, now: checkTime)
        #expect(findings.count == 1)
        #expect(findings.first?.severity == .error)
        #expect(findings.first?.message.contains("/nonexistent/chain.pem") == true)

        let none = await ConfigurationCheck.certificateFindings(nil, domains: domains, now: checkTime)
        #expect(none.map(\.severity) == [.warning])
    }

    @Test("a finding prints its severity, and its fix on a line of its own")
    func printed() {
        #expect(Finding(.error, "it is broken", fix: "mend it").description == "error: it is broken\n  fix: mend it")
        #expect(Finding(.note, "all is well").description == "note: all is well")
        #expect([Finding.Severity.note, .error, .warning].sorted() == [.error, .warning, .note])
    }
}

@Suite("consulate check: DNS", .timeLimit(.minutes(1)))
struct DNSCheckTests {
    typealias Z = DNSZone

    /// Our domain with SRV records for both services; partners: one with SRV records, one without
    /// (its A record is the fallback), one that does not exist, one wildcard, one with a static route.
    static func zone() throws -> [DNSResourceRecord] {
        [
            try Z.srv("_xmpp-server._tcp.contoso.example", "gw.contoso.example", port: 5269),
            try Z.srv("_xmpps-server._tcp.contoso.example", "gw.contoso.example", port: 5270),
            try Z.a("gw.contoso.example", "192.0.2.1"),
            try Z.srv("_xmpp-server._tcp.fabrikam.example", "xmpp.fabrikam.example", port: 5269),
            try Z.a("xmpp.fabrikam.example", "192.0.2.10"),
            try Z.aaaa("xmpp.fabrikam.example", "2001:db8::10"),
            try Z.a("nosrv.example", "192.0.2.20"),
            try Z.a("bare.contoso.example", "192.0.2.30"),
        ]
    }

    static let toml = """
        [gateway]
        domains = ["contoso.example", "bare.contoso.example"]
        [listen]
        direct-tls-port = 5270
        [tls]
        certificate = "/nonexistent/chain.pem"
        key = "/nonexistent/key.pem"
        [[partner]]
        domain = "fabrikam.example"
        additional-domains = ["*.fabrikam.example"]
        [[partner]]
        domain = "nosrv.example"
        [[partner]]
        domain = "missing.example"
        [[partner]]
        domain = "routed.example"
        route = "192.0.2.40:5269"
        """

    func resolver(_ server: DNSTestServer, timeout: Duration = .seconds(5)) throws -> DNSResolver {
        DNSResolver(
            configuration: try DNSResolverConfiguration(nameservers: [server.nameserver], timeout: timeout, attempts: 1),
            group: MultiThreadedEventLoopGroup.singleton
        )
    }

    func findings(_ toml: String = Self.toml, server: DNSTestServer, timeout: Duration = .seconds(5)) async throws -> [Finding] {
        let configuration = try GatewayConfiguration.load(toml: toml)
        return await ConfigurationCheck.dnsFindings(configuration, using: try resolver(server, timeout: timeout))
    }

    @Test("a partner's SRV records and their addresses are listed")
    func srvPresent() async throws {
        try await DNSTestServer.with(try Self.zone()) { server in
            let findings = try await findings(server: server)
            let note = try #require(findings.first { $0.message.hasPrefix("partner fabrikam.example:") })
            #expect(note.severity == .note)
            #expect(note.message == "partner fabrikam.example: _xmpp-server._tcp → xmpp.fabrikam.example:5269 ([2001:db8::10], 192.0.2.10)")
            #expect(!findings.contains { $0.severity != .note && $0.message.contains("fabrikam") }, "\(findings)")
        }
    }

    @Test("a partner without SRV records falls back to its domain on port 5269")
    func noSRV() async throws {
        try await DNSTestServer.with(try Self.zone()) { server in
            let findings = try await findings(server: server)
            let note = try #require(findings.first { $0.message.hasPrefix("partner nosrv.example:") })
            #expect(note.severity == .note)
            #expect(note.message == "partner nosrv.example: no SRV records, falling back to nosrv.example:5269 (192.0.2.20)")
        }
    }

    @Test("a partner domain that does not exist is an error whose fix is a static route or their DNS")
    func nxdomain() async throws {
        try await DNSTestServer.with(try Self.zone()) { server in
            let findings = try await findings(server: server)
            let errors = findings.filter { $0.severity == .error }
            #expect(errors.count == 1, "\(findings)")
            #expect(errors.first?.message == "partner missing.example: missing.example does not exist in DNS (NXDOMAIN): no link to it can be made")
            #expect(errors.first?.fix?.contains("add a static route in the [[partner]] for missing.example") == true)
            #expect(errors.first?.fix?.contains("_xmpp-server._tcp.missing.example SRV records") == true)
        }
    }

    @Test("wildcards and static routes are notes, and nothing is asked for them")
    func notLookedUp() async throws {
        try await DNSTestServer.with(try Self.zone()) { server in
            let findings = try await findings(server: server)
            #expect(findings.contains { $0.severity == .note && $0.message.hasPrefix("partner fabrikam.example (*.fabrikam.example): a wildcard pattern") })
            #expect(findings.contains { $0.severity == .note && $0.message == "partner routed.example: DNS not checked, the static route 192.0.2.40:5269 is used instead" })
            #expect(!server.questions.contains { $0.contains("routed.example") || $0.contains("*") }, "\(server.questions)")
        }
    }

    @Test("our domains: SRV records found are a note, none a warning saying where partners fall back to")
    func ourDomains() async throws {
        try await DNSTestServer.with(try Self.zone()) { server in
            let findings = try await findings(server: server)
            let ours = try #require(findings.first { $0.message.hasPrefix("contoso.example:") })
            #expect(ours.severity == .note)
            #expect(ours.message == "contoso.example: partners find us through _xmpps-server._tcp → gw.contoso.example:5270 (192.0.2.1); _xmpp-server._tcp → gw.contoso.example:5269 (192.0.2.1)")
            let bare = try #require(findings.first { $0.message.hasPrefix("bare.contoso.example has no") })
            #expect(bare.severity == .warning)
            #expect(bare.message.contains("partners fall back to bare.contoso.example:5269 (192.0.2.30)"))
            #expect(bare.fix?.contains("_xmpp-server._tcp.bare.contoso.example. SRV 0 0 5269") == true)
            #expect(bare.fix?.contains("_xmpps-server._tcp.bare.contoso.example. SRV 0 0 5270") == true)
            #expect(findings.first?.message.hasPrefix("bare.contoso.example") == true, "our domains come first, sorted")
        }
    }

    @Test("a silent nameserver: every lookup times out, a warning per domain, no error")
    func silentServer() async throws {
        var behaviour = DNSTestServer.Behaviour()
        behaviour.silent = true
        try await DNSTestServer.with(try Self.zone(), behaviour: behaviour) { server in
            let findings = try await findings(server: server, timeout: .milliseconds(100))
            #expect(messages(findings, .error).isEmpty, "\(findings)")
            let warnings = messages(findings, .warning)
            #expect(warnings.count == 5, "\(findings)")
            let partner = try #require(warnings.first { $0.hasPrefix("partner missing.example:") })
            #expect(partner.contains("SRV _xmpp-server._tcp.missing.example: timed out"))
            #expect(partner.contains("A missing.example: timed out"))
            #expect(findings.first { $0.severity == .warning }?.fix?.contains(server.nameserver.description) == true)
        }
    }

    @Test("without [dns] nothing is asked: a note says how to have DNS checked")
    func notConfigured() async throws {
        let configuration = try GatewayConfiguration.load(toml: "[gateway]\ndomains = [\"contoso.example\"]")
        let findings = await ConfigurationCheck.dnsFindings(configuration, group: MultiThreadedEventLoopGroup.singleton)
        #expect(findings.map(\.severity) == [.note])
        #expect(findings.first?.fix?.contains("[dns]") == true)
    }
}

@Suite("consulate check: the whole run", .timeLimit(.minutes(1)))
struct ConfigurationCheckRunTests {
    /// A configuration file with a good certificate, a store in the same directory, [dns] on
    /// `server` and the partners of `partners`.
    func withConfiguration<T>(dns server: DNSTestServer, partners: String, _ body: (String) async throws -> T) async throws -> T {
        let pki = try TestPKI(validFor: checkTime.addingTimeInterval(-365 * day)...checkTime.addingTimeInterval(365 * day))
        let leaf = try pki.leaf(identifiers: [.dns("contoso.example")], validFor: checkTime.addingTimeInterval(-day)...checkTime.addingTimeInterval(90 * day))
        let files = [
            "chain.pem": try leaf.certificate.serializeAsPEM().pemString,
            "key.pem": leaf.key.pemRepresentation,
            "ca.pem": try pki.ca.serializeAsPEM().pemString,
        ]
        return try await withFiles(files) { directory in
            let toml = """
                [gateway]
                domains = ["contoso.example"]
                [tls]
                certificate = "\(directory.appendingPathComponent("chain.pem").path)"
                key = "\(directory.appendingPathComponent("key.pem").path)"
                ca-bundle = "\(directory.appendingPathComponent("ca.pem").path)"
                [dns]
                nameservers = ["\(server.nameserver)"]
                [store]
                path = "\(directory.appendingPathComponent("store.sqlite").path)"
                \(partners)
                """
            let path = directory.appendingPathComponent("federation.toml").path
            try toml.write(toFile: path, atomically: true, encoding: .utf8)
            return try await body(path)
        }
    }

    static func zone() throws -> [DNSResourceRecord] {
        [
            try DNSZone.srv("_xmpp-server._tcp.contoso.example", "gw.contoso.example", port: 5269),
            try DNSZone.a("gw.contoso.example", "192.0.2.1"),
            try DNSZone.srv("_xmpp-server._tcp.fabrikam.example", "xmpp.fabrikam.example", port: 5269),
            try DNSZone.a("xmpp.fabrikam.example", "192.0.2.10"),
        ]
    }

    @Test("a good configuration has no errors or warnings; a partner that does not exist makes an error")
    func run() async throws {
        try await DNSTestServer.with(try Self.zone()) { server in
            try await withConfiguration(dns: server, partners: "[[partner]]\ndomain = \"fabrikam.example\"\nsasl = \"optional\"") { path in
                let (findings, configuration) = await ConfigurationCheck.run(path: path, now: checkTime, dns: MultiThreadedEventLoopGroup.singleton)
                #expect(configuration != nil)
                #expect(findings.allSatisfy { $0.severity == .note }, "\(findings)")
                #expect(findings.contains { $0.message.hasPrefix("partner fabrikam.example: _xmpp-server._tcp") })
            }
            try await withConfiguration(dns: server, partners: "[[partner]]\ndomain = \"missing.example\"") { path in
                let (findings, _) = await ConfigurationCheck.run(path: path, now: checkTime, dns: MultiThreadedEventLoopGroup.singleton)
                #expect(messages(findings, .error).count == 1, "\(findings)")
                #expect(messages(findings, .error).first?.contains("missing.example does not exist in DNS") == true)
            }
        }
    }

    @Test("--no-dns: nothing is asked, and a note says so")
    func noDNS() async throws {
        try await DNSTestServer.with(try Self.zone()) { server in
            try await withConfiguration(dns: server, partners: "[[partner]]\ndomain = \"missing.example\"") { path in
                let (findings, _) = await ConfigurationCheck.run(path: path, now: checkTime, dns: nil)
                #expect(messages(findings, .error).isEmpty, "\(findings)")
                #expect(findings.last?.message == "DNS was not checked (--no-dns)")
                #expect(server.received.isEmpty)
            }
        }
    }

    @Test("a file that does not load is one error, and no configuration")
    func invalidFile() async throws {
        let (findings, configuration) = await ConfigurationCheck.run(path: "/nonexistent/federation.toml", now: checkTime, dns: nil)
        #expect(configuration == nil)
        #expect(findings.map(\.severity) == [.error])
        #expect(findings.first?.message.contains("cannot read the configuration file") == true)
    }
}
