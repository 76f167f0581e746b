import Federation
import Testing
import XMLStreaming
import XMPP

/// capulet.example (Initiating and Authoritative Server) dials montague.example (Receiving Server),
/// with the link layer's routing done by hand, as XEP-0220 §2 draws it:
/// - stream A, capulet → montague: capulet's `DialbackInitiator` talks to montague's `DialbackReceiver`;
/// - stream B, montague → capulet: montague's `DialbackVerificationRequests` talks to capulet's
///   `DialbackAuthority`.
///
/// Every element crosses its stream through the real serializer and parser, and is recorded.
struct DialbackThreeParty {
    enum Stream: Hashable, Sendable {
        /// capulet → montague: dialback keys and results.
        case a
        /// montague → capulet: verification requests and answers.
        case b
    }

    enum Hop: Hashable, Sendable {
        case initiatorToReceiver, receiverToInitiator, receivingToAuthority, authorityToReceiving

        var stream: Stream {
            switch self {
            case .initiatorToReceiver, .receiverToInitiator: .a
            case .receivingToAuthority, .authorityToReceiving: .b
            }
        }
    }

    struct Line: Hashable, CustomStringConvertible {
        var hop: Hop
        var xml: String
        var description: String { "\(hop): \(xml)" }
    }

    private enum Delivery {
        case element(Hop, XMLElement)
        case verificationRequest(authoritativeDomain: String, DialbackVerify)
        case verifyAnswer(DialbackVerify)
        case verifyFailure(DialbackVerify, DialbackVerificationFailure)
        /// After whatever was sent before it, as a stream handler would do it.
        case close(Stream, StreamError?)
    }

    typealias F = DialbackFixtures
    static let streamID = F.capuletToMontagueStreamID

    var initiator: DialbackInitiator
    var receiver: DialbackReceiver
    var verifications = DialbackVerificationRequests()
    var authority: DialbackAuthority
    /// Domains whose DNS leads montague to capulet's server; any other Sender Domain cannot be found.
    var domainsServedByCapulet: Set<String> = [F.capulet, "rooms.capulet.example", "kitchen.capulet.example"]
    /// When false, capulet's Authoritative Server never answers (it hangs).
    var authorityAnswers = true
    /// Changes an element on its way, as a forger or a broken network would.
    var tamper: @Sendable (Hop, XMLElement) -> XMLElement = { $1 }

    private(set) var transcript: [Line] = []
    private(set) var initiatorEvents: [DialbackInitiator.Action] = []
    private(set) var receiverEvents: [DialbackReceiver.Action] = []
    private(set) var closed: [Stream: StreamError] = [:]
    private var queue: [Delivery] = []

    init(
        initiatorSecret: String = F.capuletSecret,
        authoritySecret: String = F.capuletSecret,
        authorityDomains: Set<String> = [F.capulet, "rooms.capulet.example"],
        admission: @escaping @Sendable (DialbackDomainPair) -> DialbackReceiver.Admission = { _ in .verifyKey }
    ) {
        initiator = DialbackInitiator(secret: DialbackSecret(initiatorSecret))
        receiver = DialbackReceiver(
            streamID: Self.streamID, localDomains: [F.montague, "chat.montague.example"], admission: admission
        )
        authority = DialbackAuthority(secret: DialbackSecret(authoritySecret), localDomains: authorityDomains)
    }

    /// montague's response header arrives at capulet.
    mutating func openStream() throws {
        let header = StreamHeader(from: try JID(F.montague), to: try JID(F.capulet), id: Self.streamID)
        apply(initiator.streamHeaderReceived(header))
        try run()
    }

    /// capulet wants to send stanzas for `pair` over stream A.
    mutating func request(_ pair: DialbackDomainPair) throws {
        apply(initiator.authorizationRequested(for: pair))
        try run()
    }

    /// Someone puts `element` on the wire at `hop`.
    mutating func inject(_ element: XMLElement, at hop: Hop) throws {
        queue.append(.element(hop, element))
        try run()
    }

    /// A stream's connection drops.
    mutating func lose(_ stream: Stream) throws {
        queue.append(.close(stream, nil))
        try run()
    }

