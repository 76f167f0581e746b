import Federation
import PresenceModel
import Translation
import XMLStreaming
import XMPP

/// Translator throughput, both directions, from one presence-only stream:
/// - inbound: each presence stanza (already parsed) through `Translator.receive`, which maps it to
///   the internal model, aggregates resources and decides whether the user must be told;
/// - outbound: internal presence changes fanned out into per-watcher views (trust × access level
///   filtering, mapping, de-duplication), counting the views produced.
enum TranslatorBenchmark {
    struct Result {
        var inboundStanzas: Int
        var inboundSeconds: Double
        var outboundChanges: Int
        var outboundViews: Int
        var outboundSeconds: Double
    }

    static func run(stream bytes: [UInt8], rounds: Int = 3) throws -> Result {
        let stanzas = try parseStanzas(bytes)
        let translator = makeTranslator(for: stanzas)
        var best = Result(inboundStanzas: 0, inboundSeconds: .infinity, outboundChanges: 0, outboundViews: 0, outboundSeconds: .infinity)
        let clock = ContinuousClock()
        for _ in 0..<rounds {
            var inbound = translator
            var produced = 0
            let inboundTime = clock.measure {
                for stanza in stanzas { produced &+= inbound.receive(stanza).count }
            }
            blackHole(produced)
            var outbound = translator
            let (changes, views, outboundTime) = fanOut(&outbound, clock: clock)
            best.inboundStanzas = stanzas.count
            best.inboundSeconds = min(best.inboundSeconds, inboundTime.seconds)
            best.outboundChanges = changes
            best.outboundViews = views
            best.outboundSeconds = min(best.outboundSeconds, outboundTime.seconds)
        }
        return best
    }

    static func parseStanzas(_ bytes: [UInt8]) throws -> [Stanza] {
        let parser = XMLStreamParser(limits: .postAuthentication)
        var events: [XMLStreamEvent] = []
        try parser.feed(bytes, into: &events)
        return events.compactMap { event in
            guard case .element(let element) = event else { return nil }
            return (try? Stanza(element)) ?? nil
        }.filter { $0.kind == .presence && $0.from != nil && $0.to != nil }
    }

    /// Every recipient is an internal user subscribed both ways to every sender that writes to
    /// them, with access levels spread over all five, so every code path of the views is taken.
    static func makeTranslator(for stanzas: [Stanza]) -> Translator {
        var directory = PresenceDirectory()
        var partners: Set<String> = []
        var localDomains: Set<String> = []
        let levels = AccessLevel.allCases
        for stanza in stanzas {
            guard let from = stanza.from?.bare, let to = stanza.to?.bare else { continue }
            partners.insert(from.domainpart)
            localDomains.insert(to.domainpart)
            var user = directory.users[to.description] ?? InternalUser(jid: to.description)
            if user.contacts[from.description] == nil {
                user.contacts[from.description] = Contact(
                    jid: from.description,
                    accessLevel: levels[user.contacts.count % levels.count],
                    subscription: SubscriptionState(.both)
                )
            }
            directory.add(user)
        }
        let trusts = PartnerTrust.allCases
        let policy = FederationPolicy(
            partners: partners.sorted().enumerated().map { PartnerPolicy(domain: DomainPattern(exactly: $0.element), trust: trusts[$0.offset % trusts.count]) }
        )
        return Translator(configuration: TranslationConfiguration(localDomains: localDomains), policy: policy, directory: directory)
    }

    /// Cycles every user through a day of states, producing each watcher's view where it changed.
    static func fanOut(_ translator: inout Translator, clock: ContinuousClock) -> (changes: Int, views: Int, time: Duration) {
        let day: [RichPresence] = [
            RichPresence(availability: .available, note: "In early"),
            RichPresence(availability: .busy, activity: .inAMeeting, note: "Planning", meetingSubject: "Q3", meetingLocation: "Room 4"),
            RichPresence(availability: .busy, activity: .onThePhone),
            RichPresence(availability: .beRightBack),
            RichPresence(availability: .doNotDisturb, note: "Focus"),
            RichPresence(availability: .away, idleSince: Timestamp(secondsSinceEpoch: 1_795_000_000)),
            RichPresence(availability: .away, activity: .offWork),
            RichPresence(availability: .offline),
        ]
        let users = translator.directory.users.keys.sorted().compactMap { try? JID($0) }
        var changes = 0
        var views = 0
        let time = clock.measure {
            for _ in 0..<4 {
                for presence in day {
                    for user in users {
                        for case .send in translator.perform(.setPresence(user: user, presence)) { views &+= 1 }
                        changes &+= 1
                    }
                }
            }
        }
        return (changes, views, time)
    }
}
