// swift-tools-version:6.1
import PackageDescription

/// Modules follow the data flow: bytes → XML events (`XMLStreaming`, over `CExpat`) → stanzas and
/// addresses (`XMPP`) → `Translation` ⇄ `PresenceModel`; `FixtureReplay` drives the whole path from
/// transcripts, and `consulate` is the command-line entry point.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Consulate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "consulate", targets: ["consulate"]),
        .library(name: "XMLStreaming", targets: ["XMLStreaming"]),
        .library(name: "XMPP", targets: ["XMPP"]),
        .library(name: "PresenceModel", targets: ["PresenceModel"]),
        .library(name: "Translation", targets: ["Translation"]),
        .library(name: "Configuration", targets: ["Configuration"]),
        .library(name: "Federation", targets: ["Federation"]),
        .library(name: "FederationLinks", targets: ["FederationLinks"]),
        .library(name: "GatewayCore", targets: ["GatewayCore"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .library(name: "FixtureReplay", targets: ["FixtureReplay"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "Administration", targets: ["Administration"]),
        .library(name: "InternalAPI", targets: ["InternalAPI"]),
        .library(name: "GatewayServer", targets: ["GatewayServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `Heap`, for the core's deadlines (already in the graph through SwiftNIO).
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
        // 1.16: `InMemoryLogging`, which the tests capture log records with.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        // Operator metrics (`FederationMetrics`), rendered for Prometheus by `PrometheusExposition`.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        // The durable store: SQLite (the system library, libsqlite3-dev) through GRDB.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // The internal users' HTTP API (`InternalAPI`). Without its default `ConfigurationSupport`
        // trait: that pulls in apple/swift-configuration, whose `Configuration` module clashes with ours.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: ["FullFoundation"]),
        // The internal API's event stream (`GET /v1/me/events`) is a WebSocket.
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.0.0"),
        // `consulate serve` runs the internal API and the gateway as one service group: signals and
        // an ordered graceful shutdown (`GatewayServer`).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // The request type Hummingbird routes (`HTTPRequest`), which the event stream's upgrade check builds.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CExpat",
            pkgConfig: "expat",
            providers: [.apt(["libexpat1-dev"]), .brew(["expat"])]
        ),
        .target(name: "XMLStreaming", dependencies: ["CExpat"], swiftSettings: strictSettings),
        .target(
            name: "XMPP", dependencies: ["XMLStreaming", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strictSettings
        ),
        .target(name: "PresenceModel", swiftSettings: strictSettings),
        .target(
            name: "Translation",
            dependencies: ["Federation", "XMPP", "PresenceModel", "XMLStreaming"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Federation",
            dependencies: [
                "XMPP", "XMLStreaming", "PresenceModel", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "FederationLinks",
            dependencies: [
                "Federation", "XMPP", "XMLStreaming",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // The gateway's decisions as a pure value: no NIO, no clock, no tasks (`GatewayCore`).
        .target(
            name: "GatewayCore",
            dependencies: [
                "Federation", "Translation", "PresenceModel", "XMPP", "XMLStreaming", "Storage",
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "GatewayCore", "FederationLinks", "Federation", "Translation", "PresenceModel", "XMPP", "XMLStreaming", "Storage",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Configuration",
            dependencies: [
                "Federation", "Translation", "PresenceModel", "XMLStreaming", "XMPP",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "FixtureReplay",
            dependencies: ["GatewayCore", "Configuration", "Federation", "Translation", "XMPP", "PresenceModel", "XMLStreaming"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Storage",
            dependencies: [
                "PresenceModel", "XMPP", "XMLStreaming", "Federation",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "InternalAPI",
            dependencies: [
                "Gateway", "GatewayCore", "FederationLinks", "Storage", "Administration", "Federation", "Translation", "PresenceModel", "XMPP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // `AdminClient`'s connection.
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources/openapi.yaml")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "GatewayServer",
            dependencies: [
                "Gateway", "InternalAPI", "Storage", "Administration", "Configuration", "FederationLinks", "PresenceModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // SIGHUP reloads the configuration.
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Administration",
            dependencies: [
                "Storage", "Configuration", "FederationLinks", "Federation", "Translation", "PresenceModel", "XMPP",
                // `consulate check`: our certificate and key read as X.509, DNS sockets on an event loop.
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "consulate",
            dependencies: [
                "FixtureReplay", "Configuration", "Translation", "Gateway", "GatewayServer", "FederationLinks", "Administration", "InternalAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "consulate-bench",
            dependencies: ["XMLStreaming", "XMPP", "Translation", "Federation", "PresenceModel", "Configuration", "Storage"],
            path: "Benchmarks/consulate-bench",
            swiftSettings: strictSettings
        ),
        .testTarget(name: "XMLStreamingTests", dependencies: ["XMLStreaming"], swiftSettings: strictSettings),
        .testTarget(name: "XMPPTests", dependencies: ["XMPP", "XMLStreaming"], swiftSettings: strictSettings),
        .testTarget(name: "PresenceModelTests", dependencies: ["PresenceModel"], swiftSettings: strictSettings),
        .testTarget(
            name: "TranslationTests",
            dependencies: ["Translation", "Federation", "XMPP", "PresenceModel"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FederationLinksTests",
            dependencies: [
                "FederationLinks", "Federation", "XMPP", "XMLStreaming", "ConsulateTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The running gateway over loopback: two gateways federating, scripted peers, a store.
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "GatewayCore", "FederationLinks", "Federation", "Translation", "PresenceModel", "XMPP", "XMLStreaming",
                "ConsulateTestSupport", "Storage", "Configuration",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GatewayCoreTests",
            dependencies: ["GatewayCore", "Federation", "Translation", "PresenceModel", "Storage", "XMPP", "XMLStreaming"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "ConfigurationTests", dependencies: ["Configuration", "XMPP"], swiftSettings: strictSettings),
        .testTarget(
            name: "FederationTests",
            dependencies: ["Federation", "XMPP", "XMLStreaming", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "PresenceModel", "XMPP", "XMLStreaming", "Federation", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "InternalAPITests",
            dependencies: [
                "GatewayCore", "ConsulateTestSupport", "InternalAPI", "Gateway", "FederationLinks", "Storage", "Federation", "Translation", "PresenceModel", "XMPP",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // HummingbirdTesting's HTTP client brings swift-configuration's `Configuration` module,
                // which would clash with ours.
                .product(name: "HummingbirdTesting", package: "hummingbird", moduleAliases: ["Configuration": "SwiftConfiguration"]),
                // A real WebSocket client for the event stream.
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // `UpgradeRefusalHandler` on an `EmbeddedChannel`, with the event loop's clock moved by hand.
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                // A counter recorded through `PrometheusExposition.factory`, read back from `/metrics`.
                .product(name: "Metrics", package: "swift-metrics"),
                // `RequestGuard`'s counts, recorded with `TestMetrics`.
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GatewayServerTests",
            dependencies: [
                "GatewayCore", "ConsulateTestSupport", "GatewayServer", "Gateway", "Storage", "Configuration", "Translation", "PresenceModel", "XMPP", "Administration", "InternalAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                // The `.live` client only (`TestClient`); aliased like InternalAPITests' for the same clash.
                .product(name: "HummingbirdTesting", package: "hummingbird", moduleAliases: ["Configuration": "SwiftConfiguration"]),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // A counter recorded through the launched server's `PrometheusExposition`.
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // What more than one test target needs: the loopback DNS server and the in-process test CA.
        .target(
            name: "ConsulateTestSupport",
            dependencies: [
                "Federation", "Gateway", "GatewayCore", "PresenceModel", "XMPP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AdministrationTests",
            dependencies: [
                "Administration", "Storage", "Configuration", "Federation", "FederationLinks", "PresenceModel", "XMPP",
                "ConsulateTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FixtureReplayTests",
            dependencies: ["FixtureReplay"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
