package import XMLStreaming

/// A stanza as received: the element tree plus the addressing every router needs, parsed once.
/// The typed views (`Message`, `Presence`, `IQ`) read the rest on demand.
package struct Stanza: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable, CaseIterable {
        case message, presence, iq
    }

    package var element: XMLElement
    package let kind: Kind
    package let from: JID?
    package let to: JID?

    /// Recognises a depth-1 element as a stanza. Returns `nil` for anything that is not a stanza
    /// in `contentNamespace` (negotiation elements, unknown top-level elements).
    /// Throws when it is a stanza whose addressing is broken: a malformed `to` is `jid-malformed`
    /// (RFC 6120 §8.3.3.8); a malformed `from` is reported the same way and the caller decides
    /// whether that ends the stream (on s2s it is `invalid-from`).
    package init?(_ element: XMLElement, contentNamespace: String = Namespace.server) throws(AddressingError) {
        guard element.namespace == contentNamespace, let kind = Kind(rawValue: element.name) else { return nil }
        self.element = element
        self.kind = kind
        do throws(JIDError) {
            self.from = try JID.parse(element["from"])
        } catch {
            throw AddressingError(attribute: "from", reason: error)
        }
        do throws(JIDError) {
            self.to = try JID.parse(element["to"])
        } catch {
            throw AddressingError(attribute: "to", reason: error)
        }
    }

    package var id: String? { element["id"] }
    package var type: String? { element["type"] }

    /// The reply that reports `error` to the sender: same kind, same `id`, addresses swapped,
    /// `type='error'` (RFC 6120 §8.3.1). `nil` when the stanza must not be answered with an error:
    /// errors are never answered with errors, and neither are IQ results (RFC 6120 §8.3.1, §8.2.3).
    package func errorReply(_ error: StanzaError) -> XMLElement? {
        Self.errorReply(to: element, error: error)
    }

    /// `errorReply(_:)` for an element that could not become a `Stanza` (for example because its
    /// `to` is not a JID): built from the raw attributes.
    package static func errorReply(to element: XMLElement, error: StanzaError) -> XMLElement? {
        let type = element["type"]
        if type == "error" || (element.name == "iq" && type == "result") || element["from"] == nil { return nil }
        var reply = XMLElement(element.name, namespace: element.namespace)
        if let to = element["to"] { reply.setAttribute("from", to: to) }
        reply.setAttribute("to", to: element["from"])
        if let id = element["id"] { reply.setAttribute("id", to: id) }
        reply.setAttribute("type", to: "error")
        reply.append(error.element(contentNamespace: element.namespace))
        return reply
    }
}

/// A stanza's `from` or `to` could not be parsed as a JID.
package struct AddressingError: Error, Sendable, Hashable, CustomStringConvertible {
    package var attribute: String
    package var reason: JIDError

    package var description: String { "malformed '\(attribute)' address: \(reason)" }
}

/// A piece of human-readable text with its language, as XMPP carries bodies, subjects and statuses.
package struct LocalizedText: Sendable, Hashable {
    package var language: String?
    package var text: String

    package init(_ text: String, language: String? = nil) {
        self.text = text
        self.language = language
    }

    static func all(named name: String, in element: XMLElement) -> [LocalizedText] {
        element.elements(named: name, namespace: element.namespace).map { LocalizedText($0.text, language: $0.language) }
    }

    func element(_ name: String, namespace: String) -> XMLElement {
        var element = XMLElement(name, namespace: namespace)
        element.language = language
        element.append(text: text)
        return element
    }
}
