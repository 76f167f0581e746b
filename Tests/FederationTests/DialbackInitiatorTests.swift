import Federation
import Testing
import XMLStreaming
import XMPP

@Suite("Dialback: Initiating Server machine")
struct DialbackInitiatorTests {
    typealias F = DialbackFixtures

    static let secret = DialbackSecret(F.capuletSecret)
    static let rooms = DialbackDomainPair(sender: "rooms.capulet.example", target: F.montague)
    static let chat = DialbackDomainPair(sender: F.capulet, target: "chat.montague.example")

    static func header(id: String?) -> StreamHeader {
        StreamHeader(from: try? JID(F.montague), to: try? JID(F.capulet), id: id)
    }

    static func request(_ pair: DialbackDomainPair, streamID: String = F.capuletToMontagueStreamID) -> XMLElement {
        let key = DialbackKey(secret: secret, receivingServer: pair.target, originatingServer: pair.sender, streamID: streamID)
        return DialbackResult.request(for: pair, key: key).element
    }

    /// A machine whose stream is open with the XEP-0220 stream ID and a request out for `pairs`.
    static func waiting(for pairs: [DialbackDomainPair]) -> DialbackInitiator {
        var initiator = DialbackInitiator(secret: secret)
        _ = initiator.streamHeaderReceived(header(id: F.capuletToMontagueStreamID))
        for pair in pairs { _ = initiator.authorizationRequested(for: pair) }
        return initiator
    }

    @Test("the key sent is XEP-0220 Example 1")
    func sendsExampleKey() throws {
        var initiator = DialbackInitiator(secret: Self.secret)
        #expect(initiator.streamHeaderReceived(Self.header(id: F.capuletToMontagueStreamID)).isEmpty)
        let actions = initiator.authorizationRequested(for: F.capuletToMontague)
        let sent = try #require(actions.first.flatMap { if case .send(let element) = $0 { element } else { nil } })
        #expect(actions.count == 1)
        #expect(try DialbackResult(sent) == .request(for: F.capuletToMontague, key: DialbackKey(rawValue: F.capuletKey)))
        #expect(initiator.pendingDomainPairs == [F.capuletToMontague])
        #expect(!initiator.isAuthorized(F.capuletToMontague))
    }

    @Test("pairs requested before the header are sent with it, in order")
    func queuedUntilHeader() {
        var initiator = DialbackInitiator(secret: Self.secret)
        #expect(initiator.authorizationRequested(for: F.capuletToMontague).isEmpty)
        #expect(initiator.authorizationRequested(for: Self.rooms).isEmpty)
        #expect(initiator.authorizationRequested(for: F.capuletToMontague).isEmpty)
        let actions = initiator.streamHeaderReceived(Self.header(id: F.capuletToMontagueStreamID))
        #expect(actions == [.send(Self.request(F.capuletToMontague)), .send(Self.request(Self.rooms))])
    }

    @Test("valid authorizes, invalid and error refuse, each pair on its own")
    func answers() {
        var initiator = Self.waiting(for: [F.capuletToMontague, Self.rooms, Self.chat])
        let timeout = StanzaError(.remoteServerTimeout)

        #expect(initiator.resultReceived(.answer(.valid, for: F.capuletToMontague)) == [.domainPairAuthorized(F.capuletToMontague)])
        #expect(initiator.resultReceived(.answer(.error(timeout), for: Self.chat)) == [.domainPairRefused(Self.chat, .dialbackError(timeout))])
        #expect(initiator.resultReceived(.answer(.invalid, for: Self.rooms)) == [.domainPairRefused(Self.rooms, .keyInvalid)])

        #expect(initiator.isAuthorized(F.capuletToMontague))
        #expect(!initiator.isAuthorized(Self.rooms))
        #expect(initiator.authorizedDomainPairs == [F.capuletToMontague])
        #expect(initiator.pendingDomainPairs.isEmpty)
    }

    @Test("queued stanzas bounce as XEP-0220 §2.1.1 says")
    func bounceConditions() {
        #expect(DialbackRefusal.keyInvalid.bounceCondition == .internalServerError)
        #expect(DialbackRefusal.dialbackError(StanzaError(.itemNotFound)).bounceCondition == .remoteServerTimeout)
        #expect(DialbackRefusal.streamClosed.bounceCondition == .remoteServerTimeout)
    }

