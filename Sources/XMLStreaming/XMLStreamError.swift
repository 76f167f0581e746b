/// Why the XML stream could not go on. Each kind maps to exactly one RFC 6120 stream error
/// condition in the `XMPP` module; `detail` is a human-readable explanation for logs and the
/// stream error's `<text/>`.
package struct XMLStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Kind: Sendable, Hashable {
        /// The bytes are not well-formed XML (RFC 6120 `<not-well-formed/>`).
        case notWellFormed
        /// A construct RFC 6120 §11.1 forbids: DOCTYPE, comment, processing instruction, entity
        /// declaration or a reference to a non-predefined entity (`<restricted-xml/>`).
        case restrictedXML
        /// The root is not `{http://etherx.jabber.org/streams}stream` (`<invalid-namespace/>`).
        case invalidNamespace
        /// The bytes are not UTF-8, or the declaration names another encoding (`<unsupported-encoding/>`).
        case unsupportedEncoding
        /// Well-formed XML that an XMPP stream may not carry, such as text between stanzas (`<bad-format/>`).
        case badFormat
        /// A configured limit was exceeded (`<policy-violation/>`); the detail names the limit.
        case limitExceeded(XMLStreamLimits.Limit)
    }

    package var kind: Kind
    package var detail: String

    package init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    package var description: String { "\(kind): \(detail)" }
}
