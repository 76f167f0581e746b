package import XMLStreaming

/// A validated `<stream:stream>` header (RFC 6120 §4.7).
package struct StreamHeader: Sendable, Hashable {
    package var from: JID?
    package var to: JID?
    package var id: String?
    /// `nil` when the peer sent no version, which RFC 6120 §4.7.5 treats as pre-1.0 (dialback only).
    package var version: StreamVersion?
    package var language: String?
    package var contentNamespace: String

    package init(
        from: JID? = nil,
        to: JID? = nil,
        id: String? = nil,
        version: StreamVersion? = .current,
        language: String? = "en",
        contentNamespace: String = Namespace.server
    ) {
        self.from = from
        self.to = to
        self.id = id
        self.version = version
        self.language = language
        self.contentNamespace = contentNamespace
    }

    /// Checks a received header. The root element itself was already checked by the parser.
    /// - the content namespace must be the one this stream carries (`invalid-namespace`, §4.9.3.10);
    /// - a version whose major number is above 1 is `unsupported-version` (§4.7.5);
    /// - `from` and `to` must be JIDs (`improper-addressing`, §4.9.3.7).
    package init(_ header: XMLStreamHeader, expectedContentNamespace: String) throws(StreamError) {
        guard header.defaultNamespace == expectedContentNamespace else {
            let found = header.defaultNamespace.map { "'\($0)'" } ?? "none"
            throw StreamError(
                .invalidNamespace,
                text: "the stream's content namespace must be '\(expectedContentNamespace)', not \(found)"
            )
        }
        if let prefix = header.namespaceDeclarations.first(where: { $0.value == Namespace.streams })?.key, prefix.isEmpty {
            throw StreamError(.badNamespacePrefix, text: "the streams namespace must be bound to a prefix")
        }
        self.init(contentNamespace: expectedContentNamespace)
        id = header.attribute("id")
        language = header.attribute("lang", namespace: XMLNamespace.xml)
        if let raw = header.attribute("version") {
            let parts = raw.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]), major >= 0, minor >= 0 else {
                throw StreamError(.unsupportedVersion, text: "'\(raw)' is not a version number")
            }
            guard major <= 1 else { throw StreamError(.unsupportedVersion, text: "version \(raw) is not supported; 1.0 is") }
            version = StreamVersion(major: major, minor: minor)
        } else {
            version = nil
        }
        do throws(JIDError) {
            from = try JID.parse(header.attribute("from"))
            to = try JID.parse(header.attribute("to"))
        } catch {
            throw StreamError(.improperAddressing, text: "malformed address in the stream header: \(error)")
        }
    }

    /// The opening tag as bytes, with the `stream:` prefix and, for s2s, the `db:` prefix declared.
    package func bytes(declaringDialback: Bool = false) -> [UInt8] {
        var attributes: [XMLAttribute] = []
        if let from { attributes.append(XMLAttribute("from", value: from.description)) }
        if let to { attributes.append(XMLAttribute("to", value: to.description)) }
        if let id { attributes.append(XMLAttribute("id", value: id)) }
        if let version { attributes.append(XMLAttribute("version", value: version.description)) }
        if let language { attributes.append(XMLAttribute("lang", namespace: XMLNamespace.xml, value: language)) }
        return XMLSerializer.streamHeader(
            attributes: attributes,
            defaultNamespace: contentNamespace,
            extraPrefixes: declaringDialback ? [("db", Namespace.dialback)] : []
        )
    }
}

/// The `version` of a stream header (RFC 6120 §4.7.5).
package struct StreamVersion: Sendable, Hashable, CustomStringConvertible {
    package var major: Int
    package var minor: Int

    package init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    package static let current = StreamVersion(major: 1, minor: 0)

    package var description: String { "\(major).\(minor)" }
}
