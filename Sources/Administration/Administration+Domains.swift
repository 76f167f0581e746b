package import Configuration
package import Federation
package import PresenceModel
package import Storage
import Translation
package import XMPP

/// One line of `consulate domains list`: a domain pattern as the gateway will treat it, and where
/// that comes from.
package struct DomainEntry: Sendable, Hashable {
    package enum Source: Sendable, Hashable {
        /// A `[[partner]]` of `federation.toml` that no runtime change overrides.
        case file
        /// A runtime change (`consulate domains` or the admin API), which wins over the file.
        case runtime(Timestamp)
    }

    package var pattern: DomainPattern
    /// `.allow`, `.block` or `.remove` (a runtime removal of a partner the file lists).
    package var change: AllowlistChange
    package var source: Source
}

extension Administration {
    /// The options of `consulate domains allow` by `[[partner]]` key, so refusals name the option.
    package static let partnerOptionNames: [String: String] = [
        "domain": "<domain>", "additional-domains": "--additional-domain", "trust": "--trust", "tls": "--tls",
        "sasl": "--sasl", "dialback": "--dialback", "route": "--route", "keep-alive": "--keep-alive",
        "connection-limit": "--connection-limit", "description": "--description",
    ]

    /// Allows (or re-configures) a partner at runtime. The settings go through the `[[partner]]`
    /// reader and `PartnerPolicy.validate()`, so what the file would refuse is refused here too,
    /// before anything is written. Returns the policy stored and its warnings.
    /// - Parameters:
    ///   - source: what refusals say the settings came from.
    ///   - optionNames: how refusals name each `[[partner]]` key, so that the admin HTTP API can
    ///     name its JSON fields where the command names its options.
    @discardableResult
    package func allow(
        _ settings: PartnerSettings,
        source: String = "consulate domains allow",
        optionNames: [String: String] = Administration.partnerOptionNames
    ) async throws(AdminError) -> (partner: PartnerPolicy, warnings: [String]) {
        let partner: PartnerPolicy
        let warnings: [String]
        do {
            partner = try settings.policy(source: source, optionNames: optionNames)
            try partner.checkNotOurs(localDomains)
            warnings = try partner.validate().map(\.description)
        } catch let error as ConfigurationError {
            throw AdminError(error.message)
        } catch {
            throw AdminError("\(error)")
        }
        try await storing { () async throws(StorageError) in try await store.recordAllowlistChange(.allow(partner), at: now()) }
        return (partner, warnings)
    }

    /// Refuses a domain (or `*.` pattern) whatever `federation.toml` says.
    package func block(_ text: String) async throws(AdminError) {
        let pattern = try domainPattern(text)
        try await storing { () async throws(StorageError) in try await store.recordAllowlistChange(.block(pattern), at: now()) }
    }

    /// Forgets a domain: a runtime allow or block goes, and a partner of `federation.toml` is
    /// removed as well (a removal is itself recorded, so it survives a restart).
    package func remove(_ text: String) async throws(AdminError) {
        let pattern = try domainPattern(text)
        try await storing { () async throws(StorageError) in try await store.recordAllowlistChange(.remove(pattern), at: now()) }
    }

    /// The allowlist as the gateway applies it: the file's partners, overridden pattern by pattern
    /// by the runtime changes, by pattern.
    package func domains(filePartners: [PartnerPolicy]) async throws(AdminError) -> [DomainEntry] {
        let changes = try await storing { () async throws(StorageError) in try await store.allowlistChanges() }
        return Self.merge(filePartners: filePartners, changes: changes)
    }

    /// `configuration` as the gateway runs it: its `[[partner]]` entries overridden by the runtime
    /// allowlist changes in the store. What `consulate serve` starts with and what a reload (SIGHUP,
    /// or an allowlist change through the admin API) swaps in.
    package func effectiveConfiguration(_ configuration: GatewayConfiguration) async throws(AdminError) -> GatewayConfiguration {
        let changes = try await storing { () async throws(StorageError) in try await store.allowlistChanges() }
        return Self.applying(changes, to: configuration)
    }

