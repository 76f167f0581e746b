import Federation
import PresenceModel
import XMPP

/// `[federation]` and `[[partner]]`: who may federate and how. Values are checked here, where the
/// setting's name is known; combinations (the negotiation matrix, duplicate domains) are judged by
/// the `Federation` policy types, and their messages are given the setting's name here.
extension TableReader {
    static let federationKeys: Set<String> = [
        "mode", "blocklist", "connection-limit", "partner-connection-limit", "stream-establishment-timeout",
        "inactivity-timeout", "keep-alive-interval", "ping-timeout", "dialback-secret", "source-connection-limit",
        "descriptor-reserve", "dialback-limit", "source-dialback-limit", "subscription-request-rate",
    ]

    static let partnerKeys: Set<String> = [
        "domain", "additional-domains", "trust", "description", "tls", "sasl", "dialback", "route", "keep-alive",
        "connection-limit",
    ]

    /// Timers are whole seconds up to a day: longer would not be a timeout but a leak, and keeps the
    /// values far from any overflow where links convert them.
    static let maximumSeconds = 86_400

    func readFederation(into policy: inout FederationPolicy) throws(ConfigurationError) {
        try expectOnly(Self.federationKeys)
        let blocklist = try blocklist()
        if let mode = try string("mode") {
            switch mode {
            case "allowlist":
                if blocklist != nil { throw blocklistInAllowlistMode() }
                policy.mode = .allowlist
            case "open":
                if case .open(let existing) = policy.mode {
                    policy.mode = .open(blocklist: blocklist ?? existing)
                } else {
                    policy.mode = .open(blocklist: blocklist ?? [])
                }
            default:
                throw ConfigurationError("'\(name("mode"))' is '\(mode)'; use allowlist (only partners federate) or open (anyone not blocked)")
            }
        } else if let blocklist {
            guard case .open = policy.mode else { throw blocklistInAllowlistMode() }
            policy.mode = .open(blocklist: blocklist)
        }
        if let limit = try count("connection-limit") { policy.settings.connectionLimit = limit }
        if let limit = try count("partner-connection-limit") { policy.settings.partnerConnectionLimit = limit }
        if let timeout = try seconds("stream-establishment-timeout") { policy.settings.streamEstablishmentTimeout = timeout }
        if let timeout = try seconds("inactivity-timeout") { policy.settings.inactivityTimeout = timeout }
        if let limit = try count("source-connection-limit") { policy.settings.sourceConnectionLimit = limit }
        if let limit = try count("dialback-limit", of: "dialback verifications") { policy.settings.streamDialbackLimit = limit }
        if let limit = try count("source-dialback-limit", of: "dialback verifications") { policy.settings.sourceDialbackLimit = limit }
        if let rate = try count("subscription-request-rate", of: "subscription requests a minute") { policy.settings.subscriptionRequestRate = rate }
        if let reserve = try integer("descriptor-reserve") {
            guard (0...65536).contains(reserve) else {
                throw ConfigurationError("'\(name("descriptor-reserve"))' is \(reserve); it must be a number of file descriptors from 0 to 65536")
            }
            policy.settings.descriptorReserve = reserve
        }
        if let interval = try seconds("keep-alive-interval") { policy.settings.keepAliveInterval = interval }
        if let timeout = try seconds("ping-timeout", from: 0) { policy.settings.pingTimeout = timeout == .zero ? nil : timeout }
        if let secret = try string("dialback-secret") {
            let minimum = 16
            guard secret.utf8.count >= minimum else {
                throw ConfigurationError(
                    "'\(name("dialback-secret"))' is \(secret.utf8.count) bytes, too short to be unguessable; "
                        + "use at least \(minimum), such as the output of `openssl rand -hex 32`"
                )
            }
            policy.settings.dialbackSecret = DialbackSecret(secret)
        }
    }

    private func blocklist() throws(ConfigurationError) -> [DomainPattern]? {
        guard let entries = try strings("blocklist") else { return nil }
        var patterns: [DomainPattern] = []
        for entry in entries {
            patterns.append(try pattern(entry, setting: "blocklist"))
        }
        return patterns
    }

    private func blocklistInAllowlistMode() -> ConfigurationError {
        ConfigurationError(
            "'\(name("blocklist"))' applies only with mode = \"open\"; in allowlist mode only partners federate, "
                + "so remove the blocklist or set mode = \"open\""
        )
    }

