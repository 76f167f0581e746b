import Federation
import Testing
import XMLStreaming
import XMPP

/// Drives a link table with a seeded random sequence of events, playing the caller's part
/// faithfully (it reports outcomes only for attempts the table asked for, plus some stale reports),
/// and records what happened to every stanza.
private struct LinkHarness {
    static let domains = ["a.example", "b.example", "x.fabrikam.example", "y.fabrikam.example", "blocked.example", "c.example"]
    static let connectionLimit = 3

    var random: LinkTestRandom
    var table: LinkTable
    var now = LinkInstant.origin
    var attempting: Set<String> = []
    var established: Set<String> = []
    /// The ping outstanding on each established link.
    var pings: [String: String] = [:]
    var pingIDs: Set<String> = []
    var pingsAnswered = 0
    var pingsTimedOut = 0
    var originals: [String: (element: XMLElement, sequence: Int)] = [:]
    var outcomes: [String: [String]] = [:]
    var lastSent: [String: Int] = [:]
    var nextSequence = 0

    init(seed: UInt64) throws {
        random = LinkTestRandom(seed: seed)
        let fabrikam = try LinkPolicies.partner("*.fabrikam.example", keepAlive: false, connectionLimit: 1)
        let federation = FederationSettings(
            connectionLimit: Self.connectionLimit, inactivityTimeout: .seconds(90), keepAliveInterval: .seconds(30)
        )
        table = LinkTable(
            policy: try LinkPolicies.open(partners: [fabrikam], settings: federation),
            settings: LinkSettings(
                maxQueuedStanzas: 5, maxQueuedBytes: 1500, maxQueueAge: .seconds(60),
                backoff: LinkBackoff(base: .milliseconds(500), cap: .seconds(20))
            )
        )
    }

    mutating func pick<T>(_ values: [T]) -> T {
        values[Int.random(in: 0..<values.count, using: &random)]
    }

    mutating func randomStanza(to domain: String) -> XMLElement {
        let id = "s\(nextSequence)"
        let element: XMLElement =
            switch Int.random(in: 0..<10, using: &random) {
            case 0: LinkStanzas.message(id, to: domain, type: "error")
            case 1: LinkStanzas.iq(id, to: domain, type: "result")
            case 2: LinkStanzas.message(id, to: domain, from: nil)
            case 3: LinkStanzas.presence(id, to: domain)
            case 4: LinkStanzas.iq(id, to: domain, type: "get")
            default: LinkStanzas.message(id, to: domain, body: String(repeating: "z", count: Int.random(in: 0...400, using: &random)))
            }
        originals[id] = (element, nextSequence)
        nextSequence += 1
        return element
    }

