package import Administration
import Configuration
package import Federation
import Gateway
import InternalAPI
import Logging
import PresenceModel
import ServiceLifecycle
import UnixSignals

/// Applies configuration changes to the running gateway without a restart: `federation.toml` read
/// again (SIGHUP), and the runtime allowlist changes of the store (after `consulate domains` or the
/// admin API changed them). What can change this way is who federates and how (partners, mode,
/// blocklist, trust, timers), the presence settings and the stanza log; listeners, TLS files, DNS,
/// limits, the store, the API, the log level, our own domains and the dialback secret need a
/// restart, and a reload that changes one of the first eight says so.
///
/// A file that does not load (a syntax error, an invalid partner) changes nothing: the gateway
/// keeps the settings it runs with, and the reason is logged and returned.
package actor ConfigurationReloader {
    private let path: String?
    /// The file's configuration as last loaded successfully, before runtime changes.
    private var file: GatewayConfiguration
    /// The configuration the gateway was launched with: what a reload compares against to say
    /// what needs a restart, and where our domains and the users' resource stay, since the
    /// listeners, certificates and stored users were set up for them.
    private let launched: GatewayConfiguration
    private let gateway: Gateway
    private let administration: Administration
    /// The event streams' tokens, checked again whenever users change (a token issued anew
    /// revokes the old ones).
    private let eventStreamTokens: EventStreamTokens
    private let logger: Logger

    init(
        path: String?, file: GatewayConfiguration, gateway: Gateway, administration: Administration, eventStreamTokens: EventStreamTokens,
        logger: Logger
    ) {
        self.path = path
        self.file = file
        launched = file
        self.gateway = gateway
        self.administration = administration
        self.eventStreamTokens = eventStreamTokens
        self.logger = logger
    }

    /// The file's `[[partner]]` entries as last loaded, for the admin routes that show the
    /// allowlist next to its runtime changes.
    package var filePartners: [PartnerPolicy] { file.federation.partners }

    /// Reads the configuration file again and applies it with the store's runtime changes over it;
    /// returns the settings that were not applied because they need a restart.
    @discardableResult
    package func reloadFile() async throws(LaunchError) -> [String] {
        guard let path else { throw LaunchError(message: "the gateway was started without a configuration file to reload") }
        let loaded: GatewayConfiguration
        do throws(LaunchError) {
            loaded = try GatewayLauncher.loadConfiguration(path: path)
        } catch {
            logger.error("configuration reload refused: the running settings are kept", metadata: ["file": "\(path)", "reason": "\(error.message)"])
            throw error
        }
        let needRestart = Self.settingsNeedingRestart(from: launched, to: loaded)
        for warning in loaded.warnings { logger.warning("configuration warning", metadata: ["warning": "\(warning)"]) }
        if !needRestart.isEmpty {
            logger.warning(
                "configuration reloaded, but some changes take effect only after a restart",
                metadata: ["settings": "\(needRestart.joined(separator: ", "))"]
            )
        }
        file = loaded
        await gateway.setStanzaLog(StanzaLog.Mode(loaded.log.stanzas))
        try await applyStoreChanges()
        logger.notice("configuration reloaded", metadata: ["file": "\(path)"])
        return needRestart
    }

    /// Applies what admin operations changed in the store: the runtime allowlist over the file's
    /// partners, and internal users created or removed. The admin API names what its change
    /// touched (an allowlist change does not read every user back), and so do `consulate domains`
    /// and `consulate users` from another process, by signal (`StoreChange.signal`); a reload of
    /// the file applies both.
    package func applyStoreChanges(_ changes: Set<StoreChange> = Set(StoreChange.allCases)) async throws(LaunchError) {
        do throws(AdminError) {
            if changes.contains(.allowlist) {
                let effective = try await administration.effectiveConfiguration(file)
                var translation = effective.translation
                translation.localDomains = launched.translation.localDomains
                translation.resource = launched.translation.resource
                await gateway.reconfigure(policy: effective.federation, translation: translation)
            }
            if changes.contains(.users) {
                // First: a revoked token must not keep its stream because the directory could not be read.
                let revoked = await eventStreamTokens.recheck(in: administration.store)
                if revoked > 0 { logger.notice("event streams closed: their tokens were revoked", metadata: ["streams": "\(revoked)"]) }
                await gateway.synchronizeUsers(with: try await administration.directory())
            }
        } catch {
            logger.error("could not read the runtime changes from the store: the running settings are kept", metadata: ["reason": "\(error.message)"])
            throw LaunchError(message: error.message)
        }
        await gateway.settled()
    }

    /// The sections a reload cannot apply, by name, when they differ.
    static func settingsNeedingRestart(from old: GatewayConfiguration, to new: GatewayConfiguration) -> [String] {
        var changed: [String] = []
        if old.translation.localDomains != new.translation.localDomains { changed.append("[gateway] domains") }
        if old.translation.resource != new.translation.resource { changed.append("[gateway] resource") }
        if old.listen != new.listen { changed.append("[listen]") }
        if old.tls != new.tls { changed.append("[tls]") }
        if old.dns != new.dns { changed.append("[dns]") }
        if old.store != new.store { changed.append("[store]") }
        if old.api != new.api { changed.append("[api]") }
        if old.log.level != new.log.level { changed.append("[log] level") }
        if old.preAuthenticationLimits != new.preAuthenticationLimits || old.postAuthenticationLimits != new.postAuthenticationLimits {
            changed.append("[limits]")
        }
        return changed
    }
}

/// Reloads the configuration on SIGHUP, the way operators reload daemons (`systemctl reload`,
/// `kill -HUP`), and applies what `consulate users` (SIGUSR1) or `consulate domains` (SIGUSR2)
/// changed in the store (`StoreChange.signal`), reading back only that.
struct ReloadOnSignals: Service {
    let reloader: ConfigurationReloader

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigusr1, .sigusr2)
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .sigusr1: _ = try? await reloader.applyStoreChanges([.users])
            case .sigusr2: _ = try? await reloader.applyStoreChanges([.allowlist])
            default: _ = try? await reloader.reloadFile()
            }
        }
    }
}
