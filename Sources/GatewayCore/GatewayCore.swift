package import Federation
package import PresenceModel
import Storage
package import Translation
package import XMLStreaming
package import XMPP

/// The gateway's runtime decisions as one pure value: inputs in (a stanza on a connection, an
/// internal user's action, a link established or failed, a write done or failed, a tick with the
/// time, an inbound stream authenticated, a verification answered, an event stream opened, a
/// reload), actions out (write, flush, connect, close, notify, store, arm a timer, log, count).
/// No I/O, no clock, no tasks, no global randomness: the runtime (`Gateway`) stamps each input
/// with the time and carries the actions out, and the fixtures replay the very same value.
///
/// It holds the translator and the link table and routes between them: what the translator sends
/// goes to the link of its (from, to) domains; what the link table bounces comes back to the
/// translator as the error reply it is; links going down and up change what internal users see.
/// Beside them run four sub-machines, each in its file: `InboundStreamRegistry` (who is
/// authenticated on the streams peers opened), `DialbackVerificationRouter` (where the
/// `<db:verify/>` requests of those streams go), `SubscriberFanOut` (internal users' event
/// streams, with the offline catch-up), and `SubscriptionRequestLimiter` (how fast each partner
/// may ask to see our users' presence). Messages internal users send are durable when a store
/// keeps messages: stored under a `Ticket` that travels with the stanza through the link table
/// and comes back on its write, bounce or discard.
package struct GatewayCore: Sendable {
    package struct Configuration: Sendable {
        package var translation: TranslationConfiguration
        package var policy: FederationPolicy
        package var links: LinkSettings
        /// Whether a store keeps messages: the outbound queue, offline messages and history. Without
        /// one (the link tests), nothing is stored and event streams start live.
        package var keepsMessages: Bool
        /// Seeds the backoff jitter, so that a replay decides the same.
        package var randomSeed: UInt64
        /// The process's file-descriptor limit, if it has one: the listeners pause while open
        /// connections would use the policy's `descriptorReserve` of it.
        package var descriptorLimit: Int?
        /// Store jobs handed to the writer and not yet done beyond which inbound connections stop
        /// reading, until half of them are done.
        package var storeBacklogLimit: Int

        /// 1000 jobs: at about a kilobyte each, a megabyte waiting for the disk, and several
        /// batches of group commit.
        package static let defaultStoreBacklogLimit = 1000
        /// How much of a user's offline messages one read brings to a stream catching up.
        package var offlinePage: SubscriberFanOut.OfflinePage

        package init(
            translation: TranslationConfiguration,
            policy: FederationPolicy,
            links: LinkSettings = .defaults,
            keepsMessages: Bool,
            randomSeed: UInt64,
            descriptorLimit: Int? = nil,
            storeBacklogLimit: Int = Self.defaultStoreBacklogLimit,
            offlinePage: SubscriberFanOut.OfflinePage = .default
        ) {
            self.translation = translation
            self.policy = policy
            self.links = links
            self.keepsMessages = keepsMessages
            self.randomSeed = randomSeed
            self.storeBacklogLimit = storeBacklogLimit
            self.offlinePage = offlinePage
            self.descriptorLimit = descriptorLimit
        }
    }

    package private(set) var configuration: Configuration
    package private(set) var translator: Translator
    package private(set) var links: LinkTable
    package private(set) var inbound = InboundStreamRegistry()
    package private(set) var verification = DialbackVerificationRouter()
    package private(set) var subscribers: SubscriberFanOut
    package private(set) var subscriptionRequests = SubscriptionRequestLimiter()
    /// What the negotiation of each established outbound link established.
    private var established: [ConnectionID: EstablishedLink] = [:]
    private var random: SplitMix64
    private var ticketsIssued: UInt64 = 0
    /// Messages stored under a ticket and not yet written or bounced.
    package private(set) var storedMessages = 0
    /// Messages an internal user sent, waiting for the store to keep them before they go to the
    /// link table: nothing leaves that a failing store could lose, and a message answered as not
    /// stored is never sent.
    private var awaitingStore: [Ticket: (element: XMLElement, link: LinkKey)] = [:]
    /// Store jobs handed to the writer and not yet reported on: how far the store is behind.
    package private(set) var storeBacklog = 0
    /// Inbound connections whose reads wait for the store to catch up.
    private var heldReaders: Set<ConnectionID> = []
    /// The earliest instant a timer is armed for, until the tick comes.
    private var armedTimer: LinkInstant?
    private var reportedGauges: LinkGauges?
    private var reportedStoredMessages: Int?
    /// After `shutdown()`: only the outcome of writes already made is taken.
    private var stopped = false
    /// Whether the listeners were told to stop accepting.
    private var acceptingPaused = false

    package init(configuration: Configuration, directory: PresenceDirectory) {
        self.configuration = configuration
        translator = Translator(configuration: configuration.translation, policy: configuration.policy, directory: directory)
        links = LinkTable(policy: configuration.policy, settings: configuration.links)
        subscribers = SubscriberFanOut(page: configuration.offlinePage)
        random = SplitMix64(seed: configuration.randomSeed)
    }

    /// Seeds what a user already sees of a contact (fixtures), without telling anyone.
    package mutating func assumeContactPresence(user: JID, contact: JID, _ presence: RichPresence) {
        translator.assumeContactPresence(user: user, contact: contact, presence)
    }

    /// Handles one input at `time` and returns what to do, in order.
    package mutating func handle(_ input: Input, at time: GatewayTime) -> [Action] {
        var batch = Batch(time: time)
        if stopped {
            // A message written as the links closed leaves the store; anything else waits for the
            // next start (a failed write's stanza is still stored).
            if case .written(let ticket) = input { settle(ticket, .delivered(ticket), &batch) }
            return batch.actions
        }
        switch input {
        case .stanzaReceived(let stanza, let connection):
            inbound.active(connection, at: time, settings: configuration.policy.settings)
            // An answer to one of our pings is the link table's; anything else goes to the translator.
            if let answer = LinkPing.answer(in: stanza), links.pongReceived(on: answer.link, id: answer.id) { break }
            guard admitsSubscriptionRequest(stanza, &batch) else { break }
            route(translator.receive(stanza), &batch)
        case .action(let action):
            route(translator.perform(action), sentBy: action, &batch)
        case .connected(let connection):
            if connection.kind == .verification { batch.append(verification.connected(connection)) }
        case .linkEstablished(let connection, let stream):
            established[connection] = EstablishedLink(stream: stream, since: time.wall)
            carryOut(links.connectionSucceeded(connection, now: time.now), &batch)
        case .connectionFailed(let connection, let failure):
            connectionEnded(connection, failure, &batch)
        case .connectionClosed(let connection):
            connectionEnded(connection, .temporary(reason: "the connection closed"), &batch)
        case .written(let ticket):
            settle(ticket, .delivered(ticket), &batch)
        case .writeFailed(let stanza, let connection):
            carryOut(links.writeFailed(stanza, on: connection, now: time.now), &batch)
        case .inboundAccepted(let connection, let source):
            let settings = configuration.policy.settings
            batch.append(inbound.accepted(connection, from: source, otherConnections: links.openConnections + verification.count, at: time, settings: settings))
        case .inboundAuthenticated(let connection, let pair, let method, let tls):
            batch.append(inbound.authenticated(connection, pair, method, tls, at: time, policy: configuration.policy))
        case .inboundClosed(let connection):
            heldReaders.remove(connection)
            inbound.closed(connection)
            verification.inboundClosed(connection)
        case .inboundReadHandled(let connection):
            if storeBacklog >= configuration.storeBacklogLimit {
                if heldReaders.isEmpty {
                    batch.log(.notice, "the store is behind: inbound connections stop reading", ["backlog": "\(storeBacklog)"])
                }
                heldReaders.insert(connection)
                batch.append(.metric(.inboundReadsHeld(heldReaders.count)))
            } else {
                batch.append(.readMore(connection))
            }
        case .verificationRequested(let request, let connection):
            let settings = configuration.policy.settings
            guard let source = inbound.streams[connection]?.source else { break }
            let outstanding = verification.outstanding(from: source)
            if let refusal = inbound.verificationRequested(connection, outstandingFromSource: outstanding, settings: settings) {
                batch.append(refusal)
                break
            }
            let link = links.establishedConnection(for: DialbackVerificationRouter.pair(of: request))
            batch.append(
                verification.requested(request, inbound: connection, from: source, link: link, mayConnect: hasConnectionSlot, policy: configuration.policy)
            )
        case .verificationRedirected(let request, let connection):
            batch.append(verification.redirected(request, from: connection, mayConnect: hasConnectionSlot, policy: configuration.policy))
        case .verificationAnswered(let answer):
            batch.append(verification.answered(answer))
        case .verificationFailed(let request, let failure):
            batch.append(verification.failed(request, failure))
        case .subscriberOpened(let id, let user):
            batch.append(subscribers.opened(id, user: user, catchingUp: configuration.keepsMessages))
        case .subscriberClosed(let id, let end):
            batch.append(subscribers.closed(id, end, at: time))
        case .eventRefused(let event, let user):
            if configuration.keepsMessages { batch.append(subscribers.unwritten([event], for: user, at: time)) }
        case .subscriberDrained(let id, let written):
            batch.append(subscribers.drained(id, writtenThrough: written))
        case .offlineMessagesRead(let id, let messages):
            batch.append(subscribers.offlineMessagesRead(id, messages))
        case .storeReported(let report):
            storeReported(report, &batch)
        case .tick:
            // Only the timer armed last is still wanted: a tick before it is an earlier timer's,
            // superseded, and must not let the next deadline be armed a second time.
            if let armed = armedTimer, armed <= time.now { armedTimer = nil }
            carryOut(links.tick(now: time.now), &batch)
            batch.append(inbound.tick(at: time, settings: configuration.policy.settings))
        case .storedMessagesLoaded(let queued):
            requeue(queued, &batch)
        case .reconfigured(let policy, let translation):
            reconfigure(policy, translation, &batch)
        case .usersSynchronized(let directory):
            synchronizeUsers(with: directory, &batch)
        }
        finish(&batch)
        return batch.actions
    }

    /// Stops: every link and attempt is closed. Stored messages stay in the store for the next
    /// start; what was queued without a ticket is handed back for the log. From now on only
    /// `.written` is taken, so that a message whose write completes as its link closes leaves the
    /// store.
    package mutating func shutdown() -> (actions: [Action], unsent: [XMLElement]) {
        stopped = true
        let result = links.shutdown()
        var actions: [Action] = result.actions.compactMap { action in
            if case .close(let connection, let reason) = action { return .close(connection, reason) }
            return nil
        }
        established = [:]
        let gauges = links.gauges
        if gauges != reportedGauges { actions.append(.metric(.outboundLinks(gauges))) }
        return (actions, result.unsent.filter { $0.stanza.ticket == nil }.map(\.stanza.element))
    }

    /// The links as they stand at `time`: every link the link table holds (established,
    /// connecting, waiting to retry) with its queue, and every pair authenticated on an inbound
    /// stream.
    package func linkSnapshot(at time: GatewayTime) -> LinkSnapshot {
        LinkSnapshot(takenAt: time.wall, links: LinkReport.snapshot(links: links, established: established, inbound: inbound, at: time))
    }

    // MARK: - Routing

    /// What the translator produced: stanzas go to their link, events to the user's streams (and
    /// to history, and offline when no stream is open), directory changes to the store. The
    /// message of a `sendMessage` action (`sentBy`) is stored first, under a ticket.
    private mutating func route(_ outputs: [TranslatorOutput], sentBy action: InternalAction? = nil, _ batch: inout Batch) {
        var changes: [DirectoryChange] = []
        for output in outputs {
            switch output {
            case .send(let outgoing):
                let link = LinkKey(local: outgoing.from.domainpart, remote: outgoing.to.domainpart)
                if case .sendMessage(_, _, let message) = action, outgoing.element.name == "message", let ticket = accept(outgoing, message, &batch) {
                    awaitingStore[ticket] = (outgoing.element, link)
                } else {
                    carryOut(links.stanzaToSend(outgoing.element, on: link, ticket: nil, now: batch.time.now), &batch)
                }
            case .notify(let user, let event):
                notify(user.bare, event, &batch)
            case .store(let change):
                changes.append(change)
            }
        }
        if configuration.keepsMessages, !changes.isEmpty { batch.append(.store(.directory(changes))) }
    }

    /// A message an internal user sent: with a store, it is stored under a new ticket with its
    /// history record, and goes to the link table once the store reports it kept (`nil`: without
    /// a store it goes at once).
    private mutating func accept(_ outgoing: OutgoingStanza, _ message: Message, _ batch: inout Batch) -> Ticket? {
        guard configuration.keepsMessages else { return nil }
        let ticket = issueTicket()
        let record = message.bodies.first.map { body in
            MessageRecord(
                user: outgoing.from.bare, contact: outgoing.to.bare, direction: .outbound, body: body.text, messageID: message.id, at: batch.time.wall
            )
        }
        batch.append(.store(.enqueue(ticket, outgoing, record: record, at: batch.time.wall)))
        return ticket
    }

    /// The store writer carried out jobs: the messages it stored go to their links, in order, and
    /// what it could not store is answered. A message of an internal user is bounced to them (the
    /// API has answered it as not stored); a partner's message for a user who is offline is
    /// bounced to the partner, so that its sender learns it was not kept. The rest (history, a
    /// delivery that stays marked as queued, a contact change that holds until restart) is logged.
    private mutating func storeReported(_ report: StoreReport, _ batch: inout Batch) {
        storeBacklog = max(0, storeBacklog - report.completed)
        for ticket in report.stored {
            guard let held = awaitingStore.removeValue(forKey: ticket) else { continue }
            carryOut(links.stanzaToSend(held.element, on: held.link, ticket: ticket, now: batch.time.now), &batch)
        }
        for failure in report.failures {
            batch.append(.metric(.storeFailed(failure.job.kind)))
            batch.log(.error, "could not write to the store", ["job": failure.job.kind, "error": failure.reason])
            let notStored = StanzaError(.resourceConstraint, type: .wait, text: "the gateway could not store this message")
            switch failure.job {
            case .enqueue(let ticket, _, _, _):
                guard let held = awaitingStore.removeValue(forKey: ticket) else { continue }
                storedMessages -= 1
                if let reply = Stanza.errorReply(to: held.element, error: notStored) { returnToUser(reply, &batch) }
            case .keepOffline(let element, _, _, _):
                guard let reply = Stanza.errorReply(to: element, error: notStored), let from = reply["from"], let to = reply["to"],
                    let local = try? JID(from), let remote = try? JID(to)
                else { continue }
                batch.countBounce(reply)
                carryOut(links.stanzaToSend(reply, on: LinkKey(local: local.domainpart, remote: remote.domainpart), ticket: nil, now: batch.time.now), &batch)
            case .delivered, .bounced:
                batch.log(.warning, "a delivered or bounced message stays in the stored queue and is sent again after a restart", ["job": failure.job.kind])
            case .directory, .adopt, .record, .readOffline, .deleteOffline:
                break
            }
        }
    }

    /// The error reply to a stanza of an internal user that cannot go out: counted, and turned
    /// by the translator into a delivery failure for them.
    private mutating func returnToUser(_ reply: XMLElement, _ batch: inout Batch) {
        batch.countBounce(reply)
        if let stanza = try? Stanza(reply) { route(translator.receive(stanza), &batch) }
    }

    /// An event for an internal user. A message with a body goes to history and, when no event
    /// stream of the user is live (or one is catching up), is kept offline; live streams get it now.
    private mutating func notify(_ user: JID, _ event: InternalEvent, _ batch: inout Batch) {
        if configuration.keepsMessages, case .message(let from, let message) = event, let body = message.bodies.first?.text {
            let at = batch.time.wall
            batch.append(.store(.record(MessageRecord(user: user, contact: from.bare, direction: .inbound, body: body, messageID: message.id, at: at))))
            if subscribers.keepsOffline(user) {
                batch.append(.store(.keepOffline(message.element(from: from, to: user), for: user, from: from, at: at)))
                subscribers.keptOffline(for: user)
            }
        }
        batch.append(subscribers.notify(user, event))
    }

    /// Whether `stanza`, if it is a subscription request, is within its partner's
    /// `subscription-request-rate`; one beyond it is answered `resource-constraint` (type `wait`:
    /// the partner's user may ask again later) and goes no further.
    private mutating func admitsSubscriptionRequest(_ stanza: Stanza, _ batch: inout Batch) -> Bool {
        guard stanza.kind == .presence, stanza.type == "subscribe", let from = stanza.from, let to = stanza.to,
            case .allowed(let partner) = configuration.policy.decision(forDomainpart: from.domainpart)
        else { return true }
        let rate = configuration.policy.settings.subscriptionRequestRate
        let name = partner.domain.description
        switch subscriptionRequests.admit(partner: name, at: batch.time.now, perMinute: rate) {
        case .admitted:
            return true
        case .refused(let first):
            if first {
                batch.log(.notice, "subscription requests refused: the partner is over its rate", ["peer": name, "rate": "\(rate)/min"])
            }
            batch.append(.metric(.subscriptionRequestsLimited))
            let error = StanzaError(.resourceConstraint, type: .wait, text: "too many subscription requests from \(name); ask again later")
            if let reply = stanza.errorReply(error) {
                carryOut(links.stanzaToSend(reply, on: LinkKey(local: to.domainpart, remote: from.domainpart), ticket: nil, now: batch.time.now), &batch)
            }
            return false
        }
    }

    /// Carries out what the link table decided.
    private mutating func carryOut(_ actions: [LinkTable.Action], _ batch: inout Batch) {
        for action in actions {
            switch action {
            case .connect(let key, let connection, let partner, let attempt):
                batch.log(.debug, "connecting", ["peer": key.remote, "local": key.local, "attempt": "\(attempt)", "connection": "\(connection)"])
                batch.append(.connect(connection, key, partner, .link))
            case .send(let stanza, let connection):
                batch.write(.send(stanza, on: connection), on: connection)
            case .scheduleRetry(let key, let at):
                batch.log(.debug, "link retry scheduled", ["peer": key.remote, "local": key.local, "delay": "\(at - batch.time.now)"])
            case .bounce(let reply, let ticket):
                if let ticket { settle(ticket, .bounced(ticket), &batch) }
                returnToUser(reply, &batch)
            case .discard(_, let error, let ticket):
                if let ticket { settle(ticket, .bounced(ticket), &batch) }
                batch.append(.metric(.dropped(error.condition)))
                batch.log(.debug, "undeliverable stanza dropped without an error reply", ["condition": error.condition.rawValue])
            case .close(let connection, let reason):
                closed(connection, established.removeValue(forKey: connection), reason, &batch)
            case .sendKeepAlive(let connection):
                batch.write(.writeKeepAlive(connection), on: connection)
            case .sendPing(let key, let connection, let id):
                batch.write(.write(LinkPing.request(id: id, on: key), on: connection), on: connection)
            case .linkDown(let key):
                batch.log(.notice, "link down: the domain's contacts are shown unavailable", ["peer": key.remote, "local": key.local])
                route(translator.linkDown(key), &batch)
            case .linkUp(let key):
                batch.log(.info, "link up again: the domain's contacts are probed", ["peer": key.remote, "local": key.local])
                route(translator.linkUp(key), &batch)
            }
        }
    }

    private func closed(_ connection: ConnectionID, _ link: EstablishedLink?, _ reason: LinkTable.CloseReason, _ batch: inout Batch) {
        var metadata = ["connection": "\(connection)"]
        if let stream = link?.stream {
            metadata["peer"] = stream.remoteDomain
            metadata["local"] = stream.localDomain
        }
        switch reason {
        case .pingUnanswered:
            batch.append(.metric(.pingTimedOut))
            batch.log(.warning, "no answer to a ping: the link is given up", metadata)
        case .idle:
            batch.log(.debug, "closing an idle link", metadata)
        case .refused, .unwanted, .shutdown:
            break
        }
        batch.append(.close(connection, reason))
    }

    /// A connection failed or its channel is gone: for a link, the link table decides whether an
    /// attempt failed or an established link was lost (and ignores a superseded attempt); for a
    /// verification-only connection, what it never carried fails.
    private mutating func connectionEnded(_ connection: ConnectionID, _ failure: LinkFailure, _ batch: inout Batch) {
        switch connection.kind {
        case .link:
            established[connection] = nil
            carryOut(links.connectionFailed(connection, failure, now: batch.time.now, using: &random), &batch)
        case .verification:
            batch.append(verification.ended(connection))
        case .inbound:
            break
        }
    }

    // MARK: - Tickets

    private mutating func issueTicket() -> Ticket {
        ticketsIssued += 1
        storedMessages += 1
        return Ticket(ticketsIssued)
    }

    /// A stored message's stay ended: written (`.delivered`) or bounced.
    private mutating func settle(_ ticket: Ticket, _ job: StoreJob, _ batch: inout Batch) {
        storedMessages -= 1
        batch.append(.store(job))
    }

    /// What a previous run left goes to the link table again, in order, each under a new ticket
    /// adopting its stored sequence.
    private mutating func requeue(_ queued: [QueuedStanza], _ batch: inout Batch) {
        var counts: [String: Int] = [:]
        for message in queued {
            let ticket = issueTicket()
            batch.append(.store(.adopt(ticket, sequence: message.sequence)))
            let link = LinkKey(local: message.from.domainpart, remote: message.domain)
            carryOut(links.stanzaToSend(message.stanza, on: link, ticket: ticket, now: batch.time.now), &batch)
            counts[message.domain, default: 0] += 1
        }
        for (domain, count) in counts.sorted(by: { $0.key < $1.key }) {
            batch.log(.info, "stored messages queued again", ["peer": domain, "count": "\(count)"])
        }
    }

    // MARK: - Administration

    /// A reloaded policy and translation settings, without a restart: links and attempts to
    /// domains that may no longer federate are closed and their queues bounced `not-allowed`,
    /// inbound streams holding such a domain end with `policy-violation`, new streams and stanzas
    /// follow the new rules, and users, contacts and links that stay allowed carry on.
    private mutating func reconfigure(_ policy: FederationPolicy, _ translation: TranslationConfiguration, _ batch: inout Batch) {
        configuration.policy = policy
        configuration.translation = translation
        translator.configuration = translation
        translator.policy = policy
        let linkActions = links.replacePolicy(policy)
        let closed = linkActions.compactMap { action -> String? in
            if case .close(let connection, _) = action { return "\(connection)" }
            return nil
        }
        carryOut(linkActions, &batch)
        let (inboundActions, dropped) = inbound.refused(under: policy)
        batch.append(inboundActions)
        batch.log(
            .notice, "federation policy replaced",
            [
                "partners": "\(policy.partners.count)", "links-closed": closed.joined(separator: ","),
                "inbound-dropped": dropped.sorted().joined(separator: ","),
            ]
        )
    }

    /// Brings the internal users in line with `stored` (the store's directory): users created
    /// since are added, users removed since go offline to their contacts and are forgotten, and
    /// their event streams end. Users present in both keep the state the gateway has.
    private mutating func synchronizeUsers(with stored: PresenceDirectory, _ batch: inout Batch) {
        for jid in stored.userJIDs where translator.directory.user(jid) == nil {
            if let user = stored.user(jid) { translator.userAdded(user) }
        }
        for jid in translator.directory.userJIDs where stored.user(jid) == nil {
            guard let user = try? JID(jid) else { continue }
            route(translator.userRemoved(user), &batch)
            batch.append(subscribers.userRemoved(user))
            batch.log(.info, "internal user removed while running", ["user": jid])
        }
    }

    /// Whether `connection-limit` leaves room for one more connection of any kind.
    private var hasConnectionSlot: Bool {
        links.openConnections + inbound.count + verification.count < configuration.policy.settings.connectionLimit
    }

    // MARK: - End of an input

    /// Near the descriptor limit the listeners stop accepting, and they resume once a tenth of the
    /// margin is free again, so that they do not flap at the edge.
    private mutating func pauseOrResumeAccepting(_ batch: inout Batch) {
        guard let limit = configuration.descriptorLimit else { return }
        let capacity = max(1, limit - configuration.policy.settings.descriptorReserve)
        let open = links.openConnections + inbound.count + verification.count
        if !acceptingPaused, open >= capacity {
            acceptingPaused = true
            batch.append(.pauseAccepting)
            batch.log(.warning, "listeners paused: open connections near the descriptor limit", ["open": "\(open)", "capacity": "\(capacity)"])
        } else if acceptingPaused, open < capacity - max(1, capacity / 10) {
            acceptingPaused = false
            batch.append(.resumeAccepting)
            batch.log(.notice, "listeners accept again", ["open": "\(open)", "capacity": "\(capacity)"])
        }
    }

    /// After an input: one flush per connection written to, the bounces logged per domain and
    /// condition (so a failed link with a long queue makes one record, not one per stanza), the
    /// timer for the link table's next deadline when none armed fires sooner, and the gauges
    /// that changed.
    private mutating func finish(_ batch: inout Batch) {
        storeBacklog += batch.storeJobs
        if !heldReaders.isEmpty, storeBacklog <= configuration.storeBacklogLimit / 2 {
            batch.append(heldReaders.sorted().map { .readMore($0) })
            batch.log(.info, "the store caught up: inbound connections read again", ["connections": "\(heldReaders.count)", "backlog": "\(storeBacklog)"])
            heldReaders = []
            batch.append(.metric(.inboundReadsHeld(0)))
        }
        batch.flushWrites()
        batch.logBounces()
        // The link table's connection count includes the inbound and verification connections,
        // so that `connection-limit` holds for all of them together.
        carryOut(links.setOtherConnections(inbound.count + verification.count), &batch)
        let deadlines = [links.nextDeadline, inbound.nextDeadline(configuration.policy.settings)].compactMap { $0 }
        if let deadline = deadlines.min(), armedTimer.map({ deadline < $0 }) ?? true {
            armedTimer = deadline
            batch.append(.armTimer(at: deadline))
        }
        pauseOrResumeAccepting(&batch)
        let gauges = links.gauges
        if gauges != reportedGauges {
            reportedGauges = gauges
            batch.append(.metric(.outboundLinks(gauges)))
        }
        if configuration.keepsMessages, storedMessages != reportedStoredMessages {
            reportedStoredMessages = storedMessages
            batch.append(.metric(.storedOutboundMessages(storedMessages)))
        }
    }
}
