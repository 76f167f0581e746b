import Federation
import Foundation
import GRDB
package import PresenceModel
import XMPP

extension SQLiteStore {
    // MARK: - Runtime allowlist changes

    package func recordAllowlistChange(_ change: AllowlistChange, at time: Timestamp) async throws(StorageError) {
        if case .allow(let partner) = change {
            do throws(PolicyError) {
                _ = try partner.validate()
            } catch {
                throw .invalidPartner(error.description)
            }
        }
        let arguments = try Self.arguments(for: change, at: time)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO allowlist_change
                        (pattern, action, additional_domains, trust, tls, sasl, dialback, route_host, route_port,
                         route_direct_tls, keep_alive, connection_limit, description, changed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: arguments
            )
        }
    }

    package func allowlistChanges() async throws(StorageError) -> [StoredAllowlistChange] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM allowlist_change ORDER BY pattern").map { row in
                StoredAllowlistChange(change: try Self.change(from: row), changedAt: Timestamp(storedValue: row["changed_at"]))
            }
        }
    }

    // MARK: - Rows

    private static func arguments(for change: AllowlistChange, at time: Timestamp) throws(StorageError) -> StatementArguments {
        let pattern = change.pattern.description
        switch change {
        case .block:
            return [pattern, "block", nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, time.storedValue]
        case .remove:
            return [pattern, "remove", nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, time.storedValue]
        case .allow(let partner):
            let additional: String
            do {
                additional = String(decoding: try JSONEncoder().encode(partner.additionalDomains.map(\.description)), as: UTF8.self)
            } catch {
                throw .database("cannot encode the additional domains: \(error)")
            }
            return [
                pattern, "allow", additional, partner.trust.rawValue, partner.negotiation.tls.rawValue,
                partner.negotiation.sasl.rawValue, partner.negotiation.supportDialback, partner.route?.host.description,
                partner.route.map { Int64($0.port) }, partner.route?.directTLS, partner.keepAlive,
                partner.connectionLimit.map { Int64($0) }, partner.description, time.storedValue,
            ]
        }
    }

    private static func change(from row: Row) throws -> AllowlistChange {
        let patternText: String = row["pattern"]
        let pattern = try domainPattern(patternText)
        let action: String = row["action"]
        switch action {
        case "block": return .block(pattern)
        case "remove": return .remove(pattern)
        case "allow": break
        default: throw StorageError.corrupt("allowlist action '\(action)' for \(patternText)")
        }
        let additionalText: String = row["additional_domains"] ?? "[]"
        let additional = try JSONDecoder().decode([String].self, from: Data(additionalText.utf8)).map { try domainPattern($0) }
        guard let trust = PartnerTrust(rawValue: row["trust"] ?? ""),
            let tls = NegotiationRequirement(rawValue: row["tls"] ?? ""),
            let sasl = NegotiationRequirement(rawValue: row["sasl"] ?? "")
        else {
            throw StorageError.corrupt("partner settings of \(patternText)")
        }
        var route: ServerEndpoint?
        if let hostText: String = row["route_host"] {
            let port: Int64 = row["route_port"] ?? 0
            guard let port = UInt16(exactly: port), port != 0 else {
                throw StorageError.corrupt("route port \(port) of \(patternText)")
            }
            do throws(DNSNameError) {
                route = ServerEndpoint(host: try EndpointHost(hostText), port: port, directTLS: row["route_direct_tls"] ?? false)
            } catch {
                throw StorageError.corrupt("route host '\(hostText)' of \(patternText): \(error)")
            }
        }
        return .allow(
            PartnerPolicy(
                domain: pattern, additionalDomains: additional, trust: trust,
                negotiation: NegotiationPolicy(tls: tls, sasl: sasl, supportDialback: row["dialback"] ?? true),
                route: route, keepAlive: row["keep_alive"] ?? true,
                connectionLimit: (row["connection_limit"] as Int64?).map { Int($0) }, description: row["description"]
            )
        )
    }

    private static func domainPattern(_ text: String) throws -> DomainPattern {
        do throws(JIDError) {
            return try DomainPattern(text)
        } catch {
            throw StorageError.corrupt("domain pattern '\(text)': \(error.reason)")
        }
    }
}
