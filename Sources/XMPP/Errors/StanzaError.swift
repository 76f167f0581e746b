package import XMLStreaming

/// An RFC 6120 §8.3 stanza error: the reason a stanza could not be handled, returned to its sender
/// in a stanza of the same kind with `type='error'`.
package struct StanzaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// RFC 6120 §8.3.2: what the sender should do about it.
    package enum ErrorType: String, Sendable, Hashable, CaseIterable {
        case auth, cancel, `continue`, modify, wait
    }

    /// Every defined condition (RFC 6120 §8.3.3), spelled as on the wire.
    package enum Condition: String, Sendable, Hashable, CaseIterable {
        case badRequest = "bad-request"
        case conflict
        case featureNotImplemented = "feature-not-implemented"
        case forbidden
        case gone
        case internalServerError = "internal-server-error"
        case itemNotFound = "item-not-found"
        case jidMalformed = "jid-malformed"
        case notAcceptable = "not-acceptable"
        case notAllowed = "not-allowed"
        case notAuthorized = "not-authorized"
        case policyViolation = "policy-violation"
        case recipientUnavailable = "recipient-unavailable"
        case redirect
        case registrationRequired = "registration-required"
        case remoteServerNotFound = "remote-server-not-found"
        case remoteServerTimeout = "remote-server-timeout"
        case resourceConstraint = "resource-constraint"
        case serviceUnavailable = "service-unavailable"
        case subscriptionRequired = "subscription-required"
        case undefinedCondition = "undefined-condition"
        case unexpectedRequest = "unexpected-request"

        /// The error type RFC 6120 §8.3.3 gives with each condition's definition.
        package var defaultType: ErrorType {
            switch self {
            case .badRequest, .jidMalformed, .notAcceptable, .policyViolation, .redirect, .gone: .modify
            case .forbidden, .notAuthorized, .registrationRequired, .subscriptionRequired: .auth
            case .recipientUnavailable, .remoteServerTimeout, .resourceConstraint, .unexpectedRequest: .wait
            case .conflict, .featureNotImplemented, .internalServerError, .itemNotFound, .notAllowed,
                .remoteServerNotFound, .serviceUnavailable, .undefinedCondition:
                .cancel
            }
        }
    }

    package var type: ErrorType
    package var condition: Condition
    package var text: String?
    /// The entity that generated the error (RFC 6120 §8.3.2 `by`).
    package var by: String?

    package init(_ condition: Condition, type: ErrorType? = nil, text: String? = nil, by: String? = nil) {
        self.condition = condition
        self.type = type ?? condition.defaultType
        self.text = text
        self.by = by
    }

    /// The `<error/>` child element, in the stream's content namespace.
    package func element(contentNamespace: String = Namespace.server) -> XMLElement {
        var error = XMLElement("error", namespace: contentNamespace)
        error.setAttribute("type", to: type.rawValue)
        if let by { error.setAttribute("by", to: by) }
        error.append(XMLElement(condition.rawValue, namespace: Namespace.stanzaErrors))
        ErrorElements.appendText(text, namespace: Namespace.stanzaErrors, to: &error)
        return error
    }

    /// Reads the `<error/>` child of an error stanza; unknown conditions become `undefined-condition`.
    package init?(stanza: XMLElement) {
        guard let error = stanza.elements.first(where: { $0.name == "error" }) else { return nil }
        let conditionElement = ErrorElements.condition(in: error, namespace: Namespace.stanzaErrors)
        let condition = conditionElement.flatMap { Condition(rawValue: $0.name) } ?? .undefinedCondition
        self.init(
            condition,
            type: error["type"].flatMap(ErrorType.init(rawValue:)) ?? condition.defaultType,
            text: ErrorElements.text(in: error, namespace: Namespace.stanzaErrors),
            by: error["by"]
        )
    }

    package var description: String {
        text.map { "\(condition.rawValue) (\(type.rawValue)): \($0)" } ?? "\(condition.rawValue) (\(type.rawValue))"
    }
}
