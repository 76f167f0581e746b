package import Translation
import XMLStreaming
package import XMPP

/// The fixture notation of the internal side as a line protocol: one line per action in, one line
/// per event out, each `<bare JID> <element/>`. `consulate console` speaks it so that interop tests
/// and operators drive internal users through the gateway's library API with the same vocabulary
/// as the fixtures (see `Fixtures/README.md`, "Internal actions" and "Internal events").
package enum InternalConsoleLine {
    /// Reads `alice@contoso.example <set-presence availability='6500'/>` into the action it names.
    package static func action(from line: String) throws(FixtureNotation.NotationError) -> InternalAction {
        let trimmed = line.trimmingXMLWhitespace
        guard let space = trimmed.firstIndex(of: " ") else {
            throw FixtureNotation.NotationError("expected '<user JID> <action/>', got '\(trimmed)'")
        }
        let userText = String(trimmed[..<space])
        guard let user = try? JID(userText), user.localpart != nil, user.resourcepart == nil else {
            throw FixtureNotation.NotationError("'\(userText)' is not the bare JID of a user")
        }
        let elements: [XMLElement]
        do throws(FixtureSyntaxError) {
            elements = try FixtureParser.parseElements([String(trimmed[space...])], line: 1, file: "console", namespace: "")
        } catch {
            throw FixtureNotation.NotationError(error.message)
        }
        guard elements.count == 1, let element = elements.first else {
            throw FixtureNotation.NotationError("expected exactly one action element after the user")
        }
        return try FixtureNotation.action(element, user: user)
    }

    /// Writes an event for `user` as one line.
    package static func line(for event: InternalEvent, user: JID) -> String {
        "\(user.bare) \(XMLSerializer().string(FixtureNotation.element(for: event)))"
    }
}
