/// Where the internal users' HTTP API listens (`[api]`).
///
/// Loopback by default: the API speaks plain HTTP with bearer tokens, so it should only be reached
/// from this machine or through a TLS-terminating proxy placed in front of it on purpose.
package struct APISettings: Sendable, Hashable {
    /// An IP address to bind (`127.0.0.1`, `::1`, `0.0.0.0`…), never a host name.
    package var address: String
    /// The HTTP port.
    package var port: Int
    /// The most bytes of events one event stream holds for a client that reads slowly; one more
    /// closes the stream (1008) and what it held waits in the store as offline messages.
    package var eventBufferBytes: Int
    /// Open connections to the API, all clients together; one more is answered 503.
    package var connectionLimit: Int
    /// How long a connection may wait for its next request (the first one too) before it is closed.
    package var idleTimeout: Duration
    /// How long a request may take from its head to its last body byte before it is answered 408.
    package var requestTimeout: Duration

    package static let defaultAddress = "127.0.0.1"
    package static let defaultPort = 8080
    /// The gateway's own default (`Gateway.Settings.defaultEventBufferBytes`), which a test keeps
    /// equal to this one.
    package static let defaultEventBufferBytes = 1 << 20
    /// Smaller, a client on a slow link would be cut by a burst of ordinary chat.
    package static let minimumEventBufferBytes = 64 * 1024
    package static let maximumEventBufferBytes = 1 << 30
    /// Also the defaults of `InternalAPI.Limits`.
    package static let defaultConnectionLimit = 1024
    package static let defaultIdleTimeout = Duration.seconds(60)
    package static let defaultRequestTimeout = Duration.seconds(30)

    package init(
        address: String = Self.defaultAddress, port: Int = Self.defaultPort, eventBufferBytes: Int = Self.defaultEventBufferBytes,
        connectionLimit: Int = Self.defaultConnectionLimit, idleTimeout: Duration = Self.defaultIdleTimeout,
        requestTimeout: Duration = Self.defaultRequestTimeout
    ) {
        self.address = address
        self.port = port
        self.eventBufferBytes = eventBufferBytes
        self.connectionLimit = connectionLimit
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
    }

    /// Whether the API is reachable from this machine only, which the default keeps it to.
    package var isLoopback: Bool {
        address.hasPrefix("127.") || address == "::1" || address == "[::1]"
    }
}

extension APISettings {
    /// Checked against `[listen]` once both are read, whichever comes first in the file: one socket
    /// address cannot serve both the API and server-to-server connections.
    func checkPorts(against listen: ListenSettings) throws(ConfigurationError) {
        guard Self.overlap(address, listen.address) else { return }
        if port == listen.port {
            throw ConfigurationError("'api.port' = \(port) is also 'listen.port'; the internal API needs a port of its own")
        }
        if port == listen.directTLSPort {
            throw ConfigurationError("'api.port' = \(port) is also 'listen.direct-tls-port'; the internal API needs a port of its own")
        }
    }

    /// A wildcard address binds every address of its family, so it collides with any other.
    private static func overlap(_ one: String, _ other: String) -> Bool {
        let wildcards: Set<String> = ["0.0.0.0", "::", "[::]"]
        return one == other || wildcards.contains(one) || wildcards.contains(other)
    }

    /// What `load` warns about: a legal setting that sends tokens over plain HTTP beyond this machine.
    var warning: String? {
        guard !isLoopback else { return nil }
        return "'api.address' = '\(address)' exposes the internal API (plain HTTP, bearer tokens) beyond this machine; "
            + "keep it on 127.0.0.1 behind a TLS reverse proxy unless the network is trusted"
    }
}

extension TableReader {
    func readAPI(into settings: inout APISettings) throws(ConfigurationError) {
        try expectOnly(["address", "port", "event-buffer-bytes", "connection-limit", "idle-timeout", "request-timeout"])
        if let address = try ipAddress("address") { settings.address = address }
        if let port = try integer("port") { settings.port = try Self.port(port, setting: name("port")) }
        if let bytes = try integer("event-buffer-bytes") {
            guard (APISettings.minimumEventBufferBytes...APISettings.maximumEventBufferBytes).contains(bytes) else {
                throw ConfigurationError(
                    "'\(name("event-buffer-bytes"))' is \(bytes); use a number of bytes from \(APISettings.minimumEventBufferBytes) (64 KiB) to \(APISettings.maximumEventBufferBytes) (1 GiB)"
                )
            }
            settings.eventBufferBytes = bytes
        }
        if let limit = try integer("connection-limit") {
            guard (1...1_000_000).contains(limit) else {
                throw ConfigurationError("'\(name("connection-limit"))' is \(limit); use a number of connections from 1 to 1000000")
            }
            settings.connectionLimit = limit
        }
        for (key, keyPath) in [("idle-timeout", \APISettings.idleTimeout), ("request-timeout", \APISettings.requestTimeout)] {
            guard let seconds = try integer(key) else { continue }
            guard (1...Self.maximumSeconds).contains(seconds) else {
                throw ConfigurationError("'\(name(key))' is \(seconds); use a number of seconds from 1 to \(Self.maximumSeconds)")
            }
            settings[keyPath: keyPath] = .seconds(seconds)
        }
    }
}
