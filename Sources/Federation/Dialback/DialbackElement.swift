package import XMLStreaming
package import XMPP

/// What a dialback element carries besides its addresses: a key when it is a request, a verdict in
/// `type` when it is an answer. XEP-0220 uses the same two element names for both.
package enum DialbackPayload: Sendable, Hashable {
    /// No `type`: a request, with the key as character data.
    case key(DialbackKey)
    /// `type='valid'|'invalid'|'error'`: an answer.
    case answer(DialbackAnswer)
}

/// A top-level element in the `jabber:server:dialback` namespace, as the stream machines receive it.
///
/// Parsing is strict about what dialback depends on and lenient about the rest:
/// - `from` and `to` must be bare domains (`improper-addressing` otherwise, RFC 6120 §4.9.3.7),
///   since they identify the domain pair and feed the key; they are normalised like any JID;
/// - `<db:verify/>` must have an `id`, and `type` must be one of the three values (`invalid-xml`,
///   RFC 6120 §4.9.3.11: the element breaks the XEP-0220 schema);
/// - any other element name is `unsupported-stanza-type`;
/// - the key is the character data with XML white space trimmed, since the XEP examples indent it;
/// - `type='error'` without a readable `<error/>` child still reads as an error, with
///   `undefined-condition`, because the peer clearly meant one.
package enum DialbackElement: Sendable, Hashable {
    case result(DialbackResult)
    case verify(DialbackVerify)

    /// Whether the stream machines should hand `element` here rather than treat it as a stanza.
    package static func isDialback(_ element: XMLElement) -> Bool {
        element.namespace == Namespace.dialback
    }

    package init(_ element: XMLElement) throws(StreamError) {
        guard element.namespace == Namespace.dialback else {
            throw StreamError(.unsupportedStanzaType, text: "not a dialback element")
        }
        switch element.name {
        case "result": self = .result(try DialbackResult(element))
        case "verify": self = .verify(try DialbackVerify(element))
        default: throw StreamError(.unsupportedStanzaType, text: "the dialback namespace has only <result/> and <verify/>")
        }
    }

    package var element: XMLElement {
        switch self {
        case .result(let result): result.element
        case .verify(let verify): verify.element
        }
    }
}

/// Reading and writing what `<db:result/>` and `<db:verify/>` share.
enum DialbackWire {
    /// A `from` or `to` attribute as a canonical domainpart.
    static func domain(_ attribute: String, of element: XMLElement) throws(StreamError) -> String {
        guard let raw = element[attribute], !raw.isEmpty else {
            throw StreamError(.improperAddressing, text: "<db:\(element.name)/> has no '\(attribute)'")
        }
        let address: JID
        do throws(JIDError) {
            address = try JID(raw)
        } catch {
            throw StreamError(.improperAddressing, text: "'\(attribute)' of <db:\(element.name)/> is malformed: \(error)")
        }
        guard address.isDomain else {
            throw StreamError(.improperAddressing, text: "'\(attribute)' of <db:\(element.name)/> must be a bare domain")
        }
        return address.domainpart
    }

    static func payload(of element: XMLElement) throws(StreamError) -> DialbackPayload {
        switch element["type"] {
        case nil: .key(DialbackKey(rawValue: element.text.trimmingXMLWhitespace))
        case "valid": .answer(.valid)
        case "invalid": .answer(.invalid)
        case "error": .answer(.error(StanzaError(stanza: element) ?? StanzaError(.undefinedCondition)))
        default: throw StreamError(.invalidXML, text: "a dialback 'type' is 'valid', 'invalid' or 'error'")
        }
    }

    /// The element, attributes in the given order then `type`. An error's `<error/>` child is in
    /// `jabber:server`, the stream's content namespace, as XEP-0220 §2.5 says.
    static func element(_ name: String, attributes: KeyValuePairs<String, String>, payload: DialbackPayload) -> XMLElement {
        var element = XMLElement(name, namespace: Namespace.dialback, attributes: attributes)
        switch payload {
        case .key(let key):
            if !key.rawValue.isEmpty { element.append(text: key.rawValue) }
        case .answer(let answer):
            element["type"] = answer.type
            if case .error(let error) = answer { element.append(error.element(contentNamespace: Namespace.server)) }
        }
        return element
    }
}