    @Test("a pair is requested once while waiting or authorized, and again after a refusal")
    func duplicates() {
        var initiator = Self.waiting(for: [F.capuletToMontague])
        #expect(initiator.authorizationRequested(for: F.capuletToMontague).isEmpty)
        _ = initiator.resultReceived(.answer(.valid, for: F.capuletToMontague))
        #expect(initiator.authorizationRequested(for: F.capuletToMontague).isEmpty)

        _ = initiator.authorizationRequested(for: Self.rooms)
        _ = initiator.resultReceived(.answer(.error(StanzaError(.remoteServerTimeout)), for: Self.rooms))
        #expect(initiator.authorizationRequested(for: Self.rooms) == [.send(Self.request(Self.rooms))])
    }

    static let unsolicited: [DialbackResult] = [
        .answer(.valid, for: rooms),
        DialbackResult(from: F.capulet, to: F.montague, payload: .answer(.valid)),
        .answer(.valid, for: DialbackDomainPair(sender: F.capulet, target: "verona.example")),
    ]

    @Test("an answer for a pair not waiting is unsolicited and closes the stream", arguments: unsolicited)
    func unsolicitedAnswer(answer: DialbackResult) {
        var initiator = Self.waiting(for: [F.capuletToMontague])
        let actions = initiator.resultReceived(answer)
        #expect(actions.count == 1)
        guard case .closeStream(let error)? = actions.first else {
            Issue.record("expected the stream to close, got \(actions)")
            return
        }
        #expect(error.condition == .notAuthorized)
        #expect(initiator.authorizedDomainPairs.isEmpty)
        #expect(initiator.resultReceived(.answer(.valid, for: F.capuletToMontague)).isEmpty)
        #expect(initiator.streamClosed() == [.domainPairRefused(F.capuletToMontague, .streamClosed)])
    }

    @Test("a second answer for an authorized pair is unsolicited too")
    func repeatedAnswer() {
        var initiator = Self.waiting(for: [F.capuletToMontague])
        _ = initiator.resultReceived(.answer(.valid, for: F.capuletToMontague))
        #expect(initiator.resultReceived(.answer(.valid, for: F.capuletToMontague)).first.map(Self.closeCondition) == .notAuthorized)
    }

    @Test("a request on our outbound stream is unsupported without XEP-0288")
    func requestOnOutbound() {
        var initiator = Self.waiting(for: [F.capuletToMontague])
        let request = DialbackResult.request(for: DialbackDomainPair(sender: F.montague, target: F.capulet), key: DialbackKey(rawValue: "k"))
        #expect(initiator.resultReceived(request).first.map(Self.closeCondition) == .unsupportedStanzaType)
    }

    @Test("a header without an id ends the stream, since keys are bound to it")
    func headerWithoutID() {
        for id in [nil, ""] {
            var initiator = DialbackInitiator(secret: Self.secret)
            _ = initiator.authorizationRequested(for: F.capuletToMontague)
            #expect(initiator.streamHeaderReceived(Self.header(id: id)).first.map(Self.closeCondition) == .invalidXML)
            #expect(initiator.authorizationRequested(for: Self.rooms) == [.domainPairRefused(Self.rooms, .streamClosed)])
            #expect(initiator.streamClosed() == [.domainPairRefused(F.capuletToMontague, .streamClosed)])
        }
    }

    @Test("a second header changes nothing")
    func secondHeader() {
        var initiator = Self.waiting(for: [])
        #expect(initiator.streamHeaderReceived(Self.header(id: "other")).isEmpty)
        #expect(initiator.authorizationRequested(for: F.capuletToMontague) == [.send(Self.request(F.capuletToMontague))])
    }

    @Test("closing refuses every waiting pair, in order, and every later request")
    func closing() {
        var initiator = Self.waiting(for: [F.capuletToMontague, Self.rooms, Self.chat])
        _ = initiator.resultReceived(.answer(.valid, for: Self.rooms))
        #expect(
            initiator.streamClosed() == [
                .domainPairRefused(F.capuletToMontague, .streamClosed), .domainPairRefused(Self.chat, .streamClosed),
            ]
        )
        #expect(initiator.authorizedDomainPairs.isEmpty)
        #expect(initiator.authorizationRequested(for: Self.rooms) == [.domainPairRefused(Self.rooms, .streamClosed)])
        #expect(initiator.resultReceived(.answer(.valid, for: Self.chat)).isEmpty)
    }

    static func closeCondition(_ action: DialbackInitiator.Action) -> StreamError.Condition? {
        if case .closeStream(let error) = action { error.condition } else { nil }
    }
}
