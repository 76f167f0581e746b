/// Writes element trees as XML text for the wire.
///
/// Prefixes are chosen here, not stored in trees: an element whose namespace differs from the
/// inherited default namespace gets either an in-scope prefix (such as `stream:` or `db:` declared
/// on the stream header) or its own `xmlns='…'`. Escaping guarantees that parsing the output gives
/// back an equal tree: `&`, `<`, `>` and quotes are escaped, and CR, LF and tab inside attribute
/// values become character references so attribute-value normalisation cannot change them.
/// Characters XML 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF) become U+FFFD.
package struct XMLSerializer: Sendable {
    /// The default namespace in scope where the output is inserted (`jabber:server` inside an s2s stream).
    package var defaultNamespace: String
    /// Prefixes in scope where the output is inserted, keyed by namespace URI.
    package var prefixes: [String: String]

    package init(defaultNamespace: String = "", prefixes: [String: String] = [:]) {
        self.defaultNamespace = defaultNamespace
        self.prefixes = prefixes
    }

    package func string(_ element: XMLElement) -> String {
        var output: [UInt8] = []
        write(element, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    package func bytes(_ element: XMLElement) -> [UInt8] {
        var output: [UInt8] = []
        write(element, into: &output)
        return output
    }

    package func write(_ element: XMLElement, into output: inout [UInt8]) {
        var generated = 0
        write(element, inherited: defaultNamespace, prefixes: prefixes, generated: &generated, into: &output)
    }

    /// The opening tag of a stream, left open: `<stream:stream … >`. Declarations are written in
    /// the order given, so the output is deterministic.
    package static func streamHeader(
        attributes: [XMLAttribute],
        defaultNamespace: String,
        extraPrefixes: [(prefix: String, namespace: String)] = []
    ) -> [UInt8] {
        var output: [UInt8] = []
        output.append(contentsOf: "<stream:stream".utf8)
        for attribute in attributes {
            let name = attribute.namespace == XMLNamespace.xml ? "xml:\(attribute.name)" : attribute.name
            appendAttribute(name: name, value: attribute.value, into: &output)
        }
        appendAttribute(name: "xmlns", value: defaultNamespace, into: &output)
        appendAttribute(name: "xmlns:stream", value: xmppStreamNamespace, into: &output)
        for (prefix, namespace) in extraPrefixes {
            appendAttribute(name: "xmlns:\(prefix)", value: namespace, into: &output)
        }
        output.append(UInt8(ascii: ">"))
        return output
    }

    package static let streamClose: [UInt8] = Array("</stream:stream>".utf8)

    private func write(
        _ element: XMLElement,
        inherited: String,
        prefixes: [String: String],
        generated: inout Int,
        into output: inout [UInt8]
    ) {
        var scope = prefixes
        var declarations: [(name: String, value: String)] = []
        var defaultNamespace = inherited
        let qualifiedName: String
        if element.namespace == inherited {
            qualifiedName = element.name
        } else if let prefix = prefixes[element.namespace] {
            qualifiedName = "\(prefix):\(element.name)"
        } else {
            qualifiedName = element.name
            defaultNamespace = element.namespace
            declarations.append(("xmlns", element.namespace))
        }

        output.append(UInt8(ascii: "<"))
        output.append(contentsOf: qualifiedName.utf8)
        var attributeNames: [String] = []
        attributeNames.reserveCapacity(element.attributes.count)
        for attribute in element.attributes {
            if attribute.namespace.isEmpty {
                attributeNames.append(attribute.name)
            } else if attribute.namespace == XMLNamespace.xml {
                attributeNames.append("xml:\(attribute.name)")
            } else if let prefix = scope[attribute.namespace] {
                attributeNames.append("\(prefix):\(attribute.name)")
            } else {
                generated += 1
                let prefix = "ns\(generated)"
                scope[attribute.namespace] = prefix
                declarations.append(("xmlns:\(prefix)", attribute.namespace))
                attributeNames.append("\(prefix):\(attribute.name)")
            }
        }
        for declaration in declarations {
            Self.appendAttribute(name: declaration.name, value: declaration.value, into: &output)
        }
        for (attribute, name) in zip(element.attributes, attributeNames) {
            Self.appendAttribute(name: name, value: attribute.value, into: &output)
        }
        if element.children.isEmpty {
            output.append(contentsOf: "/>".utf8)
            return
        }
        output.append(UInt8(ascii: ">"))
        for child in element.children {
            switch child {
            case .element(let child):
                write(child, inherited: defaultNamespace, prefixes: scope, generated: &generated, into: &output)
            case .text(let text):
                Self.appendEscaped(text, inAttribute: false, into: &output)
            }
        }
        output.append(contentsOf: "</".utf8)
        output.append(contentsOf: qualifiedName.utf8)
        output.append(UInt8(ascii: ">"))
    }

    private static func appendAttribute(name: String, value: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: " "))
        output.append(contentsOf: name.utf8)
        output.append(contentsOf: "='".utf8)
        appendEscaped(value, inAttribute: true, into: &output)
        output.append(UInt8(ascii: "'"))
    }

    /// Appends `string` escaped for element content or (with `inAttribute`) a single-quoted attribute value.
    package static func appendEscaped(_ string: String, inAttribute: Bool, into output: inout [UInt8]) {
        for scalar in string.unicodeScalars {
            switch scalar.value {
            case 0x26: output.append(contentsOf: "&amp;".utf8)
            case 0x3C: output.append(contentsOf: "&lt;".utf8)
            case 0x3E: output.append(contentsOf: "&gt;".utf8)
            case 0x27 where inAttribute: output.append(contentsOf: "&apos;".utf8)
            case 0x22 where inAttribute: output.append(contentsOf: "&quot;".utf8)
            case 0x0D: output.append(contentsOf: "&#13;".utf8)
            case 0x0A where inAttribute: output.append(contentsOf: "&#10;".utf8)
            case 0x09 where inAttribute: output.append(contentsOf: "&#9;".utf8)
            case 0x09, 0x0A: output.append(UInt8(scalar.value))
            case 0x00...0x1F, 0xFFFE, 0xFFFF: output.append(contentsOf: [0xEF, 0xBF, 0xBD])
            case 0x20...0x7F: output.append(UInt8(scalar.value))
            default: output.append(contentsOf: UTF8.encode(scalar)!)
            }
        }
    }
}
