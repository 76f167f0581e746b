import XMLStreaming
import XMPP

/// Ending the stream: what is written, whether to wait for the peer, and what is reported.
extension OutboundStreamStateMachine {
    /// How the connection is torn down, chosen by the event; whether our stream can still be
    /// written to is decided by the state.
    enum Teardown {
        /// Write the stream error (if any) and our closing tag, then wait for the peer's (RFC 6120
        /// §4.4), or for the close timer.
        case awaitPeerClose
        /// Write as above if possible, then close at once: the peer's stream is over or unreadable.
        case closeNow
        /// Write nothing and close: the TLS layer is unsettled, or no stream was ever opened.
        case abort
        /// Nothing to do: the connection is already gone.
        case alreadyClosed
    }

    /// Ends the stream with a failure: `.failed` before establishment, `.ended` after it, after
    /// the actions that tear the connection down and the failures of outstanding verification
    /// requests.
    mutating func fail(_ cause: OutboundFailure.Cause, _ reason: String, streamError: StreamError? = nil, _ teardown: Teardown) -> [Action] {
        let wasEstablished = phase == .established
        let (actions, sent, waiting) = tearDown(streamError: streamError, teardown)
        let failure = OutboundFailure(cause: cause, reason: reason, sentStreamError: sent ? streamError : nil)
        let ending = Ending(failure: failure, wasEstablished: wasEstablished)
        state = waiting ? .closing(ending) : .closed(ending)
        return actions + abandonVerifications(failure.verificationFailure) + [wasEstablished ? .ended(failure) : .failed(failure)]
    }

    /// Ends the stream with no failure to report: the link layer closes an established stream, or
    /// a verification-only connection has had every answer. Requests still outstanding (only on a
    /// closed link) fail as on a stream that ended early.
    mutating func closeWithoutFailure() -> [Action] {
        let wasEstablished = phase == .established
        let (actions, _, waiting) = tearDown(streamError: nil, .awaitPeerClose)
        let ending = Ending(failure: nil, wasEstablished: wasEstablished)
        state = waiting ? .closing(ending) : .closed(ending)
        return actions + abandonVerifications(.authoritativeServerTimedOut)
    }

    /// The teardown actions, whether `.close` was among them, and whether the peer's closing tag
    /// is now awaited.
    private func tearDown(streamError: StreamError?, _ teardown: Teardown) -> ([Action], Bool, Bool) {
        let writable = state.ourStreamIsOpen
        switch teardown {
        case .awaitPeerClose where writable:
            return ([.close(streamError)], true, true)
        case .closeNow where writable:
            return ([.close(streamError), .closeConnection], true, false)
        case .awaitPeerClose, .closeNow, .abort:
            return ([.closeConnection], false, false)
        case .alreadyClosed:
            return ([], false, false)
        }
    }

    /// An element that has no place in the current step ends the stream.
    mutating func unexpectedElementReceived(_ element: XMLElement) -> [Action] {
        let error = Self.streamError(forUnexpected: element, in: phase)
        let reason = "\(remoteDomain) sent <\(element.name) xmlns='\(element.namespace)'/> while \(phase): \(error)"
        return fail(.protocolViolation, reason, streamError: error, .awaitPeerClose)
    }

    /// The stream error for an element the peer should not have sent here:
    /// - a stanza: `not-authorized` (RFC 6120 §4.9.3.12), since the peer never authenticates on a
    ///   stream we initiated;
    /// - a dialback request: `unsupported-stanza-type`, as only XEP-0288 bidi allows one here; a
    ///   dialback answer to nothing we asked: `not-authorized` (XEP-0220 §3.1); a malformed one:
    ///   the error its parsing gives;
    /// - features, TLS or SASL elements out of turn: `undefined-condition`, as the SASL
    ///   sub-machine answers them;
    /// - anything else: `unsupported-stanza-type` (§4.9.3.21).
    static func streamError(forUnexpected element: XMLElement, in phase: Phase) -> StreamError {
        switch element.namespace {
        case Namespace.server where ["message", "presence", "iq"].contains(element.name):
            return StreamError(.notAuthorized, text: "no stanzas are accepted on a stream this server initiated")
        case Namespace.dialback:
            let payload: DialbackPayload
            let pair: DialbackDomainPair
            do {
                switch try DialbackElement(element) {
                case .result(let result): (payload, pair) = (result.payload, result.domainPair)
                case .verify(let verify): (payload, pair) = (verify.payload, verify.domainPair)
                }
            } catch {
                return error
            }
            if case .key = payload {
                return StreamError(.unsupportedStanzaType, text: "no dialback requests are accepted on a stream this server initiated")
            }
            return StreamError(.notAuthorized, text: "unsolicited dialback answer for \(pair)")
        case Namespace.streams where element.name == "features", Namespace.tls, Namespace.sasl:
            return StreamError(.undefinedCondition, text: "unexpected <\(element.name)/> while \(phase)")
        default:
            return StreamError(.unsupportedStanzaType, text: "<\(element.name)/> in '\(element.namespace)' is not supported here")
        }
    }
}
