import Federation
import Testing
import XMLStreaming
import XMPP

/// What a scripted peer offers and how it answers.
struct OutboundPeerProfile: Sendable, CustomStringConvertible {
    var name: String
    var offersTLS: Bool
    /// EXTERNAL listed after TLS (as Prosody does when it accepts our certificate).
    var offersExternal: Bool
    var acceptsExternal: Bool
    var offersDialback: Bool
    /// EXTERNAL listed on the plaintext stream too, which must never be taken up without TLS.
    var offersExternalWithoutTLS = false

    var description: String { name }

    static let all: [OutboundPeerProfile] = [
        OutboundPeerProfile(name: "everything", offersTLS: true, offersExternal: true, acceptsExternal: true, offersDialback: true),
        OutboundPeerProfile(name: "EXTERNAL refused", offersTLS: true, offersExternal: true, acceptsExternal: false, offersDialback: true),
        OutboundPeerProfile(name: "no EXTERNAL", offersTLS: true, offersExternal: false, acceptsExternal: false, offersDialback: true),
        OutboundPeerProfile(name: "SASL only", offersTLS: true, offersExternal: true, acceptsExternal: true, offersDialback: false),
        OutboundPeerProfile(name: "TLS only", offersTLS: true, offersExternal: false, acceptsExternal: false, offersDialback: false),
        OutboundPeerProfile(name: "plain dialback", offersTLS: false, offersExternal: false, acceptsExternal: false, offersDialback: true),
        OutboundPeerProfile(
            name: "plain with EXTERNAL", offersTLS: false, offersExternal: true, acceptsExternal: true, offersDialback: true,
            offersExternalWithoutTLS: true
        ),
        OutboundPeerProfile(name: "nothing", offersTLS: false, offersExternal: false, acceptsExternal: false, offersDialback: false),
    ]
}

@Suite("Outbound stream: the negotiation policy matrix")
struct OutboundStreamPolicyMatrixTests {
    typealias P = OutboundPeer

    static let validPolicies: [NegotiationPolicy] = NegotiationRequirement.allCases.flatMap { sasl in
        NegotiationRequirement.allCases.flatMap { tls in
            [true, false].map { NegotiationPolicy(tls: tls, sasl: sasl, supportDialback: $0) }
        }
    }.filter(\.isValid)

    enum Outcome: Equatable, CustomStringConvertible {
        case established(AuthenticationMethod)
        case failed

        var description: String {
            switch self {
            case .established(let method): "\(method)"
            case .failed: "failed"
            }
        }
    }

    /// Plays `profile` against the machine until it is established or fails, answering whatever
    /// it sends as such a peer would.
    static func negotiate(_ policy: NegotiationPolicy, against profile: OutboundPeerProfile) throws -> (Outcome, OutboundConversation) {
        var c = try OutboundConversation(policy: policy)
        var tlsUp = false
        var saslDone = false
        var streams = 0
        var pending = c.connect()
        for _ in 0..<12 {
            if let established = pending.lazy.compactMap(\.establishedStream).first { return (.established(established.method), c) }
            if pending.contains(where: { $0.failure != nil }) { return (.failed, c) }
            switch pending.last {
            case .sendBytes?:
                streams += 1
                let features: String
                if saslDone {
                    features = "<stream:features/>"
                } else if tlsUp {
                    features = P.features(external: profile.offersExternal, dialback: profile.offersDialback)
                } else {
                    features = P.features(
                        starttls: profile.offersTLS,
                        external: profile.offersExternalWithoutTLS,
                        dialback: profile.offersDialback
                    )
                }
                pending = c.peer(P.header(id: "stream-\(streams)") + features)
            case .sendElement(let element)? where element == P.starttls:
                pending = c.peer(P.proceed)
            case .startTLS?:
                tlsUp = true
                pending = c.tlsEstablished()
            case .sendElement(let element)? where element.name == "auth":
                saslDone = profile.acceptsExternal
                pending = c.peer(profile.acceptsExternal ? P.saslSuccess : P.saslFailure)
            case .sendElement(let element)? where element.namespace == Namespace.dialback:
                pending = c.peer(P.dialbackValid)
            default:
                Issue.record("the machine stalled after \(pending) under \(policy) against \(profile)")
                return (.failed, c)
            }
        }
        Issue.record("no outcome under \(policy) against \(profile)")
        return (.failed, c)
    }

