/// The opening tag of an XML stream: its attributes and the namespace declarations made on it
/// (the default namespace under prefix `""`). XMPP needs the declarations to check the content
/// namespace (`jabber:server`) and the `db:` prefix for dialback.
public struct XMLStreamHeader: Sendable, Hashable {
    public var name: String
    public var namespace: String
    public var attributes: [XMLAttribute]
    public var namespaceDeclarations: [String: String]

    public init(name: String, namespace: String, attributes: [XMLAttribute], namespaceDeclarations: [String: String]) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.namespaceDeclarations = namespaceDeclarations
    }

    public func attribute(_ name: String, namespace: String = "") -> String? {
        attributes.first { $0.name == name && $0.namespace == namespace }?.value
    }

    /// The namespace unprefixed children of the stream are in (`jabber:server` for s2s).
    public var defaultNamespace: String? { namespaceDeclarations[""] }
}

/// What the parser reports, in stream order.
public enum XMLStreamEvent: Sendable, Hashable {
    case streamOpened(XMLStreamHeader)
    /// A complete depth-1 element: a stanza or a negotiation element.
    case element(XMLElement)
    case streamClosed
}
