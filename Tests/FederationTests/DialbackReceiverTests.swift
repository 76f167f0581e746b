import Federation
import Testing
import XMLStreaming
import XMPP

@Suite("Dialback: Receiving Server machine")
struct DialbackReceiverTests {
    typealias F = DialbackFixtures

    /// montague.example receiving capulet.example's stream, whose response header had this ID.
    static let streamID = F.capuletToMontagueStreamID
    static let key = DialbackKey(rawValue: F.capuletKey)
    static let rooms = DialbackDomainPair(sender: "rooms.capulet.example", target: F.montague)
    static let chat = DialbackDomainPair(sender: F.capulet, target: "chat.montague.example")

    static func receiver(
        admission: @escaping @Sendable (DialbackDomainPair) -> DialbackReceiver.Admission = { _ in .verifyKey }
    ) -> DialbackReceiver {
        DialbackReceiver(streamID: streamID, localDomains: [F.montague, "chat.montague.example"], admission: admission)
    }

    static func verify(_ pair: DialbackDomainPair, key: DialbackKey = key) -> DialbackVerify {
        .request(for: pair, streamID: streamID, key: key)
    }

    static func answer(_ answer: DialbackAnswer, _ pair: DialbackDomainPair) -> DialbackReceiver.Action {
        .send(DialbackResult.answer(answer, for: pair).element)
    }

    /// The dialback error sent for `pair`, read back from the `.send` action.
    static func sentError(_ actions: [DialbackReceiver.Action]) throws -> StanzaError? {
        guard case .send(let element)? = actions.first else { return nil }
        guard case .answer(.error(let error)) = try DialbackResult(element).payload else { return nil }
        return error
    }

    @Test("a key request is sent to the Sender Domain's Authoritative Server for checking")
    func asksAuthority() {
        var receiver = Self.receiver()
        let actions = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        let expected = DialbackVerify(from: F.montague, to: F.capulet, id: Self.streamID, payload: .key(Self.key))
        #expect(actions == [.requestVerification(authoritativeDomain: F.capulet, verify: expected)])
        #expect(receiver.verifyingDomainPairs == [F.capuletToMontague])
        #expect(!receiver.isAuthorized(F.capuletToMontague))
    }

    @Test("a valid verdict authorizes the pair and tells the Initiating Server")
    func valid() {
        var receiver = Self.receiver()
        _ = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        let actions = receiver.verifyResponseReceived(Self.verify(F.capuletToMontague).answered(.valid))
        #expect(actions == [Self.answer(.valid, F.capuletToMontague), .domainPairAuthorized(F.capuletToMontague)])
        #expect(receiver.isAuthorized(F.capuletToMontague))
        #expect(receiver.authorizedDomainPairs == [F.capuletToMontague])
        #expect(receiver.verifyingDomainPairs.isEmpty)
    }

    @Test("an invalid verdict on a stream with nothing authorized sends invalid and closes it")
    func invalidAlone() {
        var receiver = Self.receiver()
        _ = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        let actions = receiver.verifyResponseReceived(Self.verify(F.capuletToMontague).answered(.invalid))
        #expect(actions.count == 3)
        #expect(Array(actions.prefix(2)) == [Self.answer(.invalid, F.capuletToMontague), .domainPairRefused(F.capuletToMontague, .keyInvalid)])
        guard case .closeStream(let error)? = actions.last else {
            Issue.record("expected the stream to close, got \(actions)")
            return
        }
        #expect(error.condition == .notAuthorized)
        #expect(receiver.resultReceived(.request(for: Self.rooms, key: Self.key)).isEmpty)
    }

    @Test("an invalid verdict beside an authorized pair refuses that pair alone with forbidden")
    func invalidBesideAuthorized() throws {
        var receiver = Self.receiver()
        _ = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        _ = receiver.resultReceived(.request(for: Self.rooms, key: Self.key))
        _ = receiver.verifyResponseReceived(Self.verify(F.capuletToMontague).answered(.valid))
        let actions = receiver.verifyResponseReceived(Self.verify(Self.rooms).answered(.invalid))
        #expect(actions.count == 2)
        #expect(try Self.sentError(actions)?.condition == .forbidden)
        #expect(actions.last == .domainPairRefused(Self.rooms, .keyInvalid))
        #expect(receiver.authorizedDomainPairs == [F.capuletToMontague])
        #expect(receiver.resultReceived(.request(for: Self.chat, key: Self.key)).count == 1)
    }

