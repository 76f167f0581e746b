package import Logging
package import XMLStreaming
import XMPP

/// The stanza log: every stanza the gateway receives from a partner or hands to a link, one
/// record each on its own logger (`consulate.stanzas`), for tracing what a partner sent and what
/// we answered. Off unless `[log] stanzas` turns it on; message bodies, subjects and XHTML bodies
/// are left out unless `stanza-bodies` turns them on too, so that tracing a link does not copy
/// conversations into the log.
package struct StanzaLog: Sendable {
    /// The XHTML-IM payload (XEP-0071): a message body in another form.
    static let xhtmlIM = "http://jabber.org/protocol/xhtml-im"
    /// What stands in for content left out.
    static let omitted = "[not logged]"

    /// What the stanza log writes.
    package enum Mode: Sendable, Hashable {
        /// Nothing (the default): the log says what happens to links, not what they carry.
        case off
        /// Every stanza in and out, with the text of message bodies, subjects and XHTML left out,
        /// so that tracing a partner's traffic does not put conversations in the log.
        case withoutBodies
        /// Every stanza whole, conversations included: for an admin who must see them, knowingly.
        case withBodies
    }

    package var mode: Mode
    private let logger: Logger
    private static let serializer = XMLSerializer(defaultNamespace: Namespace.server)

    /// - Parameter logger: where the records go; its level is lowered to `info` when needed,
    ///   since turning the stanza log on is the admin's explicit wish whatever `[log] level` says.
    package init(mode: Mode, logger: Logger = Logger(label: "consulate.stanzas")) {
        self.mode = mode
        var logger = logger
        if logger.logLevel > .info { logger.logLevel = .info }
        self.logger = logger
    }

    /// A stanza from a partner's server, after its stream authenticated it (so `from` is there).
    func received(_ stanza: Stanza) {
        record(stanza.element, direction: "in", peer: stanza.from?.domainpart)
    }

    /// A stanza handed to the link for `domain`.
    func sent(_ element: XMLElement, to domain: String) {
        record(element, direction: "out", peer: domain)
    }

    private func record(_ element: XMLElement, direction: String, peer: String?) {
        let shown: XMLElement
        switch mode {
        case .off: return
        case .withBodies: shown = element
        case .withoutBodies: shown = Self.withoutContent(element)
        }
        logger.info("\(Self.serializer.string(shown))", metadata: ["direction": "\(direction)", "peer": "\(peer ?? "unknown")"])
    }

    /// `element` with the text of every message body, subject and XHTML-IM body replaced by
    /// `[not logged]`, at any depth (a forwarded or carbon-copied message is a message too);
    /// attributes (such as `xml:lang`) and everything else are kept.
    package static func withoutContent(_ element: XMLElement) -> XMLElement {
        var copy = element
        copy.children = element.children.map { node in
            guard case .element(let child) = node else { return node }
            let isContent =
                (child.name == "body" || child.name == "subject") && (child.namespace == Namespace.server || child.namespace == Namespace.client)
                || (child.name == "html" && child.namespace == xhtmlIM)
            guard isContent else { return .element(withoutContent(child)) }
            var redacted = child
            redacted.children = child.children.isEmpty ? [] : [.text(omitted)]
            return .element(redacted)
        }
        return copy
    }
}
