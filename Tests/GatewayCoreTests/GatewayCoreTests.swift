import Federation
import GatewayCore
import PresenceModel
import Storage
import Testing
import Translation
import XMLStreaming
import XMPP

@Suite("GatewayCore: links on an injected clock")
struct GatewayCoreLinkTests {
    typealias H = CoreHarness

    @Test("an unanswered ping closes the link, shows its contacts offline, and the next stanza reconnects")
    func pingUnanswered() throws {
        var harness = H()
        let subscriber = SubscriberID(1)
        _ = harness.handle(.subscriberOpened(subscriber, user: H.alice))
        let inbound = harness.inboundStream(1)
        #expect(harness.handle(.stanzaReceived(H.presenceFromBob(), on: inbound)).notified.map(\.1) == [
            .contactPresence(contact: H.bob, RichPresence(availability: .available))
        ])

        let queued = harness.handle(.action(H.chat("m1", "hello")), at: 1)
        #expect(
            !queued.contains { if case .armTimer = $0 { true } else { false } },
            "the inbound stream's establishment deadline, armed at its accept (60 s), fires before the message's expiry"
        )
        let (link, established) = harness.establish(queued)
        #expect(established.sent.map(\.id) == ["m1"])
        #expect(established.contains(.flush(link)), "one flush after the batch's writes")
        #expect(!established.contains { if case .armTimer = $0 { true } else { false } }, "the armed timer fires sooner than the keep-alive")
        #expect(harness.handle(.tick, at: 60) == [.armTimer(at: LinkInstant(sinceOrigin: .seconds(301)))], "the link's keep-alive, before the inbound stream's idle limit (600 s)")

        let pinged = harness.handle(.tick, at: 301)
        let ping = try #require(pinged.compactMap { action -> XMLElement? in
            if case .write(let element, link) = action { return element }
            return nil
        }.first)
        #expect(ping["id"] == "ping-1" && ping["from"] == "contoso.example" && ping["to"] == "fabrikam.example")
        #expect(harness.handle(.tick, at: 360).closed.isEmpty, "not yet due")

        let given = harness.handle(.tick, at: 361)
        #expect(given.closed.map(\.0) == [link] && given.closed.map(\.1) == [.pingUnanswered])
        #expect(given.contains(.metric(.pingTimedOut)))
        #expect(given.notified.map(\.1) == [
            .linkChanged(domain: "fabrikam.example", isUp: false),
            .contactPresence(contact: H.bob, RichPresence(availability: .offline)),
        ])

        let retried = harness.handle(.action(H.chat("m2", "still there?")), at: 362)
        let second = try #require(H.linkAttempt(in: retried))
        #expect(second != link, "a new connection, not the one given up")
        let (_, back) = harness.establish(retried)
        #expect(back.sent.map(\.id) == ["m2", nil], "the message, then the probe of bob (alice is offline: nothing to re-send)")
        #expect(back.notified.map(\.1) == [.linkChanged(domain: "fabrikam.example", isUp: true)])
    }

    @Test("a failed write goes back to the front of its queue, with its ticket, ahead of what came after")
    func failedWriteBackToTheFront() throws {
        var harness = H(keepsMessages: true)
        let accepted = harness.handle(.action(H.chat("m1", "one")))
        #expect(H.linkAttempt(in: accepted) == nil, "nothing goes out before the store has kept it")
        let (link, first) = harness.establish(harness.stored(accepted))
        let sentFirst = try #require(first.sent.first)
        let second = harness.stored(harness.handle(.action(H.chat("m2", "two"))))
        let sentSecond = try #require(second.sent.first)
        #expect(sentFirst.ticket != nil && sentSecond.ticket != nil && sentFirst.ticket != sentSecond.ticket)

        let failed = harness.handle(.writeFailed(OutboundStanza(H.messageElement("m1", "one"), on: H.contoso, ticket: sentFirst.ticket), on: link))
        let retry = try #require(H.linkAttempt(in: failed), "the connection that cannot be written to is lost")
        #expect(failed.contains { if case .log(let record) = $0 { record.message.hasPrefix("link down") } else { false } })
        _ = harness.handle(.writeFailed(OutboundStanza(H.messageElement("m2", "two"), on: H.contoso, ticket: sentSecond.ticket), on: link))
        _ = harness.stored(harness.handle(.action(H.chat("m3", "three"))))
        #expect(harness.core.links.status(of: H.contoso)?.queuedStanzas == 3)

        let stream = OutboundEstablishedStream(
            localDomain: "contoso.example", remoteDomain: "fabrikam.example", method: .saslOverTLS,
            security: .startTLS(peerCertificateValidForRemote: true), streamID: "s"
        )
        let flushed = harness.handle(.linkEstablished(retry, stream))
        #expect(flushed.sent.map(\.id).prefix(3) == ["m1", "m2", "m3"])
        #expect(flushed.sent.prefix(2).map(\.ticket) == [sentFirst.ticket, sentSecond.ticket], "the stored messages keep their tickets")
        #expect(flushed.sent.allSatisfy { $0.connection == retry })
        #expect(harness.core.storedMessages == 3)
        #expect(harness.handle(.written(try #require(sentFirst.ticket))).storeJobs == [.delivered(try #require(sentFirst.ticket))])
        #expect(harness.core.storedMessages == 2)
    }

    @Test("the late result of a superseded connection attempt is ignored, and a late success closed")
    func supersededAttempt() throws {
        var harness = H()
        let policy = harness.core.configuration.policy
        let translation = harness.core.configuration.translation
        let first = try #require(H.linkAttempt(in: harness.handle(.action(H.chat("m1", "one")))))
        let refused = harness.handle(.reconfigured(FederationPolicy(), translation))
        #expect(refused.closed.map(\.0) == [first])
        _ = harness.handle(.reconfigured(policy, translation))
        let second = try #require(H.linkAttempt(in: harness.handle(.action(H.chat("m2", "two")))))
        #expect(second != first)

        #expect(harness.handle(.connectionFailed(first, .temporary(reason: "late"))).allSatisfy { if case .log = $0 { true } else { false } })
        #expect(harness.core.links.status(of: H.contoso)?.phase == .connecting(attempt: 1), "the current attempt is untouched")
        let stream = OutboundEstablishedStream(
            localDomain: "contoso.example", remoteDomain: "fabrikam.example", method: .saslOverTLS, security: .plaintext, streamID: nil
        )
        let late = harness.handle(.linkEstablished(first, stream))
        #expect(late.closed.map(\.0) == [first] && late.closed.map(\.1) == [.unwanted])
        #expect(late.sent.isEmpty)
        #expect(harness.handle(.linkEstablished(second, stream)).sent.map { $0.connection } == [second])
    }

    @Test("each of our domains gets a link of its own, and its stanzas leave on it")
    func linkPerLocalDomain() throws {
        var directory = PresenceDirectory()
        directory.add(InternalUser(jid: "alice@contoso.example"))
        directory.add(InternalUser(jid: "carol@second.example"))
        var core = GatewayCore(
            configuration: GatewayCore.Configuration(
                translation: TranslationConfiguration(localDomains: ["contoso.example", "second.example"]),
                policy: FederationPolicy(partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), trust: .federated)]),
                keepsMessages: false, randomSeed: 1
            ),
            directory: directory
        )
        let time = GatewayTime(now: .origin, wall: H.wallOrigin)
        let message = Message(type: .chat, id: "x", bodies: [LocalizedText("hi")])
        let fromAlice = core.handle(.action(.sendMessage(user: H.alice, to: H.bob, message)), at: time)
        let fromCarol = core.handle(.action(.sendMessage(user: try JID("carol@second.example"), to: H.bob, message)), at: time)
        let keys = (fromAlice + fromCarol).compactMap { action -> LinkKey? in
            if case .connect(_, let key, _, .link) = action { return key }
            return nil
        }
        #expect(keys == [H.contoso, LinkKey(local: "second.example", remote: "fabrikam.example")])
    }
}

