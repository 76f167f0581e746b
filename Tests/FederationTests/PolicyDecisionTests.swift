import Federation
import XMPP
import Testing

private func pattern(_ text: String) throws -> DomainPattern { try DomainPattern(text) }

private func partner(_ domain: String, _ additional: [String] = [], negotiation: NegotiationPolicy = .default) throws -> PartnerPolicy {
    PartnerPolicy(domain: try pattern(domain), additionalDomains: try additional.map(pattern), negotiation: negotiation)
}

/// Row 7 of the matrix: valid and without warnings.
private let interoperable = NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true)

/// The description of the partner a decision allows, or the refusal reason, so that one
/// expectation shows which way it went.
private func outcome(_ decision: FederationDecision) -> String {
    switch decision {
    case .allowed(let partner): "allowed \(partner.domain)"
    case .refused(let reason): "refused: \(reason)"
    }
}

@Suite("Policy: domain patterns")
struct PolicyDomainPatternTests {
    @Test("patterns are normalised as JID domainparts", arguments: [
        ("Fabrikam.Example", "fabrikam.example"),
        ("fabrikam.example.", "fabrikam.example"),
        ("*.Example.ORG", "*.example.org"),
        ("[2001:DB8:0::1]", "[2001:db8::1]"),
        ("192.0.2.1", "192.0.2.1"),
    ])
    func normalised(text: String, expected: String) throws {
        #expect(try DomainPattern(text).description == expected)
    }

    @Test("what is not a domain (or *. and one) is refused", arguments: [
        "", "*.", "*", "bad domain", "alice@fabrikam.example", "fabrikam.example/res", "*.*.example", "a.*.example", "*.192.0.2.1", "*.[::1]",
    ])
    func refused(text: String) {
        #expect(throws: JIDError.self) { try DomainPattern(text) }
    }

    @Test("a wildcard covers subdomains at any depth, never the apex or look-alikes", arguments: [
        ("*.example.org", "a.example.org", true),
        ("*.example.org", "a.b.example.org", true),
        ("*.example.org", "example.org", false),
        ("*.example.org", "evilexample.org", false),
        ("*.example.org", "a.example.org.evil", false),
        ("*.example.org", ".example.org", false),
        ("fabrikam.example", "fabrikam.example", true),
        ("fabrikam.example", "a.fabrikam.example", false),
        ("fabrikam.example", "fabrikam.examples", false),
    ])
    func matching(pattern text: String, candidate: String, matches: Bool) throws {
        #expect(try pattern(text).matches(candidate) == matches)
    }

    @Test("exact beats any wildcard; a longer wildcard beats a shorter one")
    func specificity() throws {
        #expect(try pattern("a.lab.example.org").specificity > pattern("*.lab.example.org").specificity)
        #expect(try pattern("*.lab.example.org").specificity > pattern("*.example.org").specificity)
    }

    @Test("a partner covers a domain through any of its patterns, at its most specific")
    func partnerCoverage() throws {
        let fabrikam = try partner("fabrikam.example", ["fabrikam.test", "*.fabrikam.example"])
        #expect(fabrikam.covers("fabrikam.test"))
        #expect(fabrikam.covers("eu.fabrikam.example"))
        #expect(!fabrikam.covers("fabrikam.other"))
        #expect(fabrikam.specificity(for: "fabrikam.example") == Int.max)
        #expect(fabrikam.patterns.map(\.description) == ["fabrikam.example", "fabrikam.test", "*.fabrikam.example"])
    }
}

@Suite("Policy: federation decisions")
struct PolicyDecisionTests {
    func partners() throws -> [PartnerPolicy] {
        [
            try partner("*.example.org"),
            try partner("*.lab.example.org"),
            try partner("fabrikam.example", ["fabrikam.test"]),
            try partner("x.lab.example.org"),
        ]
    }

    @Test("allowlist: the most specific partner wins, anything else is refused", arguments: [
        ("fabrikam.example", "allowed fabrikam.example"),
        ("FABRIKAM.TEST.", "allowed fabrikam.example"),
        ("a.example.org", "allowed *.example.org"),
        ("y.lab.example.org", "allowed *.lab.example.org"),
        ("x.lab.example.org", "allowed x.lab.example.org"),
        ("deep.x.lab.example.org", "allowed *.lab.example.org"),
        ("example.org", "refused: not on the allowlist"),
        ("evilexample.org", "refused: not on the allowlist"),
        ("other.example", "refused: not on the allowlist"),
        ("alice@fabrikam.example", "refused: not a valid domain"),
        ("bad domain", "refused: not a valid domain"),
    ])
    func allowlist(domain: String, expected: String) throws {
        let policy = FederationPolicy(partners: try partners())
        #expect(outcome(policy.decision(for: domain)) == expected)
    }

