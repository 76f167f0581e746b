public import Configuration
import Foundation
import Gateway

/// `consulate check`: reads `federation.toml` and the files it names the way `consulate serve`
/// would (through `GatewayLauncher`), and reports every finding at once with how to fix it, so an
/// operator learns about a bad key file or an unwritable store directory before a start fails.
public enum ConfigurationCheck {
    /// One thing found, worst first when sorted.
    public struct Finding: Sendable, Hashable, CustomStringConvertible {
        public enum Severity: String, Sendable, Hashable, Comparable {
            /// The gateway would not start, or not do what the file asks.
            case problem
            /// Legal, but probably not what was meant.
            case warning
            case ok

            public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
            private var rank: Int {
                switch self {
                case .problem: 0
                case .warning: 1
                case .ok: 2
                }
            }
        }

        public var severity: Severity
        public var message: String

        public init(_ severity: Severity, _ message: String) {
            self.severity = severity
            self.message = message
        }

        public var description: String { "\(severity.rawValue): \(message)" }
    }

    /// Everything found in the configuration at `path`, in the order checked; the configuration is
    /// returned too when it loads, so the caller can go on (DNS checks, admin commands).
    public static func run(path: String) -> (findings: [Finding], configuration: GatewayConfiguration?) {
        let configuration: GatewayConfiguration
        do throws(LaunchError) {
            configuration = try GatewayLauncher.loadConfiguration(path: path)
        } catch {
            return ([Finding(.problem, error.message)], nil)
        }
        var findings = [Finding(.ok, "\(path) is valid; serving \(configuration.translation.localDomains.sorted().joined(separator: ", "))")]
        findings += configuration.warnings.map { Finding(.warning, $0) }
        findings.append(tlsFinding(configuration.tls))
        findings.append(storeFinding(configuration.store))
        return (findings, configuration)
    }

    static func tlsFinding(_ files: TLSFiles?) -> Finding {
        guard let files else {
            return Finding(
                .warning,
                "[tls] is not configured: links can only be plaintext with dialback, which most servers refuse; "
                    + "add [tls] with certificate and key (PEM) for the gateway's domains"
            )
        }
        do throws(LaunchError) {
            _ = try GatewayLauncher.loadTLS(files)
            return Finding(.ok, "[tls]: certificate '\(files.certificate)', key '\(files.key)' and CA bundle '\(files.caBundle)' load")
        } catch {
            return Finding(.problem, "\(error.message); fix the path in [tls] or the file (PEM, readable by the user running consulate)")
        }
    }

    /// The store is created on first use, so only its directory must exist and be writable (and the
    /// file, if it is already there).
    static func storeFinding(_ store: StoreSettings) -> Finding {
        let url = URL(fileURLWithPath: store.path)
        let directory = url.deletingLastPathComponent().path
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            return Finding(.problem, "[store] path '\(store.path)': the directory '\(directory)' does not exist; create it or change store.path")
        }
        if files.fileExists(atPath: url.path) {
            guard files.isWritableFile(atPath: url.path) else {
                return Finding(.problem, "[store] path '\(store.path)' is not writable; fix its owner or permissions")
            }
            return Finding(.ok, "[store]: '\(store.path)' exists and is writable")
        }
        guard files.isWritableFile(atPath: directory) else {
            return Finding(.problem, "[store] path '\(store.path)': cannot create files in '\(directory)'; fix its permissions or change store.path")
        }
        return Finding(.ok, "[store]: '\(store.path)' will be created on first use")
    }
}
