import Administration
import Foundation
package import Configuration
package import FederationLinks
package import Gateway
import Hummingbird
import InternalAPI
package import Logging
package import NIOCore
import PresenceModel
import ServiceLifecycle
package import Storage

/// The whole of what `consulate serve` runs: the store, the gateway that loaded its directory from
/// it (federation listeners already bound), and the internal API on Hummingbird, as one unit with
/// one ordered shutdown. A library type so that tests start and stop it exactly as the command does.
///
/// `run()` serves until SIGINT or SIGTERM (when launched with `handlesSignals`) or `stop()`; then
/// the API stops accepting and finishes its requests first, and only then does the gateway close
/// its links and write the last changes to the store, so no acknowledged change is lost.
package struct GatewayServer: Sendable {
    /// The running gateway.
    package let gateway: Gateway
    /// The store the directory came from and changes go to.
    package let store: any GatewayStore
    /// The federation listeners' ports, bound by the launch.
    package let ports: Gateway.ListeningPorts
    /// Applies `federation.toml` again (SIGHUP) and runtime allowlist changes to the running gateway.
    package let reloader: ConfigurationReloader
    private let serviceGroup: ServiceGroup
    private let apiBinding: APIBinding

    fileprivate init(
        gateway: Gateway, store: any GatewayStore, ports: Gateway.ListeningPorts, reloader: ConfigurationReloader,
        serviceGroup: ServiceGroup, apiBinding: APIBinding
    ) {
        self.gateway = gateway
        self.store = store
        self.ports = ports
        self.reloader = reloader
        self.serviceGroup = serviceGroup
        self.apiBinding = apiBinding
    }

    /// Serves the internal API next to the federation listeners until a termination signal or
    /// `stop()`, then shuts both down in order; throws when the API cannot be served (its address
    /// is taken, say), after shutting the gateway down all the same.
    package func run() async throws {
        do {
            try await serviceGroup.run()
            await apiBinding.end()
        } catch {
            await apiBinding.end()
            throw error
        }
    }

    /// The address the internal API listens on, once it does; `nil` if `run()` ended before it
    /// could bind. With port 0 in `[api]`, the only way to learn the port.
    package func apiAddress() async -> SocketAddress? {
        await apiBinding.address()
    }

    /// Starts the ordered shutdown `run()` performs on a termination signal.
    package func stop() async {
        await serviceGroup.triggerGracefulShutdown()
    }
}

