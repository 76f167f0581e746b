package import Configuration
package import Foundation
package import NIOCore

/// `consulate check`, in the manner of `prosodyctl check`: reads `federation.toml` and the files it
/// names the way `consulate serve` would (through `GatewayConfiguration.load(path:)`), inspects our certificate, and
/// asks DNS what partners will find for our domains and what we will find for theirs. Every finding
/// is reported at once with how to fix it, so an operator learns about an expiring certificate, a
/// partner's missing DNS records or an unwritable store directory before links start failing.
package enum ConfigurationCheck {
    /// One thing found: how bad it is, what is wrong and, where there is something to do, how to
    /// fix it.
    package struct Finding: Sendable, Hashable, CustomStringConvertible {
        package enum Severity: String, Sendable, Hashable, Comparable {
            /// The gateway would not start, or could not do what the file asks (no links with a
            /// partner, a certificate partners refuse): `consulate check` exits non-zero.
            case error
            /// Works today but probably not as meant, or will stop working (a certificate expiring
            /// soon, a DNS lookup that timed out).
            case warning
            /// What was checked and found in order, or what could not be checked.
            case note

            package static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
            private var rank: Int {
                switch self {
                case .error: 0
                case .warning: 1
                case .note: 2
                }
            }
        }

        package var severity: Severity
        /// What is wrong (or, for a note, what was found).
        package var message: String
        /// What the operator should do; `nil` when there is nothing to do.
        package var fix: String?

        package init(_ severity: Severity, _ message: String, fix: String? = nil) {
            self.severity = severity
            self.message = message
            self.fix = fix
        }

        /// `severity: message`, and the fix on an indented line of its own.
        package var description: String {
            guard let fix else { return "\(severity.rawValue): \(message)" }
            return "\(severity.rawValue): \(message)\n  fix: \(fix)"
        }
    }

    /// Everything found in the configuration at `path`, in the order checked; the configuration is
    /// returned too when it loads, so the caller can go on.
    /// - Parameters:
    ///   - now: the time certificates are judged at; passed in so that expiry is tested without a clock.
    ///   - dns: where the DNS checks' sockets run, through the `[dns]` nameservers; `nil` skips
    ///     them (`consulate check --no-dns`, for a machine without network).
    package static func run(
        path: String,
        now: Date,
        dns: (any EventLoopGroup)?
    ) async -> (findings: [Finding], configuration: GatewayConfiguration?) {
        let configuration: GatewayConfiguration
        do throws(ConfigurationError) {
            configuration = try GatewayConfiguration.load(path: path)
        } catch {
            return ([Finding(.error, error.message, fix: "correct what the message names (the setting, or the --config path), then run consulate check again")], nil)
        }
        var findings = [Finding(.note, "\(path) is valid; serving \(configuration.translation.localDomains.sorted().joined(separator: ", "))")]
        findings += configuration.warnings.map { Finding(.warning, $0) }
        findings += await certificateFindings(configuration.tls, domains: configuration.translation.localDomains, now: now)
        findings.append(storeFinding(configuration.store))
        if let group = dns {
            findings += await dnsFindings(configuration, group: group)
        } else {
            findings.append(Finding(.note, "DNS was not checked (--no-dns)"))
        }
        return (findings, configuration)
    }

    /// The store is created on first use, so only its directory must exist and be writable (and the
    /// file, if it is already there).
    static func storeFinding(_ store: StoreSettings) -> Finding {
        let url = URL(fileURLWithPath: store.path)
        let directory = url.deletingLastPathComponent().path
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            return Finding(.error, "[store] path '\(store.path)': the directory '\(directory)' does not exist", fix: "create it or change store.path")
        }
        if files.fileExists(atPath: url.path) {
            guard files.isWritableFile(atPath: url.path) else {
                return Finding(.error, "[store] path '\(store.path)' is not writable", fix: "fix its owner or permissions")
            }
            return Finding(.note, "[store]: '\(store.path)' exists and is writable")
        }
        guard files.isWritableFile(atPath: directory) else {
            return Finding(
                .error, "[store] path '\(store.path)': cannot create files in '\(directory)'", fix: "fix its permissions or change store.path"
            )
        }
        return Finding(.note, "[store]: '\(store.path)' will be created on first use")
    }
}
