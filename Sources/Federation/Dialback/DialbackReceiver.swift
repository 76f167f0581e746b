package import XMLStreaming
package import XMPP

/// The Receiving Server's side of dialback on one inbound stream (XEP-0220 §2.2.1): takes each
/// `<db:result/>` request, has the key checked by the Sender Domain's Authoritative Server, and
/// answers the Initiating Server.
///
/// A pure state machine, to be held by the inbound stream machine next to `DialbackAuthority`
/// (which answers `<db:verify/>` on the same stream). The key check itself travels over another
/// connection: `.requestVerification` asks the link layer to send a `<db:verify/>` to the
/// Authoritative Server (through `DialbackVerificationRequests` on an outbound stream to it), and
/// the answer, or the failure to get one, comes back through `verifyResponseReceived(_:)` or
/// `verificationFailed(_:_:)`.
///
/// Each domain pair is negotiated on its own, so one stream can carry many (§2.6), and the stream
/// keeps working while some pairs wait. Whether a sender may federate at all is not decided here:
/// the caller's `Admission` policy is asked for every new pair.
package struct DialbackReceiver: Sendable {
    /// What to do with a new domain pair, decided by the caller's federation policy.
    package enum Admission: Sendable, Hashable {
        /// Check the key with the Authoritative Server: ordinary dialback.
        case verifyKey
        /// The sender is already proven by other means (a certificate valid for the Sender Domain
        /// on this TLS stream, the XEP-0344 idea): answer `valid` without dialing back.
        case authorizeWithoutVerification
        /// Refuse with this dialback error condition, for example `forbidden` (sender not allowed
        /// to federate), `policy-violation` (TLS required first) or `not-authorized` (a
        /// certificate required), as XEP-0220 §2.5 lists them.
        case refuse(StanzaError.Condition)
    }

    package enum Action: Sendable, Hashable {
        /// Write this `<db:result/>` answer (or dialback error) to this stream.
        case send(XMLElement)
        /// Send `verify` to the Authoritative Server for `authoritativeDomain` (the Sender Domain)
        /// over an outbound connection to it, then report its answer here.
        case requestVerification(authoritativeDomain: String, verify: DialbackVerify)
        /// Stanzas from `pair.sender` to `pair.target` are now accepted on this stream.
        case domainPairAuthorized(DialbackDomainPair)
        /// The pair was not authorized (for logs; nothing is queued on an inbound stream).
        case domainPairRefused(DialbackDomainPair, DialbackRefusal)
        /// Close the stream with this error, after sending what came before.
        case closeStream(StreamError)
    }

    private enum PairState: Sendable, Hashable {
        case verifying
        case authorized
    }

    /// The ID of our response header on this stream: what the Initiating Server's keys are bound
    /// to, and the `id` of our `<db:verify/>` requests.
    package let streamID: String
    /// The domains this gateway serves (canonical domainparts): the only acceptable targets.
    package let localDomains: Set<String>
    private let admission: @Sendable (DialbackDomainPair) -> Admission
    private var pairs = DialbackPairTable<PairState>()
    private var isClosing = false

    /// - Parameters:
    ///   - streamID: the `id` we sent in our response header on this stream.
    ///   - localDomains: the domains we serve.
    ///   - admission: the federation policy for a new pair; by default every pair is dialed back.
    package init(
        streamID: String,
        localDomains: Set<String>,
        admission: @escaping @Sendable (DialbackDomainPair) -> Admission = { _ in .verifyKey }
    ) {
        self.streamID = streamID
        self.localDomains = localDomains
        self.admission = admission
    }

    /// Whether stanzas for `pair` are accepted on this stream.
    package func isAuthorized(_ pair: DialbackDomainPair) -> Bool {
        pairs[pair] == .authorized
    }

    /// The authorized pairs, in the order they were requested.
    package var authorizedDomainPairs: [DialbackDomainPair] {
        pairs.pairs { $0 == .authorized }
    }

    /// The pairs waiting for the Authoritative Server, in the order they were requested.
    package var verifyingDomainPairs: [DialbackDomainPair] {
        pairs.pairs { $0 == .verifying }
    }

    /// A `<db:result/>` arrived from the Initiating Server.
    ///
    /// A request is handled in this order:
    /// 1. a Target Domain we do not serve: dialback error `item-not-found` (§2.2.1 and §2.5; not a
    ///    stream error, since the stream may carry other pairs);
    /// 2. a pair already authorized: `valid` again, since nothing new is granted; a pair already
    ///    being verified: nothing, since the outstanding answer will settle it (a second
    ///    `<db:verify/>` with the same `from`, `to` and `id` could not be told apart from the first);
    /// 3. an empty key: dialback error `bad-request`;
    /// 4. the `Admission` policy: refuse, authorize at once, or ask the Authoritative Server.
    ///
    /// An answer (`type` set) is unsolicited on an inbound stream (§2.2) and closes it with
    /// `not-authorized` (§3.1).
    package mutating func resultReceived(_ result: DialbackResult) -> [Action] {
        guard !isClosing else { return [] }
        guard case .key(let key) = result.payload else {
            isClosing = true
            return [.closeStream(StreamError(.notAuthorized, text: "a dialback answer on an inbound stream, where no request was made"))]
        }
        let pair = result.domainPair
        guard localDomains.contains(pair.target) else {
            return refuse(pair, StanzaError(.itemNotFound, text: "this server does not host \(pair.target)"))
        }
        switch pairs[pair] {
        case .authorized?:
            return [.send(DialbackResult.answer(.valid, for: pair).element)]
        case .verifying?:
            return []
        case nil:
            break
        }
        guard !key.rawValue.isEmpty else {
            return refuse(pair, StanzaError(.badRequest, text: "the dialback key is empty"))
        }
        switch admission(pair) {
        case .refuse(let condition):
            return refuse(pair, StanzaError(condition))
        case .authorizeWithoutVerification:
            return authorize(pair)
        case .verifyKey:
            pairs[pair] = .verifying
            let verify = DialbackVerify.request(for: pair, streamID: streamID, key: key)
            return [.requestVerification(authoritativeDomain: pair.sender, verify: verify)]
        }
    }

    /// The Authoritative Server answered one of this stream's `<db:verify/>` requests.
    ///
    /// An answer that matches no pair being verified here (another stream's `id`, a pair not
    /// waiting, or a request rather than an answer) is dropped silently, as §2.1.2 says: it came
    /// through the link layer, not from this stream's peer, whose stream has done nothing wrong.
    ///
    /// - `valid`: the pair is authorized and the Initiating Server told so.
    /// - `invalid`: when no other pair is authorized on the stream, `invalid` is sent and the
    ///   stream closed (`not-authorized`), as §2.2.1 requires; otherwise the pair alone is refused
    ///   with the `forbidden` dialback error, which §2.1.2 and §2.5 allow so that a misconfigured
    ///   extra domain does not take the working ones down.
    /// - `error`: dialback error `remote-server-not-found`, which §2.5 requires for any error in
    ///   Step 3.
    package mutating func verifyResponseReceived(_ response: DialbackVerify) -> [Action] {
        guard !isClosing, response.id == streamID, case .answer(let answer) = response.payload else { return [] }
        let pair = response.domainPair
        guard pairs[pair] == .verifying else { return [] }
        switch answer {
        case .valid:
            return authorize(pair)
        case .invalid:
            pairs[pair] = nil
            guard authorizedDomainPairs.isEmpty else {
                let error = StanzaError(.forbidden, text: "the authoritative server for \(pair.sender) refused the key")
                return [.send(DialbackResult.answer(.error(error), for: pair).element), .domainPairRefused(pair, .keyInvalid)]
            }
            isClosing = true
            return [
                .send(DialbackResult.answer(.invalid, for: pair).element),
                .domainPairRefused(pair, .keyInvalid),
                .closeStream(StreamError(.notAuthorized, text: "the authoritative server for \(pair.sender) refused the dialback key")),
            ]
        case .error:
            return refuse(pair, StanzaError(.remoteServerNotFound, text: "the authoritative server for \(pair.sender) reported an error"))
        }
    }

    /// No answer will come for `request` (one of this stream's `<db:verify/>` requests): the
    /// Authoritative Server could not be found or reached, or its stream ended or timed out first.
    /// The pair is refused with the dialback error §2.5 gives for the failure. A request that
    /// matches no pair being verified here is ignored.
    package mutating func verificationFailed(_ request: DialbackVerify, _ failure: DialbackVerificationFailure) -> [Action] {
        guard !isClosing, request.id == streamID, case .key = request.payload else { return [] }
        let pair = request.domainPair
        guard pairs[pair] == .verifying else { return [] }
        let text = "could not verify the key with the authoritative server for \(pair.sender)"
        return refuse(pair, StanzaError(failure.condition, text: text))
    }

    private mutating func authorize(_ pair: DialbackDomainPair) -> [Action] {
        pairs[pair] = .authorized
        return [.send(DialbackResult.answer(.valid, for: pair).element), .domainPairAuthorized(pair)]
    }

    private mutating func refuse(_ pair: DialbackDomainPair, _ error: StanzaError) -> [Action] {
        pairs[pair] = nil
        return [.send(DialbackResult.answer(.error(error), for: pair).element), .domainPairRefused(pair, .dialbackError(error))]
    }
}