    @Test("an error verdict becomes remote-server-not-found (XEP-0220 §2.5)")
    func errorVerdict() throws {
        var receiver = Self.receiver()
        _ = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        let actions = receiver.verifyResponseReceived(Self.verify(F.capuletToMontague).answered(.error(StanzaError(.itemNotFound))))
        let sent = try #require(try Self.sentError(actions))
        #expect(sent.condition == .remoteServerNotFound)
        #expect(actions.last == .domainPairRefused(F.capuletToMontague, .dialbackError(sent)))
        #expect(receiver.verifyingDomainPairs.isEmpty)
    }

    @Test(
        "no answer from the Authoritative Server becomes the matching dialback error",
        arguments: [
            (DialbackVerificationFailure.authoritativeServerNotFound, StanzaError.Condition.remoteServerNotFound),
            (.authoritativeServerTimedOut, .remoteServerTimeout),
        ]
    )
    func verificationFailed(failure: DialbackVerificationFailure, condition: StanzaError.Condition) throws {
        var receiver = Self.receiver()
        _ = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        let actions = receiver.verificationFailed(Self.verify(F.capuletToMontague), failure)
        #expect(try Self.sentError(actions)?.condition == condition)
        #expect(receiver.verifyingDomainPairs.isEmpty)
        #expect(receiver.verificationFailed(Self.verify(F.capuletToMontague), failure).isEmpty)
    }

    @Test("a Target Domain we do not serve is dialback error item-not-found, from that domain; the stream stays")
    func unknownTarget() throws {
        var receiver = Self.receiver()
        let verona = DialbackDomainPair(sender: F.capulet, target: "verona.example")
        let actions = receiver.resultReceived(.request(for: verona, key: Self.key))
        guard case .send(let element)? = actions.first else {
            Issue.record("expected a dialback error, got \(actions)")
            return
        }
        let sent = try DialbackResult(element)
        #expect(sent.from == "verona.example")
        #expect(sent.to == F.capulet)
        guard case .answer(.error(let error)) = sent.payload else {
            Issue.record("expected a dialback error, got \(sent)")
            return
        }
        #expect(error.condition == .itemNotFound)
        #expect(error.type == .cancel)
        #expect(actions.count == 2)
        #expect(receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key)).count == 1)
    }

    @Test("an empty key is dialback error bad-request, without bothering the Authoritative Server")
    func emptyKey() throws {
        var receiver = Self.receiver()
        let actions = receiver.resultReceived(.request(for: F.capuletToMontague, key: DialbackKey(rawValue: "")))
        #expect(try Self.sentError(actions)?.condition == .badRequest)
        #expect(!actions.contains { if case .requestVerification = $0 { true } else { false } })
    }

    @Test(
        "the admission policy can refuse a pair with any dialback error",
        arguments: [StanzaError.Condition.forbidden, .policyViolation, .notAuthorized]
    )
    func policyRefusal(condition: StanzaError.Condition) throws {
        var receiver = Self.receiver { pair in pair.sender == "rooms.capulet.example" ? .refuse(condition) : .verifyKey }
        let refused = receiver.resultReceived(.request(for: Self.rooms, key: Self.key))
        #expect(try Self.sentError(refused)?.condition == condition)
        #expect(refused.last == .domainPairRefused(Self.rooms, .dialbackError(StanzaError(condition))))
        #expect(receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key)).count == 1)
    }

    @Test("the admission policy can authorize a pair proven by other means, without dialing back")
    func authorizeWithoutVerification() {
        var receiver = Self.receiver { _ in .authorizeWithoutVerification }
        let actions = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        #expect(actions == [Self.answer(.valid, F.capuletToMontague), .domainPairAuthorized(F.capuletToMontague)])
        #expect(receiver.isAuthorized(F.capuletToMontague))
    }

    @Test("a repeated request waits for the outstanding answer, and is answered valid once authorized")
    func duplicates() {
        var receiver = Self.receiver()
        _ = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        #expect(receiver.resultReceived(.request(for: F.capuletToMontague, key: DialbackKey(rawValue: "another"))).isEmpty)
        _ = receiver.verifyResponseReceived(Self.verify(F.capuletToMontague).answered(.valid))
        #expect(receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key)) == [Self.answer(.valid, F.capuletToMontague)])
    }

    static let strayVerdicts: [DialbackVerify] = [
        DialbackVerify(from: F.capulet, to: F.montague, id: "another-stream", payload: .answer(.valid)),
        verify(rooms).answered(.valid),
        verify(F.capuletToMontague),
        DialbackVerify(from: F.montague, to: F.capulet, id: streamID, payload: .answer(.valid)),
    ]

