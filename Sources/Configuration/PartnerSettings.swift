package import Federation
import TOMLKit

/// One partner's settings as an operator types them, with the names and spellings of a
/// `[[partner]]` entry: what `consulate domains allow` (and later the admin API) turns its options
/// into. They are read by the very code that reads `[[partner]]`, so a partner added at runtime
/// obeys the same rules and gets the same messages as one in `federation.toml`.
package struct PartnerSettings: Sendable, Hashable {
    package var domain: String
    package var additionalDomains: [String]
    /// `federated`, `public-verified` or `public-unverified`.
    package var trust: String?
    /// `required`, `optional` or `not-supported`.
    package var tls: String?
    /// `required`, `optional` or `not-supported`.
    package var sasl: String?
    package var dialback: Bool?
    /// `host:port`, `host` (port 5269) or `[IPv6]:port`.
    package var route: String?
    package var keepAlive: Bool?
    package var connectionLimit: Int?
    package var description: String?

    package init(
        domain: String, additionalDomains: [String] = [], trust: String? = nil, tls: String? = nil, sasl: String? = nil,
        dialback: Bool? = nil, route: String? = nil, keepAlive: Bool? = nil, connectionLimit: Int? = nil,
        description: String? = nil
    ) {
        self.domain = domain
        self.additionalDomains = additionalDomains
        self.trust = trust
        self.tls = tls
        self.sasl = sasl
        self.dialback = dialback
        self.route = route
        self.keepAlive = keepAlive
        self.connectionLimit = connectionLimit
        self.description = description
    }

    /// The validated partner. `optionNames` maps a `[[partner]]` key (`trust`, `additional-domains`,
    /// …) to the name the operator used (`--trust`), so that a refusal names what they typed;
    /// `source` names the whole entry (`consulate domains allow`).
    package func policy(source: String, optionNames: [String: String] = [:]) throws(ConfigurationError) -> PartnerPolicy {
        let table = TOMLTable()
        table["domain"] = domain
        if !additionalDomains.isEmpty { table["additional-domains"] = TOMLArray(additionalDomains) }
        if let trust { table["trust"] = trust }
        if let tls { table["tls"] = tls }
        if let sasl { table["sasl"] = sasl }
        if let dialback { table["dialback"] = dialback }
        if let route { table["route"] = route }
        if let keepAlive { table["keep-alive"] = keepAlive }
        if let connectionLimit { table["connection-limit"] = connectionLimit }
        if let description { table["description"] = description }
        return try TableReader(table, path: source, displayNames: optionNames).readPartner()
    }
}