    /// The rule, stated plainly: TLS whenever offered and allowed (and required means required);
    /// SASL EXTERNAL over TLS when allowed, offered and accepted; else dialback of the kind the
    /// matrix allows, if the peer offers it.
    static func expected(_ policy: NegotiationPolicy, _ profile: OutboundPeerProfile) -> Outcome {
        let tls = profile.offersTLS && policy.tls != .notSupported
        if policy.tls == .required && !tls { return .failed }
        if tls && policy.sasl != .notSupported && profile.offersExternal && profile.acceptsExternal {
            return .established(.saslOverTLS)
        }
        let dialback: AuthenticationMethod = tls ? .tlsDialback : .tcpDialback
        return profile.offersDialback && policy.expectedAuthentication.contains(dialback) ? .established(dialback) : .failed
    }

    @Test("13 of the 18 combinations are valid")
    func thirteen() {
        #expect(Self.validPolicies.count == 13)
        #expect(Set(Self.validPolicies.map(\.matrixRow)) == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 13, 15, 17])
    }

    @Test("every valid policy against every peer", arguments: validPolicies, OutboundPeerProfile.all)
    func sweep(policy: NegotiationPolicy, profile: OutboundPeerProfile) throws {
        let (outcome, conversation) = try Self.negotiate(policy, against: profile)
        #expect(outcome == Self.expected(policy, profile))
        switch outcome {
        case .established(let method):
            #expect(policy.expectedAuthentication.contains(method))
            #expect(conversation.machine.phase == .established)
        case .failed:
            let failure = try #require(conversation.machine.failure)
            #expect(!failure.reason.isEmpty)
            #expect([StanzaError.Condition.remoteServerTimeout, .internalServerError].contains(failure.bounceError.condition))
        }
    }

    @Test("a peer offering everything, row by row", arguments: [
        (1, Outcome.established(.saslOverTLS)), (2, .established(.saslOverTLS)), (3, .established(.saslOverTLS)),
        (4, .established(.saslOverTLS)), (5, .established(.tcpDialback)), (7, .established(.saslOverTLS)),
        (8, .established(.saslOverTLS)), (9, .established(.saslOverTLS)), (10, .established(.saslOverTLS)),
        (11, .established(.tcpDialback)), (13, .established(.tlsDialback)), (15, .established(.tlsDialback)),
        (17, .established(.tcpDialback)),
    ])
    func everythingByRow(row: Int, outcome: Outcome) throws {
        let policy = try #require(Self.validPolicies.first { $0.matrixRow == row })
        #expect(try Self.negotiate(policy, against: OutboundPeerProfile.all[0]).0 == outcome)
    }

    @Test("a peer that does not accept our certificate (no EXTERNAL), row by row", arguments: [
        (1, Outcome.failed), (2, .failed), (3, .established(.tlsDialback)), (4, .failed), (5, .established(.tcpDialback)),
        (7, .established(.tlsDialback)), (8, .failed), (9, .established(.tlsDialback)), (10, .failed),
        (11, .established(.tcpDialback)), (13, .established(.tlsDialback)), (15, .established(.tlsDialback)),
        (17, .established(.tcpDialback)),
    ])
    func noExternalByRow(row: Int, outcome: Outcome) throws {
        let policy = try #require(Self.validPolicies.first { $0.matrixRow == row })
        #expect(try Self.negotiate(policy, against: OutboundPeerProfile.all[2]).0 == outcome)
    }
}
