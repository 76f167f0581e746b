import Federation
import Testing
import XMLStreaming
import XMPP

/// What the peer (montague.example, the Receiving Server) says in the outbound stream tests, as
/// wire text: it goes through the real parser, so the machine sees what a handler would give it.
enum OutboundPeer {
    typealias F = DialbackFixtures

    static let secret = DialbackSecret(F.capuletSecret)

    /// The peer's response header; `version: nil` for a pre-1.0 peer.
    static func header(
        id: String? = F.capuletToMontagueStreamID,
        version: String? = "1.0",
        contentNamespace: String = "jabber:server"
    ) -> String {
        var text = "<stream:stream xmlns='\(contentNamespace)' xmlns:stream='http://etherx.jabber.org/streams' "
            + "xmlns:db='jabber:server:dialback' from='\(F.montague)' to='\(F.capulet)'"
        if let id { text += " id='\(id)'" }
        if let version { text += " version='\(version)'" }
        return text + ">"
    }

    /// `<stream:features>` with the listed features, in the order servers send them.
    static func features(
        starttls: Bool = false,
        tlsRequired: Bool = false,
        external: Bool = false,
        dialback: Bool = false
    ) -> String {
        var text = "<stream:features>"
        if starttls {
            text += tlsRequired
                ? "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
                : "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        }
        if external {
            text += "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>EXTERNAL</mechanism></mechanisms>"
        }
        if dialback { text += "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>" }
        return text + "</stream:features>"
    }

    static let proceed = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    static let tlsFailure = "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    static let saslChallenge = "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
    static let saslSuccess = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
    static let saslFailure = "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
    static let dialbackValid = "<db:result from='\(F.montague)' to='\(F.capulet)' type='valid'/>"
    static let dialbackInvalid = "<db:result from='\(F.montague)' to='\(F.capulet)' type='invalid'/>"
    static let close = "</stream:stream>"

    static func streamError(_ condition: String) -> String {
        "<stream:error><\(condition) xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
    }

    /// Our header, as the machine must send it: from us, to the peer, version 1.0, `db:` declared.
    static let ourHeader: [UInt8] = StreamHeader(
        from: try? JID(F.capulet),
        to: try? JID(F.montague),
        version: .current,
        contentNamespace: Namespace.server
    ).bytes(declaringDialback: true)

    static let starttls = XMLElement("starttls", namespace: Namespace.tls)

    /// `<auth mechanism='EXTERNAL'>` with base64("capulet.example") as the authorization identity.
    static let auth = XMLElement(
        "auth",
        namespace: Namespace.sasl,
        attributes: ["mechanism": "EXTERNAL"],
        children: [.text("Y2FwdWxldC5leGFtcGxl")]
    )

    /// Our `<db:result/>` request on a stream whose ID is `streamID`.
    static func dialbackRequest(streamID: String) -> XMLElement {
        let key = DialbackKey(secret: secret, receivingServer: F.montague, originatingServer: F.capulet, streamID: streamID)
        return DialbackResult.request(for: F.capuletToMontague, key: key).element
    }

    /// Our `<db:verify/>` request as the Receiving Server: montague.example's key from XEP-0220
    /// Example 5, received on our inbound stream `streamID`, for the peer to check as the
    /// Authoritative Server.
    static func verifyRequest(streamID: String = F.montagueToCapuletStreamID) -> DialbackVerify {
        DialbackVerify.request(
            for: DialbackDomainPair(sender: F.montague, target: F.capulet),
            streamID: streamID,
            key: DialbackKey(rawValue: F.montagueKey)
        )
    }

    /// The peer's answer to `verifyRequest(streamID:)`, as wire text.
    static func verifyAnswer(_ type: String, streamID: String = F.montagueToCapuletStreamID) -> String {
        "<db:verify from='\(F.montague)' to='\(F.capulet)' id='\(streamID)' type='\(type)'/>"
    }
}

/// One outbound stream driven by a scripted peer. The peer's text goes through a real
/// `XMLStreamParser`, and the parser restarts whenever the machine says so, as the handler will.
struct OutboundConversation {
    typealias Action = OutboundStreamStateMachine.Action

    var machine: OutboundStreamStateMachine
    let parser = XMLStreamParser()

    init(
        policy: NegotiationPolicy = .default,
        secret: DialbackSecret? = OutboundPeer.secret,
        directTLS: Bool = false,
        purpose: OutboundStreamStateMachine.Purpose = .link
    ) throws {
        machine = try OutboundStreamStateMachine(
            localDomain: DialbackFixtures.capulet,
            remoteDomain: DialbackFixtures.montague,
            policy: policy,
            dialbackSecret: secret,
            directTLS: directTLS,
            purpose: purpose
        )
    }

    mutating func connect(peerCertificateValid: Bool = false) -> [Action] {
        machine.connectionEstablished(peerCertificateValidForRemote: peerCertificateValid)
    }

