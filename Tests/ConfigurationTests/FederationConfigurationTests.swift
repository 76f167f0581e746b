import XMPP
import Configuration
import Federation
import Foundation
import PresenceModel
import Testing
import Translation

/// A `[[partner]]` for fabrikam.example with extra keys.
private func partnerTOML(_ keys: String) -> String {
    "[[partner]]\ndomain = 'fabrikam.example'\n\(keys)"
}

private func load(_ toml: String) throws -> GatewayConfiguration {
    try GatewayConfiguration.load(toml: toml)
}

@Suite("Configuration: federation and partners")
struct FederationConfigurationTests {
    @Test("the sample federation.toml loads without warnings, with its federation settings and partners")
    func sample() throws {
        let configuration = try load(try String(contentsOfFile: sampleConfiguration, encoding: .utf8))
        #expect(configuration.warnings == [])
        let federation = configuration.federation
        if case .allowlist = federation.mode {} else { Issue.record("the sample is not in allowlist mode") }
        #expect(federation.settings.connectionLimit == 1000)
        #expect(federation.settings.partnerConnectionLimit == 20)
        #expect(federation.settings.streamEstablishmentTimeout == .seconds(60))
        #expect(federation.settings.inactivityTimeout == .seconds(600))
        #expect(federation.settings.keepAliveInterval == .seconds(300))
        #expect(federation.settings.pingTimeout == .seconds(60))
        #expect(federation.settings.dialbackSecret == nil)
        #expect(federation.partners.map(\.domain.description) == ["fabrikam.example", "*.partners.example"])
        let fabrikam = federation.partners[0]
        #expect(fabrikam.additionalDomains.map(\.description) == ["fabrikam.test"])
        #expect(fabrikam.trust == .federated)
        #expect(fabrikam.negotiation == NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true))
        #expect(fabrikam.route?.description == "xmpp.fabrikam.example:5269")
        #expect(fabrikam.keepAlive)
        #expect(fabrikam.connectionLimit == 10)
        #expect(fabrikam.description == "Fabrikam, our supply-chain partner")
        #expect(federation.partners[1].negotiation == NegotiationPolicy(tls: .required, sasl: .required, supportDialback: false))
    }

    @Test("every partner key is read")
    func partnerKeys() throws {
        let partner = try load(
            partnerTOML(
                """
                tls = 'optional'
                sasl = 'not-supported'
                dialback = true
                route = '[2001:DB8::7]:5270'
                keep-alive = false
                connection-limit = 3
                """
            )
        ).federation.partners[0]
        #expect(partner.negotiation == NegotiationPolicy(tls: .optional, sasl: .notSupported, supportDialback: true))
        #expect(partner.route?.description == "[2001:db8::7]:5270")
        #expect(partner.route?.directTLS == false)
        #expect(!partner.keepAlive)
        #expect(partner.connectionLimit == 3)
    }

    @Test("partner defaults: TLS and SASL required, dialback and keep-alive on, DNS routing, the global limit")
    func partnerDefaults() throws {
        let configuration = try load(partnerTOML(""))
        let partner = configuration.federation.partners[0]
        #expect(partner.negotiation == .default)
        #expect(partner.keepAlive)
        #expect(partner.route == nil)
        #expect(partner.connectionLimit == nil)
        #expect(configuration.federation.connectionLimit(for: partner) == 20)
    }

    @Test("routes: host:port, a host alone on 5269, IPv6 in brackets", arguments: [
        ("xmpp.fabrikam.example:5270", "xmpp.fabrikam.example:5270"),
        ("XMPP.Fabrikam.Example", "xmpp.fabrikam.example:5269"),
        ("192.0.2.7:5269", "192.0.2.7:5269"),
        ("[2001:db8:0:0::1]:5222", "[2001:db8::1]:5222"),
        ("[::1]", "[::1]:5269"),
    ])
    func routes(text: String, expected: String) throws {
        let route = try load(partnerTOML("route = '\(text)'")).federation.partners[0].route
        #expect(route?.description == expected)
    }

    @Test("malformed routes are refused, naming the setting", arguments: [
        "", ":5269", "host:", "host:0", "host:65536", "host:-1", "host:52a", "2001:db8::1", "2001:db8::1:5269",
        "[2001:db8::1", "[2001:db8::1]5269", "[192.0.2.1]:5269", "[nothex]:5269", "bad host:5269", "alice@host:5269",
        "café.example:5269",
    ])
    func badRoutes(text: String) {
        let message = refusal(partnerTOML("route = '\(text)'"))
        #expect(message?.hasPrefix("'partner[0].route' for fabrikam.example is '\(text)': ") == true, "\(message ?? "accepted")")
    }

