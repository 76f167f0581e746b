/// Well-known namespace URIs that the XML layer itself must know about.
package enum XMLNamespace {
    /// The namespace bound to the reserved `xml:` prefix (`xml:lang`, `xml:space`).
    package static let xml = "http://www.w3.org/XML/1998/namespace"
    /// The namespace of `xmlns` declarations themselves.
    package static let xmlns = "http://www.w3.org/2000/xmlns/"
}

/// An attribute with its namespace resolved; `namespace` is empty for unqualified attributes,
/// which is what nearly every XMPP attribute is.
package struct XMLAttribute: Sendable, Hashable {
    package var name: String
    package var namespace: String
    package var value: String

    package init(_ name: String, namespace: String = "", value: String) {
        self.name = name
        self.namespace = namespace
        self.value = value
    }
}

/// A child of an element: another element or a run of character data.
package enum XMLNode: Sendable, Hashable {
    case element(XMLElement)
    case text(String)
}

/// A complete element tree with namespaces resolved. Prefixes are not kept: two documents that
/// differ only in prefix choice parse to equal trees, which is what XMPP means by "the same stanza".
/// Attribute order is kept, so serialization is deterministic.
package struct XMLElement: Sendable, Hashable {
    package var name: String
    package var namespace: String
    package var attributes: [XMLAttribute]
    package var children: [XMLNode]

    package init(
        _ name: String,
        namespace: String,
        attributes: [XMLAttribute] = [],
        children: [XMLNode] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.children = children
    }

    /// Convenience for the common case of unqualified attributes given as ordered pairs.
    package init(
        _ name: String,
        namespace: String,
        attributes pairs: KeyValuePairs<String, String>,
        children: [XMLNode] = []
    ) {
        self.init(
            name,
            namespace: namespace,
            attributes: pairs.map { XMLAttribute($0.key, value: $0.value) },
            children: children
        )
    }

    /// The value of an unqualified attribute, or `nil`. Setting `nil` removes it.
    package subscript(_ name: String) -> String? {
        get { attribute(name) }
        set { setAttribute(name, to: newValue) }
    }

    package func attribute(_ name: String, namespace: String = "") -> String? {
        for attribute in attributes where attribute.name == name && attribute.namespace == namespace {
            return attribute.value
        }
        return nil
    }

    /// Replaces the value of an existing attribute in place (keeping its position), appends a new
    /// one, or removes it when `value` is `nil`.
    package mutating func setAttribute(_ name: String, namespace: String = "", to value: String?) {
        let index = attributes.firstIndex { $0.name == name && $0.namespace == namespace }
        switch (index, value) {
        case let (index?, value?): attributes[index].value = value
        case let (index?, nil): attributes.remove(at: index)
        case let (nil, value?): attributes.append(XMLAttribute(name, namespace: namespace, value: value))
        case (nil, nil): break
        }
    }

    /// `xml:lang`, which XMPP uses for the language of bodies, subjects and statuses.
    package var language: String? {
        get { attribute("lang", namespace: XMLNamespace.xml) }
        set { setAttribute("lang", namespace: XMLNamespace.xml, to: newValue) }
    }

    /// Child elements only, in document order.
    package var elements: [XMLElement] {
        children.compactMap { if case .element(let element) = $0 { element } else { nil } }
    }

    package func elements(named name: String, namespace: String) -> [XMLElement] {
        elements.filter { $0.name == name && $0.namespace == namespace }
    }

    package func firstElement(named name: String, namespace: String) -> XMLElement? {
        for case .element(let element) in children where element.name == name && element.namespace == namespace {
            return element
        }
        return nil
    }

    package func firstElement(namespace: String) -> XMLElement? {
        for case .element(let element) in children where element.namespace == namespace {
            return element
        }
        return nil
    }

    /// The concatenated character data directly inside this element.
    package var text: String {
        var result = ""
        for case .text(let run) in children { result += run }
        return result
    }

    package mutating func append(_ element: XMLElement) {
        children.append(.element(element))
    }

    package mutating func append(text: String) {
        children.append(.text(text))
    }

    /// A copy with adjacent text runs merged and, when `droppingWhitespace` is set, whitespace-only
    /// runs between child elements removed. Pretty-printed documents and compact ones then compare equal.
    package func normalized(droppingWhitespace: Bool) -> XMLElement {
        var copy = self
        var merged: [XMLNode] = []
        merged.reserveCapacity(children.count)
        for child in children {
            switch child {
            case .element(let element):
                merged.append(.element(element.normalized(droppingWhitespace: droppingWhitespace)))
            case .text(let run):
                if case .text(let previous)? = merged.last {
                    merged[merged.count - 1] = .text(previous + run)
                } else {
                    merged.append(.text(run))
                }
            }
        }
        if droppingWhitespace, merged.contains(where: { if case .element = $0 { true } else { false } }) {
            merged.removeAll { if case .text(let run) = $0 { run.allSatisfy(\.isXMLWhitespace) } else { false } }
        }
        copy.children = merged
        return copy
    }
}

extension Character {
    /// The four characters XML calls white space (S production): space, tab, CR, LF.
    package var isXMLWhitespace: Bool {
        self == " " || self == "\t" || self == "\n" || self == "\r" || self == "\r\n"
    }
}

extension StringProtocol {
    /// The string without leading and trailing XML white space.
    package var trimmingXMLWhitespace: String {
        let scalars = String(self).unicodeScalars
        guard let first = scalars.firstIndex(where: { !Character($0).isXMLWhitespace }) else { return "" }
        let last = scalars.lastIndex { !Character($0).isXMLWhitespace }!
        return String(scalars[first...last])
    }
}
