package import XMLStreaming

/// Compares what the gateway produced with what a fixture expects.
///
/// Trees are compared after dropping whitespace-only text between elements, so expectations can be
/// pretty-printed. Attributes must match as a set (order is irrelevant, extra ones fail); children
/// must match in order. The value `{any}` in an attribute or as an element's whole text accepts any
/// value, for generated ids and timestamps.
package enum XMLMatcher {
    package static let wildcard = "{any}"

    package static func matches(expected: XMLElement, actual: XMLElement) -> Bool {
        matchesNormalized(expected, actual.normalized(droppingWhitespace: true))
    }

    private static func matchesNormalized(_ expected: XMLElement, _ actual: XMLElement) -> Bool {
        guard expected.name == actual.name, expected.namespace == actual.namespace,
            expected.attributes.count == actual.attributes.count
        else { return false }
        for attribute in expected.attributes {
            guard let value = actual.attribute(attribute.name, namespace: attribute.namespace) else { return false }
            if attribute.value != wildcard, attribute.value != value { return false }
        }
        if expected.children == [.text(wildcard)] {
            return actual.children.allSatisfy { if case .text = $0 { true } else { false } }
        }
        guard expected.children.count == actual.children.count else { return false }
        for (expectedChild, actualChild) in zip(expected.children, actual.children) {
            switch (expectedChild, actualChild) {
            case (.text(let expectedText), .text(let actualText)):
                if expectedText != wildcard, expectedText != actualText { return false }
            case (.element(let expectedElement), .element(let actualElement)):
                if !matchesNormalized(expectedElement, actualElement) { return false }
            default:
                return false
            }
        }
        return true
    }

    /// A readable unified-style diff of two trees, each pretty-printed one element or text per line.
    package static func diff(expected: XMLElement, actual: XMLElement) -> String {
        let expectedLines = PrettyPrinter.lines(expected.normalized(droppingWhitespace: true))
        let actualLines = PrettyPrinter.lines(actual.normalized(droppingWhitespace: true))
        return LineDiff.render(expected: expectedLines, actual: actualLines)
    }
}

/// Renders element trees one node per line with two-space indentation, namespaces shown only
/// where they change, attributes in their order. Only for humans reading reports.
package enum PrettyPrinter {
    package static func lines(_ element: XMLElement, parentNamespace: String = "jabber:server") -> [String] {
        var output: [String] = []
        render(element, parentNamespace: parentNamespace, indent: "", into: &output)
        return output
    }

    package static func string(_ element: XMLElement, parentNamespace: String = "jabber:server") -> String {
        lines(element, parentNamespace: parentNamespace).joined(separator: "\n")
    }

    private static func render(_ element: XMLElement, parentNamespace: String, indent: String, into output: inout [String]) {
        let serializer = XMLSerializer(defaultNamespace: parentNamespace)
        var shell = element
        shell.children = []
        let selfClosing = serializer.string(shell)
        if element.children.isEmpty {
            output.append(indent + selfClosing)
            return
        }
        if element.children.count == 1, case .text = element.children[0] {
            output.append(indent + serializer.string(element))
            return
        }
        let open = String(selfClosing.dropLast(2)) + ">"
        output.append(indent + open)
        for child in element.children {
            switch child {
            case .element(let child):
                render(child, parentNamespace: element.namespace, indent: indent + "  ", into: &output)
            case .text(let text):
                var escaped: [UInt8] = []
                XMLSerializer.appendEscaped(text, inAttribute: false, into: &escaped)
                output.append(indent + "  " + String(decoding: escaped, as: UTF8.self))
            }
        }
        output.append(indent + "</\(element.name)>")
    }
}

/// A minimal line diff (longest common subsequence), enough for stanza-sized texts.
enum LineDiff {
    static func render(expected: [String], actual: [String]) -> String {
        let n = expected.count
        let m = actual.count
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lcs[i][j] = expected[i] == actual[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var lines: [String] = []
        var i = 0
        var j = 0
        while i < n || j < m {
            if i < n, j < m, expected[i] == actual[j] {
                lines.append("  " + expected[i])
                i += 1
                j += 1
            } else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] {
                lines.append("- " + expected[i])
                i += 1
            } else {
                lines.append("+ " + actual[j])
                j += 1
            }
        }
        return lines.joined(separator: "\n")
    }
}
