package import XMPP
package import PresenceModel

/// Everything the gateway knows about one federated organisation: which domains are theirs, how far
/// they are trusted, and how links to their servers are secured, routed and limited. Modelled on
/// Lync's `XmppAllowedPartner` (reference `presence-and-partners.md` §5), with wildcard patterns
/// allowed where Lync needed every subdomain listed.
package struct PartnerPolicy: Sendable, Hashable {
    /// The primary domain, or `*.example.org` for all of example.org's subdomains; names the
    /// partner in logs and messages.
    package var domain: DomainPattern
    /// Other domains served by the same partner, with the same pattern rules.
    package var additionalDomains: [DomainPattern]
    /// How far the partner is trusted: subscriptions, messages from non-contacts, notes.
    package var trust: PartnerTrust
    /// TLS, SASL and dialback requirements for the partner's streams.
    package var negotiation: NegotiationPolicy
    /// Where to connect instead of the partner's DNS records (Lync's `ProxyFqdn`), for
    /// `ConnectionPlan(overridingDNSWith:)`; `nil` to use DNS.
    package var route: ServerEndpoint?
    /// Whether keep-alives are exchanged to notice dead connections. Some public services close
    /// links that send them, hence the switch.
    package var keepAlive: Bool
    /// Most simultaneous connections to this partner; `nil` leaves it to
    /// `FederationSettings.partnerConnectionLimit`, so that changing the global default reaches
    /// every partner that did not choose its own.
    package var connectionLimit: Int?
    /// Free text for admins, such as who to call at the partner.
    package var description: String?

    /// Defaults are Lync's: PublicUnverified, TLS and SASL required, dialback on, keep-alive on,
    /// DNS routing and the global per-partner connection limit.
    package init(
        domain: DomainPattern,
        additionalDomains: [DomainPattern] = [],
        trust: PartnerTrust = .default,
        negotiation: NegotiationPolicy = .default,
        route: ServerEndpoint? = nil,
        keepAlive: Bool = true,
        connectionLimit: Int? = nil,
        description: String? = nil
    ) {
        self.domain = domain
        self.additionalDomains = additionalDomains
        self.trust = trust
        self.negotiation = negotiation
        self.route = route
        self.keepAlive = keepAlive
        self.connectionLimit = connectionLimit
        self.description = description
    }

    /// The primary domain followed by the additional ones.
    package var patterns: [DomainPattern] { [domain] + additionalDomains }

    /// How specifically the partner covers `domain` (a normalised domainpart): the specificity of
    /// its most specific matching pattern, or `nil` if none matches.
    package func specificity(for domain: String) -> Int? {
        patterns.lazy.filter { $0.matches(domain) }.map(\.specificity).max()
    }

    /// Whether one of the partner's patterns covers `domain` (a normalised domainpart).
    package func covers(_ domain: String) -> Bool { specificity(for: domain) != nil }

    /// Refuses a partner that covers one of our own domains (`localDomains`, normalised): our
    /// users live there, so a partner claiming it would have stanzas for them relayed to it, and
    /// its streams would authenticate as us.
    package func checkNotOurs(_ localDomains: Set<String>) throws(PolicyError) {
        guard let ours = localDomains.sorted().first(where: covers) else { return }
        throw PolicyError(subject: subject, problem: "\(ours) is one of our own domains (gateway.domains), not a partner's")
    }

    /// How the partner is named in messages: `partner fabrikam.example`.
    package var subject: String { "partner \(domain)" }

    /// Checks the partner on its own: refuses a negotiation combination that cannot authenticate
    /// anyone and a connection limit below 1; returns what deserves a warning.
    package func validate() throws(PolicyError) -> [PolicyWarning] {
        if let problem = negotiation.problem {
            throw PolicyError(subject: subject, problem: problem)
        }
        if let connectionLimit, connectionLimit < 1 {
            throw PolicyError(subject: subject, problem: "connection limit \(connectionLimit) would refuse every link; use 1 or more")
        }
        return negotiation.warnings.map { PolicyWarning(subject: subject, message: $0) }
    }
}
