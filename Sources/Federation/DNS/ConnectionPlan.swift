package import XMPP

/// The two SRV services that locate an XMPP server for server-to-server links.
package enum XMPPServerService: Sendable, Hashable, CaseIterable {
    /// `_xmpps-server._tcp` (XEP-0368): TLS from the first byte. Tried first because it saves the
    /// STARTTLS round trips. There is no default port: without SRV records it is not attempted.
    case directTLS
    /// `_xmpp-server._tcp` (RFC 6120 §3.2): a plain TCP stream upgraded with STARTTLS.
    case startTLS

    /// The labels put in front of the domain.
    package var prefix: String {
        switch self {
        case .directTLS: "_xmpps-server._tcp"
        case .startTLS: "_xmpp-server._tcp"
        }
    }

    /// The name to ask SRV records for, such as `_xmpp-server._tcp.example.com`. Fails only if the
    /// domain is so long that the prefix pushes it past 255 octets.
    package func queryName(for domain: DNSName) throws(DNSNameError) -> DNSName {
        try domain.prepending(prefix)
    }
}

/// What to connect to: a name still to be resolved, or an address.
package enum EndpointHost: Sendable, Hashable, CustomStringConvertible {
    /// A name that needs A and AAAA lookups before anything can be connected to.
    case name(DNSName)
    /// An address needs no lookup; it comes from a static route or an IP-literal domain.
    case address(IPAddress)

    /// Reads an IP literal as an address and anything else as a name. An IPv6 address may be in
    /// brackets, as a JID domainpart writes it (RFC 7622 §3.2), so that a remote domain can be
    /// passed as is: an address gets ``ConnectionPlan/init(addressLiteral:)``, a name SRV lookups.
    package init(_ text: String) throws(DNSNameError) {
        if let address = IPAddress(text) {
            self = .address(address)
        } else if text.hasPrefix("["), text.hasSuffix("]"),
            let address = IPv6Address(String(text.dropFirst().dropLast()))
        {
            self = .address(.v6(address))
        } else {
            self = .name(try DNSName(text))
        }
    }

    package var description: String {
        switch self {
        case .name(let name): name.description
        case .address(.v4(let address)): address.description
        case .address(.v6(let address)): "[\(address)]"
        }
    }
}

/// One place to try, before address resolution.
package struct ServerEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Where to connect; SRV targets and the fallback domain are names.
    package var host: EndpointHost
    /// The SRV port, or 5269 for the fallback and routes without one.
    package var port: UInt16
    /// Whether to start TLS at once (XEP-0368) rather than negotiate STARTTLS. Either way the
    /// certificate is checked against the remote XMPP domain, not against `host`.
    package var directTLS: Bool

    /// An endpoint as given; static routes from configuration are built this way.
    package init(host: EndpointHost, port: UInt16, directTLS: Bool) {
        self.host = host
        self.port = port
        self.directTLS = directTLS
    }

    package var description: String {
        "\(host):\(port)\(directTLS ? " (direct TLS)" : "")"
    }
}

/// Why no connection can be attempted to a domain, split the way stanza errors are: an
/// authoritative "no" bounces with `remote-server-not-found`, a failure that may pass with
/// `remote-server-timeout` (and the link manager may retry later rather than give up).
package enum ResolutionFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// NXDOMAIN for the domain itself: it does not exist.
    case noSuchDomain
    /// The domain publishes `.` as its SRV target: it runs no XMPP server (RFC 2782).
    case serviceUnavailable
    /// The names exist but none of the hosts to try has an address.
    case noAddresses
    /// SERVFAIL, REFUSED or a timeout left nothing to try; a later attempt may succeed.
    case temporaryFailure

    /// Whether retrying later could help.
    package var isTemporary: Bool { self == .temporaryFailure }

    /// The RFC 6120 §8.3.3 condition to bounce stanzas with.
    package var stanzaErrorCondition: StanzaError.Condition {
        isTemporary ? .remoteServerTimeout : .remoteServerNotFound
    }

    package var description: String {
        switch self {
        case .noSuchDomain: "the domain does not exist"
        case .serviceUnavailable: "the domain declares that it offers no XMPP service"
        case .noAddresses: "no server for the domain has an address"
        case .temporaryFailure: "DNS lookups failed temporarily"
        }
    }
}