    @Test("a verdict matching nothing waiting here is dropped silently (XEP-0220 §2.1.2)", arguments: strayVerdicts)
    func strayVerdict(verdict: DialbackVerify) {
        var receiver = Self.receiver()
        _ = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        #expect(receiver.verifyResponseReceived(verdict).isEmpty)
        #expect(receiver.verifyingDomainPairs == [F.capuletToMontague])
        #expect(receiver.authorizedDomainPairs.isEmpty)
    }

    static let strayFailures: [DialbackVerify] = [
        DialbackVerify(from: F.montague, to: F.capulet, id: "another-stream", payload: .key(key)),
        verify(rooms),
        verify(F.capuletToMontague).answered(.valid),
    ]

    @Test("a failure report matching no request waiting here is ignored", arguments: strayFailures)
    func strayFailure(request: DialbackVerify) {
        var receiver = Self.receiver()
        _ = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        #expect(receiver.verificationFailed(request, .authoritativeServerTimedOut).isEmpty)
        #expect(receiver.verifyingDomainPairs == [F.capuletToMontague])
    }

    @Test("a verdict for an authorized pair changes nothing")
    func verdictAfterAuthorization() {
        var receiver = Self.receiver()
        _ = receiver.resultReceived(.request(for: F.capuletToMontague, key: Self.key))
        _ = receiver.verifyResponseReceived(Self.verify(F.capuletToMontague).answered(.valid))
        #expect(receiver.verifyResponseReceived(Self.verify(F.capuletToMontague).answered(.invalid)).isEmpty)
        #expect(receiver.isAuthorized(F.capuletToMontague))
    }

    @Test("an answer sent to us on an inbound stream is unsolicited and closes it", arguments: [DialbackAnswer.valid, .invalid])
    func answerOnInbound(answer: DialbackAnswer) {
        var receiver = Self.receiver()
        let actions = receiver.resultReceived(.answer(answer, for: DialbackDomainPair(sender: F.montague, target: F.capulet)))
        guard case .closeStream(let error)? = actions.first, actions.count == 1 else {
            Issue.record("expected the stream to close, got \(actions)")
            return
        }
        #expect(error.condition == .notAuthorized)
        #expect(receiver.authorizedDomainPairs.isEmpty)
    }
}

@Suite("Dialback: Authoritative Server machine")
struct DialbackAuthorityTests {
    typealias F = DialbackFixtures

    /// montague.example as Authoritative Server, with its XEP-0220 secret.
    static let authority = DialbackAuthority(secret: DialbackSecret(F.montagueSecret), localDomains: [F.montague])
    /// XEP-0220 Example 13: capulet.example asks montague.example about montague's key.
    static let request = DialbackVerify(
        from: F.capulet, to: F.montague, id: F.montagueToCapuletStreamID, payload: .key(DialbackKey(rawValue: F.montagueKey))
    )

    static func sent(_ action: DialbackAuthority.Action) throws -> DialbackVerify? {
        guard case .send(let element) = action else { return nil }
        return try DialbackVerify(element)
    }

    @Test("Example 13 is answered valid: from and to swapped, id copied (Example 14)")
    func valid() throws {
        let answer = try #require(try Self.sent(Self.authority.verifyReceived(Self.request)))
        #expect(answer == DialbackVerify(from: F.montague, to: F.capulet, id: F.montagueToCapuletStreamID, payload: .answer(.valid)))
    }

    static let forgeries: [DialbackVerify] = [
        DialbackVerify(from: F.capulet, to: F.montague, id: "417GAF26", payload: request.payload),
        DialbackVerify(from: "verona.example", to: F.montague, id: F.montagueToCapuletStreamID, payload: request.payload),
        DialbackVerify(from: F.capulet, to: F.montague, id: F.montagueToCapuletStreamID, payload: .key(DialbackKey(rawValue: F.capuletKey))),
        DialbackVerify(from: F.capulet, to: F.montague, id: F.montagueToCapuletStreamID, payload: .key(DialbackKey(rawValue: ""))),
        DialbackVerify(from: F.capulet, to: F.montague, id: F.montagueToCapuletStreamID, payload: .key(DialbackKey(rawValue: "not hex"))),
    ]

    @Test("a key for another stream, another receiver, or no key at all is answered invalid", arguments: forgeries)
    func invalid(request: DialbackVerify) throws {
        let answer = try #require(try Self.sent(Self.authority.verifyReceived(request)))
        #expect(answer == request.answered(.invalid))
    }

