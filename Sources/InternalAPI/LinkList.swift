import Gateway
package import GatewayCore
package import PresenceModel

/// The answer of `GET /v1/admin/links`, which `consulate links` decodes and prints as a table.
package struct LinkList: Codable, Sendable, Hashable {
    /// When the snapshot was taken, in milliseconds since the Unix epoch; ages are as of then.
    package var takenAt: Int64
    package var links: [LinkBody]

    package init(_ snapshot: LinkSnapshot) {
        takenAt = snapshot.takenAt.millisecondsSinceEpoch
        links = snapshot.links.map { LinkBody($0, at: snapshot.takenAt) }
    }

    /// One line per link under a header, columns aligned; `-` where a column does not apply. `OURS`
    /// is our domain on the link: each of our domains has links of its own.
    package func table() -> String {
        let header = ["DOMAIN", "OURS", "DIRECTION", "STATE", "AUTH", "TLS", "AGE", "QUEUED"]
        let rows = links.map { link -> [String] in
            let state: String =
                switch (link.state, link.attempt, link.retryAt) {
                case ("connecting", let attempt?, _): "connecting (attempt \(attempt))"
                case ("retry-scheduled", _, let at?): "retry in \(Self.duration(milliseconds: at - takenAt))"
                default: link.state
                }
            let queued = link.direction == "outbound" ? "\(link.queuedStanzas)" : "-"
            return [
                link.domain, link.localDomain ?? "-", link.direction, state, link.authentication ?? "-", link.tls ?? "-",
                link.ageSeconds.map { Self.duration(milliseconds: $0 * 1000) } ?? "-", queued,
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { column, text in
                column == row.count - 1 ? text : text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `42s`, `5m07s`, `3h02m`, `2d04h`: two units at most, as an operator reads an age.
    static func duration(milliseconds: Int64) -> String {
        let seconds = max(0, (milliseconds + 999) / 1000)
        let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86_400)
        if days > 0 { return "\(days)d" + Self.twoDigits(hours % 24) + "h" }
        if hours > 0 { return "\(hours)h" + Self.twoDigits(minutes % 60) + "m" }
        if minutes > 0 { return "\(minutes)m" + Self.twoDigits(seconds % 60) + "s" }
        return "\(seconds)s"
    }

    private static func twoDigits(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}

/// One link in `LinkList`: `LinkReport` in the API's terms (names for enums, milliseconds since
/// the Unix epoch for instants).
package struct LinkBody: Codable, Sendable, Hashable {
    package var domain: String
    /// `outbound` or `inbound`.
    package var direction: String
    package var localDomain: String?
    /// `established`, `connecting`, `retry-scheduled` or `waiting-for-slot`.
    package var state: String
    /// For `connecting`: the attempt since the last success.
    package var attempt: Int?
    /// For `retry-scheduled`: when.
    package var retryAt: Int64?
    /// `sasl-external` or `dialback`, once established.
    package var authentication: String?
    /// `none`, `starttls` or `direct-tls`, once established.
    package var tls: String?
    package var establishedAt: Int64?
    package var ageSeconds: Int64?
    package var queuedStanzas: Int
    package var queuedBytes: Int
    package var consecutiveFailures: Int

    package init(_ report: LinkReport, at now: Timestamp) {
        domain = report.domain
        direction = report.direction.rawValue
        localDomain = report.localDomain
        state = report.state.name
        switch report.state {
        case .connecting(let attempt): self.attempt = attempt
        case .retryScheduled(let at): retryAt = at.millisecondsSinceEpoch
        case .established, .waitingForSlot: break
        }
        authentication = report.authentication.map { $0 == .saslOverTLS ? "sasl-external" : "dialback" }
        tls = report.tls?.rawValue
        establishedAt = report.establishedAt?.millisecondsSinceEpoch
        ageSeconds = report.ageSeconds(at: now)
        queuedStanzas = report.queuedStanzas
        queuedBytes = report.queuedBytes
        consecutiveFailures = report.consecutiveFailures
    }
}