/// The A and AAAA lookups for one host.
package struct HostAddresses: Sendable, Hashable {
    /// The AAAA lookup.
    package var ipv6: DNSLookupOutcome<IPv6Address>
    /// The A lookup.
    package var ipv4: DNSLookupOutcome<IPv4Address>

    /// Both lookups, as the transport finished them; one family failing does not spoil the other.
    package init(ipv6: DNSLookupOutcome<IPv6Address>, ipv4: DNSLookupOutcome<IPv4Address>) {
        self.ipv6 = ipv6
        self.ipv4 = ipv4
    }

    /// The addresses in connection order (see ``interleave(ipv6:ipv4:)``).
    package var ordered: [IPAddress] {
        Self.interleave(ipv6: ipv6.records, ipv4: ipv4.records)
    }

    /// RFC 8305 §4 ordering with a "First Address Family Count" of one: an IPv6 address first, then
    /// alternate families, and the rest of the longer list at the end. A broken IPv6 path then costs
    /// one connection attempt, not all of them. Within each family the DNS order is kept (RFC 6724
    /// destination sorting needs the host's routes, which a pure function does not have).
    package static func interleave(ipv6: [IPv6Address], ipv4: [IPv4Address]) -> [IPAddress] {
        var result: [IPAddress] = []
        result.reserveCapacity(ipv6.count + ipv4.count)
        for index in 0..<max(ipv6.count, ipv4.count) {
            if index < ipv6.count { result.append(.v6(ipv6[index])) }
            if index < ipv4.count { result.append(.v4(ipv4[index])) }
        }
        return result
    }
}

/// A socket address to try, in order, with what the connection needs to know about it.
package struct ConnectionTarget: Sendable, Hashable, CustomStringConvertible {
    /// The address to open a TCP connection to.
    package var address: IPAddress
    /// The endpoint's port.
    package var port: UInt16
    /// Whether TLS starts at once (XEP-0368) rather than after STARTTLS.
    package var directTLS: Bool
    /// The endpoint this address came from, for logs.
    package var host: EndpointHost

    /// A target as given; ``ConnectionPlan/connectionTargets(addresses:)`` builds them.
    package init(address: IPAddress, port: UInt16, directTLS: Bool, host: EndpointHost) {
        self.address = address
        self.port = port
        self.directTLS = directTLS
        self.host = host
    }

    package var description: String {
        "\(EndpointHost.address(address)):\(port)\(directTLS ? " (direct TLS)" : "") via \(host)"
    }
}