@Suite("GatewayCore: dialback verification routing")
struct GatewayCoreVerificationTests {
    typealias H = CoreHarness

    static func request(_ streamID: String) -> DialbackVerify {
        DialbackVerify(from: "contoso.example", to: "fabrikam.example", id: streamID, payload: .key(DialbackKey(rawValue: "k-\(streamID)")))
    }

    @Test("requests share one verification connection while it is up; one it redirects opens a new one; answers go to the stream that asked")
    func reusedThenRedirected() throws {
        var harness = H(negotiation: NegotiationPolicy(tls: .optional, sasl: .notSupported, supportDialback: true))
        let (one, two, three) = (ConnectionID(.inbound, 1), ConnectionID(.inbound, 2), ConnectionID(.inbound, 3))
        for connection in [one, two, three] { _ = harness.handle(.inboundAccepted(connection, source: H.source)) }

        let opened = harness.handle(.verificationRequested(Self.request("s1"), inbound: one))
        let verifier = try #require(opened.compactMap { action -> ConnectionID? in
            if case .connect(let connection, let key, _, .verification(let first)) = action, key == H.contoso, first == Self.request("s1") { return connection }
            return nil
        }.first)
        #expect(harness.handle(.verificationRequested(Self.request("s2"), inbound: two)).isEmpty, "it waits for the connection")
        #expect(harness.handle(.connected(verifier)) == [.requestVerification(Self.request("s2"), on: verifier)])
        #expect(harness.handle(.verificationRequested(Self.request("s3"), inbound: three)) == [.requestVerification(Self.request("s3"), on: verifier)])

        let redirected = harness.handle(.verificationRedirected(Self.request("s3"), from: verifier))
        let replacement = try #require(redirected.compactMap { action -> ConnectionID? in
            if case .connect(let connection, _, _, .verification(let first)) = action, first == Self.request("s3") { return connection }
            return nil
        }.first)
        #expect(replacement != verifier)

        let answer = Self.request("s2").answered(.valid)
        #expect(harness.handle(.verificationAnswered(answer)).contains(.answerVerification(answer, on: two)))
        let failed = harness.handle(.verificationFailed(Self.request("s1"), .authoritativeServerTimedOut))
        #expect(failed.contains(.failVerification(Self.request("s1"), .authoritativeServerTimedOut, on: one)))
        #expect(failed.contains(.metric(.dialbackVerification(.failed))))
    }

    @Test("a request goes on our established link for the pair when there is one")
    func onTheLink() throws {
        var harness = H()
        let (link, _) = harness.establish(harness.handle(.action(H.chat("m1", "hello"))))
        let inbound = ConnectionID(.inbound, 1)
        _ = harness.handle(.inboundAccepted(inbound, source: H.source))
        #expect(harness.handle(.verificationRequested(Self.request("s1"), inbound: inbound)) == [.requestVerification(Self.request("s1"), on: link)])
    }

    @Test("an authoritative domain that may not federate is never dialed")
    func refusedDomain() {
        var harness = H()
        let request = DialbackVerify(from: "contoso.example", to: "stranger.example", id: "s1", payload: .key(DialbackKey(rawValue: "k")))
        let inbound = ConnectionID(.inbound, 1)
        _ = harness.handle(.inboundAccepted(inbound, source: H.source))
        let actions = harness.handle(.verificationRequested(request, inbound: inbound))
        #expect(!actions.contains { if case .connect = $0 { true } else { false } })
        #expect(actions.contains(.failVerification(request, .authoritativeServerNotFound, on: inbound)))
    }
}

