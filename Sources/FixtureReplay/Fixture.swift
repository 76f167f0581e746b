package import Federation
package import XMLStreaming

/// One replayable transcript: who says what to the gateway and what the gateway must say back.
/// See `Fixtures/README.md` for the format.
package struct Fixture: Sendable {
    /// The file the fixture came from, for reports.
    package var name: String
    package var title: String
    package var description: [String]
    /// TOML overriding the translator's defaults, in `federation.toml` syntax.
    package var configuration: String?
    /// Partners, users, contacts and presence that exist before the script starts.
    package var setup: [XMLElement]
    package var steps: [Step]

    package struct Step: Sendable {
        /// 1-based line in the fixture file, for error messages.
        package var line: Int
        package var actor: String
        package var action: Action
    }

    package enum Action: Sendable {
        /// A remote server writes these bytes on its stream (the block exactly as written, or with
        /// `\xNN` escapes decoded for `sends raw:`). `raw` also suppresses the automatic stream header.
        case sends(bytes: [UInt8], raw: Bool)
        /// An internal user acts, in the fixture notation of internal actions.
        case does([XMLElement])
        /// The gateway must have produced exactly these outputs for the actor, in order.
        case receives([XMLElement])
        /// The gateway must have produced nothing for the actor.
        case receivesNothing
        /// The gateway must have ended the actor's stream with this condition; when `textContains`
        /// is given, the error text must contain it. With no condition, the stream must have been
        /// closed with `</stream:stream>` alone (negotiated streams only).
        case isDisconnected(condition: String?, textContains: String?)
        /// The gateway must have closed the actor's connection without writing anything: before a
        /// direct TLS handshake, or before any stream of ours was open.
        case isDropped
        /// A remote server opens a connection whose stream is negotiated by the real
        /// `InboundStreamStateMachine` instead of starting authenticated, and writes `bytes` (its
        /// stream header, or anything; the standard header when `nil`). `directTLS` carries the
        /// certificate of a XEP-0368 connection, whose TLS handshake comes before the first byte.
        case connects(bytes: [UInt8]?, directTLS: Certificate?)
        /// The remote server writes the standard stream header again, as it must after TLS or SASL
        /// success (RFC 6120 §5.4.3.3, §6.4.6).
        case restartsStream
        /// The TLS handshake that `<proceed/>` started has finished with this certificate.
        case completesTLS(Certificate)
        /// The authoritative server of `domain` (XEP-0220 §2.2.2) answers, or fails to answer, the
        /// oldest `<db:verify/>` the gateway sent it.
        case authoritativeServerAnswers(domain: String, AuthoritativeReply)
        /// The gateway must have authenticated `domain` (the actor when `nil`) on the actor's
        /// negotiated stream with `method`.
        case isAuthenticated(domain: String?, method: AuthenticationMethod)
        /// The fixture's `[Config]` and `[Setup]` must be refused, with a message containing the text.
        case configurationIsRefused(textContains: String)
        /// Time passes: the timers the gateway armed fire, in order (actor `the clock`).
        case timePasses(Duration)
        /// Our established link from `local` (our first domain when `nil`) to the actor's domain
        /// breaks.
        case linkIsLost(local: String?)
        /// From now on, our connection attempts to the actor's domain succeed, fail as a refused
        /// connection does (temporarily), or find no such domain (permanently).
        case reachability(ReplayGateway.Reachability)
        /// The gateway must have closed its link from `local` (our first domain when `nil`) to
        /// the actor's domain, for `reason` when one is given (`idle`, `ping unanswered`).
        case linkIsClosed(local: String?, reason: String?)
    }

    /// What a peer's TLS certificate proves, as the TLS layer reports it to the stream machine.
    package enum Certificate: Sendable, Hashable {
        /// A certificate that validated for these domains (RFC 6125 names, already checked).
        case validFor(Set<String>)
        /// A certificate that did not validate (unknown issuer, expired, wrong name type…).
        case untrusted
        /// No client certificate at all.
        case none

        /// The domains the certificate proves among those the peer claimed, which is all the TLS
        /// layer checks (`InboundStreamHandler` asks only about the stream header's `from`).
        func provenDomains(claimed: String?) -> Set<String> {
            guard case .validFor(let names) = self, let claimed, names.contains(claimed) else { return [] }
            return [claimed]
        }
    }

    /// How the authoritative server reacts to a `<db:verify/>` request.
    package enum AuthoritativeReply: Sendable, Hashable {
        /// `type='valid'`: the key is genuine.
        case valid
        /// `type='invalid'`: the key is not.
        case invalid
        /// `type='error'` with `item-not-found`, as an authoritative server that does not host the
        /// sender domain answers (XEP-0220 §2.5).
        case error
        /// The connection to it ended or timed out before it answered.
        case timesOut
        /// It could not be found or reached at all.
        case cannotBeReached
    }
}
