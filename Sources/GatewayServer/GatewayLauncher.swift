import Administration
package import Configuration
import Federation
package import FederationLinks
import Foundation
package import Logging
package import NIOCore
package import PresenceModel
package import Storage
package import Gateway

/// Why the gateway cannot start: a message for the operator naming what to fix.
package struct LaunchError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { message }

    /// Public so that what launches more than the gateway (`GatewayServer`: the store, the API)
    /// reports its own refusals the same way.
    package init(message: String) {
        self.message = message
    }
}

/// Turns a `federation.toml` into a running `Gateway`: what `consulate serve` does, as a library
/// function so that it is tested like the rest.
package enum GatewayLauncher {
    /// Reads and validates the configuration file (`GatewayConfiguration.load(path:)`), its
    /// refusal as a launch refusal.
    package static func loadConfiguration(path: String) throws(LaunchError) -> GatewayConfiguration {
        do throws(ConfigurationError) {
            return try GatewayConfiguration.load(path: path)
        } catch {
            throw LaunchError(message: error.message)
        }
    }

    /// Builds the gateway: TLS from its files, DNS from `[dns]` or `resolvConf`, a dialback secret
    /// from the configuration or freshly drawn, unpredictable stream ids, and `metrics` to count
    /// in (the command passes its `PrometheusExposition`'s). With `store`, what internal users
    /// change is written to it (`directory` is then what it loaded).
    package static func makeGateway(
        configuration: GatewayConfiguration,
        directory: PresenceDirectory,
        group: any EventLoopGroup,
        resolvConf: String = "/etc/resolv.conf",
        metrics: FederationMetrics = FederationMetrics(),
        logger: Logger = Logger(label: "consulate.gateway"),
        store: (any GatewayStore)? = nil
    ) throws(LaunchError) -> Gateway {
        let tls = try configuration.tls.map { files throws(LaunchError) in try loadTLS(files) }
        let dns: DNSResolverConfiguration
        if let configured = configuration.dns { dns = configured } else { dns = try systemNameservers(resolvConf) }
        let secret = configuration.federation.settings.dialbackSecret ?? DialbackSecret(randomHex(bytes: 32))
        let settings = Gateway.Settings(
            translation: configuration.translation,
            policy: configuration.federation,
            limits: (configuration.preAuthenticationLimits, configuration.postAuthenticationLimits),
            tls: tls,
            dialbackSecret: secret,
            listenAddress: configuration.listen.address,
            listenPort: configuration.listen.port,
            directTLSPort: configuration.listen.directTLSPort,
            storeBacklogLimit: configuration.store.writeQueueLimit,
            eventBufferBytes: configuration.api.eventBufferBytes
        )
        return Gateway(
            settings: settings,
            directory: directory,
            group: group,
            resolveTargets: Gateway.targetResolver(using: DNSResolver(configuration: dns, group: group)),
            makeStreamID: { randomHex(bytes: 16) },
            logger: logger,
            stanzaLog: StanzaLog(mode: StanzaLog.Mode(configuration.log.stanzas)),
            metrics: metrics,
            store: store,
            archiveRetentionDays: configuration.store.archiveRetentionDays,
            descriptorLimit: DescriptorLimit.raised()
        )
    }

    /// Reads the certificate chain, key and trusted roots of `[tls]`.
    static func loadTLS(_ files: TLSFiles) throws(LaunchError) -> FederationTLS {
        do throws(TLSFilesError) {
            return try FederationTLS(files)
        } catch {
            throw LaunchError(message: error.message)
        }
    }

    /// The `nameserver` lines of a resolv.conf, as the default when `[dns]` is not configured.
    static func systemNameservers(_ path: String) throws(LaunchError) -> DNSResolverConfiguration {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var nameservers: [DNSNameserver] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver", let server = try? DNSNameserver(String(fields[1])) else { continue }
            nameservers.append(server)
        }
        do throws(DNSResolverConfigurationError) {
            return try DNSResolverConfiguration(nameservers: nameservers)
        } catch {
            throw LaunchError(message: "no [dns] nameservers are configured and '\(path)' lists none usable: \(error)")
        }
    }

    /// Hex of `bytes` random bytes from the system's secure generator: stream ids and secrets.
    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}

extension StanzaLog.Mode {
    /// The stanza log `[log]` asks for.
    package init(_ setting: LogSettings.Stanzas) {
        switch setting {
        case .off: self = .off
        case .withoutBodies: self = .withoutBodies
        case .withBodies: self = .withBodies
        }
    }
}