@Suite("GatewayCore: event streams, offline messages, reloads")
struct GatewayCoreUserTests {
    typealias H = CoreHarness

    @Test("a stream that opens gets its offline messages a page at a time, each page once the one before drained, then live events")
    func offlineCatchUp() throws {
        var harness = H(keepsMessages: true)
        let inbound = harness.inboundStream(1)
        // Nobody listens: the message is kept offline (and recorded).
        let kept = harness.handle(.stanzaReceived(H.messageFromBob("m0", "while you were out"), on: inbound))
        #expect(kept.notified.isEmpty)
        #expect(kept.storeJobs.contains { if case .keepOffline = $0 { true } else { false } })

        let subscriber = SubscriberID(1)
        #expect(harness.handle(.subscriberOpened(subscriber, user: H.alice)).storeJobs == [.readOffline(H.alice, for: subscriber, after: nil, page: .default)])
        let meanwhile = harness.handle(.stanzaReceived(H.messageFromBob("m1", "are you there?"), on: inbound))
        #expect(meanwhile.notified.isEmpty, "it waits behind the offline messages")
        #expect(meanwhile.storeJobs.contains { if case .keepOffline = $0 { true } else { false } }, "in the store, behind them")

        let first = try Self.stored(41, "m0")
        let page = harness.handle(.offlineMessagesRead(subscriber, [first]))
        #expect(page.handedOver.map(\.id) == ["m0"] && page.handedOver.map(\.sequence) == [41] && page.handedOver.first?.subscriber == subscriber)
        #expect(page.contains(.awaitDrain(subscriber)) && page.storeJobs.isEmpty, "nothing leaves the store before it is written")
        #expect(harness.handle(.subscriberDrained(subscriber, writtenOfflineThrough: 41)).storeJobs == [
            .deleteOffline(H.alice, through: 41), .readOffline(H.alice, for: subscriber, after: 41, page: .default),
        ])
        #expect(harness.handle(.offlineMessagesRead(subscriber, [try Self.stored(42, "m1")])).handedOver.map(\.sequence) == [42])
        #expect(harness.handle(.subscriberDrained(subscriber, writtenOfflineThrough: 42)).storeJobs.count == 2)
        #expect(harness.handle(.offlineMessagesRead(subscriber, [])).isEmpty, "an empty page: live, with nothing waiting")

        let live = harness.handle(.stanzaReceived(H.messageFromBob("m2", "live"), on: inbound))
        #expect(live.notified.count == 1 && live.notified.first?.0 == subscriber)
        #expect(!live.storeJobs.contains { if case .keepOffline = $0 { true } else { false } })
    }

    @Test("a message kept offline after the last page was asked for makes the stream read once more before it is live")
    func keptAfterTheLastRead() throws {
        var harness = H(keepsMessages: true)
        let inbound = harness.inboundStream(1)
        let subscriber = SubscriberID(1)
        _ = harness.handle(.subscriberOpened(subscriber, user: H.alice))
        _ = harness.handle(.stanzaReceived(H.messageFromBob("m1", "just now"), on: inbound))
        #expect(harness.handle(.offlineMessagesRead(subscriber, [])).storeJobs == [.readOffline(H.alice, for: subscriber, after: nil, page: .default)])
        #expect(harness.handle(.offlineMessagesRead(subscriber, [try Self.stored(7, "m1")])).handedOver.map(\.sequence) == [7])
    }

    @Test("presence that comes while a stream catches up waits, in its latest state per contact")
    func presenceWaits() {
        var harness = H(keepsMessages: true)
        let inbound = harness.inboundStream(1)
        let subscriber = SubscriberID(1)
        _ = harness.handle(.subscriberOpened(subscriber, user: H.alice))
        _ = harness.handle(.stanzaReceived(H.presenceFromBob(.away), on: inbound))
        _ = harness.handle(.stanzaReceived(H.presenceFromBob(.dnd), on: inbound))
        let live = harness.handle(.offlineMessagesRead(subscriber, []))
        #expect(live.notified.count == 1)
        if case .contactPresence(_, let presence)? = live.notified.first?.1 {
            #expect(presence.availability != RichPresence(availability: .away).availability)
        } else {
            Issue.record("expected bob's presence, got \(live)")
        }
    }

    @Test("live messages a closing stream never wrote are kept offline, unless another stream of the user got them")
    func undeliveredKept() throws {
        var harness = H(keepsMessages: true)
        _ = harness.inboundStream(1)
        let (one, two) = (SubscriberID(1), SubscriberID(2))
        _ = harness.handle(.subscriberOpened(one, user: H.alice))
        _ = harness.handle(.offlineMessagesRead(one, []))
        _ = harness.handle(.subscriberOpened(two, user: H.alice))
        _ = harness.handle(.offlineMessagesRead(two, []))
        let message = InternalEvent.message(from: try H.bob.withResource("laptop"), Message(type: .chat, id: "m9", bodies: [LocalizedText("unread")]))

        let first = harness.handle(.subscriberClosed(one, SubscriberEnd(undelivered: [message], overflowed: true)))
        #expect(first.storeJobs.isEmpty, "the other stream got it")
        #expect(first.contains(.metric(.eventStreamOverflowed)))
        let last = harness.handle(.subscriberClosed(two, SubscriberEnd(undelivered: [message], writtenOfflineThrough: 5)))
        guard case .keepOffline(let element, H.alice, _, _)? = last.storeJobs.last else {
            Issue.record("expected m9 kept offline, got \(last)")
            return
        }
        #expect(element["id"] == "m9")
        #expect(last.storeJobs.first == .deleteOffline(H.alice, through: 5))
    }

    @Test("a message refused by a stream that ended before the core heard of it is kept offline, unless a live stream got it")
    func refusedAfterTheEnd() throws {
        var harness = H(keepsMessages: true)
        let (one, two) = (SubscriberID(1), SubscriberID(2))
        let message = InternalEvent.message(from: try H.bob.withResource("laptop"), Message(type: .chat, id: "m10", bodies: [LocalizedText("late")]))
        _ = harness.handle(.subscriberOpened(one, user: H.alice))
        _ = harness.handle(.offlineMessagesRead(one, []))
        _ = harness.handle(.subscriberOpened(two, user: H.alice))
        _ = harness.handle(.offlineMessagesRead(two, []))
        _ = harness.handle(.subscriberClosed(one, SubscriberEnd(overflowed: true)))
        #expect(harness.handle(.eventRefused(message, for: H.alice)).storeJobs.isEmpty, "the live stream got it")
        _ = harness.handle(.subscriberClosed(two, SubscriberEnd()))
        let refused = harness.handle(.eventRefused(message, for: H.alice))
        guard case .keepOffline(let element, H.alice, _, _)? = refused.storeJobs.first else {
            Issue.record("expected m10 kept offline, got \(refused)")
            return
        }
        #expect(element["id"] == "m10")
        #expect(harness.handle(.eventRefused(.linkChanged(domain: "fabrikam.example", isUp: false), for: H.alice)).storeJobs.isEmpty, "only messages are kept")
    }

    @Test("a message a closing stream never wrote is kept offline when the user's other stream is still catching up, and that stream reads again")
    func undeliveredKeptForACatchingUpStream() throws {
        var harness = H(keepsMessages: true)
        let (live, catchingUp) = (SubscriberID(1), SubscriberID(2))
        let message = InternalEvent.message(from: try H.bob.withResource("laptop"), Message(type: .chat, id: "m11", bodies: [LocalizedText("unread")]))
        _ = harness.handle(.subscriberOpened(live, user: H.alice))
        _ = harness.handle(.offlineMessagesRead(live, []))
        _ = harness.handle(.subscriberOpened(catchingUp, user: H.alice))
        let closed = harness.handle(.subscriberClosed(live, SubscriberEnd(undelivered: [message], overflowed: true)))
        guard case .keepOffline(let element, H.alice, _, _)? = closed.storeJobs.last else {
            Issue.record("expected m11 kept offline, got \(closed)")
            return
        }
        #expect(element["id"] == "m11")
        let read = harness.handle(.offlineMessagesRead(catchingUp, []))
        #expect(read.storeJobs.contains { if case .readOffline(H.alice, catchingUp, _, _) = $0 { true } else { false } }, "it reads once more before it is live")
    }

    static func stored(_ sequence: Int64, _ id: String) throws -> OfflineMessage {
        OfflineMessage(
            sequence: sequence, user: H.alice, from: try H.bob.withResource("laptop"),
            stanza: H.messageFromBob(id, "kept").element, receivedAt: H.wallOrigin
        )
    }

    @Test("a reload that refuses a domain closes the inbound streams holding it and its outbound link, and bounces what waited")
    func reloadDropsDomain() throws {
        let northwind = PartnerPolicy(domain: DomainPattern(exactly: "northwind.example"), trust: .federated)
        var harness = H(partners: [northwind])
        let subscriber = SubscriberID(1)
        _ = harness.handle(.subscriberOpened(subscriber, user: H.alice))
        let fromFabrikam = harness.inboundStream(1)
        let fromNorthwind = harness.inboundStream(2, from: "northwind.example")
        let (link, _) = harness.establish(harness.handle(.action(H.chat("m1", "hello"))))

        let translation = harness.core.configuration.translation
        let reloaded = harness.handle(.reconfigured(FederationPolicy(partners: [northwind]), translation))
        let closedInbound = reloaded.compactMap { action -> (ConnectionID, StreamError?)? in
            if case .closeInbound(let connection, let error) = action { return (connection, error) }
            return nil
        }
        #expect(closedInbound.map(\.0) == [fromFabrikam])
        #expect(closedInbound.first?.1?.condition == .policyViolation)
        #expect(!closedInbound.contains { $0.0 == fromNorthwind })
        #expect(reloaded.closed.map(\.0) == [link])
        #expect(reloaded.notified.map(\.1).contains(.linkChanged(domain: "fabrikam.example", isUp: false)))

        let refused = harness.handle(.action(H.chat("m2", "anyone?")))
        guard case .deliveryFailed(_, "m2", let error)? = refused.notified.first?.1 else {
            Issue.record("expected a delivery failure, got \(refused)")
            return
        }
        #expect(error.condition == .notAllowed)
        _ = harness.handle(.inboundAccepted(ConnectionID(.inbound, 3), source: H.source))
        let authenticatedLater = harness.handle(.inboundAuthenticated(ConnectionID(.inbound, 3), H.contoso, .saslOverTLS, .startTLS))
        #expect(authenticatedLater.contains { if case .closeInbound = $0 { true } else { false } }, "a stream that negotiated under the old policy")
    }
}

