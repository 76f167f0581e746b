import ConsulateTestSupport
import FederationLinks
import Foundation
import Testing
import X509

@Suite("Peer certificate validation")
struct PeerCertificateVerifierTests {
    @Test("a chain to a configured root validates, including a serverAuth-only certificate")
    func valid() async throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf(identifiers: [.dns("fabrikam.example")], usages: [.serverAuth])
        let result = await PeerCertificateVerifier(trustRoots: [pki.ca]).validate([leaf.certificate], at: Date())
        #expect(result.provenDomains(among: ["fabrikam.example", "other.example"]) == ["fabrikam.example"])
    }

    @Test("another CA's certificate, an expired one and no certificate are not proof")
    func invalid() async throws {
        let pki = try TestPKI()
        let stranger = try TestPKI(name: "Someone Else")
        let foreign = try stranger.leaf(identifiers: [.dns("fabrikam.example")])
        let verifier = PeerCertificateVerifier(trustRoots: [pki.ca])
        if case .invalid = await verifier.validate([foreign.certificate], at: Date()) {} else { Issue.record("a foreign CA must not validate") }

        let leaf = try pki.leaf(identifiers: [.dns("fabrikam.example")])
        let later = Date().addingTimeInterval(10 * 86_400)
        let expired = await verifier.validate([leaf.certificate], at: later)
        if case .invalid = expired {} else { Issue.record("an expired certificate must not validate") }
        #expect(expired.provenDomains(among: ["fabrikam.example"]).isEmpty)

        #expect(await verifier.validate([], at: Date()) == .absent)
    }
}
