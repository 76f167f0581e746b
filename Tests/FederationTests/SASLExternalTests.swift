import Federation
import Foundation
import Testing
import XMLStreaming
import XMPP

@Suite("SASL EXTERNAL")
struct SASLExternalTests {
    static func auth(_ payload: String, mechanism: String = "EXTERNAL") -> XMLElement {
        XMLElement("auth", namespace: Namespace.sasl, attributes: ["mechanism": mechanism], children: payload.isEmpty ? [] : [.text(payload)])
    }

    static let fabrikam = Data("fabrikam.example".utf8).base64EncodedString()

    @Test("offered only when the certificate is valid for the claimed domain")
    func offer() {
        #expect(SASLExternal.Receiver(claimedDomain: "fabrikam.example", certificateDomains: ["fabrikam.example"]).mechanismsFeature != nil)
        #expect(SASLExternal.Receiver(claimedDomain: "fabrikam.example", certificateDomains: ["other.example"]).mechanismsFeature == nil)
        #expect(SASLExternal.Receiver(claimedDomain: nil, certificateDomains: ["fabrikam.example"]).mechanismsFeature == nil)
    }

    @Test("an authzid of '=' or the claimed domain authenticates", arguments: ["=", fabrikam])
    func success(payload: String) {
        var receiver = SASLExternal.Receiver(claimedDomain: "fabrikam.example", certificateDomains: ["fabrikam.example"])
        guard case .authenticated(let domain, let success) = receiver.received(Self.auth(payload)) else {
            Issue.record("expected success")
            return
        }
        #expect(domain == "fabrikam.example")
        #expect(success.name == "success")
    }

    @Test("refusals carry the RFC 6120 §6.5 condition", arguments: [
        (auth(Data("evil.example".utf8).base64EncodedString()), SASLFailure.invalidAuthzid),
        (auth(Data("user@fabrikam.example".utf8).base64EncodedString()), .invalidAuthzid),
        (auth("not base64!"), .incorrectEncoding),
        (auth("=", mechanism: "PLAIN"), .invalidMechanism),
        (XMLElement("abort", namespace: Namespace.sasl), .aborted),
        (XMLElement("response", namespace: Namespace.sasl), .malformedRequest),
    ])
    func refusals(element: XMLElement, expected: SASLFailure) {
        var receiver = SASLExternal.Receiver(claimedDomain: "fabrikam.example", certificateDomains: ["fabrikam.example"])
        guard case .failed(let failure, let reply) = receiver.received(element) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure == expected)
        #expect(SASLFailure(element: reply) == expected)
    }

    @Test("a certificate for another domain is not-authorized even with EXTERNAL forced")
    func wrongCertificate() {
        var receiver = SASLExternal.Receiver(claimedDomain: "fabrikam.example", certificateDomains: [])
        guard case .failed(let failure, _) = receiver.received(Self.auth("=")) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure == .invalidMechanism, "EXTERNAL was never offered")
    }

    @Test("initiator and receiver complete an exchange, with and without an initial response")
    func exchange() throws {
        for emptyInitialResponse in [false, true] {
            var initiator = SASLExternal.Initiator(localDomain: "contoso.example")
            var receiver = SASLExternal.Receiver(claimedDomain: "contoso.example", certificateDomains: ["contoso.example"])
            let features = XMLElement("features", namespace: Namespace.streams, children: [.element(try #require(receiver.mechanismsFeature))])
            guard case .send(var auth) = initiator.featuresReceived(features) else {
                Issue.record("initiator did not authenticate")
                return
            }
            if emptyInitialResponse { auth.children = [] }
            var toInitiator = receiver.received(auth)
            if case .send(let challenge) = toInitiator {
                guard case .send(let response) = initiator.received(challenge) else {
                    Issue.record("no response to the challenge")
                    return
                }
                toInitiator = receiver.received(response)
            }
            guard case .authenticated(_, let success) = toInitiator else {
                Issue.record("receiver did not authenticate (empty initial response: \(emptyInitialResponse))")
                return
            }
            #expect(initiator.received(success) == .authenticated)
        }
    }

    @Test("the initiator reports failure and absence so the caller can fall back to dialback")
    func fallBack() {
        var initiator = SASLExternal.Initiator(localDomain: "contoso.example")
        #expect(initiator.featuresReceived(XMLElement("features", namespace: Namespace.streams)) == .notOffered)
        var offered = SASLExternal.Initiator(localDomain: "contoso.example")
        let mechanisms = XMLElement(
            "mechanisms", namespace: Namespace.sasl,
            children: [.element(XMLElement("mechanism", namespace: Namespace.sasl, children: [.text("EXTERNAL")]))])
        _ = offered.featuresReceived(XMLElement("features", namespace: Namespace.streams, children: [.element(mechanisms)]))
        #expect(offered.received(SASLFailure.notAuthorized.element()) == .failed(.notAuthorized))
        if case .protocolError = offered.received(XMLElement("success", namespace: Namespace.sasl)) {} else {
            Issue.record("success after failure must be a protocol error")
        }
    }
}
