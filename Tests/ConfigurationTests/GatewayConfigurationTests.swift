import Configuration
import Foundation
import PresenceModel
import Testing
import Translation
import XMLStreaming

let sampleConfiguration = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("federation.toml").path

@Suite("GatewayConfiguration")
struct GatewayConfigurationTests {
    @Test("the sample federation.toml loads")
    func sample() throws {
        let text = try String(contentsOfFile: sampleConfiguration, encoding: .utf8)
        let configuration = try GatewayConfiguration.load(toml: text)
        #expect(configuration.translation.localDomains == ["contoso.example"])
        #expect(configuration.federation.partners.count == 2)
        #expect(configuration.federation.partner(for: "fabrikam.test")?.trust == .federated)
        #expect(configuration.federation.partner(for: "a.partners.example")?.trust == .publicVerified)
        #expect(configuration.postAuthenticationLimits == .postAuthentication)
        #expect(configuration.translation.outbound == .defaults)
        #expect(configuration.translation.inbound == .defaults)
        #expect(configuration.translation.contactLimit == TranslationConfiguration.defaultContactLimit)
        #expect(configuration.api == APISettings(address: "127.0.0.1", port: 8080), "`make serve` prints this address")
    }

    @Test("overrides replace single mapping rows and limits")
    func overrides() throws {
        let configuration = try GatewayConfiguration.load(
            toml: """
                [presence.outbound.away]
                show = "xa"
                [presence.inbound.away]
                availability = 12500
                [limits.post-authentication]
                max-depth = 10
                """
        )
        #expect(configuration.translation.outbound.ranges[.away]?.show == .xa)
        #expect(configuration.translation.outbound.ranges[.away]?.label == "Away")
        #expect(configuration.translation.inbound.shows[.away]?.availability == .beRightBack)
        #expect(configuration.postAuthenticationLimits.maxDepth == 10)
        #expect(configuration.postAuthenticationLimits.maxStanzaBytes == XMLStreamLimits.postAuthentication.maxStanzaBytes)
    }

    @Test("contact-limit: 1000 unless set")
    func contactLimit() throws {
        #expect(try GatewayConfiguration.load(toml: "").translation.contactLimit == 1000)
        #expect(try GatewayConfiguration.load(toml: "[gateway]\ncontact-limit = 250").translation.contactLimit == 250)
    }

    @Test("mistakes are refused with a message naming the setting", arguments: [
        ("[gateway]\ndomian = 'x'", "gateway.domian"),
        ("[[partner]]\ndomain = 'fabrikam.example'\ntrust = 'trusted'", "public-unverified"),
        ("[[partner]]\ntrust = 'federated'", "needs a 'domain'"),
        ("[[partner]]\ndomain = 'bad domain'", "not a domain"),
        ("[presence.outbound.busy]\nshow = 'sleepy'", "presence.outbound.busy.show"),
        ("[presence.outbound.napping]\nshow = 'away'", "presence.outbound.napping"),
        ("[limits.post-authentication]\nmax-depth = 0", "must be positive"),
        ("[gateway\n", "line 1"),
        ("[gateway]\ncontact-limit = 0", "'gateway.contact-limit' is 0; use a number of contacts from 1 to 100000"),
        ("[gateway]\ncontact-limit = 100001", "'gateway.contact-limit' is 100001"),
    ])
    func mistakes(toml: String, expected: String) {
        expectRefusal(toml, containing: expected)
    }
}
