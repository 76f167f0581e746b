import Foundation
package import XMLStreaming
package import XMPP

/// RFC 6120 §6.5 SASL failure conditions.
package enum SASLFailure: String, Sendable, Hashable, CaseIterable {
    case aborted
    case accountDisabled = "account-disabled"
    case credentialsExpired = "credentials-expired"
    case encryptionRequired = "encryption-required"
    case incorrectEncoding = "incorrect-encoding"
    case invalidAuthzid = "invalid-authzid"
    case invalidMechanism = "invalid-mechanism"
    case malformedRequest = "malformed-request"
    case mechanismTooWeak = "mechanism-too-weak"
    case notAuthorized = "not-authorized"
    case temporaryAuthFailure = "temporary-auth-failure"

    /// `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><condition/><text/></failure>`.
    package func element(text: String? = nil) -> XMLElement {
        var failure = XMLElement("failure", namespace: Namespace.sasl, children: [.element(XMLElement(rawValue, namespace: Namespace.sasl))])
        if let text {
            var textElement = XMLElement("text", namespace: Namespace.sasl)
            textElement.language = "en"
            textElement.append(text: text)
            failure.append(textElement)
        }
        return failure
    }

    /// Reads a `<failure/>` element; an unknown condition reads as `not-authorized`.
    package init?(element: XMLElement) {
        guard element.name == "failure", element.namespace == Namespace.sasl else { return nil }
        let condition = element.elements.first { $0.namespace == Namespace.sasl && $0.name != "text" }
        self = condition.flatMap { SASLFailure(rawValue: $0.name) } ?? .notAuthorized
    }
}