    @Test("a domain we do not serve is dialback error item-not-found, from that domain (Example 16)")
    func unknownDomain() throws {
        let request = DialbackVerify(from: F.capulet, to: "verona.example", id: "417GAF25", payload: Self.request.payload)
        let answer = try #require(try Self.sent(Self.authority.verifyReceived(request)))
        #expect(answer.from == "verona.example")
        #expect(answer.to == F.capulet)
        #expect(answer.id == "417GAF25")
        guard case .answer(.error(let error)) = answer.payload else {
            Issue.record("expected a dialback error, got \(answer)")
            return
        }
        #expect(error.condition == .itemNotFound)
        #expect(error.type == .cancel)
    }

    @Test("an answer sent to us on an inbound stream is unsolicited and closes it", arguments: [DialbackAnswer.valid, .invalid])
    func answerOnInbound(answer: DialbackAnswer) {
        guard case .closeStream(let error) = Self.authority.verifyReceived(Self.request.answered(answer)) else {
            Issue.record("expected the stream to close")
            return
        }
        #expect(error.condition == .notAuthorized)
    }
}

@Suite("Dialback: verification requests on an outbound stream")
struct DialbackVerificationRequestsTests {
    typealias F = DialbackFixtures

    static let first = DialbackVerify.request(for: F.capuletToMontague, streamID: "in-1", key: DialbackKey(rawValue: F.capuletKey))
    static let second = DialbackVerify.request(
        for: DialbackDomainPair(sender: F.capulet, target: "chat.montague.example"), streamID: "in-2", key: DialbackKey(rawValue: "k2")
    )

    @Test("requests are sent once each, and their answers delivered")
    func delivers() {
        var requests = DialbackVerificationRequests()
        #expect(requests.verificationRequested(Self.first) == [.send(Self.first.element)])
        #expect(requests.verificationRequested(Self.second) == [.send(Self.second.element)])
        #expect(requests.verificationRequested(Self.first).isEmpty)
        #expect(requests.pendingRequests == [Self.first, Self.second])

        let answer = Self.second.answered(.invalid)
        #expect(requests.verifyResponseReceived(answer) == [.deliverAnswer(answer)])
        #expect(requests.pendingRequests == [Self.first])
    }

    @Test("an answer passed in as a request is not sent")
    func answerIsNotARequest() {
        var requests = DialbackVerificationRequests()
        #expect(requests.verificationRequested(Self.first.answered(.valid)).isEmpty)
        #expect(requests.pendingRequests.isEmpty)
    }

    static let unsolicited: [DialbackVerify] = [
        first.answered(.valid),
        DialbackVerify(from: F.capulet, to: F.montague, id: "in-2", payload: .answer(.valid)),
        DialbackVerify(from: F.montague, to: F.capulet, id: "in-1", payload: .answer(.valid)),
    ]

    @Test("an answer mirroring no request sent on this stream closes it (XEP-0220 §3.1)", arguments: unsolicited)
    func unsolicitedAnswer(answer: DialbackVerify) {
        var requests = DialbackVerificationRequests()
        _ = requests.verificationRequested(Self.second)
        let actions = requests.verifyResponseReceived(answer)
        guard case .closeStream(let error)? = actions.first, actions.count == 1 else {
            Issue.record("expected the stream to close, got \(actions)")
            return
        }
        #expect(error.condition == .notAuthorized)
        #expect(requests.verifyResponseReceived(Self.second.answered(.valid)).isEmpty)
        #expect(requests.streamClosed(.authoritativeServerTimedOut) == [.verificationFailed(Self.second, .authoritativeServerTimedOut)])
    }

    @Test("a verification request on our outbound stream is unsupported without XEP-0288")
    func requestOnOutbound() {
        var requests = DialbackVerificationRequests()
        let actions = requests.verifyResponseReceived(Self.first)
        guard case .closeStream(let error)? = actions.first else {
            Issue.record("expected the stream to close, got \(actions)")
            return
        }
        #expect(error.condition == .unsupportedStanzaType)
    }

    @Test("closing fails every outstanding request, in order, and every later one")
    func closing() {
        var requests = DialbackVerificationRequests()
        _ = requests.verificationRequested(Self.first)
        _ = requests.verificationRequested(Self.second)
        #expect(
            requests.streamClosed(.authoritativeServerNotFound) == [
                .verificationFailed(Self.first, .authoritativeServerNotFound),
                .verificationFailed(Self.second, .authoritativeServerNotFound),
            ]
        )
        #expect(requests.pendingRequests.isEmpty)
        #expect(requests.verificationRequested(Self.first) == [.verificationFailed(Self.first, .authoritativeServerTimedOut)])
    }
}
