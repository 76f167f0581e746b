/// The opening tag of an XML stream: its attributes and the namespace declarations made on it
/// (the default namespace under prefix `""`). XMPP needs the declarations to check the content
/// namespace (`jabber:server`) and the `db:` prefix for dialback.
package struct XMLStreamHeader: Sendable, Hashable {
    package var name: String
    package var namespace: String
    package var attributes: [XMLAttribute]
    package var namespaceDeclarations: [String: String]

    package init(name: String, namespace: String, attributes: [XMLAttribute], namespaceDeclarations: [String: String]) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.namespaceDeclarations = namespaceDeclarations
    }

    package func attribute(_ name: String, namespace: String = "") -> String? {
        attributes.first { $0.name == name && $0.namespace == namespace }?.value
    }

    /// The namespace unprefixed children of the stream are in (`jabber:server` for s2s).
    package var defaultNamespace: String? { namespaceDeclarations[""] }
}

/// What the parser reports, in stream order.
package enum XMLStreamEvent: Sendable, Hashable {
    case streamOpened(XMLStreamHeader)
    /// A complete depth-1 element: a stanza or a negotiation element.
    case element(XMLElement)
    case streamClosed
}