    /// The elements that crossed stream `stream`.
    func lines(on stream: Stream) -> [Line] {
        transcript.filter { $0.hop.stream == stream }
    }

    private mutating func run() throws {
        while !queue.isEmpty {
            let delivery = queue.removeFirst()
            switch delivery {
            case .element(let hop, let element):
                try carry(element, at: hop)
            case .verificationRequest(let domain, let verify):
                if domainsServedByCapulet.contains(domain), closed[.b] == nil {
                    apply(verifications.verificationRequested(verify))
                } else {
                    apply(receiver.verificationFailed(verify, .authoritativeServerNotFound))
                }
            case .verifyAnswer(let answer):
                if answer.id == receiver.streamID, closed[.a] == nil { apply(receiver.verifyResponseReceived(answer)) }
            case .verifyFailure(let request, let failure):
                if request.id == receiver.streamID, closed[.a] == nil { apply(receiver.verificationFailed(request, failure)) }
            case .close(let stream, let error):
                close(stream, error)
            }
        }
    }

    private mutating func carry(_ element: XMLElement, at hop: Hop) throws {
        guard closed[hop.stream] == nil else { return }
        let xml = DialbackWireFormat.string(tamper(hop, element))
        transcript.append(Line(hop: hop, xml: xml))
        let received: DialbackElement
        do {
            received = try DialbackElement(DialbackWireFormat.parseOne(xml))
        } catch let error as StreamError {
            close(hop.stream, error)
            return
        }
        switch (hop, received) {
        case (.initiatorToReceiver, .result(let result)):
            apply(receiver.resultReceived(result))
        case (.receiverToInitiator, .result(let result)):
            apply(initiator.resultReceived(result))
        case (.receivingToAuthority, .verify(let verify)):
            if authorityAnswers { apply(authority.verifyReceived(verify)) }
        case (.authorityToReceiving, .verify(let verify)):
            apply(verifications.verifyResponseReceived(verify))
        default:
            Issue.record("this harness does not route \(received) at \(hop)")
        }
    }

    private mutating func close(_ stream: Stream, _ error: StreamError?) {
        guard closed[stream] == nil else { return }
        closed[stream] = error ?? StreamError(.connectionTimeout)
        switch stream {
        case .a: apply(initiator.streamClosed())
        case .b: apply(verifications.streamClosed(.authoritativeServerTimedOut))
        }
    }

    private mutating func apply(_ actions: [DialbackInitiator.Action]) {
        for action in actions {
            switch action {
            case .send(let element): queue.append(.element(.initiatorToReceiver, element))
            case .closeStream(let error): queue.append(.close(.a, error))
            case .domainPairAuthorized, .domainPairRefused: initiatorEvents.append(action)
            }
        }
    }

    private mutating func apply(_ actions: [DialbackReceiver.Action]) {
        for action in actions {
            switch action {
            case .send(let element): queue.append(.element(.receiverToInitiator, element))
            case .requestVerification(let domain, let verify): queue.append(.verificationRequest(authoritativeDomain: domain, verify))
            case .closeStream(let error): queue.append(.close(.a, error))
            case .domainPairAuthorized, .domainPairRefused: receiverEvents.append(action)
            }
        }
    }

    private mutating func apply(_ actions: [DialbackVerificationRequests.Action]) {
        for action in actions {
            switch action {
            case .send(let element): queue.append(.element(.receivingToAuthority, element))
            case .deliverAnswer(let answer): queue.append(.verifyAnswer(answer))
            case .verificationFailed(let request, let failure): queue.append(.verifyFailure(request, failure))
            case .closeStream(let error): queue.append(.close(.b, error))
            }
        }
    }

    private mutating func apply(_ action: DialbackAuthority.Action) {
        switch action {
        case .send(let element): queue.append(.element(.authorityToReceiving, element))
        case .closeStream(let error): queue.append(.close(.b, error))
        }
    }
}

@Suite("Dialback: three-party flows")
struct DialbackFlowTests {
    typealias F = DialbackFixtures
    static let rooms = DialbackDomainPair(sender: "rooms.capulet.example", target: F.montague)
    static let chat = DialbackDomainPair(sender: F.capulet, target: "chat.montague.example")

