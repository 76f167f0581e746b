package import XMLStreaming

/// An RFC 6120 §4.9 stream error: sent as `<stream:error>` right before the stream is closed.
package struct StreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Every defined condition (RFC 6120 §4.9.3), spelled as on the wire.
    package enum Condition: String, Sendable, Hashable, CaseIterable {
        case badFormat = "bad-format"
        case badNamespacePrefix = "bad-namespace-prefix"
        case conflict
        case connectionTimeout = "connection-timeout"
        case hostGone = "host-gone"
        case hostUnknown = "host-unknown"
        case improperAddressing = "improper-addressing"
        case internalServerError = "internal-server-error"
        case invalidFrom = "invalid-from"
        case invalidNamespace = "invalid-namespace"
        case invalidXML = "invalid-xml"
        case notAuthorized = "not-authorized"
        case notWellFormed = "not-well-formed"
        case policyViolation = "policy-violation"
        case remoteConnectionFailed = "remote-connection-failed"
        case reset
        case resourceConstraint = "resource-constraint"
        case restrictedXML = "restricted-xml"
        case seeOtherHost = "see-other-host"
        case systemShutdown = "system-shutdown"
        case undefinedCondition = "undefined-condition"
        case unsupportedEncoding = "unsupported-encoding"
        case unsupportedFeature = "unsupported-feature"
        case unsupportedStanzaType = "unsupported-stanza-type"
        case unsupportedVersion = "unsupported-version"
    }

    package var condition: Condition
    /// Human-readable explanation, sent as `<text xml:lang='en'>` and logged.
    package var text: String?
    /// For `see-other-host`: the host and port to go to instead.
    package var otherHost: String?

    package init(_ condition: Condition, text: String? = nil, otherHost: String? = nil) {
        self.condition = condition
        self.text = text
        self.otherHost = otherHost
    }

    /// Maps a parser failure to the one condition RFC 6120 prescribes for it.
    package init(_ error: XMLStreamError) {
        let condition: Condition =
            switch error.kind {
            case .notWellFormed: .notWellFormed
            case .restrictedXML: .restrictedXML
            case .invalidNamespace: .invalidNamespace
            case .unsupportedEncoding: .unsupportedEncoding
            case .badFormat: .badFormat
            case .limitExceeded: .policyViolation
            }
        self.init(condition, text: error.detail)
    }

    /// The `<stream:error>` element.
    package var element: XMLElement {
        var error = XMLElement("error", namespace: Namespace.streams)
        var condition = XMLElement(self.condition.rawValue, namespace: Namespace.streamErrors)
        if let otherHost { condition.append(text: otherHost) }
        error.append(condition)
        ErrorElements.appendText(text, namespace: Namespace.streamErrors, to: &error)
        return error
    }

    /// Reads a `<stream:error>` the peer sent; unknown conditions become `undefined-condition`.
    package init?(element: XMLElement) {
        guard element.name == "error", element.namespace == Namespace.streams else { return nil }
        let conditionElement = ErrorElements.condition(in: element, namespace: Namespace.streamErrors)
        self.init(
            conditionElement.flatMap { Condition(rawValue: $0.name) } ?? .undefinedCondition,
            text: ErrorElements.text(in: element, namespace: Namespace.streamErrors),
            otherHost: conditionElement?.name == Condition.seeOtherHost.rawValue ? conditionElement?.text.nonEmpty : nil
        )
    }

    package var description: String {
        text.map { "\(condition.rawValue): \($0)" } ?? condition.rawValue
    }
}

extension String {
    /// `nil` for the empty string, so optional text fields stay absent rather than empty.
    var nonEmpty: String? { isEmpty ? nil : self }
}
