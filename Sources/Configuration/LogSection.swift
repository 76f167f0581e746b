/// `[log]`: how much the operator's log says, and whether it traces stanzas.
///
/// The level names are swift-log's; they are kept as text here so that reading `federation.toml`
/// does not tie this module to a logging library. `consulate` turns them into `Logger.Level`.
package struct LogSettings: Sendable, Hashable {
    /// swift-log's level names, lowest first.
    package static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// What the stanza log writes.
    package enum Stanzas: Sendable, Hashable {
        /// Nothing (the default): the log says what happens to links, not what they carry.
        case off
        /// Every stanza in and out, with the text of message bodies, subjects and XHTML left out,
        /// so that tracing a partner's traffic does not put conversations in the log.
        case withoutBodies
        /// Every stanza whole, conversations included: for an admin who must see them, knowingly.
        case withBodies
    }

    /// The lowest level logged; `consulate serve --log-level` overrides it.
    package var level: String
    package var stanzas: Stanzas

    package init(level: String = "info", stanzas: Stanzas = .off) {
        self.level = level
        self.stanzas = stanzas
    }
}

extension TableReader {
    func readLog(into settings: inout LogSettings, warnings: inout [String]) throws(ConfigurationError) {
        try expectOnly(["level", "stanzas", "stanza-bodies"])
        if let level = try string("level") {
            guard LogSettings.levels.contains(level) else {
                throw ConfigurationError("'\(name("level"))' is '\(level)'; use one of \(LogSettings.levels.joined(separator: ", "))")
            }
            settings.level = level
        }
        // Either key left out keeps what `settings` had (the file is read over a base).
        let on = try boolean("stanzas") ?? (settings.stanzas != .off)
        let bodies = try boolean("stanza-bodies")
        if !on, bodies == true {
            warnings.append("'\(name("stanza-bodies"))' = true has no effect without '\(name("stanzas"))' = true")
        }
        let withBodies = bodies ?? (settings.stanzas == .withBodies)
        settings.stanzas = on ? (withBodies ? .withBodies : .withoutBodies) : .off
    }
}
