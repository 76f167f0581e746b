import Federation
import XMPP

/// Where the gateway accepts server-to-server connections (`[listen]`).
package struct ListenSettings: Sendable, Hashable {
    /// An IP address to bind (`0.0.0.0`, `::`, `127.0.0.1`…), never a host name.
    package var address: String
    /// STARTTLS port (RFC 6120: 5269).
    package var port: Int
    /// Direct TLS port (XEP-0368, commonly 5270), where the TLS handshake comes before the stream
    /// header; `nil` opens none. Peers find it through `_xmpps-server._tcp` SRV records, so it
    /// saves them the STARTTLS round trips and never shows them a plaintext stream. Needs `[tls]`.
    package var directTLSPort: Int?

    package init(address: String = "0.0.0.0", port: Int = 5269, directTLSPort: Int? = nil) {
        self.address = address
        self.port = port
        self.directTLSPort = directTLSPort
    }
}

/// The files TLS is made from (`[tls]`). Only paths here: the files are read when the links start,
/// so a configuration can be checked on a machine that does not hold the keys.
package struct TLSFiles: Sendable, Hashable {
    /// PEM: our certificate first, then its intermediates.
    package var certificate: String
    /// PEM: the private key of that certificate.
    package var key: String
    /// PEM bundle of the roots peer certificates are validated against.
    package var caBundle: String

    /// Debian's (and most Linux distributions') system trust store.
    package static let systemCABundle = "/etc/ssl/certs/ca-certificates.crt"

    package init(certificate: String, key: String, caBundle: String = Self.systemCABundle) {
        self.certificate = certificate
        self.key = key
        self.caBundle = caBundle
    }
}

extension ListenSettings {
    /// The direct TLS port is checked against the whole configuration, since `[tls]` may come
    /// after `[listen]` or from the base configuration: a TLS port without a certificate could
    /// only fail every handshake, and one shared with STARTTLS could not be bound.
    func checkDirectTLS(tls: TLSFiles?) throws(ConfigurationError) {
        guard let directTLSPort else { return }
        guard tls != nil else {
            throw ConfigurationError("'listen.direct-tls-port' needs [tls] (certificate and key): direct TLS starts with the TLS handshake")
        }
        guard directTLSPort != port else {
            throw ConfigurationError("'listen.direct-tls-port' = \(directTLSPort) is also 'listen.port'; direct TLS needs a port of its own")
        }
    }
}

extension TableReader {
    func readListen(into settings: inout ListenSettings) throws(ConfigurationError) {
        try expectOnly(["address", "port", "direct-tls-port"])
        if let address = try ipAddress("address") { settings.address = address }
        if let port = try integer("port") { settings.port = try Self.port(port, setting: name("port")) }
        if let port = try integer("direct-tls-port") { settings.directTLSPort = try Self.port(port, setting: name("direct-tls-port")) }
    }

    func readTLS() throws(ConfigurationError) -> TLSFiles {
        try expectOnly(["certificate", "key", "ca-bundle"])
        guard let certificate = try string("certificate"), !certificate.isEmpty else {
            throw ConfigurationError("'\(name("certificate"))' is required: the PEM file with our certificate chain")
        }
        guard let key = try string("key"), !key.isEmpty else {
            throw ConfigurationError("'\(name("key"))' is required: the PEM file with our private key")
        }
        return TLSFiles(certificate: certificate, key: key, caBundle: try string("ca-bundle") ?? TLSFiles.systemCABundle)
    }

    /// An IPv4 or IPv6 address to bind (IPv6 with or without brackets), never a host name: a name
    /// would be resolved at start-up, and could bind somewhere other than the operator meant.
    func ipAddress(_ key: String) throws(ConfigurationError) -> String? {
        guard let address = try string(key) else { return nil }
        guard let jid = try? JID(address.contains(":") && !address.hasPrefix("[") ? "[\(address)]" : address),
            jid.isDomain, jid.domainpart.hasPrefix("[") || jid.domainpart.allSatisfy({ $0.isNumber || $0 == "." })
        else {
            throw ConfigurationError("'\(name(key))' = '\(address)' must be an IP address (0.0.0.0, ::, 127.0.0.1), not a host name")
        }
        return address
    }

    static func port(_ value: Int, setting: String) throws(ConfigurationError) -> Int {
        guard (1...65535).contains(value) else { throw ConfigurationError("'\(setting)' must be a port from 1 to 65535") }
        return value
    }
}

extension TableReader {
    /// `[dns]`: the nameservers federation lookups go to. Only IP addresses: the resolver never
    /// asks the system resolver.
    func readDNS() throws(ConfigurationError) -> DNSResolverConfiguration {
        try expectOnly(["nameservers", "timeout", "attempts"])
        guard let texts = try strings("nameservers"), !texts.isEmpty else {
            throw ConfigurationError("'\(name("nameservers"))' is required: IP addresses such as \"127.0.0.53\" or \"[::1]:5353\"")
        }
        var nameservers: [DNSNameserver] = []
        for text in texts {
            do throws(DNSResolverConfigurationError) {
                nameservers.append(try DNSNameserver(text))
            } catch {
                throw ConfigurationError("'\(name("nameservers"))': \(error)")
            }
        }
        let timeout = try integer("timeout") ?? 2
        let attempts = try integer("attempts") ?? 2
        do throws(DNSResolverConfigurationError) {
            return try DNSResolverConfiguration(nameservers: nameservers, timeout: .seconds(timeout), attempts: attempts)
        } catch {
            throw ConfigurationError("'\(path)': \(error)")
        }
    }
}
