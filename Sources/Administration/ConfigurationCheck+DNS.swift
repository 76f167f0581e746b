package import Configuration
import Federation
package import FederationLinks
package import NIOCore
import XMPP

extension ConfigurationCheck {
    /// The DNS checks through the `[dns]` nameservers, with sockets on `group`. Without `[dns]`
    /// nothing is asked: the check never uses the system resolver, and the nameservers
    /// `consulate serve` would take from `/etc/resolv.conf` are the gateway's to read.
    package static func dnsFindings(_ configuration: GatewayConfiguration, group: any EventLoopGroup) async -> [Finding] {
        guard let dns = configuration.dns else {
            return [
                Finding(
                    .note, "DNS was not checked: [dns] is not configured (consulate serve asks the nameservers of /etc/resolv.conf)",
                    fix: "to have partners' and our DNS records checked, add [dns] with nameservers = [\"<resolver IP>\"]"
                )
            ]
        }
        return await dnsFindings(configuration, using: DNSResolver(configuration: dns, group: group))
    }

    /// What DNS says, asked through `resolver` (which only asks its configured nameservers), with
    /// the same lookups and connection planning as the gateway's links (`DNSResolver.resolution(of:)`):
    ///
    /// - for each exact domain of each `[[partner]]` without a static route, where our links will
    ///   connect: the `_xmpps-server._tcp` and `_xmpp-server._tcp` SRV records, else the domain on
    ///   port 5269, and the A/AAAA addresses; a domain that does not exist or has no address is an
    ///   error (no link can be made), a lookup that timed out a warning. Wildcard patterns name no
    ///   domain to look up, and static routes replace DNS: both are notes.
    /// - for each of `gateway.domains`, where partners will connect to us: whether SRV records
    ///   exist and lead to an address (a warning when not: we cannot see partners' resolvers, and
    ///   a fallback to the domain itself may be what was meant).
    ///
    /// The lookups run concurrently; the findings come back in configuration order.
    package static func dnsFindings(_ configuration: GatewayConfiguration, using resolver: DNSResolver) async -> [Finding] {
        var subjects: [DNSSubject] = configuration.translation.localDomains.sorted().map(DNSSubject.ours)
        for partner in configuration.federation.partners {
            subjects += partner.patterns.map { .partner(partner, $0) }
        }
        let nameservers = resolver.configuration.nameservers.map(\.description).joined(separator: ", ")
        let listen = configuration.listen
        return await withTaskGroup(of: (Int, [Finding]).self) { group in
            for (index, subject) in subjects.enumerated() {
                group.addTask { (index, await subject.findings(using: resolver, nameservers: nameservers, listen: listen)) }
            }
            var found: [Int: [Finding]] = [:]
            for await (index, findings) in group { found[index] = findings }
            return subjects.indices.flatMap { found[$0] ?? [] }
        }
    }
}

/// One domain the DNS checks are about, and whose side it is on.
enum DNSSubject: Sendable {
    /// One of `gateway.domains`: partners look it up to reach us.
    case ours(String)
    /// One pattern of a `[[partner]]`: we look it up to reach them.
    case partner(PartnerPolicy, DomainPattern)

    typealias Finding = ConfigurationCheck.Finding

    func findings(using resolver: DNSResolver, nameservers: String, listen: ListenSettings) async -> [Finding] {
        switch self {
        case .ours(let domain):
            guard let name = try? DNSName(domain) else {
                return [Finding(.warning, "\(domain) is not an ASCII DNS name, so its SRV records could not be checked")]
            }
            let found = await resolver.resolution(of: name)
            return Self.ourFindings(domain, found, nameservers: nameservers, listen: listen)
        case .partner(let partner, let pattern):
            let subject = pattern == partner.domain ? "partner \(pattern)" : "partner \(partner.domain) (\(pattern))"
            if pattern.isWildcard {
                return [Finding(.note, "\(subject): a wildcard pattern names no domain to look up, so its DNS records cannot be checked")]
            }
            if let route = partner.route {
                return [Finding(.note, "\(subject): DNS not checked, the static route \(route) is used instead")]
            }
            let host: EndpointHost
            do throws(DNSNameError) {
                host = try EndpointHost(pattern.domain)
            } catch {
                return [
                    Finding(
                        .warning, "\(subject): not an ASCII DNS name (\(error)), so its DNS records could not be checked",
                        fix: "add a static route in its [[partner]] (route = \"host:5269\") if links to it fail"
                    )
                ]
            }
            guard case .name(let name) = host else {
                return [Finding(.note, "\(subject): an IP address, reached on port \(ConnectionPlan.defaultPort) without DNS")]
            }
            let found = await resolver.resolution(of: name)
            return Self.partnerFindings(subject, partner: partner, domain: pattern.domain, found, nameservers: nameservers)
        }
    }

