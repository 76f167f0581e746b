import Configuration
import Testing

@Suite struct LogConfigurationTests {
    let gateway = "[gateway]\ndomains = [\"contoso.example\"]\n"

    @Test func theDefaultsLogAtInfoWithoutStanzas() throws {
        #expect(try GatewayConfiguration.load(toml: gateway).log == LogSettings(level: "info", stanzas: .off))
    }

    @Test(arguments: [
        ("level = \"debug\"", LogSettings(level: "debug", stanzas: .off)),
        ("stanzas = true", LogSettings(level: "info", stanzas: .withoutBodies)),
        ("stanzas = true\nstanza-bodies = false", LogSettings(level: "info", stanzas: .withoutBodies)),
        ("stanzas = true\nstanza-bodies = true\nlevel = \"warning\"", LogSettings(level: "warning", stanzas: .withBodies)),
        ("stanzas = false", LogSettings(level: "info", stanzas: .off)),
    ])
    func everySettingIsRead(_ section: String, _ expected: LogSettings) throws {
        let configuration = try GatewayConfiguration.load(toml: gateway + "[log]\n" + section)
        #expect(configuration.log == expected)
        #expect(!configuration.warnings.contains { $0.contains("'log.") })
    }

    @Test func bodiesWithoutTheStanzaLogAreWarnedAbout() throws {
        let configuration = try GatewayConfiguration.load(toml: gateway + "[log]\nstanza-bodies = true")
        #expect(configuration.log.stanzas == .off)
        #expect(configuration.warnings.contains("'log.stanza-bodies' = true has no effect without 'log.stanzas' = true"))
    }

    @Test(arguments: [
        ("[log]\nlevel = \"verbose\"", "'log.level' is 'verbose'; use one of trace, debug, info, notice, warning, error, critical"),
        ("[log]\nlevel = 3", "'log.level' must be a string"),
        ("[log]\nstanzas = \"yes\"", "'log.stanzas' must be true or false"),
        ("[log]\nbodies = true", "unknown setting 'log.bodies'"),
    ])
    func invalidSettingsAreRefusedByName(_ section: String, _ expected: String) {
        expectRefusal(gateway + section, containing: expected)
    }
}