    @Test("the partner order does not change the winner")
    func orderIndependent() throws {
        let policy = FederationPolicy(partners: try partners().reversed())
        #expect(outcome(policy.decision(for: "y.lab.example.org")) == "allowed *.lab.example.org")
        #expect(outcome(policy.decision(for: "x.lab.example.org")) == "allowed x.lab.example.org")
        #expect(policy.partner(for: "a.example.org")?.domain.description == "*.example.org")
    }

    @Test("open: blocked patterns are refused, partners keep their policy, the rest get the open default", arguments: [
        ("fabrikam.example", "allowed fabrikam.example"),
        ("unknown.example", "allowed unknown.example"),
        ("a.spam.example", "refused: blocked by pattern *.spam.example"),
        ("spam.example", "allowed spam.example"),
        ("ok.spam.example", "allowed ok.spam.example"),
        ("bad.fabrikam.example", "refused: blocked by pattern bad.fabrikam.example"),
        ("eu.fabrikam.example", "allowed *.fabrikam.example"),
        ("a.b.evil.example", "refused: blocked by pattern *.b.evil.example"),
        ("a.c.evil.example", "allowed *.evil.example"),
        ("bad domain", "refused: not a valid domain"),
    ])
    func open(domain: String, expected: String) throws {
        let policy = FederationPolicy(
            mode: .open(blocklist: [try pattern("*.spam.example"), try pattern("bad.fabrikam.example"), try pattern("*.b.evil.example")]),
            partners: [try partner("fabrikam.example"), try partner("ok.spam.example"), try partner("*.fabrikam.example"), try partner("*.evil.example")]
        )
        #expect(outcome(policy.decision(for: domain)) == expected)
    }

    @Test("open: a blocklist pattern beats a less specific partner and loses to a more specific one")
    func blocklistAgainstPartners() throws {
        let wildcardPartner = FederationPolicy(mode: .open(blocklist: [try pattern("bad.example.org")]), partners: [try partner("*.example.org")])
        #expect(outcome(wildcardPartner.decision(for: "bad.example.org")) == "refused: blocked by pattern bad.example.org")
        #expect(outcome(wildcardPartner.decision(for: "good.example.org")) == "allowed *.example.org")
        let exactPartner = FederationPolicy(mode: .open(blocklist: [try pattern("*.example.org")]), partners: [try partner("good.example.org")])
        #expect(outcome(exactPartner.decision(for: "good.example.org")) == "allowed good.example.org")
        #expect(outcome(exactPartner.decision(for: "bad.example.org")) == "refused: blocked by pattern *.example.org")
    }

    @Test("open: a tie between a partner and the blocklist is refused")
    func tieGoesToBlocklist() throws {
        let policy = FederationPolicy(mode: .open(blocklist: [try pattern("fabrikam.example")]), partners: [try partner("fabrikam.example")])
        #expect(outcome(policy.decision(for: "fabrikam.example")) == "refused: blocked by pattern fabrikam.example")
    }

    @Test("the open default is PublicUnverified, TLS required, SASL optional, dialback on")
    func openDefault() throws {
        let policy = FederationPolicy(mode: .open(blocklist: []))
        guard case .allowed(let unlisted) = policy.decision(for: "Unknown.Example") else {
            Issue.record("an unlisted domain was refused in open mode")
            return
        }
        #expect(unlisted.domain.description == "unknown.example")
        #expect(unlisted.trust == .publicUnverified)
        #expect(unlisted.negotiation == NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true))
        #expect(unlisted.negotiation.matrixRow == 7)
        #expect(unlisted.keepAlive)
        #expect(policy.connectionLimit(for: unlisted) == 20)
        #expect(try unlisted.validate().isEmpty)
    }

    @Test("connection limits: the partner's own, or the global per-partner default")
    func connectionLimits() throws {
        var policy = FederationPolicy()
        var limited = try partner("fabrikam.example")
        #expect(policy.connectionLimit(for: limited) == 20)
        policy.settings.partnerConnectionLimit = 5
        #expect(policy.connectionLimit(for: limited) == 5)
        limited.connectionLimit = 3
        #expect(policy.connectionLimit(for: limited) == 3)
    }

    @Test("dialback is in use when a partner allows it, or in open mode")
    func usesDialback() throws {
        var strict = try partner("fabrikam.example")
        strict.negotiation.supportDialback = false
        #expect(!FederationPolicy(partners: [strict]).usesDialback)
        #expect(FederationPolicy(mode: .open(blocklist: []), partners: [strict]).usesDialback)
        #expect(FederationPolicy(partners: [strict, try partner("other.example")]).usesDialback)
    }
}