    // MARK: - Partners

    static func partnerFindings(
        _ subject: String,
        partner: PartnerPolicy,
        domain: String,
        _ found: DomainResolution,
        nameservers: String
    ) -> [Finding] {
        let route = "add a static route in the [[partner]] for \(partner.domain) (route = \"<host>:5269\")"
        let theirDNS = "ask \(domain)'s administrators to publish _xmpp-server._tcp.\(domain) SRV records pointing at their server"
        let failed = failedLookups(found, of: domain)
        switch found.targets {
        case .failure(.noSuchDomain):
            return [
                Finding(
                    .error, "\(subject): \(domain) does not exist in DNS (NXDOMAIN): no link to it can be made",
                    fix: "check the spelling of the domain, \(route), or \(theirDNS)"
                )
            ]
        case .failure(.serviceUnavailable):
            return [
                Finding(
                    .error, "\(subject): \(domain) publishes '.' as its SRV target, declaring that it runs no XMPP server",
                    fix: "\(route), or ask \(domain)'s administrators whether they federate"
                )
            ]
        case .failure(.noAddresses):
            return [
                Finding(
                    .error, "\(subject): no server of \(domain) has an address (\(endpointList(found.endpoints)) have no A/AAAA records)",
                    fix: "\(route), or ask \(domain)'s administrators to publish A/AAAA records for their server"
                )
            ]
        case .failure(.temporaryFailure):
            return [
                Finding(
                    .warning, "\(subject): DNS lookups failed (\(failed.joined(separator: "; "))), so \(domain) could not be checked",
                    fix: "check that the [dns] nameservers (\(nameservers)) answer, then run consulate check again"
                )
            ]
        case .success(let targets):
            var findings: [Finding] = []
            if hasNoSRVRecords(found) {
                findings.append(
                    Finding(
                        .note, "\(subject): no SRV records, falling back to \(domain):\(ConnectionPlan.defaultPort) (\(addressList(targets)))"
                    )
                )
            } else {
                findings.append(Finding(.note, "\(subject): \(serviceSummary(found, targets: targets))"))
            }
            findings += unresolvedHosts(found).map { host in
                Finding(
                    .warning, "\(subject): the SRV target \(host) has no A/AAAA address; links use the other servers",
                    fix: "ask \(domain)'s administrators to fix the record"
                )
            }
            if !failed.isEmpty {
                findings.append(
                    Finding(
                        .warning, "\(subject): some DNS lookups failed (\(failed.joined(separator: "; "))); \(domain) may have servers not listed here",
                        fix: "check that the [dns] nameservers (\(nameservers)) answer, then run consulate check again"
                    )
                )
            }
            return findings
        }
    }

    // MARK: - Our domains

    static func ourFindings(_ domain: String, _ found: DomainResolution, nameservers: String, listen: ListenSettings) -> [Finding] {
        let publish = "publish _xmpp-server._tcp.\(domain). SRV 0 0 \(listen.port) <this gateway's host name>."
            + (listen.directTLSPort.map { " and _xmpps-server._tcp.\(domain). SRV 0 0 \($0) <this gateway's host name>." } ?? "")
        let failed = failedLookups(found, of: domain)
        let retry = "check that the [dns] nameservers (\(nameservers)) answer, then run consulate check again"
        var findings: [Finding] = []
        switch found.targets {
        case .failure(.temporaryFailure):
            return [
                Finding(
                    .warning, "\(domain): DNS lookups failed (\(failed.joined(separator: "; "))), so what partners find for us could not be checked",
                    fix: retry
                )
            ]
        case .failure(let failure):
            let what =
                switch failure {
                case .noSuchDomain: "\(domain) does not exist in DNS (NXDOMAIN)"
                case .serviceUnavailable: "\(domain) publishes '.' as its SRV target, declaring that it runs no XMPP server"
                case .noAddresses, .temporaryFailure: "no server for \(domain) has an address (\(endpointList(found.endpoints)))"
                }
            findings.append(Finding(.warning, "\(what): partners cannot reach us at \(domain)", fix: publish + ", with A/AAAA records for that host"))
        case .success(let targets):
            if hasNoSRVRecords(found) {
                findings.append(
                    Finding(
                        .warning,
                        "\(domain) has no _xmpp-server._tcp or _xmpps-server._tcp SRV records: partners fall back to \(domain):\(ConnectionPlan.defaultPort) (\(addressList(targets)))",
                        fix: "if that is not this gateway, \(publish)"
                    )
                )
            } else {
                findings.append(Finding(.note, "\(domain): partners find us through \(serviceSummary(found, targets: targets))"))
            }
            findings += unresolvedHosts(found).map { host in
                Finding(.warning, "\(domain): the SRV target \(host) has no A/AAAA address", fix: "publish A/AAAA records for \(host) or remove the SRV record")
            }
        }
        if !failed.isEmpty {
            findings.append(Finding(.warning, "\(domain): some DNS lookups failed (\(failed.joined(separator: "; ")))", fix: retry))
        }
        return findings
    }