    func readPartner() throws(ConfigurationError) -> PartnerPolicy {
        try expectOnly(Self.partnerKeys)
        guard let domain = try string("domain") else { throw ConfigurationError("'\(path)' needs a 'domain'") }
        var partner = PartnerPolicy(domain: try pattern(domain, setting: "domain"))
        for additional in try strings("additional-domains") ?? [] {
            partner.additionalDomains.append(try pattern(additional, setting: "additional-domains"))
        }
        if let trust = try string("trust") {
            guard let value = PartnerTrust(rawValue: trust) else {
                throw ConfigurationError(
                    "'\(name("trust"))' for \(domain) is '\(trust)'; use federated, public-verified or public-unverified"
                )
            }
            partner.trust = value
        }
        if let tls = try requirement("tls", for: domain) { partner.negotiation.tls = tls }
        if let sasl = try requirement("sasl", for: domain) { partner.negotiation.sasl = sasl }
        if let dialback = try boolean("dialback") { partner.negotiation.supportDialback = dialback }
        if let route = table["route"] {
            guard let text = route.string else {
                throw ConfigurationError("'\(name("route"))' for \(domain) must be a string, \"host:port\" (IPv6 in brackets)")
            }
            do throws(RouteError) {
                partner.route = try Self.route(text)
            } catch {
                throw ConfigurationError("'\(name("route"))' for \(domain) is '\(text)': \(error.problem)")
            }
        }
        if let keepAlive = try boolean("keep-alive") { partner.keepAlive = keepAlive }
        partner.connectionLimit = try count("connection-limit")
        partner.description = try string("description")
        do throws(PolicyError) {
            _ = try partner.validate()
        } catch {
            throw ConfigurationError("'\(path)' (\(partner.domain)): \(error.problem)")
        }
        return partner
    }

    struct RouteError: Error {
        var problem: String
    }

    /// Reads `host:port` or `host` (port 5269), the host a name or an IP address and an IPv6
    /// address in brackets, `[2001:db8::1]:5269`, so that its colons are not taken for the port's.
    /// Names must be valid domain names (checked as a JID domainpart, which refuses `@`, `/`,
    /// spaces and the like that DNS syntax alone would let through).
    static func route(_ text: String) throws(RouteError) -> ServerEndpoint {
        let hostText: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw RouteError(problem: "an IPv6 address needs its closing ']'") }
            hostText = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw RouteError(problem: "expected ':port' after the IPv6 address") }
                portText = rest.dropFirst()
            }
            guard case .v6 = IPAddress(String(hostText)) else { throw RouteError(problem: "'\(hostText)' is not an IPv6 address") }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw RouteError(problem: "write an IPv6 address in brackets, as in [2001:db8::1]:5269") }
            hostText = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
            guard let jid = try? JID(String(hostText)), jid.isDomain else {
                throw RouteError(problem: "'\(hostText)' is not a host name or IP address")
            }
        }
        let host: EndpointHost
        do throws(DNSNameError) {
            host = try EndpointHost(String(hostText))
        } catch {
            throw RouteError(problem: "'\(hostText)': \(error)")
        }
        guard let portText else { return ServerEndpoint(host: host, port: ConnectionPlan.defaultPort, directTLS: false) }
        guard !portText.isEmpty, portText.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let port = UInt16(portText), port != 0
        else {
            throw RouteError(problem: "the port must be a number from 1 to 65535")
        }
        return ServerEndpoint(host: host, port: port, directTLS: false)
    }

    private func requirement(_ key: String, for domain: String) throws(ConfigurationError) -> NegotiationRequirement? {
        guard let text = try string(key) else { return nil }
        guard let value = NegotiationRequirement(rawValue: text) else {
            throw ConfigurationError("'\(name(key))' for \(domain) is '\(text)'; use required, optional or not-supported")
        }
        return value
    }

    /// A domain, or `*.` followed by one, normalised like a JID domainpart.
    private func pattern(_ text: String, setting: String) throws(ConfigurationError) -> DomainPattern {
        do throws(JIDError) {
            return try DomainPattern(text)
        } catch {
            throw ConfigurationError("'\(name(setting))' = '\(text)': \(error.reason)")
        }
    }

    /// A connection count: at least 1 (0 would refuse every link), at most Lync's UInt32 range.
    private func count(_ key: String, of what: String = "connections") throws(ConfigurationError) -> Int? {
        guard let value = try integer(key) else { return nil }
        guard (1...Int(UInt32.max)).contains(value) else {
            throw ConfigurationError("'\(name(key))' is \(value); it must be a number of \(what), 1 or more")
        }
        return value
    }

    /// A timer in whole seconds; `minimum` is 0 only where 0 means off.
    private func seconds(_ key: String, from minimum: Int = 1) throws(ConfigurationError) -> Duration? {
        guard let value = table[key] else { return nil }
        guard let seconds = value.int, (minimum...Self.maximumSeconds).contains(seconds) else {
            throw ConfigurationError("'\(name(key))' must be a whole number of seconds from \(minimum) to \(Self.maximumSeconds)")
        }
        return .seconds(seconds)
    }
}