    /// The refusal condition montague sent capulet for `pair`, as capulet saw it.
    static func refusal(of pair: DialbackDomainPair, in events: [DialbackInitiator.Action]) -> DialbackRefusal? {
        for case .domainPairRefused(pair, let refusal) in events { return refusal }
        return nil
    }

    static func dialbackErrorCondition(of pair: DialbackDomainPair, in events: [DialbackInitiator.Action]) -> StanzaError.Condition? {
        if case .dialbackError(let error)? = refusal(of: pair, in: events) { error.condition } else { nil }
    }

    @Test("XEP-0220 §2 walk-through: key, verify, valid, valid")
    func walkThrough() throws {
        var net = DialbackThreeParty()
        try net.openStream()
        try net.request(F.capuletToMontague)
        #expect(
            net.transcript == [
                .init(hop: .initiatorToReceiver, xml: "<db:result from='capulet.example' to='montague.example'>\(F.capuletKey)</db:result>"),
                .init(
                    hop: .receivingToAuthority,
                    xml: "<db:verify from='montague.example' to='capulet.example' id='D60000229F'>\(F.capuletKey)</db:verify>"
                ),
                .init(
                    hop: .authorityToReceiving,
                    xml: "<db:verify from='capulet.example' to='montague.example' id='D60000229F' type='valid'/>"
                ),
                .init(hop: .receiverToInitiator, xml: "<db:result from='montague.example' to='capulet.example' type='valid'/>"),
            ]
        )
        #expect(net.initiatorEvents == [.domainPairAuthorized(F.capuletToMontague)])
        #expect(net.receiverEvents == [.domainPairAuthorized(F.capuletToMontague)])
        #expect(net.initiator.isAuthorized(F.capuletToMontague))
        #expect(net.receiver.isAuthorized(F.capuletToMontague))
        #expect(net.closed.isEmpty)
    }

    @Test("a pair requested before montague's header goes out with it")
    func requestBeforeHeader() throws {
        var net = DialbackThreeParty()
        try net.request(F.capuletToMontague)
        #expect(net.transcript.isEmpty)
        try net.openStream()
        #expect(net.initiator.isAuthorized(F.capuletToMontague))
        #expect(net.receiver.isAuthorized(F.capuletToMontague))
    }

    enum BadKey: String, CaseIterable, Sendable {
        /// capulet's Initiating Server uses another secret than its Authoritative Server.
        case staleSecret
        /// Someone rewrites the key on stream A.
        case tamperedInTransit
    }

    @Test("a bad key is refused: invalid to capulet, stream A closed", arguments: BadKey.allCases)
    func badKey(badKey: BadKey) throws {
        var net: DialbackThreeParty
        switch badKey {
        case .staleSecret:
            net = DialbackThreeParty(initiatorSecret: "last year's secret")
        case .tamperedInTransit:
            net = DialbackThreeParty()
            net.tamper = { hop, element in
                guard hop == .initiatorToReceiver else { return element }
                var forged = element
                forged.children = [.text(String(repeating: "0", count: 64))]
                return forged
            }
        }
        try net.openStream()
        try net.request(F.capuletToMontague)

        #expect(net.lines(on: .b).last?.xml.contains("type='invalid'") == true)
        #expect(net.lines(on: .a).last?.xml == "<db:result from='montague.example' to='capulet.example' type='invalid'/>")
        #expect(net.initiatorEvents == [.domainPairRefused(F.capuletToMontague, .keyInvalid)])
        #expect(net.receiverEvents == [.domainPairRefused(F.capuletToMontague, .keyInvalid)])
        #expect(net.closed[.a]?.condition == .notAuthorized)
        #expect(net.closed[.b] == nil)
        #expect(!net.initiator.isAuthorized(F.capuletToMontague))
        #expect(!net.receiver.isAuthorized(F.capuletToMontague))
    }

    @Test("several domain pairs share stream A, each verified on its own")
    func piggybacking() throws {
        var net = DialbackThreeParty()
        try net.openStream()
        for pair in [F.capuletToMontague, Self.rooms, Self.chat] { try net.request(pair) }

        #expect(net.initiator.authorizedDomainPairs == [F.capuletToMontague, Self.rooms, Self.chat])
        #expect(net.receiver.authorizedDomainPairs == [F.capuletToMontague, Self.rooms, Self.chat])
        #expect(net.lines(on: .a).count == 6)
        #expect(net.lines(on: .b).count == 6)
        #expect(net.lines(on: .b).allSatisfy { $0.xml.contains("id='D60000229F'") })
        #expect(net.closed.isEmpty)
    }

    @Test("a bad key for one more pair costs only that pair: forbidden, stream A stays")
    func badKeyBesideAuthorizedPairs() throws {
        var net = DialbackThreeParty()
        net.tamper = { hop, element in
            guard hop == .initiatorToReceiver, element["from"] == "rooms.capulet.example" else { return element }
            var forged = element
            forged.children = [.text(F.capuletKey)]
            return forged
        }
        try net.openStream()
        try net.request(F.capuletToMontague)
        try net.request(Self.rooms)

        #expect(Self.dialbackErrorCondition(of: Self.rooms, in: net.initiatorEvents) == .forbidden)
        #expect(net.receiverEvents.last == .domainPairRefused(Self.rooms, .keyInvalid))
        #expect(net.closed.isEmpty)
        #expect(net.initiator.authorizedDomainPairs == [F.capuletToMontague])
        #expect(net.receiver.authorizedDomainPairs == [F.capuletToMontague])

        try net.request(Self.chat)
        #expect(net.receiver.authorizedDomainPairs == [F.capuletToMontague, Self.chat])
    }

    @Test("a Target Domain montague does not serve: item-not-found, nothing asked of capulet")
    func unknownTarget() throws {
        var net = DialbackThreeParty()
        try net.openStream()
        let verona = DialbackDomainPair(sender: F.capulet, target: "verona.example")
        try net.request(verona)

        #expect(Self.dialbackErrorCondition(of: verona, in: net.initiatorEvents) == .itemNotFound)
        #expect(Self.refusal(of: verona, in: net.initiatorEvents)?.bounceCondition == .remoteServerTimeout)
        #expect(net.lines(on: .b).isEmpty)
        #expect(net.closed.isEmpty)
    }

    @Test("the Authoritative Server does not host the Sender Domain: remote-server-not-found")
    func authorityDoesNotHostSender() throws {
        var net = DialbackThreeParty()
        try net.openStream()
        let kitchen = DialbackDomainPair(sender: "kitchen.capulet.example", target: F.montague)
        try net.request(kitchen)

        #expect(net.lines(on: .b).last?.xml.contains("<item-not-found") == true)
        #expect(Self.dialbackErrorCondition(of: kitchen, in: net.initiatorEvents) == .remoteServerNotFound)
        #expect(net.closed.isEmpty)
    }

    @Test("the Authoritative Server cannot be found: remote-server-not-found, nothing sent on B")
    func authorityNotFound() throws {
        var net = DialbackThreeParty()
        net.domainsServedByCapulet = []
        try net.openStream()
        try net.request(F.capuletToMontague)

        #expect(Self.dialbackErrorCondition(of: F.capuletToMontague, in: net.initiatorEvents) == .remoteServerNotFound)
        #expect(net.lines(on: .b).isEmpty)
    }

    @Test("stream B drops before the Authoritative Server answers: remote-server-timeout")
    func authorityTimesOut() throws {
        var net = DialbackThreeParty()
        net.authorityAnswers = false
        try net.openStream()
        try net.request(F.capuletToMontague)
        try net.request(Self.rooms)
        #expect(net.initiatorEvents.isEmpty)
        #expect(net.receiver.verifyingDomainPairs == [F.capuletToMontague, Self.rooms])

        try net.lose(.b)
        #expect(Self.dialbackErrorCondition(of: F.capuletToMontague, in: net.initiatorEvents) == .remoteServerTimeout)
        #expect(Self.dialbackErrorCondition(of: Self.rooms, in: net.initiatorEvents) == .remoteServerTimeout)
        #expect(net.receiver.verifyingDomainPairs.isEmpty)
        #expect(net.closed[.a] == nil)
    }

    @Test("stream A drops while capulet waits: its pairs are refused as after a dialback error")
    func streamALost() throws {
        var net = DialbackThreeParty()
        net.authorityAnswers = false
        try net.openStream()
        try net.request(F.capuletToMontague)
        try net.lose(.a)
        #expect(net.initiatorEvents == [.domainPairRefused(F.capuletToMontague, .streamClosed)])
    }

    @Test("montague's policy refuses a sender with forbidden, or vouches for one without dialing back")
    func policy() throws {
        var net = DialbackThreeParty { pair in
            switch pair.sender {
            case "rooms.capulet.example": .refuse(.forbidden)
            case F.capulet where pair.target == "chat.montague.example": .authorizeWithoutVerification
            default: .verifyKey
            }
        }
        try net.openStream()
        try net.request(Self.rooms)
        try net.request(Self.chat)

        #expect(Self.dialbackErrorCondition(of: Self.rooms, in: net.initiatorEvents) == .forbidden)
        #expect(net.initiator.authorizedDomainPairs == [Self.chat])
        #expect(net.lines(on: .b).isEmpty)
    }

    @Test("a forged valid answer to capulet closes stream A and authorizes nothing")
    func forgedResultAnswer() throws {
        var net = DialbackThreeParty()
        net.authorityAnswers = false
        try net.openStream()
        try net.request(F.capuletToMontague)
        try net.inject(DialbackResult.answer(.valid, for: Self.rooms).element, at: .receiverToInitiator)

        #expect(net.closed[.a]?.condition == .notAuthorized)
        #expect(net.initiator.authorizedDomainPairs.isEmpty)
        #expect(net.initiatorEvents == [.domainPairRefused(F.capuletToMontague, .streamClosed)])
    }

    @Test("a forged verify answer to montague closes stream B and authorizes nothing")
    func forgedVerifyAnswer() throws {
        var net = DialbackThreeParty()
        net.authorityAnswers = false
        try net.openStream()
        try net.request(F.capuletToMontague)
        let forged = DialbackVerify(from: F.capulet, to: F.montague, id: "guessed", payload: .answer(.valid))
        try net.inject(forged.element, at: .authorityToReceiving)

        #expect(net.closed[.b]?.condition == .notAuthorized)
        #expect(!net.receiver.isAuthorized(F.capuletToMontague))
        #expect(Self.dialbackErrorCondition(of: F.capuletToMontague, in: net.initiatorEvents) == .remoteServerTimeout)
    }

    @Test(
        "an answer or a malformed element from capulet on stream A closes it",
        arguments: [
            ("<db:result from='capulet.example' to='montague.example' type='valid'/>", StreamError.Condition.notAuthorized),
            ("<db:result to='montague.example'>\(DialbackFixtures.capuletKey)</db:result>", .improperAddressing),
            ("<db:result from='capulet.example' to='montague.example' type='perhaps'/>", .invalidXML),
        ]
    )
    func badElementFromInitiator(xml: String, condition: StreamError.Condition) throws {
        var net = DialbackThreeParty()
        try net.openStream()
        try net.inject(DialbackWireFormat.parseOne(xml), at: .initiatorToReceiver)
        #expect(net.closed[.a]?.condition == condition)
        #expect(net.receiver.authorizedDomainPairs.isEmpty)
        #expect(net.lines(on: .b).isEmpty)
    }

    @Test("an answer or a malformed element on stream B towards capulet closes it")
    func badElementToAuthority() throws {
        for (xml, condition) in [
            ("<db:verify from='montague.example' to='capulet.example' id='x' type='valid'/>", StreamError.Condition.notAuthorized),
            ("<db:verify from='montague.example' to='capulet.example'>k</db:verify>", .invalidXML),
        ] {
            var net = DialbackThreeParty()
            try net.inject(DialbackWireFormat.parseOne(xml), at: .receivingToAuthority)
            #expect(net.closed[.b]?.condition == condition)
        }
    }
}
