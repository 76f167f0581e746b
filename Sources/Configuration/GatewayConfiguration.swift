import Foundation
package import Federation
import PresenceModel
package import Translation
package import XMLStreaming
import TOMLKit
import XMPP

/// Why `federation.toml` was refused: a message naming the setting and how to fix it.
package struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    package var message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { message }
}

/// Everything `federation.toml` configures. Every section is optional; what is left out keeps the
/// defaults documented in the README's configuration reference.
///
/// Each `[[partner]]` is read once, into `federation.partners`: the one policy both the links and
/// the translator ask, so trust and domains cannot disagree between them.
package struct GatewayConfiguration: Sendable {
    package var translation: TranslationConfiguration
    /// Who may federate and how: mode, blocklist, partners with their negotiation, routes and
    /// limits, and the gateway-wide limits and timers.
    package var federation: FederationPolicy
    /// What `load` found legal but probably unintended (for example a negotiation combination in
    /// which dialback can never be used), one line each, for the caller to log.
    package var warnings: [String]
    /// Parser limits while a peer negotiates.
    package var preAuthenticationLimits: XMLStreamLimits
    /// Parser limits once a peer has authenticated.
    package var postAuthenticationLimits: XMLStreamLimits
    /// Where server-to-server connections are accepted.
    package var listen: ListenSettings
    /// Our certificate, key and trusted roots; `nil` when TLS is not configured (then no partner may
    /// require TLS).
    package var tls: TLSFiles?
    /// The nameservers for finding partners' servers; `nil` means those of `/etc/resolv.conf` when
    /// the gateway starts.
    package var dns: DNSResolverConfiguration?
    /// The durable store's file and the compliance archive's scope and retention.
    package var store: StoreSettings
    /// Where the internal users' HTTP API listens.
    package var api: APISettings
    /// The log's level and the stanza log.
    package var log: LogSettings

    package init(
        translation: TranslationConfiguration = TranslationConfiguration(localDomains: []),
        federation: FederationPolicy = FederationPolicy(),
        preAuthenticationLimits: XMLStreamLimits = .preAuthentication,
        postAuthenticationLimits: XMLStreamLimits = .postAuthentication,
        listen: ListenSettings = ListenSettings(),
        tls: TLSFiles? = nil,
        store: StoreSettings = StoreSettings(),
        api: APISettings = APISettings(),
        log: LogSettings = LogSettings(),
        warnings: [String] = []
    ) {
        self.translation = translation
        self.federation = federation
        self.preAuthenticationLimits = preAuthenticationLimits
        self.postAuthenticationLimits = postAuthenticationLimits
        self.listen = listen
        self.tls = tls
        self.store = store
        self.api = api
        self.log = log
        self.warnings = warnings
    }

    /// Reads and validates the configuration file `path` (what `consulate serve`, a reload and
    /// `consulate check` read); refusals name the file and the setting. Our domains are required.
    package static func load(path: String) throws(ConfigurationError) -> GatewayConfiguration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError("cannot read the configuration file '\(path)'")
        }
        do throws(ConfigurationError) {
            let configuration = try load(toml: text)
            guard !configuration.translation.localDomains.isEmpty else {
                throw ConfigurationError("'gateway.domains' is required: the domains our internal users live on")
            }
            return configuration
        } catch {
            throw ConfigurationError("\(path): \(error.message)")
        }
    }

    /// Reads TOML over `base`: settings present replace those of `base`, partners are appended to
    /// `federation.partners`.
    ///
    /// The resulting federation policy is validated as a whole: a partner whose TLS, SASL and
    /// dialback settings leave no way to authenticate, a domain claimed by two partners, or a
    /// blocklist entry that is also a partner's is refused; `warnings` is replaced by the warnings
    /// of the result.
    package static func load(toml: String, over base: GatewayConfiguration = GatewayConfiguration()) throws(ConfigurationError) -> GatewayConfiguration {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: toml)
        } catch let error as TOMLParseError {
            throw ConfigurationError("federation.toml, line \(error.source.begin.line): \(error.description)")
        } catch {
            throw ConfigurationError("federation.toml: \(error)")
        }
        var configuration = base
        var logWarnings: [String] = []
        try TableReader(root, path: "").read(into: &configuration, logWarnings: &logWarnings)
        try configuration.listen.checkDirectTLS(tls: configuration.tls)
        try configuration.api.checkPorts(against: configuration.listen)
        do throws(PolicyError) {
            configuration.warnings = try configuration.federation.validate().map(\.description)
            for partner in configuration.federation.partners { try partner.checkNotOurs(configuration.translation.localDomains) }
            if configuration.tls == nil {
                for partner in configuration.federation.partners where partner.negotiation.tls == .required {
                    configuration.warnings.append(
                        "partner \(partner.domain): TLS is required but [tls] is not configured, so no link with it can be established"
                    )
                }
            }
        } catch {
            throw ConfigurationError(error.description)
        }
        if let warning = configuration.api.warning { configuration.warnings.append(warning) }
        configuration.warnings += logWarnings
        return configuration
    }
}

/// Walks one TOML table, refusing keys it does not know so that typos are reported, not ignored.
struct TableReader {
    let table: TOMLTable
    let path: String
    /// What to call a key in messages instead of `path.key`: the command-line option it came from,
    /// when the table was built from options (`PartnerSettings`).
    var displayNames: [String: String] = [:]

    init(_ table: TOMLTable, path: String, displayNames: [String: String] = [:]) {
        self.table = table
        self.path = path
        self.displayNames = displayNames
    }

    func name(_ key: String) -> String { displayNames[key] ?? (path.isEmpty ? key : "\(path).\(key)") }

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

    func boolean(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let boolean = value.bool else { throw ConfigurationError("'\(name(key))' must be true or false") }
        return boolean
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

    func read(into configuration: inout GatewayConfiguration, logWarnings: inout [String]) throws(ConfigurationError) {
        try expectOnly(["gateway", "listen", "tls", "dns", "store", "api", "log", "limits", "federation", "partner", "presence"])
        if let log = try table("log") { try log.readLog(into: &configuration.log, warnings: &logWarnings) }
        if let dns = try table("dns") { configuration.dns = try dns.readDNS() }
        if let listen = try table("listen") { try listen.readListen(into: &configuration.listen) }
        if let api = try table("api") { try api.readAPI(into: &configuration.api) }
        if let tls = try table("tls") { configuration.tls = try tls.readTLS() }
        if let gateway = try table("gateway") {
            try gateway.expectOnly(["domains", "resource", "contact-limit"])
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
            if let limit = try gateway.integer("contact-limit") {
                guard (1...TranslationConfiguration.maximumContactLimit).contains(limit) else {
                    throw ConfigurationError(
                        "'gateway.contact-limit' is \(limit); use a number of contacts from 1 to \(TranslationConfiguration.maximumContactLimit)"
                    )
                }
                configuration.translation.contactLimit = limit
            }
        }
        // After [gateway]: the archive's users must be on its domains.
        if let store = try table("store") {
            try store.readStore(into: &configuration.store, localDomains: configuration.translation.localDomains)
        }
        if let limits = try table("limits") {
            try limits.expectOnly(["pre-authentication", "post-authentication"])
            if let pre = try limits.table("pre-authentication") { try pre.readLimits(into: &configuration.preAuthenticationLimits) }
            if let post = try limits.table("post-authentication") { try post.readLimits(into: &configuration.postAuthenticationLimits) }
        }
        if let federation = try table("federation") { try federation.readFederation(into: &configuration.federation) }
        for partner in try tables("partner") {
            let policy = try partner.readPartner()
            configuration.federation.partners.append(policy)
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
