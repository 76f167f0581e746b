import PresenceModel
public import Translation
public import XMLStreaming
import TOMLKit
import XMPP

/// Why `federation.toml` was refused: a message naming the setting and how to fix it.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Everything `federation.toml` configures. Every section is optional; what is left out keeps the
/// defaults documented in the README's configuration reference.
public struct GatewayConfiguration: Sendable {
    public var translation: TranslationConfiguration
    /// Parser limits while a peer negotiates.
    public var preAuthenticationLimits: XMLStreamLimits
    /// Parser limits once a peer has authenticated.
    public var postAuthenticationLimits: XMLStreamLimits

    public init(
        translation: TranslationConfiguration = TranslationConfiguration(localDomains: []),
        preAuthenticationLimits: XMLStreamLimits = .preAuthentication,
        postAuthenticationLimits: XMLStreamLimits = .postAuthentication
    ) {
        self.translation = translation
        self.preAuthenticationLimits = preAuthenticationLimits
        self.postAuthenticationLimits = postAuthenticationLimits
    }

    /// Reads TOML over `base`: settings present replace those of `base`, partners are appended.
    public static func load(toml: String, over base: GatewayConfiguration = GatewayConfiguration()) throws(ConfigurationError) -> GatewayConfiguration {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: toml)
        } catch let error as TOMLParseError {
            throw ConfigurationError("federation.toml, line \(error.source.begin.line): \(error.description)")
        } catch {
            throw ConfigurationError("federation.toml: \(error)")
        }
        var configuration = base
        try TableReader(root, path: "").read(into: &configuration)
        return configuration
    }
}

/// Walks one TOML table, refusing keys it does not know so that typos are reported, not ignored.
struct TableReader {
    let table: TOMLTable
    let path: String

    init(_ table: TOMLTable, path: String) {
        self.table = table
        self.path = path
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func expectOnly(_ keys: Set<String>) throws(ConfigurationError) {
        for key in table.keys where !keys.contains(key) {
            throw ConfigurationError("unknown setting '\(name(key))'; expected one of: \(keys.sorted().joined(separator: ", "))")
        }
    }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = table[key] else { return nil }
        guard let string = value.string else { throw ConfigurationError("'\(name(key))' must be a string") }
        return string
    }

    func integer(_ key: String) throws(ConfigurationError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let integer = value.int else { throw ConfigurationError("'\(name(key))' must be an integer") }
        return integer
    }

