package import Gateway

extension Gateway {
    /// Binds the listeners and runs the gateway in the background, as a test wants it: the ports
    /// come back once it runs (what a previous run left in the store is queued again by then),
    /// and `shutdown()` stops the gateway and waits for the end of `run()`.
    package func start() async throws -> ListeningPorts {
        let ports = try await bind()
        Task { try await self.run() }
        await settled()
        return ports
    }
}