    /// The peer writes `text`. Events parsed before a parse error are handled first, then the error.
    mutating func peer(_ text: String) -> [Action] {
        var events: [XMLStreamEvent] = []
        var parseError: XMLStreamError?
        do {
            try parser.feed(Array(text.utf8), into: &events)
        } catch {
            parseError = error
        }
        var actions: [Action] = []
        for event in events {
            let step = machine.streamEventReceived(event)
            actions += step
            if step.contains(where: \.resetsParser) { parser.restart() }
        }
        if let parseError { actions += machine.parseFailed(parseError) }
        return actions
    }

    mutating func tlsEstablished(peerCertificateValid: Bool = true) -> [Action] {
        machine.tlsEstablished(peerCertificateValidForRemote: peerCertificateValid)
    }

    /// A conversation left in `phase`, under a policy that lets every phase be reached (TLS
    /// required, SASL optional, dialback on): STARTTLS, EXTERNAL refused, dialback authorized.
    /// `.verifying` is reached on a verification-only connection instead, with one request out.
    static func inPhase(_ phase: OutboundStreamStateMachine.Phase) throws -> OutboundConversation {
        if phase == .verifying { return try verifying() }
        var conversation = try OutboundConversation(policy: NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true))
        let script: [(inout OutboundConversation) -> Void] = [
            { _ = $0.connect() },
            { _ = $0.peer(OutboundPeer.header(id: "plain-1")) },
            { _ = $0.peer(OutboundPeer.features(starttls: true, dialback: true)) },
            { _ = $0.peer(OutboundPeer.proceed) },
            {
                _ = $0.tlsEstablished()
                _ = $0.peer(OutboundPeer.header())
                _ = $0.peer(OutboundPeer.features(external: true, dialback: true))
            },
            { _ = $0.peer(OutboundPeer.saslFailure) },
            { _ = $0.peer(OutboundPeer.dialbackValid) },
            { _ = $0.machine.closeRequested() },
            { _ = $0.peer(OutboundPeer.close) },
        ]
        let order: [OutboundStreamStateMachine.Phase] = [
            .idle, .awaitingStreamHeader, .awaitingFeatures, .negotiatingTLS, .awaitingTLSHandshake,
            .authenticatingSASL, .dialback, .established, .closing, .closed,
        ]
        let steps = try #require(order.firstIndex(of: phase))
        for step in script.prefix(steps) { step(&conversation) }
        try #require(conversation.machine.phase == phase)
        return conversation
    }

    /// A verification-only connection under the same policy, past STARTTLS and the features, with
    /// `requests` (by default `OutboundPeer.verifyRequest()`) sent and unanswered.
    static func verifying(requests: [DialbackVerify] = [OutboundPeer.verifyRequest()]) throws -> OutboundConversation {
        var conversation = try OutboundConversation(
            policy: NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true),
            purpose: .verification
        )
        for request in requests { _ = conversation.machine.verificationRequested(request) }
        _ = conversation.connect()
        _ = conversation.peer(OutboundPeer.header(id: "plain-1"))
        _ = conversation.peer(OutboundPeer.features(starttls: true, dialback: true))
        _ = conversation.peer(OutboundPeer.proceed)
        _ = conversation.tlsEstablished()
        _ = conversation.peer(OutboundPeer.header())
        _ = conversation.peer(OutboundPeer.features(external: true, dialback: true))
        try #require(conversation.machine.phase == .verifying)
        return conversation
    }
}

extension OutboundStreamStateMachine.Action {
    /// Whether the handler resets the parser for this action.
    var resetsParser: Bool {
        switch self {
        case .restartStream, .startTLS: true
        default: false
        }
    }

    var failure: OutboundFailure? {
        if case .failed(let failure) = self { failure } else { nil }
    }

    var ending: OutboundFailure? {
        if case .ended(let failure) = self { failure } else { nil }
    }

    var establishedStream: OutboundEstablishedStream? {
        if case .established(let stream) = self { stream } else { nil }
    }

    var verificationFailure: (DialbackVerify, DialbackVerificationFailure)? {
        if case .verificationFailed(let request, let failure) = self { (request, failure) } else { nil }
    }

    /// The stream error written by a `.close`, `.some(nil)` for a bare closing tag, `nil` if this
    /// is not a `.close`.
    var closeError: StreamError?? {
        if case .close(let error) = self { .some(error) } else { nil }
    }
}

extension Array where Element == OutboundStreamStateMachine.Action {
    var failures: [OutboundFailure] { compactMap(\.failure) }
    var endings: [OutboundFailure] { compactMap(\.ending) }
    var closes: [StreamError?] { compactMap(\.closeError) }
    /// The `.verificationFailed` actions, as comparable values.
    var verificationFailures: [DialbackVerificationFailure] { compactMap(\.verificationFailure).map(\.1) }
    var failedVerifications: [DialbackVerify] { compactMap(\.verificationFailure).map(\.0) }
}