extension CoreHarness {
    /// alice's message as the translator builds it.
    static func messageElement(_ id: String, _ text: String) -> XMLElement {
        Message(type: .chat, id: id, bodies: [LocalizedText(text)]).element(from: try! alice.withResource("consulate"), to: bob)
    }
}

@Suite("GatewayCore: timers, streams closing while catching up, shutdown")
struct GatewayCoreRegressionTests {
    typealias H = CoreHarness

    static func armed(_ actions: [GatewayCore.Action]) -> [LinkInstant] {
        actions.compactMap { if case .armTimer(let at) = $0 { at } else { nil } }
    }

    @Test("a tick from a superseded timer arms nothing (regression: every earlier deadline added a tick chain for good)")
    func supersededTimer() throws {
        var harness = H()
        let (_, established) = harness.establish(harness.handle(.action(H.chat("m1", "hello"))))
        #expect(Self.armed(established).isEmpty, "the queue expiry's timer (120 s) fires first")
        // Expiry at 120 s, armed with the message; its tick arms the keep-alive at 300 s.
        #expect(Self.armed(harness.handle(.tick, at: 120)) == [LinkInstant(sinceOrigin: .seconds(300))])
        // A second timer for 120 s (armed before the first fired) fires late: nothing more is armed.
        #expect(Self.armed(harness.handle(.tick, at: 121)).isEmpty)
        #expect(Self.armed(harness.handle(.tick, at: 300)) == [LinkInstant(sinceOrigin: .seconds(360))], "the ping's deadline")
    }

