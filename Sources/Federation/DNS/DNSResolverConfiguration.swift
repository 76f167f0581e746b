package import XMPP

/// One recursive resolver to send queries to.
///
/// It must be an IP address: looking up the resolver's own name would need a resolver, and the only
/// one available would be the system's, which Consulate never uses (its answers could not be made
/// repeatable in tests, and it reads files such as `/etc/hosts` that the gateway must not depend on).
package struct DNSNameserver: Sendable, Hashable, CustomStringConvertible {
    /// The standard DNS port.
    package static let defaultPort: UInt16 = 53

    /// The resolver's address, never a name.
    package let address: IPAddress
    /// 53 for a normal resolver; tests use a high port on loopback.
    package let port: UInt16

    /// Validates the port: 0 cannot be sent to.
    package init(address: IPAddress, port: UInt16 = DNSNameserver.defaultPort) throws(DNSResolverConfigurationError) {
        guard port != 0 else { throw .invalidPort("0") }
        self.address = address
        self.port = port
    }

    /// Parses `127.0.0.1`, `127.0.0.1:5353`, `::1` or `[::1]:5353`; without a port, 53 is used.
    /// A host name is refused with ``DNSResolverConfigurationError/notAnIPAddress(_:)``.
    package init(_ text: String) throws(DNSResolverConfigurationError) {
        var host = Substring(text)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw .notAnIPAddress(text) }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw .notAnIPAddress(text) }
                portText = rest.dropFirst()
            }
            guard IPv6Address(String(host)) != nil else { throw .notAnIPAddress(text) }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard let address = IPAddress(String(host)) else { throw .notAnIPAddress(text) }
        var port = Self.defaultPort
        if let portText {
            let digits = portText.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            guard digits, let value = UInt16(portText) else {
                throw .invalidPort(String(portText))
            }
            port = value
        }
        try self.init(address: address, port: port)
    }

    /// `address:port`, with IPv6 addresses in brackets.
    package var description: String {
        switch address {
        case .v4(let v4): "\(v4):\(port)"
        case .v6(let v6): "[\(v6)]:\(port)"
        }
    }
}

/// How the DNS transport reaches its resolvers: which ones, how long to wait, how often to ask.
///
/// There is deliberately no default nameserver list, so that nothing falls back to the system
/// resolver: production configures its resolvers, and tests point this at a DNS server on loopback
/// (for example `127.0.0.1:5353`) that serves the zone the test needs.
package struct DNSResolverConfiguration: Sendable, Hashable {
    /// The allowed timeout per attempt: long enough for a slow recursive lookup, short enough that a
    /// stanza waiting on it is not held for minutes.
    package static let timeoutRange: ClosedRange<Duration> = .milliseconds(10) ... .seconds(60)
    /// The allowed number of attempts per nameserver.
    package static let attemptsRange: ClosedRange<Int> = 1...10

    /// Asked in order; the next one is tried when one times out or fails.
    package let nameservers: [DNSNameserver]
    /// How long to wait for each response.
    package let timeout: Duration
    /// How many times each query is sent to each nameserver before giving up.
    package let attempts: Int

    /// Validates everything up front, so that a configuration that exists can be used as is.
    package init(
        nameservers: [DNSNameserver],
        timeout: Duration = .seconds(5),
        attempts: Int = 2
    ) throws(DNSResolverConfigurationError) {
        guard !nameservers.isEmpty else { throw .noNameservers }
        guard Self.timeoutRange.contains(timeout) else { throw .timeoutOutOfRange(timeout) }
        guard Self.attemptsRange.contains(attempts) else { throw .attemptsOutOfRange(attempts) }
        self.nameservers = nameservers
        self.timeout = timeout
        self.attempts = attempts
    }
}

/// Why a resolver configuration is refused; the description names the bad value.
package enum DNSResolverConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No nameserver was given, and there is no system fallback.
    case noNameservers
    /// The nameserver is not an IP literal (the text is given); names cannot be used, see
    /// ``DNSNameserver``.
    case notAnIPAddress(String)
    /// The port is not a number from 1 to 65535 (the text is given).
    case invalidPort(String)
    /// The timeout is outside ``DNSResolverConfiguration/timeoutRange``.
    case timeoutOutOfRange(Duration)
    /// The attempt count is outside ``DNSResolverConfiguration/attemptsRange``.
    case attemptsOutOfRange(Int)

    package var description: String {
        switch self {
        case .noNameservers: "at least one nameserver is needed"
        case .notAnIPAddress(let text): "nameserver \"\(text)\" is not an IP address (host names are not allowed)"
        case .invalidPort(let text): "nameserver port \"\(text)\" is not a number from 1 to 65535"
        case .timeoutOutOfRange(let timeout): "DNS timeout \(timeout) is not between 10 ms and 60 s"
        case .attemptsOutOfRange(let attempts): "DNS attempts \(attempts) is not between 1 and 10"
        }
    }
}
