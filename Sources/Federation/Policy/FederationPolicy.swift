package import XMPP

/// Which domains may federate at all.
package enum FederationMode: Sendable, Hashable {
    /// Only listed partners may federate: Lync's only mode, and the default, because federating
    /// with a domain should be a decision someone made.
    case allowlist
    /// Any domain may federate, listed partners with their own policy and the rest with
    /// `FederationPolicy.openDefault(for:)`, except domains matched by a blocklist pattern. The
    /// blocklist exists only in this mode, so an allowlist cannot carry one that silently does
    /// nothing.
    case open(blocklist: [DomainPattern])
}

/// Why a domain may not federate; `description` is the text for logs.
package enum RefusalReason: Sendable, Hashable, CustomStringConvertible {
    /// Allowlist mode and no partner pattern covers the domain.
    case notOnAllowlist
    /// Open mode and this blocklist pattern is the most specific match.
    case blocked(by: DomainPattern)
    /// The text is not a domain at all (a JID with a localpart, bad characters, …).
    case invalidDomain

    package var description: String {
        switch self {
        case .notOnAllowlist: "not on the allowlist"
        case .blocked(let pattern): "blocked by pattern \(pattern)"
        case .invalidDomain: "not a valid domain"
        }
    }
}

/// Whether a domain may federate and, if so, under which partner policy.
package enum FederationDecision: Sendable, Hashable {
    case allowed(PartnerPolicy)
    case refused(RefusalReason)
}

/// Who may federate and how: the mode, the partners and the gateway-wide settings. Links ask it
/// once per peer domain (`decision(for:)`) before and after authenticating; it is a plain value, so
/// a reloaded configuration is a new policy swapped in whole.
package struct FederationPolicy: Sendable {
    package var mode: FederationMode
    package var partners: [PartnerPolicy]
    package var settings: FederationSettings

    /// Defaults to an allowlist with no partners: nobody federates until someone is listed.
    package init(mode: FederationMode = .allowlist, partners: [PartnerPolicy] = [], settings: FederationSettings = .defaults) {
        self.mode = mode
        self.partners = partners
        self.settings = settings
    }

    /// What an unlisted domain gets in open mode: PublicUnverified (its users reach only people who
    /// added them, and never see notes), TLS required, SASL optional, dialback on (matrix row 7),
    /// keep-alive on and the global per-partner connection limit. Row 7 rather than Lync's row 1
    /// because unknown servers often have no certificate usable for SASL EXTERNAL, and dialback over
    /// TLS still authenticates them; TLS stays required so nothing travels in the clear.
    package static func openDefault(for domain: String) -> PartnerPolicy {
        PartnerPolicy(
            domain: DomainPattern(exactly: domain),
            trust: .publicUnverified,
            negotiation: NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true),
            description: "open federation default"
        )
    }

    /// Whether `domain` (any spelling; it is normalised as a JID domainpart first) may federate.
    ///
    /// The most specific pattern wins: an exact domain before any wildcard, a longer wildcard before
    /// a shorter one. Between partners, a tie (the same pattern listed twice, which `validate`
    /// refuses) goes to the first listed. In open mode partner and blocklist patterns compete the
    /// same way, so `*.spam.example` can be blocked while `ok.spam.example` stays a partner; a tie
    /// between the two goes to the blocklist, the safer side; a domain nothing matches gets
    /// `openDefault(for:)`.
    package func decision(for domain: String) -> FederationDecision {
        guard let normalised = DomainPattern.normalisedDomain(domain) else { return .refused(.invalidDomain) }
        return decision(forDomainpart: normalised)
    }

    /// `decision(for:)` for a domain that is already a JID's domainpart (normalised by the JID's
    /// parser): what the routing of every stanza asks, so it does not parse the domain again.
    package func decision(forDomainpart normalised: String) -> FederationDecision {
        let listed = bestPartner(for: normalised)
        switch mode {
        case .allowlist:
            guard let listed else { return .refused(.notOnAllowlist) }
            return .allowed(listed.partner)
        case .open(let blocklist):
            let block = blocklist.filter { $0.matches(normalised) }.max { $0.specificity < $1.specificity }
            switch (listed, block) {
            case let (listed?, block?):
                return listed.specificity > block.specificity ? .allowed(listed.partner) : .refused(.blocked(by: block))
            case let (listed?, nil):
                return .allowed(listed.partner)
            case let (nil, block?):
                return .refused(.blocked(by: block))
            case (nil, nil):
                return .allowed(Self.openDefault(for: normalised))
            }
        }
    }

    /// The listed partner covering `domain` (a normalised domainpart), most specific first; `nil`
    /// if none does, whatever the mode.
    package func partner(for domain: String) -> PartnerPolicy? {
        bestPartner(for: domain)?.partner
    }

    /// The connection limit that applies to `partner`: its own, or the global per-partner default.
    package func connectionLimit(for partner: PartnerPolicy) -> Int {
        partner.connectionLimit ?? settings.partnerConnectionLimit
    }

    /// Whether any peer may authenticate with dialback, so that the links need a dialback secret
    /// (configured or generated at start-up). Open mode always may, through `openDefault(for:)`.
    package var usesDialback: Bool {
        if case .open = mode { return true }
        return partners.contains { $0.negotiation.supportDialback }
    }

    /// Checks the whole policy: the settings, every partner (see `PartnerPolicy.validate`), that no
    /// pattern belongs to two partners, and that no blocklist pattern is also a partner's, since
    /// either would leave the outcome to list order. Returns the warnings of all of them, plus one
    /// for an allowlist with no partners and for partners whose limit exceeds the total.
    package func validate() throws(PolicyError) -> [PolicyWarning] {
        var warnings = try settings.validate()
        var owners: [DomainPattern: Int] = [:]
        for (index, partner) in partners.enumerated() {
            warnings += try partner.validate()
            for pattern in partner.patterns {
                if let owner = owners[pattern], owner != index {
                    throw PolicyError(
                        subject: partner.subject,
                        problem: "\(pattern) is also listed by \(partners[owner].subject); a domain can belong to one partner only, so remove it from one of them"
                    )
                }
                owners[pattern] = index
            }
            if let limit = partner.connectionLimit, limit > settings.connectionLimit {
                warnings.append(
                    PolicyWarning(
                        subject: partner.subject,
                        message: "connection limit \(limit) is above the total connection limit \(settings.connectionLimit), so the total applies first"
                    )
                )
            }
        }
        switch mode {
        case .allowlist:
            if partners.isEmpty {
                warnings.append(PolicyWarning(subject: "federation", message: "allowlist mode with no partners: no domain may federate"))
            }
        case .open(let blocklist):
            for pattern in blocklist {
                if let owner = owners[pattern] {
                    throw PolicyError(
                        subject: "blocklist",
                        problem: "\(pattern) is also listed by \(partners[owner].subject); remove it from the blocklist or from the partner"
                    )
                }
            }
        }
        return warnings
    }

    private func bestPartner(for domain: String) -> (partner: PartnerPolicy, specificity: Int)? {
        var best: (partner: PartnerPolicy, specificity: Int)?
        for partner in partners {
            guard let specificity = partner.specificity(for: domain) else { continue }
            if best.map({ specificity > $0.specificity }) ?? true { best = (partner, specificity) }
        }
        return best
    }
}
