import Federation
import GatewayCore
import PresenceModel
import Storage
import Translation
import XMLStreaming
import XMPP

/// A `GatewayCore` driven input by input on a clock the test moves, as `Gateway` drives it.
struct CoreHarness {
    static let alice = try! JID("alice@contoso.example")
    static let bob = try! JID("bob@fabrikam.example")
    static let contoso = LinkKey(local: "contoso.example", remote: "fabrikam.example")
    /// The address inbound connections come from, unless a test says otherwise.
    static let source = "192.0.2.1"
    static let wallOrigin = Timestamp(secondsSinceEpoch: 1_790_000_000)

    var core: GatewayCore
    var now = LinkInstant.origin

    /// contoso.example with alice, whose colleague bob on fabrikam.example (a Federated partner
    /// negotiating as `negotiation` says) sees her and is seen, both ways.
    init(
        keepsMessages: Bool = false, negotiation: NegotiationPolicy = .default, partners: [PartnerPolicy] = [],
        settings: FederationSettings = .defaults, descriptorLimit: Int? = nil
    ) {
        var directory = PresenceDirectory()
        directory.add(
            InternalUser(
                jid: Self.alice.description,
                contacts: [Self.bob.description: Contact(jid: Self.bob.description, accessLevel: .colleagues, subscription: SubscriptionState(.both))]
            )
        )
        let fabrikam = PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), trust: .federated, negotiation: negotiation)
        core = GatewayCore(
            configuration: GatewayCore.Configuration(
                translation: TranslationConfiguration(localDomains: ["contoso.example"]),
                policy: FederationPolicy(partners: [fabrikam] + partners, settings: settings),
                keepsMessages: keepsMessages,
                randomSeed: 7,
                descriptorLimit: descriptorLimit
            ),
            directory: directory
        )
    }

    var time: GatewayTime { GatewayTime(now: now, wall: Self.wallOrigin) }

    /// Handles `input` once the clock has moved on to `seconds` after the origin (or now).
    mutating func handle(_ input: GatewayCore.Input, at seconds: Double? = nil) -> [GatewayCore.Action] {
        if let seconds { now = LinkInstant(sinceOrigin: .milliseconds(Int64(seconds * 1000))) }
        return core.handle(input, at: time)
    }

    /// The store writer reports every store job among `actions` stored; returns what the core did then.
    mutating func stored(_ actions: [GatewayCore.Action]) -> [GatewayCore.Action] {
        let jobs = actions.storeJobs
        guard !jobs.isEmpty else { return [] }
        let tickets = jobs.compactMap { job -> Ticket? in
            if case .enqueue(let ticket, _, _, _) = job { return ticket }
            return nil
        }
        return handle(.storeReported(StoreReport(completed: jobs.count, stored: tickets)))
    }

    /// The connection the core asked to open in `actions` for a link.
    static func linkAttempt(in actions: [GatewayCore.Action]) -> ConnectionID? {
        for case .connect(let connection, _, _, .link) in actions { return connection }
        return nil
    }

    /// Brings up the link the core asked for in `actions`, returning what the core did then.
    mutating func establish(_ actions: [GatewayCore.Action], local: String = "contoso.example") -> (ConnectionID, [GatewayCore.Action]) {
        guard let connection = Self.linkAttempt(in: actions) else { return (ConnectionID(.link, 0), []) }
        let stream = OutboundEstablishedStream(
            localDomain: local, remoteDomain: "fabrikam.example", method: .saslOverTLS,
            security: .startTLS(peerCertificateValidForRemote: true), streamID: "s"
        )
        return (connection, handle(.connected(connection)) + handle(.linkEstablished(connection, stream)))
    }

    /// An inbound stream from fabrikam.example, authenticated for contoso.example.
    mutating func inboundStream(_ number: UInt64, from domain: String = "fabrikam.example", method: AuthenticationMethod = .saslOverTLS) -> ConnectionID {
        let connection = ConnectionID(.inbound, number)
        _ = handle(.inboundAccepted(connection, source: Self.source))
        _ = handle(.inboundAuthenticated(connection, LinkKey(local: "contoso.example", remote: domain), method, .startTLS))
        return connection
    }

    static func chat(_ id: String, _ text: String) -> InternalAction {
        .sendMessage(user: alice, to: bob, Message(type: .chat, id: id, bodies: [LocalizedText(text)]))
    }

    /// bob's stanza, as an authenticated inbound stream delivers it.
    static func fromBob(_ element: XMLElement) -> Stanza {
        try! Stanza(element)!
    }

    static func presenceFromBob(_ show: Presence.Show? = nil) -> Stanza {
        fromBob(Presence(show: show).element(from: try! bob.withResource("laptop"), to: alice))
    }

    static func messageFromBob(_ id: String, _ text: String) -> Stanza {
        fromBob(Message(type: .chat, id: id, bodies: [LocalizedText(text)]).element(from: try! bob.withResource("laptop"), to: alice))
    }
}

extension Array where Element == GatewayCore.Action {
    /// The stanzas handed to links, with their connections.
    var sent: [(id: String?, ticket: Ticket?, connection: ConnectionID)] {
        compactMap { action in
            if case .send(let stanza, let connection) = action { return (stanza.element["id"], stanza.ticket, connection) }
            return nil
        }
    }

    /// What each event stream was told.
    var notified: [(SubscriberID, InternalEvent)] {
        compactMap { action in
            if case .notify(let subscriber, let event) = action { return (subscriber, event) }
            return nil
        }
    }

    /// The offline messages handed to event streams: by stream, message id and sequence.
    var handedOver: [(subscriber: SubscriberID, id: String?, sequence: Int64)] {
        compactMap { action in
            if case .handOver(let subscriber, .message(_, let message), let sequence) = action { return (subscriber, message.id, sequence) }
            return nil
        }
    }

    var storeJobs: [StoreJob] {
        compactMap { action in
            if case .store(let job) = action { return job }
            return nil
        }
    }

    var closed: [(ConnectionID, LinkTable.CloseReason)] {
        compactMap { action in
            if case .close(let connection, let reason) = action { return (connection, reason) }
            return nil
        }
    }
}
