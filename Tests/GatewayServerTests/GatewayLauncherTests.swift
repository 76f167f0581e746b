import Configuration
import ConsulateTestSupport
import Foundation
import Gateway
import GatewayCore
import GatewayServer
import NIOPosix
import PresenceModel
import Testing

@Suite("Gateway launcher (consulate serve)")
struct GatewayLauncherTests {
    static func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-\(UUID().uuidString).toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("invalid configurations are refused with the file and the setting named", arguments: [
        ("[gateway]\ndomains = ['contoso.example']\n[[partner]]\ndomain = 'fabrikam.example'\ntls = 'not-supported'\nsasl = 'required'\ndialback = false", "leaves no way to authenticate"),
        ("[[partner]]\ndomain = 'fabrikam.example'", "'gateway.domains' is required"),
        ("[gateway]\ndomains = ['contoso.example']\n[dns]\nnameservers = ['dns.example']", "'dns.nameservers'"),
    ])
    func refused(toml: String, expected: String) throws {
        let path = try Self.write(toml)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do throws(LaunchError) {
            _ = try GatewayLauncher.loadConfiguration(path: path)
            Issue.record("accepted: \(toml)")
        } catch {
            #expect(error.message.hasPrefix(path))
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test("a missing file and missing TLS files are refused clearly")
    func missingFiles() throws {
        do throws(LaunchError) {
            _ = try GatewayLauncher.loadConfiguration(path: "/nonexistent/federation.toml")
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.message.contains("cannot read the configuration file"))
        }
        let configuration = try GatewayConfiguration.load(
            toml: "[gateway]\ndomains = ['contoso.example']\n[tls]\ncertificate = '/nonexistent/c.pem'\nkey = '/nonexistent/k.pem'\n[dns]\nnameservers = ['127.0.0.1']"
        )
        do throws(LaunchError) {
            _ = try GatewayLauncher.makeGateway(configuration: configuration, directory: PresenceDirectory(), group: MultiThreadedEventLoopGroup.singleton)
            Issue.record("missing TLS files were accepted")
        } catch {
            #expect(error.message.contains("[tls]: cannot read the certificate file '/nonexistent/c.pem'"))
        }
    }

    @Test("the file's defaults are the gateway's, and what the file sets reaches the gateway")
    func defaultsAgree() throws {
        #expect(StoreSettings.defaultWriteQueueLimit == GatewayCore.Configuration.defaultStoreBacklogLimit)
        #expect(APISettings.defaultEventBufferBytes == Gateway.Settings.defaultEventBufferBytes)
        let configuration = try GatewayConfiguration.load(
            toml: "[gateway]\ndomains = ['contoso.example']\n[store]\nwrite-queue-limit = 50\n[api]\nevent-buffer-bytes = 100000\n[dns]\nnameservers = ['127.0.0.1']"
        )
        let gateway = try GatewayLauncher.makeGateway(configuration: configuration, directory: PresenceDirectory(), group: MultiThreadedEventLoopGroup.singleton)
        #expect(gateway.settings.storeBacklogLimit == 50)
        #expect(gateway.settings.eventBufferBytes == 100_000)
    }

    @Test("a good configuration with TLS files starts listening, on the direct TLS port too")
    func starts() async throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf(identifiers: [.dns("contoso.example")])
        let directory = try TestFiles.write([
            "chain.pem": try leaf.certificate.serializeAsPEM().pemString,
            "key.pem": leaf.key.pemRepresentation,
            "ca.pem": try pki.ca.serializeAsPEM().pemString,
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Self.write(
            """
            [gateway]
            domains = ['contoso.example']
            [listen]
            address = '127.0.0.1'
            direct-tls-port = 5270
            [tls]
            certificate = '\(directory.appendingPathComponent("chain.pem").path)'
            key = '\(directory.appendingPathComponent("key.pem").path)'
            ca-bundle = '\(directory.appendingPathComponent("ca.pem").path)'
            [dns]
            nameservers = ['127.0.0.1:5399']
            [[partner]]
            domain = 'fabrikam.example'
            """
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = try GatewayLauncher.loadConfiguration(path: path)
        #expect(configuration.listen.directTLSPort == 5270)
        configuration.listen.port = 0
        configuration.listen.directTLSPort = 0
        let gateway = try GatewayLauncher.makeGateway(configuration: configuration, directory: PresenceDirectory(), group: MultiThreadedEventLoopGroup.singleton)
        let ports = try await gateway.start()
        let port = ports.startTLS
        #expect(port > 0)
        #expect((ports.directTLS ?? 0) > 0, "the direct TLS listener is started too")
        let peer = try await ScriptedPeer.connect(port: port, group: MultiThreadedEventLoopGroup.singleton)
        try await peer.send(TestTLS.header())
        let features = try await peer.receive(until: "</stream:features>")
        #expect(features.contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"))
        await peer.close()
        _ = await gateway.shutdown()
    }
}
