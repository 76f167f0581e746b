import Federation
import Testing
import XMLStreaming
import XMPP

@Suite("Outbound stream: unexpected elements and events")
struct OutboundStreamUnexpectedTests {
    typealias Phase = OutboundStreamStateMachine.Phase
    typealias P = OutboundPeer

    static let message = "<message from='romeo@montague.example' to='juliet@capulet.example'><body>hi</body></message>"
    static let presence = "<presence from='romeo@montague.example' to='juliet@capulet.example'/>"
    static let iq = "<iq type='get' id='p1' from='montague.example' to='capulet.example'><ping xmlns='urn:xmpp:ping'/></iq>"
    static let smRequest = "<r xmlns='urn:xmpp:sm:3'/>"
    static let dialbackRequest = "<db:result from='montague.example' to='capulet.example'>abc</db:result>"
    static let strangerAnswer = "<db:result from='evil.example' to='capulet.example' type='valid'/>"
    static let verifyAnswer = "<db:verify from='montague.example' to='capulet.example' id='x' type='valid'/>"
    static let verifyRequest = "<db:verify from='montague.example' to='capulet.example' id='x'>abc</db:verify>"
    static let badDialbackType = "<db:result from='montague.example' to='capulet.example' type='bogus'/>"

    @Test("an element out of place ends the stream with the stream error that names it", arguments: [
        (Phase.awaitingFeatures, message, StreamError.Condition.notAuthorized),
        (.awaitingFeatures, P.proceed, .undefinedCondition),
        (.awaitingFeatures, smRequest, .unsupportedStanzaType),
        (.awaitingFeatures, P.dialbackValid, .notAuthorized),
        (.awaitingFeatures, dialbackRequest, .unsupportedStanzaType),
        (.negotiatingTLS, P.features(starttls: true), .undefinedCondition),
        (.negotiatingTLS, P.saslSuccess, .undefinedCondition),
        (.negotiatingTLS, presence, .notAuthorized),
        (.authenticatingSASL, P.proceed, .undefinedCondition),
        (.authenticatingSASL, dialbackRequest, .unsupportedStanzaType),
        (.authenticatingSASL, "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", .undefinedCondition),
        (.authenticatingSASL, iq, .notAuthorized),
        (.dialback, P.saslSuccess, .undefinedCondition),
        (.dialback, strangerAnswer, .notAuthorized),
        (.dialback, verifyAnswer, .notAuthorized),
        (.dialback, verifyRequest, .unsupportedStanzaType),
        (.dialback, badDialbackType, .invalidXML),
        (.dialback, dialbackRequest, .unsupportedStanzaType),
        (.dialback, P.features(), .undefinedCondition),
        (.established, iq, .notAuthorized),
        (.established, message, .notAuthorized),
        (.established, P.features(), .undefinedCondition),
        (.established, P.dialbackValid, .notAuthorized),
        (.established, smRequest, .unsupportedStanzaType),
    ])
    func unexpectedElement(phase: Phase, text: String, condition: StreamError.Condition) throws {
        var c = try OutboundConversation.inPhase(phase)
        let actions = c.peer(text)
        try #require(actions.count == 2)
        #expect(actions[0].closeError??.condition == condition)
        let reported = try #require(phase == .established ? actions[1].ending : actions[1].failure)
        #expect(reported.cause == .protocolViolation)
        #expect(reported.sentStreamError?.condition == condition)
        #expect(c.machine.phase == .closing)
        #expect(c.peer(P.close) == [.closeConnection])
    }

    @Test("after our closing tag, elements from the peer are read and ignored")
    func elementsWhileClosing() throws {
        var c = try OutboundConversation.inPhase(.closing)
        #expect(c.peer(Self.message).isEmpty)
        #expect(c.peer(P.streamError("reset")).isEmpty)
        #expect(c.machine.phase == .closing)
    }