    mutating func step() {
        now = now + .milliseconds(Int.random(in: 0...4000, using: &random))
        let roll = Int.random(in: 0..<100, using: &random)
        let actions: [LinkTable.Action]
        switch roll {
        case 0..<45:
            let domain = pick(Self.domains)
            actions = table.stanzaToSend(randomStanza(to: domain), to: domain, now: now)
        case 45..<60:
            let stale = attempting.isEmpty || Int.random(in: 0..<10, using: &random) == 0
            let domain = stale ? pick(Self.domains) : pick(attempting.sorted())
            let wasAttempting = attempting.remove(domain) != nil
            if wasAttempting { established.insert(domain) }
            actions = table.connectionSucceeded(domain, now: now)
            if !wasAttempting, !established.contains(domain) {
                #expect(actions == [.close(domain)], "a stray success must be closed")
            }
        case 60..<75:
            let stale = attempting.isEmpty || Int.random(in: 0..<10, using: &random) == 0
            let domain = stale ? pick(Self.domains) : pick(attempting.sorted())
            let wasAttempting = attempting.remove(domain) != nil
            let failure: LinkFailure = Bool.random(using: &random) ? .temporary(reason: "timeout") : .notFound(reason: "NXDOMAIN")
            actions = table.connectionFailed(domain, failure, now: now, using: &random)
            if !wasAttempting { #expect(actions.isEmpty, "a stray failure must be ignored") }
        case 75..<85:
            guard let domain = established.sorted().first(where: { _ in Bool.random(using: &random) }) ?? established.sorted().first else {
                actions = table.tick(now: now)
                break
            }
            established.remove(domain)
            pings[domain] = nil
            actions = table.linkLost(domain, now: now)
            #expect(actions.first == .linkDown(domain))
        case 85..<90:
            guard let (domain, id) = pings.sorted(by: { $0.key < $1.key }).first else {
                actions = table.tick(now: now)
                break
            }
            pings[domain] = nil
            pingsAnswered += 1
            #expect(table.pongReceived(from: domain, id: id) == true, "the ping outstanding on \(domain) was not recognised")
            #expect(table.pongReceived(from: domain, id: id) == false, "an answer counted twice")
            actions = []
        default:
            actions = table.tick(now: now)
        }
        apply(actions)
        #expect(table.openConnections == attempting.count + established.count)
        #expect(table.openConnections <= Self.connectionLimit)
        #expect(attempting.union(established).filter { $0.hasSuffix(".fabrikam.example") }.count <= 1)
    }

    mutating func apply(_ actions: [LinkTable.Action]) {
        for action in actions {
            switch action {
            case .connect(let domain, _):
                #expect(!attempting.contains(domain) && !established.contains(domain), "a second link to \(domain)")
                attempting.insert(domain)
            case .send(let domain, let element):
                #expect(established.contains(domain), "sent on \(domain) without a link")
                record(element["id"], "sent")
                let sequence = originals[element["id"] ?? ""]?.sequence ?? -1
                #expect(sequence > lastSent[domain, default: -1], "out of order on \(domain)")
                lastSent[domain] = sequence
            case .bounce(let reply):
                record(reply["id"], "bounced")
                if let original = originals[reply["id"] ?? ""]?.element {
                    #expect(Stanza.errorReply(to: original, error: StanzaError(.undefinedCondition)) != nil, "bounced an unanswerable stanza")
                    #expect(reply["to"] == original["from"])
                }
            case .discard(let element, _):
                record(element["id"], "discarded")
                #expect(Stanza.errorReply(to: element, error: StanzaError(.undefinedCondition)) == nil, "discarded an answerable stanza")
            case .closeIdleLink(let domain):
                #expect(established.remove(domain) != nil)
                pings[domain] = nil
            case .close(let domain):
                attempting.remove(domain)
                if established.remove(domain) != nil, pings.removeValue(forKey: domain) != nil { pingsTimedOut += 1 }
            case .sendKeepAlive(let domain):
                #expect(established.contains(domain))
                #expect(!domain.hasSuffix(".fabrikam.example"), "keep-alive for a partner that turned them off")
                #expect(pings[domain] != nil, "whitespace instead of a ping with none outstanding")
            case .sendPing(let domain, let id):
                #expect(established.contains(domain), "a ping on \(domain) without a link")
                #expect(!domain.hasSuffix(".fabrikam.example"), "a ping for a partner that turned keep-alives off")
                #expect(pings[domain] == nil, "a second ping outstanding on \(domain)")
                #expect(pingIDs.insert(id).inserted, "ping id \(id) used twice")
                pings[domain] = id
            case .scheduleRetry(_, let instant):
                #expect(instant >= now)
            case .linkDown(let domain), .linkUp(let domain):
                #expect(Self.domains.contains(domain))
            }
        }
    }

    mutating func record(_ id: String?, _ outcome: String) {
        guard let id, originals[id] != nil else {
            Issue.record("an outcome for a stanza never handed in: \(id ?? "nil")")
            return
        }
        outcomes[id, default: []].append(outcome)
    }
}

@Suite("Links: a seeded random walk")
struct LinkPropertyTests {
    @Test("every stanza is sent, bounced, discarded or handed back exactly once, in order, within the limits", arguments: UInt64(0)..<40)
    func exactlyOnce(seed: UInt64) throws {
        var harness = try LinkHarness(seed: seed)
        for _ in 0..<600 { harness.step() }
        let shutdown = harness.table.shutdown()
        harness.apply(shutdown.actions)
        for stanza in shutdown.unsent { harness.record(stanza.element["id"], "unsent") }
        #expect(harness.attempting.isEmpty && harness.established.isEmpty)

        #expect(harness.originals.count > 200)
        for id in harness.originals.keys {
            #expect(harness.outcomes[id]?.count == 1, "\(id): \(harness.outcomes[id] ?? [])")
        }
        let all = harness.outcomes.values.flatMap { $0 }
        #expect(all.contains("sent") && all.contains("bounced") && all.contains("discarded"), "the walk should reach every outcome")
    }

    @Test("over the seeds, the walks send pings, answer some and let others time out")
    func pingsCovered() throws {
        var sent = 0, answered = 0, timedOut = 0
        for seed in UInt64(0)..<40 {
            var harness = try LinkHarness(seed: seed)
            for _ in 0..<600 { harness.step() }
            sent += harness.pingIDs.count
            answered += harness.pingsAnswered
            timedOut += harness.pingsTimedOut
        }
        #expect(sent > 100 && answered > 20 && timedOut > 2, "sent \(sent), answered \(answered), timed out \(timedOut)")
    }
}