    // MARK: - Reading the lookups

    /// Neither service has SRV records (NODATA or NXDOMAIN for both names, not a failure).
    static func hasNoSRVRecords(_ found: DomainResolution) -> Bool {
        [found.directTLS, found.startTLS].allSatisfy { $0 == .noData || $0 == .noSuchDomain || $0 == .answers([]) }
    }

    /// Each lookup that failed temporarily, as `SRV _xmpp-server._tcp.example.org: timed out`.
    static func failedLookups(_ found: DomainResolution, of domain: String) -> [String] {
        var failed: [String] = []
        for (service, outcome) in [(XMPPServerService.directTLS, found.directTLS), (.startTLS, found.startTLS)] {
            if let reason = failure(outcome) { failed.append("SRV \(service.prefix).\(domain): \(reason)") }
        }
        for endpoint in found.endpoints {
            guard case .name(let name) = endpoint.host, let lookups = found.addresses[name] else { continue }
            if let reason = failure(lookups.ipv6) { failed.append("AAAA \(name): \(reason)") }
            if let reason = failure(lookups.ipv4) { failed.append("A \(name): \(reason)") }
        }
        return Array(Set(failed)).sorted()
    }

    static func failure<Answer>(_ outcome: DNSLookupOutcome<Answer>) -> String? {
        switch outcome {
        case .timeout: "timed out"
        case .serverFailure(let code): "failed with \(code)"
        case .answers, .noData, .noSuchDomain: nil
        }
    }

    /// SRV targets that got no address (when others did: all of them without one is a failure).
    static func unresolvedHosts(_ found: DomainResolution) -> [String] {
        var seen: Set<DNSName> = []
        return found.endpoints.compactMap { endpoint in
            guard case .name(let name) = endpoint.host, seen.insert(name).inserted else { return nil }
            guard let lookups = found.addresses[name], lookups.ordered.isEmpty else { return nil }
            return failure(lookups.ipv6) == nil && failure(lookups.ipv4) == nil ? name.description : nil
        }
    }

    /// `_xmpps-server._tcp → tls.example.org:5223 (192.0.2.1); _xmpp-server._tcp → …`.
    static func serviceSummary(_ found: DomainResolution, targets: [ConnectionTarget]) -> String {
        var parts: [String] = []
        for (service, isDirectTLS) in [(XMPPServerService.directTLS, true), (.startTLS, false)] {
            let endpoints = found.endpoints.filter { $0.directTLS == isDirectTLS }
            guard !endpoints.isEmpty else { continue }
            let hosts = endpoints.map { endpoint in
                let addresses = targets.filter { $0.host == endpoint.host && $0.port == endpoint.port && $0.directTLS == isDirectTLS }
                let list = addresses.isEmpty ? "no address" : addresses.map { EndpointHost.address($0.address).description }.joined(separator: ", ")
                return "\(endpoint.host):\(endpoint.port) (\(list))"
            }
            parts.append("\(service.prefix) → \(hosts.joined(separator: ", "))")
        }
        return parts.joined(separator: "; ")
    }

    static func endpointList(_ endpoints: [ServerEndpoint]) -> String {
        endpoints.map { "\($0.host):\($0.port)" }.joined(separator: ", ")
    }

    static func addressList(_ targets: [ConnectionTarget]) -> String {
        targets.map { EndpointHost.address($0.address).description }.joined(separator: ", ")
    }
}