    @Test("events the handler should not report here abandon the stream as an internal error", arguments: [
        Phase.awaitingFeatures, .negotiatingTLS, .authenticatingSASL, .dialback, .established, .verifying,
    ])
    func misplacedLocalEvents(phase: Phase) throws {
        var tls = try OutboundConversation.inPhase(phase)
        let tlsActions = tls.machine.tlsEstablished(peerCertificateValidForRemote: true)
        let tlsFailure = try #require(tlsActions.last.flatMap { $0.failure ?? $0.ending })
        #expect(tlsFailure.cause == .internalError)
        #expect(tlsActions.first == .closeConnection)

        var connect = try OutboundConversation.inPhase(phase)
        let connectActions = connect.machine.connectionEstablished()
        #expect(connectActions.last.flatMap { $0.failure ?? $0.ending }?.cause == .internalError)
        #expect(connectActions.first == .close(StreamError(.internalServerError)))
    }

    /// Every event the handler can report.
    enum Event: String, CaseIterable, Sendable {
        case connectionEstablished, streamHeader, features, streamError, stanza, tlsEstablished, tlsFailed
        case streamClosedByPeer, parseFailed, timedOut, connectionClosed, closeRequested

        func apply(to c: inout OutboundConversation) -> [OutboundStreamStateMachine.Action] {
            switch self {
            case .connectionEstablished: c.machine.connectionEstablished()
            case .streamHeader: c.machine.streamHeaderReceived(Self.header)
            case .features: c.machine.elementReceived(XMLElement("features", namespace: Namespace.streams))
            case .streamError: c.machine.elementReceived(StreamError(.systemShutdown).element)
            case .stanza: c.machine.elementReceived(XMLElement("message", namespace: Namespace.server))
            case .tlsEstablished: c.machine.tlsEstablished(peerCertificateValidForRemote: true)
            case .tlsFailed: c.machine.tlsFailed(reason: "handshake failure")
            case .streamClosedByPeer: c.machine.streamClosedByPeer()
            case .parseFailed: c.machine.parseFailed(XMLStreamError(.notWellFormed, "mismatched tag"))
            case .timedOut: c.machine.timedOut()
            case .connectionClosed: c.machine.connectionClosed()
            case .closeRequested: c.machine.closeRequested()
            }
        }

        static let header = XMLStreamHeader(
            name: "stream",
            namespace: "http://etherx.jabber.org/streams",
            attributes: [XMLAttribute("id", value: "s9"), XMLAttribute("version", value: "1.0")],
            namespaceDeclarations: ["": "jabber:server", "stream": "http://etherx.jabber.org/streams"]
        )
    }

    @Test("every event in every phase has a defined, consistent outcome", arguments: Phase.allCases, Event.allCases)
    func everyEventEveryPhase(phase: Phase, event: Event) throws {
        var c = try OutboundConversation.inPhase(phase)
        let actions = event.apply(to: &c)
        let after = c.machine.phase
        let wasOver = phase == .closing || phase == .closed
        let isOver = after == .closing || after == .closed

        // Nothing is established or reported twice, and the kind of report matches the phase left.
        #expect(actions.filter { $0.establishedStream != nil }.isEmpty || (!wasOver && after == .established))
        if wasOver {
            #expect(actions.failures.isEmpty && actions.endings.isEmpty)
            #expect(isOver)
        } else if isOver && phase != .established {
            #expect(actions.failures.count == 1)
            #expect(actions.endings.isEmpty)
            #expect(c.machine.stanzaSendRequested(XMLElement("message", namespace: Namespace.server)) == .bounce(actions.failures[0].bounceError))
        } else if isOver {
            #expect(actions.failures.isEmpty)
            #expect(actions.endings.count == (event == .closeRequested ? 0 : 1))
        } else {
            #expect(actions.failures.isEmpty && actions.endings.isEmpty)
        }

        // Nothing is written where it cannot be: before the connection, during the TLS handshake,
        // after our closing tag.
        let closes = actions.closes
        #expect(closes.count <= 1)
        if [.idle, .awaitingTLSHandshake, .closing, .closed].contains(phase) {
            #expect(closes.isEmpty)
            #expect(!actions.contains { if case .sendElement = $0 { true } else { false } })
        }
        // Waiting for the peer's closing tag means ours went out; closing the connection means done.
        if after == .closing && phase != .closing { #expect(closes.count == 1) }
        if actions.contains(.closeConnection) { #expect(after == .closed) }
        // The failure records the stream error exactly when one was written.
        if let reported = (actions.failures + actions.endings).first {
            #expect(reported.sentStreamError == closes.first ?? nil)
        }
        if !isOver { #expect(c.machine.failure == nil) }
    }
}