extension GatewayLauncher {
    /// Opens the store `[store]` names, loads the internal users from it into a new gateway that
    /// writes their changes back, binds the federation listeners, and prepares the internal API on
    /// `[api]`: everything that can fail on a bad configuration fails here, before anything is
    /// served. Serve with `run()` on the result.
    /// - Parameter handlesSignals: whether SIGINT and SIGTERM stop the server and SIGHUP reloads
    ///   `configurationPath` (the command), or only `stop()` and `reloader` do (tests, which must
    ///   not take the process's signals).
    /// - Parameter configurationPath: the file `configuration` was loaded from, read again on
    ///   SIGHUP; `nil` when there is none (the runtime allowlist still applies).
    /// - Parameter exposition: the Prometheus rendering of the process's metrics, served by the
    ///   internal API at `GET /metrics`. `nil` (the default) serves no such route: the launch cannot
    ///   make one itself, since only the exposition whose factory `metrics` records into has
    ///   anything worth scraping.
    package static func launch(
        configuration: GatewayConfiguration,
        group: any EventLoopGroup,
        resolvConf: String = "/etc/resolv.conf",
        metrics: FederationMetrics = FederationMetrics(),
        exposition: PrometheusExposition? = nil,
        logger: Logger = Logger(label: "consulate.gateway"),
        handlesSignals: Bool = true,
        configurationPath: String? = nil
    ) async throws(LaunchError) -> GatewayServer {
        let store: SQLiteStore
        do throws(StorageError) {
            store = try SQLiteStore(
                path: configuration.store.path, archivePolicy: ArchivePolicy(configuration.store.archive), busyTimeout: configuration.store.busyTimeout
            )
        } catch {
            throw LaunchError(message: "[store]: cannot open '\(configuration.store.path)': \(error)")
        }
        let directory: PresenceDirectory
        do throws(StorageError) {
            directory = try await store.loadDirectory()
        } catch {
            throw LaunchError(message: "[store]: cannot read the internal users from '\(configuration.store.path)': \(error)")
        }
        // The allowlist as it stands: the file's partners with the runtime changes over them.
        let administration = Administration(store: store, localDomains: configuration.translation.localDomains)
        let effective: GatewayConfiguration
        do throws(AdminError) {
            effective = try await administration.effectiveConfiguration(configuration)
        } catch {
            throw LaunchError(message: "[store]: cannot read the runtime allowlist changes from '\(configuration.store.path)': \(error.message)")
        }
        let gateway = try makeGateway(
            configuration: effective, directory: directory, group: group, resolvConf: resolvConf,
            metrics: metrics, logger: logger, store: store
        )
        let ports: Gateway.ListeningPorts
        do {
            ports = try await gateway.bind()
        } catch let error as GatewaySettingsError {
            throw LaunchError(message: error.message)
        } catch {
            throw LaunchError(message: "[listen]: cannot listen on \(configuration.listen.address):\(configuration.listen.port): \(error)")
        }
        let binding = APIBinding()
        let eventStreamTokens = EventStreamTokens()
        let reloader = ConfigurationReloader(
            path: configurationPath, file: configuration, gateway: gateway, administration: administration, eventStreamTokens: eventStreamTokens,
            logger: logger
        )
        let check: (@Sendable (Bool) async -> [ConfigurationCheck.Finding])? = configurationPath.map { path in
            { @Sendable withDNS in await ConfigurationCheck.run(path: path, now: Date(), dns: withDNS ? group : nil).findings }
        }
        let admin = InternalAPI.AdminSettings(
            localDomains: configuration.translation.localDomains,
            filePartners: { await reloader.filePartners },
            storeChanged: { change in try? await reloader.applyStoreChanges([change]) },
            links: { await gateway.linkSnapshot() },
            check: check
        )
        let limits = InternalAPI.Limits(
            connectionLimit: configuration.api.connectionLimit, idleTimeout: configuration.api.idleTimeout, requestTimeout: configuration.api.requestTimeout
        )
        let router = InternalAPI.router(gateway: gateway, store: store, limits: limits, admin: admin, metrics: exposition, eventStreamTokens: eventStreamTokens)
        let application = Application(
            router: router,
            server: InternalAPI.server(router: router, limits: limits, metrics: metrics),
            configuration: ApplicationConfiguration(address: .hostname(configuration.api.address, port: configuration.api.port)),
            onServerRunning: { channel in await binding.bound(channel.localAddress) },
            eventLoopGroupProvider: .shared(group),
            logger: logger
        )
        // A group shuts its services down in reverse order, so the API stops (finishing its
        // requests) before the gateway closes its links and stores the last changes; an API that
        // fails (its address taken, say) shuts the group down gracefully too, so those are stored.
        let api = ServiceGroupConfiguration.ServiceConfiguration(
            service: application, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup
        )
        let serviceGroup = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: gateway)] + (handlesSignals ? [.init(service: ReloadOnSignals(reloader: reloader))] : []) + [api],
                gracefulShutdownSignals: handlesSignals ? [.sigterm, .sigint] : [],
                logger: logger
            )
        )
        return GatewayServer(gateway: gateway, store: store, ports: ports, reloader: reloader, serviceGroup: serviceGroup, apiBinding: binding)
    }
}

/// Where the API's server bound, for callers waiting on it before it has; resolved once.
actor APIBinding {
    private var boundAddress: SocketAddress?
    private var ended = false
    private var waiters: [CheckedContinuation<SocketAddress?, Never>] = []

    func bound(_ address: SocketAddress?) {
        guard let address else { return end() }
        boundAddress = address
        resume(with: address)
    }

    /// The server stopped (or never started): nobody waits for an address any more.
    func end() {
        ended = true
        resume(with: boundAddress)
    }

    func address() async -> SocketAddress? {
        if let boundAddress { return boundAddress }
        if ended { return nil }
        return await withCheckedContinuation { waiters.append($0) }
    }

    private func resume(with address: SocketAddress?) {
        waiters.forEach { $0.resume(returning: address) }
        waiters = []
    }
}
