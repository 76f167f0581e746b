import GatewayServer
import Administration
import ArgumentParser
import Configuration
import Gateway

/// `--config`, shared by the admin commands: the store they change is the one `federation.toml`
/// names, so `serve` and the admin commands cannot disagree about which file it is.
struct AdminOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file; its [store] path says which store to change.")
    var config: String = "federation.toml"

    /// The configuration and the store it names; an invalid file or an unopenable store ends the
    /// process with exit code 2 or 1 and the message. The file's warnings are left to `serve` and
    /// `check`, so that they do not drown every admin command's output.
    func open() throws -> (GatewayConfiguration, Administration) {
        let configuration = try load()
        return (configuration, try orExit { () throws(AdminError) in try Administration.open(configuration) })
    }

    /// The configuration alone, for commands that ask the running server instead of the store.
    func load() throws -> GatewayConfiguration {
        try orExit { () throws(LaunchError) in try GatewayLauncher.loadConfiguration(path: config) }
    }
}

extension AdminOptions {
    /// Tells the `consulate serve` running on the changed store what changed, so it applies it now,
    /// and says on standard error whether one did: the change is stored either way.
    func applyToRunningServer(_ configuration: GatewayConfiguration, _ change: StoreChange) {
        switch RunningServer(storePath: configuration.store.path).notify(change) {
        case .signalled(let pid):
            printError("consulate: the running gateway (pid \(pid)) applies the change now")
        case .notRunning:
            printError("consulate: no gateway runs on this store; the change applies when it starts")
        }
    }
}