/// Where to connect for a remote XMPP domain: the endpoints to try in order, before their names are
/// resolved to addresses.
///
/// Resolution is two pure steps around the transport's lookups. First the two SRV lookups become
/// a plan (``resolve(domain:directTLS:startTLS:using:)``); then the A/AAAA lookups for
/// ``hostNamesToResolve`` become socket addresses (``connectionTargets(addresses:)``). A static
/// route (``init(overridingDNSWith:)``) skips the SRV step entirely; a configured route's host
/// text becomes an ``EndpointHost`` with ``EndpointHost/init(_:)``.
package struct ConnectionPlan: Sendable, Hashable {
    /// The IANA `xmpp-server` port, used when SRV records are absent (RFC 6120 §3.2.2).
    package static let defaultPort: UInt16 = 5269

    /// The domain whose own A/AAAA answers are authoritative about its existence; `nil` when the
    /// plan did not come from DNS.
    package let domain: DNSName?
    /// The endpoints to try, in order: direct-TLS SRV targets, then STARTTLS SRV targets, or the
    /// domain itself on port 5269 when neither service has SRV records.
    package let endpoints: [ServerEndpoint]
    /// Whether some SRV lookup failed temporarily. Then an empty result later is reported as a
    /// temporary failure: the missing records might have given other targets.
    package let hadTemporaryFailure: Bool

    /// A plan that ignores DNS and connects only to `endpoint`: a per-partner override for partners
    /// whose DNS is missing or wrong, and for tests that run peers on loopback.
    package init(overridingDNSWith endpoint: ServerEndpoint) {
        domain = nil
        endpoints = [endpoint]
        hadTemporaryFailure = false
    }

    /// A plan for a domain that is an IP literal (RFC 7622 §3.2 allows them): no DNS, port 5269,
    /// STARTTLS.
    package init(addressLiteral address: IPAddress) {
        self.init(overridingDNSWith: ServerEndpoint(host: .address(address), port: Self.defaultPort, directTLS: false))
    }

    private init(domain: DNSName, endpoints: [ServerEndpoint], hadTemporaryFailure: Bool) {
        self.domain = domain
        self.endpoints = endpoints
        self.hadTemporaryFailure = hadTemporaryFailure
    }

    /// Turns the two SRV lookups for `domain` into endpoints.
    ///
    /// - Each service's records are ordered per RFC 2782 (the generator drives the weighted
    ///   choice); direct-TLS targets come first, then STARTTLS ones.
    /// - If either service answers with only `.`, the domain has stated its SRV configuration, so
    ///   there is no A/AAAA fallback; with no targets at all that is ``ResolutionFailure/serviceUnavailable``
    ///   (or ``ResolutionFailure/temporaryFailure`` if the other lookup failed and might have
    ///   given targets).
    /// - If neither service has records, the domain itself is tried on port 5269 with STARTTLS.
    ///   Per RFC 6120 §3.2.1 this fallback also applies when an SRV lookup failed, rather than
    ///   giving up; the plan remembers the failure (``hadTemporaryFailure``) so that a later
    ///   empty result is reported as temporary.
    ///
    /// NXDOMAIN on an SRV name says only that `_xmpp-server._tcp.<domain>` does not exist, not that
    /// the domain does not, so it is handled like NODATA; the domain's own A/AAAA lookup decides
    /// ``ResolutionFailure/noSuchDomain``.
    package static func resolve(
        domain: DNSName,
        directTLS: DNSLookupOutcome<SRVRecord>,
        startTLS: DNSLookupOutcome<SRVRecord>,
        using generator: inout some RandomNumberGenerator
    ) -> Result<ConnectionPlan, ResolutionFailure> {
        var endpoints: [ServerEndpoint] = []
        var unavailable = false
        for (outcome, isDirectTLS) in [(directTLS, true), (startTLS, false)] {
            guard case .answers(let records) = outcome, !records.isEmpty else { continue }
            switch SRVRecord.serviceAnswer(records, using: &generator) {
            case .decidedlyUnavailable:
                unavailable = true
            case .targets(let targets):
                endpoints += targets.map {
                    ServerEndpoint(host: .name($0.target), port: $0.port, directTLS: isDirectTLS)
                }
            }
        }
        let temporary = directTLS.isTemporaryFailure || startTLS.isTemporaryFailure
        if endpoints.isEmpty {
            if unavailable { return .failure(temporary ? .temporaryFailure : .serviceUnavailable) }
            endpoints = [ServerEndpoint(host: .name(domain), port: defaultPort, directTLS: false)]
        }
        return .success(ConnectionPlan(domain: domain, endpoints: endpoints, hadTemporaryFailure: temporary))
    }

    /// The distinct names that need A and AAAA lookups, in the order they will be tried.
    package var hostNamesToResolve: [DNSName] {
        var seen: Set<DNSName> = []
        return endpoints.compactMap { endpoint in
            guard case .name(let name) = endpoint.host, seen.insert(name).inserted else { return nil }
            return name
        }
    }

    /// Expands the endpoints into socket addresses to try in order: endpoint by endpoint, each
    /// host's addresses interleaved per RFC 8305 (``HostAddresses/interleave(ipv6:ipv4:)``), with
    /// repeats of the same address, port and TLS mode dropped.
    ///
    /// A name missing from `addresses` counts as a lookup that got no answer. When no address is
    /// found at all the failure is, in this order: ``ResolutionFailure/noSuchDomain`` if the
    /// domain itself was looked up and is NXDOMAIN; ``ResolutionFailure/temporaryFailure`` if any
    /// lookup (here or in the SRV step) failed temporarily; otherwise
    /// ``ResolutionFailure/noAddresses``.
    package func connectionTargets(
        addresses: [DNSName: HostAddresses]
    ) -> Result<[ConnectionTarget], ResolutionFailure> {
        var targets: [ConnectionTarget] = []
        var seen: Set<AddressKey> = []
        var temporary = hadTemporaryFailure
        var domainMissing = false
        for endpoint in endpoints {
            let found: [IPAddress]
            switch endpoint.host {
            case .address(let address):
                found = [address]
            case .name(let name):
                guard let lookups = addresses[name] else {
                    temporary = true
                    continue
                }
                found = lookups.ordered
                if found.isEmpty {
                    let nxdomain = lookups.ipv6 == .noSuchDomain || lookups.ipv4 == .noSuchDomain
                    if nxdomain, name == domain { domainMissing = true }
                    if !nxdomain, lookups.ipv6.isTemporaryFailure || lookups.ipv4.isTemporaryFailure {
                        temporary = true
                    }
                }
            }
            for address in found {
                let target = ConnectionTarget(
                    address: address, port: endpoint.port, directTLS: endpoint.directTLS, host: endpoint.host
                )
                let key = AddressKey(address: address, port: endpoint.port, directTLS: endpoint.directTLS)
                if seen.insert(key).inserted { targets.append(target) }
            }
        }
        if !targets.isEmpty { return .success(targets) }
        if domainMissing { return .failure(.noSuchDomain) }
        return .failure(temporary ? .temporaryFailure : .noAddresses)
    }

    /// What makes two targets the same attempt, whichever host name led to them.
    private struct AddressKey: Hashable {
        var address: IPAddress
        var port: UInt16
        var directTLS: Bool
    }
}