@Suite("Policy: validation")
struct PolicyValidationTests {
    @Test("a domain listed by two partners is refused, naming both")
    func duplicatePattern() throws {
        let policy = FederationPolicy(partners: [try partner("fabrikam.example", ["shared.example"]), try partner("other.example", ["shared.example"])])
        let error = #expect(throws: PolicyError.self) { try policy.validate() }
        #expect(error?.subject == "partner other.example")
        #expect(error?.problem.contains("shared.example is also listed by partner fabrikam.example") == true)
    }

    @Test("the same partner listed twice is refused too")
    func identicalPartners() throws {
        let policy = FederationPolicy(partners: [try partner("fabrikam.example"), try partner("fabrikam.example")])
        #expect(throws: PolicyError.self) { try policy.validate() }
        let single = FederationPolicy(partners: [try partner("fabrikam.example", ["fabrikam.example"], negotiation: interoperable)])
        #expect(try single.validate().isEmpty)
    }

    @Test("overlapping but different patterns are fine: the most specific decides")
    func nestedPatterns() throws {
        let policy = FederationPolicy(
            partners: [try partner("*.example.org", negotiation: interoperable), try partner("a.example.org", negotiation: interoperable)]
        )
        #expect(try policy.validate().isEmpty)
    }

    @Test("a blocklist pattern that is also a partner's is refused")
    func blockedPartner() throws {
        let policy = FederationPolicy(mode: .open(blocklist: [try pattern("*.fabrikam.example")]), partners: [try partner("fabrikam.example", ["*.fabrikam.example"])])
        let error = #expect(throws: PolicyError.self) { try policy.validate() }
        #expect(error?.subject == "blocklist")
        #expect(error?.problem.contains("*.fabrikam.example is also listed by partner fabrikam.example") == true)
    }

    @Test("an invalid partner fails the whole policy")
    func invalidPartner() throws {
        var broken = try partner("fabrikam.example")
        broken.negotiation = NegotiationPolicy(tls: .notSupported, sasl: .required, supportDialback: false)
        let error = #expect(throws: PolicyError.self) { try FederationPolicy(partners: [broken]).validate() }
        #expect(error?.description.hasPrefix("partner fabrikam.example: TLS not-supported with SASL required and dialback off") == true)
    }

    @Test("bad limits and timers are refused", arguments: [
        (FederationSettings(connectionLimit: 0), "connection limit"),
        (FederationSettings(partnerConnectionLimit: -1), "partner connection limit"),
        (FederationSettings(streamEstablishmentTimeout: .zero), "stream establishment timeout"),
        (FederationSettings(inactivityTimeout: .seconds(-1)), "inactivity timeout"),
        (FederationSettings(keepAliveInterval: .zero), "keep-alive interval"),
        (FederationSettings(pingTimeout: .zero), "ping timeout"),
    ])
    func badSettings(settings: FederationSettings, subject: String) {
        let error = #expect(throws: PolicyError.self) { try FederationPolicy(settings: settings).validate() }
        #expect(error?.subject == subject)
    }

    @Test("a partner connection limit below 1 is refused")
    func badPartnerLimit() throws {
        var zero = try partner("fabrikam.example")
        zero.connectionLimit = 0
        let error = #expect(throws: PolicyError.self) { try zero.validate() }
        #expect(error?.problem.contains("use 1 or more") == true)
    }

    @Test("warnings: an empty allowlist, unreachable limits, and each partner's matrix warnings")
    func warnings() throws {
        #expect(try FederationPolicy().validate().map(\.description) == ["federation: allowlist mode with no partners: no domain may federate"])
        #expect(try FederationPolicy(mode: .open(blocklist: [])).validate().isEmpty)
        var big = try partner("fabrikam.example")
        big.negotiation.supportDialback = false
        big.connectionLimit = 2000
        let settings = FederationSettings(connectionLimit: 10, partnerConnectionLimit: 20)
        let warnings = try FederationPolicy(partners: [big, try partner("other.example")], settings: settings).validate()
        #expect(warnings.map(\.subject) == ["partner connection limit", "partner fabrikam.example", "partner other.example"])
        #expect(warnings[0].message.contains("above the total connection limit 10"))
        #expect(warnings[1].message.contains("connection limit 2000"))
        #expect(warnings[2].message.contains("dialback is enabled but will never be used"))
    }

    @Test("settings default to Lync's")
    func defaults() {
        let settings = FederationSettings.defaults
        #expect(settings.connectionLimit == 1000)
        #expect(settings.partnerConnectionLimit == 20)
        #expect(settings.streamEstablishmentTimeout == .seconds(60))
        #expect(settings.inactivityTimeout == .seconds(600))
        #expect(settings.keepAliveInterval == .seconds(300))
        #expect(settings.pingTimeout == .seconds(60))
        #expect(settings.dialbackSecret == nil)
        if case .allowlist = FederationPolicy().mode {} else { Issue.record("the default mode is not allowlist") }
    }
}
