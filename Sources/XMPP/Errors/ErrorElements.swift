import XMLStreaming

/// What stream and stanza errors share on the wire: a condition element and an optional English
/// `<text/>`, both in the error kind's own namespace (RFC 6120 §4.9.2, §8.3.2).
enum ErrorElements {
    /// Appends `<text xml:lang='en'>` in `namespace` when there is a text.
    static func appendText(_ text: String?, namespace: String, to error: inout XMLElement) {
        guard let text else { return }
        var element = XMLElement("text", namespace: namespace)
        element.language = "en"
        element.append(text: text)
        error.append(element)
    }

    /// The first child in `namespace` that is not `<text/>`: the defined condition.
    static func condition(in error: XMLElement, namespace: String) -> XMLElement? {
        error.elements.first { $0.namespace == namespace && $0.name != "text" }
    }

    /// The error's `<text/>` content, if any.
    static func text(in error: XMLElement, namespace: String) -> String? {
        error.firstElement(named: "text", namespace: namespace)?.text
    }
}