    /// The runtime changes applied to a file's configuration: allowed partners replace the file's
    /// for their pattern, removals drop it, and blocks drop it too; in open federation a block is
    /// also added to the blocklist, since there an unlisted domain would otherwise be let in.
    package static func applying(_ changes: [StoredAllowlistChange], to configuration: GatewayConfiguration) -> GatewayConfiguration {
        var result = configuration
        let entries = merge(filePartners: configuration.federation.partners, changes: changes)
        let partners = entries.compactMap { entry -> PartnerPolicy? in
            if case .allow(let partner) = entry.change { return partner }
            return nil
        }
        result.federation.partners = partners
        if case .open(let blocklist) = configuration.federation.mode {
            let blocked = entries.compactMap { entry -> DomainPattern? in
                if case .block(let pattern) = entry.change { return pattern }
                return nil
            }
            result.federation.mode = .open(blocklist: blocklist + blocked.filter { !blocklist.contains($0) })
        }
        return result
    }

    /// The file's partners overridden pattern by pattern by the runtime changes, by pattern.
    static func merge(filePartners: [PartnerPolicy], changes: [StoredAllowlistChange]) -> [DomainEntry] {
        var entries: [String: DomainEntry] = [:]
        for partner in filePartners {
            entries[partner.domain.description] = DomainEntry(pattern: partner.domain, change: .allow(partner), source: .file)
        }
        for stored in changes {
            let pattern = stored.change.pattern
            if case .remove = stored.change, entries[pattern.description]?.source != .file {
                entries[pattern.description] = nil
                continue
            }
            entries[pattern.description] = DomainEntry(pattern: pattern, change: stored.change, source: .runtime(stored.changedAt))
        }
        return entries.keys.sorted().compactMap { entries[$0] }
    }

    /// The entry for one pattern, or `nil` when neither the file nor a runtime change mentions it.
    package func domain(_ text: String, filePartners: [PartnerPolicy]) async throws(AdminError) -> DomainEntry? {
        let pattern = try domainPattern(text)
        return try await domains(filePartners: filePartners).first { $0.pattern == pattern }
    }

    func domainPattern(_ text: String) throws(AdminError) -> DomainPattern {
        do throws(JIDError) {
            return try DomainPattern(text)
        } catch {
            throw AdminError("'\(text)' is not a domain or *.domain pattern: \(error.reason)")
        }
    }
}

extension DomainEntry {
    /// One line for `consulate domains list`.
    package var summary: String {
        let origin =
            switch source {
            case .file: "federation.toml"
            case .runtime(let time): "changed \(time)"
            }
        switch change {
        case .allow(let partner):
            return "\(pattern)  allow  \(partner.trust.rawValue), tls \(partner.negotiation.tls), sasl \(partner.negotiation.sasl)  (\(origin))"
        case .block: return "\(pattern)  block  (\(origin))"
        case .remove: return "\(pattern)  removed  (\(origin))"
        }
    }

    /// Every setting, one per line, for `consulate domains show`, in `[[partner]]` terms.
    package var details: [String] {
        var lines = [summary]
        guard case .allow(let partner) = change else { return lines }
        lines.append("  additional-domains: \(partner.additionalDomains.isEmpty ? "none" : partner.additionalDomains.map(\.description).joined(separator: ", "))")
        lines.append("  trust: \(partner.trust.rawValue)")
        lines.append("  tls: \(partner.negotiation.tls)")
        lines.append("  sasl: \(partner.negotiation.sasl)")
        lines.append("  dialback: \(partner.negotiation.supportDialback)")
        lines.append("  route: \(partner.route.map(\.description) ?? "DNS (SRV records)")")
        lines.append("  keep-alive: \(partner.keepAlive)")
        lines.append("  connection-limit: \(partner.connectionLimit.map(String.init) ?? "the [federation] partner-connection-limit")")
        if let description = partner.description { lines.append("  description: \(description)") }
        return lines
    }
}