/// SASL EXTERNAL between servers (RFC 6120 §6, XEP-0178): the TLS client certificate is the
/// credential, so the mechanism is only as good as the certificate check done before it.
package enum SASLExternal {
    package static let mechanism = "EXTERNAL"

    /// The receiving server's side. It offers EXTERNAL only when the peer's certificate has already
    /// been validated for the domain the peer claims in its stream header, so a peer is never invited
    /// to try an authentication that cannot succeed (and then falls back to dialback at once).
    package struct Receiver: Sendable, Hashable {
        package enum Action: Sendable, Hashable {
            /// Send this element and keep waiting (an empty challenge asking for the authzid).
            case send(XMLElement)
            /// Authentication succeeded for this domain: send `<success/>`, then expect a stream restart.
            case authenticated(domain: String, success: XMLElement)
            /// Authentication failed: send the failure; the peer may try again or fall back to dialback.
            case failed(SASLFailure, XMLElement)
        }

        /// The domain in the peer's stream header (`from`), normalised.
        package let claimedDomain: String?
        /// Domains the peer's certificate was validated for (RFC 6125 / RFC 7712 checks done by the caller).
        package let certificateDomains: Set<String>
        private var awaitingResponse = false

        package init(claimedDomain: String?, certificateDomains: Set<String>) {
            self.claimedDomain = claimedDomain
            self.certificateDomains = certificateDomains
        }

        /// Whether to list EXTERNAL in the stream features.
        package var offersExternal: Bool {
            claimedDomain.map(certificateDomains.contains) ?? false
        }

        /// `<mechanisms><mechanism>EXTERNAL</mechanism></mechanisms>`, or `nil` when not offered.
        package var mechanismsFeature: XMLElement? {
            guard offersExternal else { return nil }
            var mechanism = XMLElement("mechanism", namespace: Namespace.sasl)
            mechanism.append(text: SASLExternal.mechanism)
            return XMLElement("mechanisms", namespace: Namespace.sasl, children: [.element(mechanism)])
        }

        /// Handles `<auth/>`, `<response/>` or `<abort/>` from the peer.
        package mutating func received(_ element: XMLElement) -> Action {
            guard element.namespace == Namespace.sasl else { return fail(.malformedRequest, "not a SASL element") }
            switch element.name {
            case "abort":
                awaitingResponse = false
                return fail(.aborted, nil)
            case "auth":
                guard element["mechanism"] == SASLExternal.mechanism, offersExternal else {
                    return fail(.invalidMechanism, "only EXTERNAL is offered, and only with a certificate valid for the stream's 'from'")
                }
                let payload = element.text.trimmingXMLWhitespace
                if payload.isEmpty {
                    // No initial response: ask for it with an empty challenge (RFC 6120 §6.4.2).
                    awaitingResponse = true
                    return .send(XMLElement("challenge", namespace: Namespace.sasl))
                }
                return authorize(payload)
            case "response" where awaitingResponse:
                awaitingResponse = false
                return authorize(element.text.trimmingXMLWhitespace)
            default:
                return fail(.malformedRequest, "unexpected <\(element.name)/>")
            }
        }

        /// `=` (or an empty response) asks for the identity of the certificate; otherwise the
        /// base64 authzid must name the claimed domain.
        private mutating func authorize(_ payload: String) -> Action {
            guard let claimedDomain else { return fail(.notAuthorized, "the stream header named no 'from' domain") }
            if payload != "=" && !payload.isEmpty {
                guard let decoded = Data(base64Encoded: payload), let authzid = String(data: decoded, encoding: .utf8) else {
                    return fail(.incorrectEncoding, "the authorization identity is not base64")
                }
                guard (try? JID(authzid))?.domainpart == claimedDomain, !authzid.contains("@") else {
                    return fail(.invalidAuthzid, "the authorization identity must be the stream's 'from' domain")
                }
            }
            guard certificateDomains.contains(claimedDomain) else {
                return fail(.notAuthorized, "the certificate is not valid for \(claimedDomain)")
            }
            return .authenticated(domain: claimedDomain, success: XMLElement("success", namespace: Namespace.sasl))
        }

        private func fail(_ failure: SASLFailure, _ text: String?) -> Action {
            .failed(failure, failure.element(text: text))
        }
    }

    /// The initiating server's side: authenticate with the certificate when the peer offers
    /// EXTERNAL, otherwise report that the caller should use dialback (if its policy allows).
    package struct Initiator: Sendable, Hashable {
        package enum Action: Sendable, Hashable {
            /// Send `<auth/>` (or the response to an empty challenge).
            case send(XMLElement)
            /// The peer does not offer EXTERNAL: continue with dialback, or give up, per policy.
            case notOffered
            /// The peer accepted: restart the stream; stanzas from `localDomain` may follow.
            case authenticated
            /// The peer refused: fall back to dialback, or give up, per policy.
            case failed(SASLFailure)
            /// The peer broke the protocol.
            case protocolError(StreamError)
        }

        package let localDomain: String
        private var sentAuth = false

        package init(localDomain: String) {
            self.localDomain = localDomain
        }

        /// Decides from the peer's stream features.
        package mutating func featuresReceived(_ features: XMLElement) -> Action {
            let offered = features.firstElement(named: "mechanisms", namespace: Namespace.sasl)?
                .elements(named: "mechanism", namespace: Namespace.sasl)
                .contains { $0.text.trimmingXMLWhitespace == SASLExternal.mechanism } ?? false
            guard offered else { return .notOffered }
            sentAuth = true
            var auth = XMLElement("auth", namespace: Namespace.sasl, attributes: ["mechanism": SASLExternal.mechanism])
            auth.append(text: Data(localDomain.utf8).base64EncodedString())
            return .send(auth)
        }

        /// Handles the peer's `<challenge/>`, `<success/>` or `<failure/>`.
        package mutating func received(_ element: XMLElement) -> Action {
            guard sentAuth, element.namespace == Namespace.sasl else {
                return .protocolError(StreamError(.undefinedCondition, text: "unexpected SASL element <\(element.name)/>"))
            }
            switch element.name {
            case "challenge":
                var response = XMLElement("response", namespace: Namespace.sasl)
                response.append(text: "=")
                return .send(response)
            case "success":
                sentAuth = false
                return .authenticated
            case "failure":
                sentAuth = false
                return .failed(SASLFailure(element: element) ?? .notAuthorized)
            default:
                return .protocolError(StreamError(.undefinedCondition, text: "unexpected SASL element <\(element.name)/>"))
            }
        }
    }
}
