package import XMLStreaming

/// A typed view of an `<iq/>` (RFC 6120 §8.2.3): exactly one payload for get and set.
package struct IQ: Sendable, Hashable {
    package enum IQType: String, Sendable, Hashable, CaseIterable {
        case get, set, result, error
    }

    package var type: IQType
    package var id: String
    package var payload: XMLElement?

    package init(type: IQType, id: String, payload: XMLElement? = nil) {
        self.type = type
        self.id = id
        self.payload = payload
    }

    /// Reads an IQ. Returns `nil` when it breaks RFC 6120 §8.2.3: no id, an unknown type, or a
    /// get/set without exactly one child; the receiver answers those with `bad-request`.
    package init?(_ element: XMLElement) {
        guard let id = element["id"], let type = element["type"].flatMap(IQType.init(rawValue:)) else { return nil }
        let children = element.elements
        switch type {
        case .get, .set: guard children.count == 1 else { return nil }
        case .result: guard children.count <= 1 else { return nil }
        case .error: break
        }
        self.init(type: type, id: id, payload: type == .error ? nil : children.first)
    }

    /// The empty result that acknowledges a get or set.
    package static func result(to request: Stanza, contentNamespace: String = Namespace.server) -> XMLElement {
        var reply = XMLElement("iq", namespace: contentNamespace)
        if let to = request.element["to"] { reply.setAttribute("from", to: to) }
        if let from = request.element["from"] { reply.setAttribute("to", to: from) }
        reply.setAttribute("id", to: request.id ?? "")
        reply.setAttribute("type", to: "result")
        return reply
    }
}
