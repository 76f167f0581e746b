public import PresenceModel

/// A federated organisation as the translator needs it: which domains are theirs and how far we
/// trust them. (Transport policy—TLS, SASL, dialback—belongs to the federation links.)
public struct Partner: Sendable, Hashable {
    /// The primary domain, or `*.example.org` for every subdomain of example.org.
    public var domain: String
    /// Other domains served by the same partner; the same pattern rules apply.
    public var additionalDomains: [String]
    public var trust: PartnerTrust
    public var description: String?

    public init(domain: String, additionalDomains: [String] = [], trust: PartnerTrust = .publicUnverified, description: String? = nil) {
        self.domain = domain
        self.additionalDomains = additionalDomains
        self.trust = trust
        self.description = description
    }

    /// Whether `candidate` (a lowercase domain) is covered by one of this partner's patterns.
    public func covers(_ candidate: String) -> Bool {
        ([domain] + additionalDomains).contains { Self.pattern($0, matches: candidate) }
    }

    /// `*.example.org` matches `a.example.org` and `a.b.example.org`, never `example.org` itself.
    static func pattern(_ pattern: String, matches candidate: String) -> Bool {
        if pattern.hasPrefix("*.") {
            return candidate.hasSuffix(pattern.dropFirst(1)) && candidate.count > pattern.count - 1
        }
        return pattern == candidate
    }

    /// How specific a match is: exact beats wildcard, longer wildcards beat shorter ones.
    func specificity(for candidate: String) -> Int? {
        ([domain] + additionalDomains)
            .filter { Self.pattern($0, matches: candidate) }
            .map { $0.hasPrefix("*.") ? $0.count : Int.max }
            .max()
    }
}

/// Everything the translator needs to know about this deployment.
public struct TranslationConfiguration: Sendable, Hashable {
    /// The domains our internal users live on.
    public var localDomains: Set<String>
    /// The resource internal users appear with on XMPP (`alice@contoso.example/consulate`), so that
    /// replies and presence have a full JID to address.
    public var resource: String
    public var partners: [Partner]
    public var outbound: OutboundPresenceMapping
    public var inbound: InboundPresenceMapping

    public init(
        localDomains: Set<String>,
        resource: String = "consulate",
        partners: [Partner] = [],
        outbound: OutboundPresenceMapping = .defaults,
        inbound: InboundPresenceMapping = .defaults
    ) {
        self.localDomains = localDomains
        self.resource = resource
        self.partners = partners
        self.outbound = outbound
        self.inbound = inbound
    }

    /// The partner serving `domain`, the most specific pattern winning; `nil` if the domain may not federate.
    public func partner(for domain: String) -> Partner? {
        partners
            .compactMap { partner in partner.specificity(for: domain).map { (partner, $0) } }
            .max { $0.1 < $1.1 }?.0
    }
}
