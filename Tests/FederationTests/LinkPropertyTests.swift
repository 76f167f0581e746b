import Federation
import Testing
import XMLStreaming
import XMPP

/// Drives a link table with a seeded random sequence of events, playing the caller's part
/// faithfully (it reports outcomes for the connections the table asked for, plus some stale
/// reports, and fails writes in the order they were sent), and records what happened to every
/// stanza.
private struct LinkHarness {
    static let domains = ["a.example", "b.example", "x.fabrikam.example", "y.fabrikam.example", "blocked.example", "c.example"]
    static let connectionLimit = 3

    var random: SplitMix64
    var table: LinkTable
    var now = LinkInstant.origin
    var attempting: [ConnectionID: String] = [:]
    var established: [ConnectionID: String] = [:]
    /// Connections the table let go of, for stale reports.
    var gone: [ConnectionID] = []
    /// What was sent on each established connection and not yet known to be written, in order.
    var inFlight: [ConnectionID: [OutboundStanza]] = [:]
    /// The ping outstanding on each established link.
    var pings: [String: String] = [:]
    var pingIDs: Set<String> = []
    var pingsAnswered = 0
    var pingsTimedOut = 0
    var writesFailed = 0
    var originals: [String: (element: XMLElement, sequence: Int)] = [:]
    var outcomes: [String: [String]] = [:]
    var lastSent: [String: Int] = [:]
    var nextSequence = 0

