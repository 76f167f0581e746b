import ConsulateTestSupport
import FederationLinks
import Testing
import X509

@Suite("Certificate identity (RFC 6125, RFC 7712)")
struct CertificateIdentityTests {
    @Test("each identifier type covers exactly what it should", arguments: [
        (TestPKI.Identifier.dns("fabrikam.example"), "fabrikam.example", true),
        (.dns("fabrikam.example"), "eu.fabrikam.example", false),
        (.dns("*.fabrikam.example"), "eu.fabrikam.example", true),
        (.dns("*.fabrikam.example"), "fabrikam.example", false),
        (.dns("*.fabrikam.example"), "a.eu.fabrikam.example", false),
        (.dns("FABRIKAM.example"), "fabrikam.example", true),
        (.xmppAddr("fabrikam.example"), "fabrikam.example", true),
        (.xmppAddr("bob@fabrikam.example"), "fabrikam.example", false),
        (.srv("_xmpp-server.fabrikam.example"), "fabrikam.example", true),
        (.srv("_xmpps-server.fabrikam.example"), "fabrikam.example", true),
        (.srv("_xmpp-client.fabrikam.example"), "fabrikam.example", false),
    ])
    func identifiers(identifier: TestPKI.Identifier, domain: String, expected: Bool) throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf(identifiers: [identifier])
        #expect(CertificateIdentity(leaf.certificate).covers(domain) == expected)
    }

    @Test("the common name counts only when there are no subjectAltName identifiers")
    func commonName() throws {
        let pki = try TestPKI()
        let bare = try pki.leaf(commonName: "fabrikam.example", identifiers: [])
        #expect(CertificateIdentity(bare.certificate).covers("fabrikam.example"))
        let withSAN = try pki.leaf(commonName: "fabrikam.example", identifiers: [.dns("other.example")])
        #expect(!CertificateIdentity(withSAN.certificate).covers("fabrikam.example"))
    }

    @Test("covered domains among candidates")
    func covered() throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf(identifiers: [.dns("fabrikam.example"), .xmppAddr("fabrikam.test")])
        let identity = CertificateIdentity(leaf.certificate)
        #expect(identity.coveredDomains(among: ["fabrikam.example", "fabrikam.test", "evil.example"]) == ["fabrikam.example", "fabrikam.test"])
    }
}