    @Test("a partner that covers one of our own domains is refused", arguments: [
        ("[[partner]]\ndomain = 'contoso.example'", "partner contoso.example: contoso.example is one of our own domains"),
        ("[[partner]]\ndomain = '*.contoso.example'", "partner *.contoso.example: chat.contoso.example is one of our own domains"),
        ("[[partner]]\ndomain = 'fabrikam.example'\nadditional-domains = ['Contoso.Example']", "contoso.example is one of our own domains"),
    ])
    func ownDomains(partner: String, expected: String) {
        expectRefusal("[gateway]\ndomains = ['contoso.example', 'chat.contoso.example']\n" + partner, containing: expected)
    }

    @Test("subscription-request-rate: 60 a minute unless set, 1 or more")
    func subscriptionRequestRate() throws {
        #expect(try load("").federation.settings.subscriptionRequestRate == 60)
        expectRefusal("[federation]\nsubscription-request-rate = 0", containing: "'federation.subscription-request-rate' is 0; it must be a number of subscription requests a minute, 1 or more")
    }

    @Test("every [federation] key is read")
    func federationKeys() throws {
        let configuration = try load(
            """
            [federation]
            mode = 'open'
            blocklist = ['*.Spam.example', 'bad.example']
            connection-limit = 50
            partner-connection-limit = 5
            source-connection-limit = 3
            descriptor-reserve = 64
            dialback-limit = 2
            source-dialback-limit = 6
            subscription-request-rate = 12
            stream-establishment-timeout = 30
            inactivity-timeout = 900
            keep-alive-interval = 120
            ping-timeout = 20
            dialback-secret = '0123456789abcdef0123456789abcdef'
            """
        )
        let federation = configuration.federation
        guard case .open(let blocklist) = federation.mode else {
            Issue.record("mode = 'open' was not read")
            return
        }
        #expect(blocklist.map(\.description) == ["*.spam.example", "bad.example"])
        #expect(federation.settings.connectionLimit == 50)
        #expect(federation.settings.partnerConnectionLimit == 5)
        #expect(federation.settings.sourceConnectionLimit == 3)
        #expect(federation.settings.descriptorReserve == 64)
        #expect(federation.settings.streamDialbackLimit == 2)
        #expect(federation.settings.sourceDialbackLimit == 6)
        #expect(federation.settings.subscriptionRequestRate == 12)
        #expect(federation.settings.streamEstablishmentTimeout == .seconds(30))
        #expect(federation.settings.inactivityTimeout == .seconds(900))
        #expect(federation.settings.keepAliveInterval == .seconds(120))
        #expect(federation.settings.pingTimeout == .seconds(20))
        #expect(federation.settings.dialbackSecret != nil)
        #expect(configuration.warnings == [])
        if case .refused(let reason) = federation.decision(for: "a.spam.example") {
            #expect(reason.description == "blocked by pattern *.spam.example")
        } else {
            Issue.record("a.spam.example was not blocked")
        }
    }

    @Test("ping-timeout = 0 turns pings off, and a later layer can turn them back on")
    func pingsOff() throws {
        let off = try load("[federation]\nping-timeout = 0")
        #expect(off.federation.settings.pingTimeout == nil)
        let on = try GatewayConfiguration.load(toml: "[federation]\nping-timeout = 30", over: off)
        #expect(on.federation.settings.pingTimeout == .seconds(30))
        let untouched = try GatewayConfiguration.load(toml: "[federation]\nkeep-alive-interval = 60", over: off)
        #expect(untouched.federation.settings.pingTimeout == nil)
    }

    @Test("the dialback secret never appears in output")
    func secretRedacted() throws {
        let secret = "0123456789abcdef0123456789abcdef"
        let settings = try load("[federation]\ndialback-secret = '\(secret)'").federation.settings
        #expect(!"\(settings)".contains(secret))
        #expect(!String(reflecting: settings).contains(secret))
        let message = refusal("[federation]\ndialback-secret = 'hunter2'")
        #expect(message?.contains("hunter2") == false)
    }