    @Test("messages that arrive while a stream catches up are kept offline at once, so a stream closing then loses none (regression: they were lost)")
    func closedWhileCatchingUp() {
        var harness = H(keepsMessages: true)
        let inbound = harness.inboundStream(1)
        let subscriber = SubscriberID(1)
        _ = harness.handle(.subscriberOpened(subscriber, user: H.alice))
        let arrived = harness.handle(.stanzaReceived(H.messageFromBob("m1", "while you read"), on: inbound))
        guard case .keepOffline(let element, let user, _, _)? = arrived.storeJobs.first(where: { if case .keepOffline = $0 { true } else { false } }) else {
            Issue.record("expected the message kept offline, got \(arrived)")
            return
        }
        #expect(user == H.alice && element["id"] == "m1")
        #expect(harness.handle(.subscriberClosed(subscriber, SubscriberEnd())).storeJobs.isEmpty)
        #expect(harness.handle(.offlineMessagesRead(subscriber, [])).isEmpty, "a late read for a closed stream does nothing")
    }

    @Test("after shutdown only written messages are settled; nothing reconnects")
    func stopped() throws {
        var harness = H(keepsMessages: true)
        let (link, established) = harness.establish(harness.stored(harness.handle(.action(H.chat("m1", "hello")))))
        let ticket = try #require(established.sent.first?.ticket)
        let (actions, unsent) = harness.core.shutdown()
        #expect(actions.closed.map(\.0) == [link] && unsent.isEmpty)
        #expect(harness.handle(.writeFailed(OutboundStanza(H.messageElement("m1", "hello"), on: H.contoso, ticket: ticket), on: link)).isEmpty)
        #expect(harness.handle(.action(H.chat("m2", "late"))).isEmpty)
        #expect(harness.handle(.written(ticket)).storeJobs == [.delivered(ticket)])
    }
}
