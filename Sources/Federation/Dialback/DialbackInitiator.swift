package import XMLStreaming
package import XMPP

/// The Initiating Server's side of dialback on one outbound stream (XEP-0220 §2.1.1): asks the
/// Receiving Server to accept stanzas for each domain pair the link needs, and reads the answers.
///
/// A pure state machine, to be held by the outbound stream machine: event methods return the
/// actions to run, and the machine never does I/O. It starts when the stream's final header
/// (after any TLS restart) is known; create a new one for every new stream, since keys are bound
/// to the stream ID.
///
/// Several pairs can ride one stream (multiplexing, §2.6), each negotiated on its own; a pair
/// requested before the header arrives is queued and sent with it. Whether to multiplex *target*
/// domains is the link layer's decision: §2.6.2 asks for it only when the peer offered
/// `DialbackStreamFeature` with errors.
///
/// Answers are accepted only for pairs with a request outstanding on this stream (§2.1.1 and the
/// 2012 "unsolicited dialback" attacks of §3.1); anything else closes the stream.
package struct DialbackInitiator: Sendable {
    package enum Action: Sendable, Hashable {
        /// Write this `<db:result/>` request to the stream.
        case send(XMLElement)
        /// Stanzas from `pair.sender` to `pair.target` may now be sent on this stream: flush its queue.
        case domainPairAuthorized(DialbackDomainPair)
        /// The pair was not authorized: return its queued stanzas with `refusal.bounceCondition`.
        /// After `.keyInvalid` the peer will most likely close the stream, so §2.1.1 advises
        /// sending nothing more on it, even for pairs already authorized.
        case domainPairRefused(DialbackDomainPair, DialbackRefusal)
        /// The peer broke the protocol: send this stream error and close the stream. Pairs still
        /// waiting are reported when `streamClosed()` is called.
        case closeStream(StreamError)
    }

    private enum StreamState: Sendable, Hashable {
        case awaitingHeader
        case open(streamID: String)
        /// Closed or closing: nothing more is negotiated.
        case closed
    }

    private enum PairState: Sendable, Hashable {
        /// Requested before the stream ID was known.
        case awaitingStream
        /// `<db:result/>` sent, answer outstanding.
        case awaitingAnswer
        case authorized
    }

    private let secret: DialbackSecret
    private var stream = StreamState.awaitingHeader
    private var pairs = DialbackPairTable<PairState>()

    /// - Parameter secret: the secret our Authoritative Server checks keys against.
    package init(secret: DialbackSecret) {
        self.secret = secret
    }

    /// Whether stanzas for `pair` may be sent on this stream.
    package func isAuthorized(_ pair: DialbackDomainPair) -> Bool {
        pairs[pair] == .authorized
    }

    /// The authorized pairs, in the order they were requested.
    package var authorizedDomainPairs: [DialbackDomainPair] {
        pairs.pairs { $0 == .authorized }
    }

    /// The pairs still waiting for an answer (or for the stream), in the order they were requested.
    package var pendingDomainPairs: [DialbackDomainPair] {
        pairs.pairs { $0 != .authorized }
    }

    /// The Receiving Server's response header arrived. Its `id` is what the keys are bound to, so a
    /// header without one ends the stream (`invalid-xml`: RFC 6120 §4.7.3 requires it). A second
    /// header changes nothing: the machine belongs to one stream.
    package mutating func streamHeaderReceived(_ header: StreamHeader) -> [Action] {
        guard case .awaitingHeader = stream else { return [] }
        guard let streamID = header.id, !streamID.isEmpty else {
            stream = .closed
            return [.closeStream(StreamError(.invalidXML, text: "the stream header has no 'id', which dialback keys are bound to"))]
        }
        stream = .open(streamID: streamID)
        var actions: [Action] = []
        for pair in pairs.pairs(where: { $0 == .awaitingStream }) {
            pairs[pair] = .awaitingAnswer
            actions.append(.send(request(for: pair, streamID: streamID)))
        }
        return actions
    }

    /// The link has stanzas from `pair.sender` to `pair.target` and wants this stream to carry them.
    /// Sends a request unless one is outstanding or the pair is already authorized (then nothing
    /// happens; check `isAuthorized`). A pair refused earlier may be requested again.
    package mutating func authorizationRequested(for pair: DialbackDomainPair) -> [Action] {
        switch stream {
        case .closed:
            return [.domainPairRefused(pair, .streamClosed)]
        case .awaitingHeader:
            if pairs[pair] == nil { pairs[pair] = .awaitingStream }
            return []
        case .open(let streamID):
            guard pairs[pair] == nil else { return [] }
            pairs[pair] = .awaitingAnswer
            return [.send(request(for: pair, streamID: streamID))]
        }
    }

    /// A `<db:result/>` arrived on this stream.
    ///
    /// - An answer for a pair with a request outstanding settles that pair: `valid` authorizes it,
    ///   `invalid` and `error` refuse it. A dialback error is not fatal for the stream (§2.5).
    /// - An answer for any other pair is unsolicited: `not-authorized`, the stream is closed.
    /// - A request is the peer trying to authenticate on *our* outbound stream, which only
    ///   XEP-0288 bidirectional streams allow: `unsupported-stanza-type`.
    package mutating func resultReceived(_ result: DialbackResult) -> [Action] {
        guard stream != .closed else { return [] }
        guard case .answer(let answer) = result.payload else {
            stream = .closed
            return [.closeStream(StreamError(.unsupportedStanzaType, text: "a dialback request on a stream this server initiated"))]
        }
        let pair = result.domainPair
        guard pairs[pair] == .awaitingAnswer else {
            stream = .closed
            return [.closeStream(StreamError(.notAuthorized, text: "unsolicited dialback answer for \(pair)"))]
        }
        switch answer {
        case .valid:
            pairs[pair] = .authorized
            return [.domainPairAuthorized(pair)]
        case .invalid:
            pairs[pair] = nil
            return [.domainPairRefused(pair, .keyInvalid)]
        case .error(let error):
            pairs[pair] = nil
            return [.domainPairRefused(pair, .dialbackError(error))]
        }
    }

    /// The stream or its connection ended. Every pair still waiting is refused as if a dialback
    /// error had come (§2.1.1); authorized pairs simply end with the stream.
    package mutating func streamClosed() -> [Action] {
        stream = .closed
        let waiting = pendingDomainPairs
        pairs.removeAll()
        return waiting.map { .domainPairRefused($0, .streamClosed) }
    }

    private func request(for pair: DialbackDomainPair, streamID: String) -> XMLElement {
        let key = DialbackKey(secret: secret, receivingServer: pair.target, originatingServer: pair.sender, streamID: streamID)
        return DialbackResult.request(for: pair, key: key).element
    }
}
