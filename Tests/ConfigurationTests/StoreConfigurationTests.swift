import Configuration
import Testing
import XMPP

@Suite struct StoreConfigurationTests {
    let gateway = "[gateway]\ndomains = [\"contoso.example\"]\n"

    @Test func theDefaultsNeedNoStoreSection() throws {
        let configuration = try GatewayConfiguration.load(toml: gateway)
        #expect(configuration.store == StoreSettings(path: "consulate.sqlite", archive: .everyone, archiveRetentionDays: nil))
        #expect(configuration.store.busyTimeout == .seconds(5))
        #expect(configuration.store.writeQueueLimit == 1000)
    }

    @Test func everySettingIsRead() throws {
        let configuration = try GatewayConfiguration.load(
            toml: gateway + """
                [store]
                path = "/var/lib/consulate/store.sqlite"
                archive = ["Alice@Contoso.example", "bob@contoso.example"]
                archive-retention-days = 2555
                busy-timeout = 30
                write-queue-limit = 200
                """
        )
        #expect(configuration.store.busyTimeout == .seconds(30))
        #expect(configuration.store.writeQueueLimit == 200)
        #expect(configuration.store.path == "/var/lib/consulate/store.sqlite")
        #expect(configuration.store.archive == .only([try JID("alice@contoso.example"), try JID("bob@contoso.example")]))
        #expect(configuration.store.archiveRetentionDays == 2555)
        #expect(try GatewayConfiguration.load(toml: gateway + "[store]\narchive = \"nobody\"").store.archive == .nobody)
    }

    @Test(arguments: [
        ("[store]\npath = \"\"", "'store.path' must be a file path"),
        ("[store]\npath = 3", "'store.path' must be a string"),
        ("[store]\nfile = \"x\"", "unknown setting 'store.file'"),
        ("[store]\narchive = \"some\"", "'store.archive' is 'some'; use \"everyone\", \"nobody\""),
        ("[store]\narchive = 1", "'store.archive' must be \"everyone\", \"nobody\" or a list"),
        ("[store]\narchive = [\"contoso.example\"]", "'store.archive' contains 'contoso.example', which is not a bare user JID"),
        ("[store]\narchive = [\"alice@contoso.example/desk\"]", "not a bare user JID"),
        ("[store]\narchive = [\"alice@fabrikam.example\"]", "not on one of gateway.domains"),
        ("[store]\narchive-retention-days = 0", "'store.archive-retention-days' is 0; use a number of days from 1"),
        ("[store]\narchive-retention-days = 100000", "'store.archive-retention-days' is 100000"),
        ("[store]\nbusy-timeout = -1", "'store.busy-timeout' is -1; use a number of seconds from 0 to 600"),
        ("[store]\nwrite-queue-limit = 9", "'store.write-queue-limit' is 9; use a number of store jobs from 10 to 1000000"),
    ])
    func invalidSettingsAreRefusedByName(_ store: String, _ expected: String) {
        expectRefusal(gateway + store, containing: expected)
    }
}

@Suite struct PartnerSettingsTests {
    @Test func settingsAreReadLikeAPartnerEntry() throws {
        let partner = try PartnerSettings(domain: "Fabrikam.example", trust: "federated", route: "[2001:db8::1]:5270")
            .policy(source: "test")
        #expect(partner.domain.description == "fabrikam.example")
        #expect(partner.trust == .federated)
        #expect(partner.route?.port == 5270)
    }

    @Test func refusalsNameTheOptionGiven() {
        #expect(throws: ConfigurationError.self) {
            try PartnerSettings(domain: "fabrikam.example", sasl: "sometimes").policy(source: "test", optionNames: ["sasl": "--sasl"])
        }
        do {
            _ = try PartnerSettings(domain: "fabrikam.example", sasl: "sometimes").policy(source: "test", optionNames: ["sasl": "--sasl"])
        } catch {
            #expect(error.message == "'--sasl' for fabrikam.example is 'sometimes'; use required, optional or not-supported")
        }
    }
}