    func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw ConfigurationError("'\(name(key))' must be an array of strings") }
        var result: [String] = []
        for element in array {
            guard let string = element.string else { throw ConfigurationError("'\(name(key))' must be an array of strings") }
            result.append(string)
        }
        return result
    }

    func table(_ key: String) throws(ConfigurationError) -> TableReader? {
        guard let value = table[key] else { return nil }
        guard let inner = value.table else { throw ConfigurationError("'\(name(key))' must be a table") }
        return TableReader(inner, path: name(key))
    }

    func tables(_ key: String) throws(ConfigurationError) -> [TableReader] {
        guard let value = table[key] else { return [] }
        guard let array = value.array else { throw ConfigurationError("'\(name(key))' must be an array of tables ([[\(name(key))]])") }
        var result: [TableReader] = []
        for (index, element) in array.enumerated() {
            guard let inner = element.table else { throw ConfigurationError("'\(name(key))' must be an array of tables ([[\(name(key))]])") }
            result.append(TableReader(inner, path: "\(name(key))[\(index)]"))
        }
        return result
    }

    // MARK: - Sections

    func read(into configuration: inout GatewayConfiguration) throws(ConfigurationError) {
        try expectOnly(["gateway", "limits", "partner", "presence"])
        if let gateway = try table("gateway") {
            try gateway.expectOnly(["domains", "resource"])
            if let domains = try gateway.strings("domains") {
                var normalised: Set<String> = []
                for domain in domains {
                    guard let jid = try? JID(domain), jid.isDomain else {
                        throw ConfigurationError("'gateway.domains' contains '\(domain)', which is not a domain name")
                    }
                    normalised.insert(jid.domainpart)
                }
                configuration.translation.localDomains = normalised
            }
            if let resource = try gateway.string("resource") {
                guard let normalised = (try? JID(localpart: "user", domainpart: "example.org", resourcepart: resource))?.resourcepart else {
                    throw ConfigurationError("'gateway.resource' = '\(resource)' is not a valid resource")
                }
                configuration.translation.resource = normalised
            }
        }
        if let limits = try table("limits") {
            try limits.expectOnly(["pre-authentication", "post-authentication"])
            if let pre = try limits.table("pre-authentication") { try pre.readLimits(into: &configuration.preAuthenticationLimits) }
            if let post = try limits.table("post-authentication") { try post.readLimits(into: &configuration.postAuthenticationLimits) }
        }
        for partner in try tables("partner") {
            configuration.translation.partners.append(try partner.readPartner())
        }
        if let presence = try table("presence") {
            try presence.expectOnly(["outbound", "inbound"])
            if let outbound = try presence.table("outbound") { try outbound.readOutbound(into: &configuration.translation.outbound) }
            if let inbound = try presence.table("inbound") { try inbound.readInbound(into: &configuration.translation.inbound) }
        }
    }

    func readLimits(into limits: inout XMLStreamLimits) throws(ConfigurationError) {
        try expectOnly(Set(XMLStreamLimits.Limit.allCases.map(\.rawValue)))
        for limit in XMLStreamLimits.Limit.allCases {
            guard let value = try integer(limit.rawValue) else { continue }
            guard value > 0 else { throw ConfigurationError("'\(name(limit.rawValue))' must be positive") }
            limits.set(limit, to: value)
        }
    }

    func readPartner() throws(ConfigurationError) -> Partner {
        try expectOnly(["domain", "additional-domains", "trust", "description"])
        guard let domain = try string("domain") else { throw ConfigurationError("'\(path)' needs a 'domain'") }
        var partner = Partner(domain: try Self.domainPattern(domain, setting: name("domain")))
        for additional in try strings("additional-domains") ?? [] {
            partner.additionalDomains.append(try Self.domainPattern(additional, setting: name("additional-domains")))
        }
        if let trust = try string("trust") {
            guard let value = PartnerTrust(rawValue: trust) else {
                throw ConfigurationError(
                    "'\(name("trust"))' for \(domain) is '\(trust)'; use federated, public-verified or public-unverified"
                )
            }
            partner.trust = value
        }
        partner.description = try string("description")
        return partner
    }

    /// A domain, or `*.` followed by a domain; normalised like a JID domainpart.
    static func domainPattern(_ text: String, setting: String) throws(ConfigurationError) -> String {
        let wildcard = text.hasPrefix("*.")
        let domain = wildcard ? String(text.dropFirst(2)) : text
        guard let jid = try? JID(domain), jid.isDomain else {
            throw ConfigurationError("'\(setting)' = '\(text)' is not a domain (or '*.' followed by one)")
        }
        return wildcard ? "*." + jid.domainpart : jid.domainpart
    }

    func readOutbound(into mapping: inout OutboundPresenceMapping) throws(ConfigurationError) {
        let ranges = Set(AvailabilityRange.allCases.filter { $0 != .offline }.map(\.rawValue))
        let activities = Set(Activity.known.map(\.token))
        try expectOnly(ranges.union(activities))
        for key in table.keys {
            guard let row = try self.table(key) else { continue }
            try row.expectOnly(["show", "status"])
            let existing = AvailabilityRange(rawValue: key).flatMap { mapping.ranges[$0] } ?? mapping.activities[key]
            var rule = existing ?? OutboundPresenceRule(show: nil, label: nil)
            if let show = try row.string("show") {
                if show == "available" {
                    rule.show = nil
                } else if let value = Presence.Show(rawValue: show) {
                    rule.show = value
                } else {
                    throw ConfigurationError("'\(row.name("show"))' is '\(show)'; use available, chat, away, xa or dnd")
                }
            }
            if let status = try row.string("status") { rule.label = status.isEmpty ? nil : status }
            if let range = AvailabilityRange(rawValue: key) { mapping.ranges[range] = rule } else { mapping.activities[key] = rule }
        }
    }

    func readInbound(into mapping: inout InboundPresenceMapping) throws(ConfigurationError) {
        try expectOnly(["available", "chat", "away", "xa", "dnd"])
        for key in table.keys {
            guard let row = try self.table(key) else { continue }
            try row.expectOnly(["availability", "activity"])
            let show: Presence.Show? = key == "available" ? nil : Presence.Show(rawValue: key)
            var rule = mapping.shows[show] ?? InboundPresenceRule(availability: .available)
            if let availability = try row.integer("availability") {
                guard (0...Int(UInt32.max)).contains(availability) else {
                    throw ConfigurationError("'\(row.name("availability"))' must be a Lync availability number (0–18500)")
                }
                rule.availability = Availability(UInt32(availability))
            }
            if let activity = try row.string("activity") { rule.activity = activity.isEmpty ? nil : Activity(token: activity) }
            mapping.shows[show] = rule
        }
    }
}
