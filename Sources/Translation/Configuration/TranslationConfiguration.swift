public import PresenceModel
public import XMPP

/// A federated organisation as the translator needs it: which domains are theirs and how far we
/// trust them. (Transport policy—TLS, SASL, dialback—belongs to the federation links.)
public struct Partner: Sendable, Hashable {
    /// The primary domain, or `*.example.org` for every subdomain of example.org.
    public var domain: DomainPattern
    /// Other domains served by the same partner.
    public var additionalDomains: [DomainPattern]
    public var trust: PartnerTrust
    public var description: String?

    public init(domain: DomainPattern, additionalDomains: [DomainPattern] = [], trust: PartnerTrust = .publicUnverified, description: String? = nil) {
        self.domain = domain
        self.additionalDomains = additionalDomains
        self.trust = trust
        self.description = description
    }

    /// How specifically this partner covers `candidate` (a normalised domainpart), `nil` if not at all.
    func specificity(for candidate: String) -> Int? {
        ([domain] + additionalDomains).filter { $0.matches(candidate) }.map(\.specificity).max()
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