    @Test("mode and blocklist layer over a base configuration")
    func modeOverBase() throws {
        let open = try load("[federation]\nmode = 'open'\nblocklist = ['*.spam.example']")
        let moreBlocked = try GatewayConfiguration.load(toml: "[federation]\nblocklist = ['bad.example']", over: open)
        guard case .open(let replaced) = moreBlocked.federation.mode else {
            Issue.record("a blocklist over open mode left open mode")
            return
        }
        #expect(replaced.map(\.description) == ["bad.example"])
        let stillOpen = try GatewayConfiguration.load(toml: "[federation]\nmode = 'open'", over: open)
        guard case .open(let kept) = stillOpen.federation.mode else {
            Issue.record("mode = 'open' over open mode left open mode")
            return
        }
        #expect(kept.map(\.description) == ["*.spam.example"])
        let closed = try GatewayConfiguration.load(toml: "[federation]\nmode = 'allowlist'", over: open)
        if case .open = closed.federation.mode { Issue.record("mode = 'allowlist' did not close federation") }
    }

    @Test("warnings are those of the loaded result, not accumulated over the base")
    func warningsReplaced() throws {
        let base = try load(partnerTOML(""))
        #expect(base.warnings == [
            "partner fabrikam.example: dialback is enabled but will never be used: with TLS and SASL both required every peer "
                + "must authenticate with SASL EXTERNAL over TLS; make SASL optional to let partners without a usable "
                + "certificate fall back to dialback over TLS, or turn dialback off to say so",
            "partner fabrikam.example: TLS is required but [tls] is not configured, so no link with it can be established",
        ])
        let layered = try GatewayConfiguration.load(toml: "[gateway]\nresource = 'gw'", over: base)
        #expect(layered.warnings == base.warnings)
        #expect(try load("[federation]\nmode = 'open'").warnings == [])
        #expect(try load("[gateway]\nresource = 'gw'").warnings == ["federation: allowlist mode with no partners: no domain may federate"])
    }

    @Test("the negotiation matrix through configuration: 5 rows refused, the warning rows warn", arguments:
        NegotiationRequirement.allCases.flatMap { tls in
            NegotiationRequirement.allCases.flatMap { sasl in [true, false].map { (tls, sasl, $0) } }
        }
    )
    func matrix(tls: NegotiationRequirement, sasl: NegotiationRequirement, dialback: Bool) throws {
        let negotiation = NegotiationPolicy(tls: tls, sasl: sasl, supportDialback: dialback)
        let toml = "[tls]\ncertificate = 'a.pem'\nkey = 'a.key'\n" + partnerTOML("tls = '\(tls)'\nsasl = '\(sasl)'\ndialback = \(dialback)")
        if [6, 12, 14, 16, 18].contains(negotiation.matrixRow) {
            let message = refusal(toml)
            #expect(message?.hasPrefix("'partner[0]' (fabrikam.example): ") == true, "\(message ?? "accepted")")
            #expect(message?.contains("no way to authenticate") == true)
            #expect(message?.contains("enable dialback") == true)
        } else {
            let warnings = try load(toml).warnings
            let warns = [1, 3, 4, 5, 9, 10, 11].contains(negotiation.matrixRow)
            #expect(warnings.count == (warns ? 1 : 0))
            #expect(warnings.allSatisfy { $0.hasPrefix("partner fabrikam.example: ") })
        }
    }

    @Test("mistakes are refused with a message naming the setting", arguments: [
        ("[federation]\nmode = 'closed'", "'federation.mode' is 'closed'; use allowlist"),
        ("[federation]\nmode = 1", "'federation.mode' must be a string"),
        ("[federation]\nblocklist = ['*.spam.example']", "'federation.blocklist' applies only with mode = \"open\""),
        ("[federation]\nmode = 'allowlist'\nblocklist = ['*.spam.example']", "'federation.blocklist' applies only"),
        ("[federation]\nmode = 'open'\nblocklist = ['bad domain']", "'federation.blocklist' = 'bad domain': not a domain name"),
        ("[federation]\nmode = 'open'\nblocklist = ['*.192.0.2.1']", "'federation.blocklist' = '*.192.0.2.1': an IP address has no subdomains"),
        ("[federation]\nmode = 'open'\nblocklist = '*.spam.example'", "'federation.blocklist' must be an array of strings"),
        ("[federation]\nconnection-limit = 0", "'federation.connection-limit' is 0; it must be a number of connections, 1 or more"),
        ("[federation]\nconnection-limit = '1000'", "'federation.connection-limit' must be an integer"),
        ("[federation]\npartner-connection-limit = -5", "'federation.partner-connection-limit' is -5"),
        ("[federation]\nsource-connection-limit = 0", "'federation.source-connection-limit' is 0; it must be a number of connections, 1 or more"),
        ("[federation]\ndialback-limit = 0", "'federation.dialback-limit' is 0; it must be a number of dialback verifications, 1 or more"),
        ("[federation]\nsource-dialback-limit = -3", "'federation.source-dialback-limit' is -3"),
        ("[federation]\ndescriptor-reserve = -1", "'federation.descriptor-reserve' is -1; it must be a number of file descriptors from 0 to 65536"),
        ("[federation]\ndescriptor-reserve = 70000", "'federation.descriptor-reserve' is 70000"),
        ("[federation]\nstream-establishment-timeout = 0", "'federation.stream-establishment-timeout' must be a whole number of seconds from 1 to 86400"),
        ("[federation]\ninactivity-timeout = 86401", "'federation.inactivity-timeout' must be a whole number of seconds"),
        ("[federation]\nkeep-alive-interval = 1.5", "'federation.keep-alive-interval' must be a whole number of seconds"),
        ("[federation]\nkeep-alive-interval = '300'", "'federation.keep-alive-interval' must be a whole number of seconds"),
        ("[federation]\nping-timeout = -1", "'federation.ping-timeout' must be a whole number of seconds from 0 to 86400"),
        ("[federation]\nping-timeout = 86401", "'federation.ping-timeout' must be a whole number of seconds from 0 to 86400"),
        ("[federation]\nping-timeout = 'off'", "'federation.ping-timeout' must be a whole number of seconds"),
        ("[federation]\ndialback-secret = 'short'", "'federation.dialback-secret' is 5 bytes, too short"),
        ("[federation]\ndialback-secret = 42", "'federation.dialback-secret' must be a string"),
        ("[federation]\nconnection-limits = 5", "unknown setting 'federation.connection-limits'"),
        ("federation = 1", "'federation' must be a table"),
        (partnerTOML("tls = 'yes'"), "'partner[0].tls' for fabrikam.example is 'yes'; use required, optional or not-supported"),
        (partnerTOML("sasl = 'mandatory'"), "'partner[0].sasl' for fabrikam.example is 'mandatory'"),
        (partnerTOML("tls = 'notSupported'"), "'partner[0].tls' for fabrikam.example is 'notSupported'"),
        (partnerTOML("dialback = 'yes'"), "'partner[0].dialback' must be true or false"),
        (partnerTOML("keep-alive = 1"), "'partner[0].keep-alive' must be true or false"),
        (partnerTOML("connection-limit = 0"), "'partner[0].connection-limit' is 0"),
        (partnerTOML("connection-limit = 'ten'"), "'partner[0].connection-limit' must be an integer"),
        (partnerTOML("route = { host = 'xmpp.fabrikam.example', port = 5269 }"), "'partner[0].route' for fabrikam.example must be a string"),
        (partnerTOML("route = '2001:db8::1'"), "in brackets"),
        (partnerTOML("tls-mode = 'required'"), "unknown setting 'partner[0].tls-mode'"),
        (partnerTOML("additional-domains = ['*.192.0.2.1']"), "'partner[0].additional-domains' = '*.192.0.2.1'"),
        (partnerTOML("tls = 'not-supported'\ndialback = false"), "'partner[0]' (fabrikam.example): TLS not-supported with SASL required and dialback off"),
        (partnerTOML("") + "\n" + "[[partner]]\ndomain = 'Fabrikam.Example'", "partner fabrikam.example: fabrikam.example is also listed by partner fabrikam.example"),
        (partnerTOML("additional-domains = ['shared.example']") + "\n[[partner]]\ndomain = 'other.example'\nadditional-domains = ['shared.example']",
            "partner other.example: shared.example is also listed by partner fabrikam.example"),
        ("[federation]\nmode = 'open'\nblocklist = ['fabrikam.example']\n" + partnerTOML(""),
            "blocklist: fabrikam.example is also listed by partner fabrikam.example"),
    ])
    func mistakes(toml: String, expected: String) {
        let message = refusal(toml)
        #expect(message?.contains(expected) == true, "\(message ?? "accepted")")
    }
}