    init(seed: UInt64) throws {
        random = SplitMix64(seed: seed)
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

    /// A connection to report about: usually one the table is waiting on, sometimes a stale one.
    mutating func connection(from live: [ConnectionID: String]) -> ConnectionID? {
        let stale = live.isEmpty || Int.random(in: 0..<10, using: &random) == 0
        if stale { return gone.isEmpty ? nil : pick(gone) }
        return pick(live.keys.sorted())
    }

    mutating func step() {
        now = now + .milliseconds(Int.random(in: 0...4000, using: &random))
        let roll = Int.random(in: 0..<100, using: &random)
        var actions: [LinkTable.Action] = []
        switch roll {
        case 0..<40:
            let domain = pick(Self.domains)
            actions = table.stanzaToSend(randomStanza(to: domain), to: domain, now: now)
        case 40..<55:
            guard let connection = connection(from: attempting) else { break }
            let domain = attempting.removeValue(forKey: connection)
            if let domain { established[connection] = domain }
            actions = table.connectionSucceeded(connection, now: now)
            if domain == nil { #expect(actions == [.close(connection, .unwanted)], "a stray success must be closed") }
        case 55..<68:
            guard let connection = connection(from: attempting) else { break }
            let wasAttempting = attempting.removeValue(forKey: connection) != nil
            let failure: LinkFailure = Bool.random(using: &random) ? .temporary(reason: "timeout") : .notFound(reason: "NXDOMAIN")
            actions = table.connectionFailed(connection, failure, now: now, using: &random)
            if wasAttempting { gone.append(connection) } else { #expect(actions.isEmpty, "a stray failure must be ignored") }
        case 68..<76:
            guard let connection = connection(from: established) else { break }
            actions = lose(connection)
        case 76..<82:
            // The connection breaks while writes are in flight: each fails, in the order sent.
            guard let connection = established.keys.sorted().first(where: { !(inFlight[$0] ?? []).isEmpty }) else { break }
            for stanza in inFlight.removeValue(forKey: connection) ?? [] {
                writesFailed += 1
                unrecord(stanza.element["id"], "sent")
                if let sequence = originals[stanza.element["id"] ?? ""]?.sequence {
                    lastSent[stanza.key.remote] = min(lastSent[stanza.key.remote] ?? sequence, sequence - 1)
                }
                if let domain = established.removeValue(forKey: connection) {
                    pings[domain] = nil
                    gone.append(connection)
                }
                let result = table.writeFailed(stanza, on: connection, now: now)
                apply(result)
            }
        case 82..<86:
            for connection in inFlight.keys { inFlight[connection] = [] }
        case 86..<90:
            guard let (domain, id) = pings.sorted(by: { $0.key < $1.key }).first else { break }
            pings[domain] = nil
            pingsAnswered += 1
            #expect(table.pongReceived(from: domain, id: id) == true, "the ping outstanding on \(domain) was not recognised")
            #expect(table.pongReceived(from: domain, id: id) == false, "an answer counted twice")
        default:
            actions = table.tick(now: now)
        }
        apply(actions)
        #expect(table.openConnections == attempting.count + established.count)
        #expect(table.openConnections <= Self.connectionLimit)
        #expect(Set(attempting.values).union(established.values).filter { $0.hasSuffix(".fabrikam.example") }.count <= 1)
        #expect(Set(attempting.values).intersection(established.values).isEmpty && Set(attempting.values).count == attempting.count)
    }

    /// The established connection closes by itself: what was in flight on it was written.
    mutating func lose(_ connection: ConnectionID) -> [LinkTable.Action] {
        let wasEstablished = established[connection]
        let actions = table.linkLost(connection, now: now)
        if let domain = established.removeValue(forKey: connection) {
            pings[domain] = nil
            inFlight[connection] = nil
            gone.append(connection)
            #expect(actions.first == .linkDown(link(domain)))
        } else {
            #expect(actions.isEmpty || wasEstablished != nil, "a stale loss must be ignored")
        }
        return actions
    }

    mutating func apply(_ actions: [LinkTable.Action]) {
        for action in actions {
            switch action {
            case .connect(let key, let connection, _, _):
                #expect(!attempting.values.contains(key.remote) && !established.values.contains(key.remote), "a second link to \(key.remote)")
                #expect(!gone.contains(connection) && attempting[connection] == nil, "connection \(connection) reused")
                attempting[connection] = key.remote
            case .send(let stanza, let connection):
                let domain = stanza.key.remote
                #expect(established[connection] == domain, "sent on \(domain) without its link")
                record(stanza.element["id"], "sent")
                inFlight[connection, default: []].append(stanza)
                let sequence = originals[stanza.element["id"] ?? ""]?.sequence ?? -1
                #expect(sequence > lastSent[domain, default: -1], "out of order on \(domain)")
                lastSent[domain] = sequence
            case .bounce(let reply, _):
                record(reply["id"], "bounced")
                if let original = originals[reply["id"] ?? ""]?.element {
                    #expect(Stanza.errorReply(to: original, error: StanzaError(.undefinedCondition)) != nil, "bounced an unanswerable stanza")
                    #expect(reply["to"] == original["from"])
                }
            case .discard(let element, _, _):
                record(element["id"], "discarded")
                #expect(Stanza.errorReply(to: element, error: StanzaError(.undefinedCondition)) == nil, "discarded an answerable stanza")
            case .close(let connection, let reason):
                attempting[connection] = nil
                inFlight[connection] = nil
                gone.append(connection)
                if let domain = established.removeValue(forKey: connection), pings.removeValue(forKey: domain) != nil, reason == .pingUnanswered {
                    pingsTimedOut += 1
                }
            case .sendKeepAlive(let connection):
                let domain = established[connection] ?? ""
                #expect(established[connection] != nil)
                #expect(!domain.hasSuffix(".fabrikam.example"), "keep-alive for a partner that turned them off")
                #expect(pings[domain] != nil, "whitespace instead of a ping with none outstanding")
            case .sendPing(let key, let connection, let id):
                #expect(established[connection] == key.remote, "a ping on \(key.remote) without a link")
                #expect(!key.remote.hasSuffix(".fabrikam.example"), "a ping for a partner that turned keep-alives off")
                #expect(pings[key.remote] == nil, "a second ping outstanding on \(key.remote)")
                #expect(pingIDs.insert(id).inserted, "ping id \(id) used twice")
                pings[key.remote] = id
            case .scheduleRetry(_, let instant):
                #expect(instant >= now)
            case .linkDown(let key), .linkUp(let key):
                #expect(Self.domains.contains(key.remote))
            }
        }
    }

    mutating func unrecord(_ id: String?, _ outcome: String) {
        guard let id, let index = outcomes[id]?.lastIndex(of: outcome) else {
            Issue.record("\(id ?? "nil") was not \(outcome)")
            return
        }
        outcomes[id]?.remove(at: index)
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
        for queued in shutdown.unsent { harness.record(queued.stanza.element["id"], "unsent") }
        #expect(harness.attempting.isEmpty && harness.established.isEmpty)

        #expect(harness.originals.count > 200)
        for id in harness.originals.keys {
            #expect(harness.outcomes[id]?.count == 1, "\(id): \(harness.outcomes[id] ?? [])")
        }
        let all = harness.outcomes.values.flatMap { $0 }
        #expect(all.contains("sent") && all.contains("bounced") && all.contains("discarded"), "the walk should reach every outcome")
    }

    @Test("over the seeds, the walks send pings, answer some and let others time out, and fail writes")
    func pingsCovered() throws {
        var sent = 0, answered = 0, timedOut = 0, writesFailed = 0
        for seed in UInt64(0)..<40 {
            var harness = try LinkHarness(seed: seed)
            for _ in 0..<600 { harness.step() }
            sent += harness.pingIDs.count
            answered += harness.pingsAnswered
            timedOut += harness.pingsTimedOut
            writesFailed += harness.writesFailed
        }
        #expect(sent > 100 && answered > 20 && timedOut > 2, "sent \(sent), answered \(answered), timed out \(timedOut)")
        #expect(writesFailed > 20, "failed writes: \(writesFailed)")
    }
}
