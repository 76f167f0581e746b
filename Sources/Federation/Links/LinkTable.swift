package import XMLStreaming
import XMPP

/// The outbound side of federation as a pure state machine: one link per (local domain, remote
/// domain) pair (`LinkKey`), the stanzas waiting for it, retries with backoff, and the bounces that
/// tell local senders what could not go out. Events in, actions out; no I/O, no clock (every event
/// carries `now`) and no global randomness (the one event that draws, `connectionFailed`, takes a
/// generator), so the driver stays thin and every behaviour here is tested by feeding events.
///
/// The rules, each a fix for a known problem in Prosody or ejabberd (reference
/// `federation-servers.md` §1.6, §2.4, §5, §6):
/// - One link per pair. A stanza for a link that is up is sent at once; otherwise it is queued, and
///   a connection attempt starts if none is running or scheduled and the connection limits allow
///   one.
/// - Every attempt is a connection of its own (`ConnectionID`, named here): reports name the
///   connection, so the late result of an attempt that was abandoned is ignored (a late success is
///   closed) instead of being taken for the current one.
/// - Queues are bounded per link by count, bytes and age (`LinkSettings`); a full queue refuses
///   with `wait/resource-constraint`, a stanza that waited `maxQueueAge` is bounced with
///   `wait/remote-server-timeout` by the next event for its link or the next `tick`.
/// - A failed attempt schedules a retry with exponential backoff and full jitter (`LinkBackoff`).
///   A permanent failure bounces the queue with its error (`cancel/remote-server-not-found` for
///   DNS); a temporary one keeps it. New stanzas wait for the retry either way: there is no window
///   in which they are bounced unseen (ejabberd's pain point).
/// - A stanza whose write failed comes back to the front of its queue, ahead of what was queued
///   after it, and the link it failed on counts as lost.
/// - Errors, IQ results and stanzas without `from` are never answered with an error (they are
///   `.discard`ed instead), and every stanza handed in leaves exactly once: sent, bounced,
///   discarded or returned by `shutdown()`, with its ticket.
/// - Connection attempts and established links count against the partner's limit and the global
///   one (`FederationPolicy.connectionLimit(for:)`, `FederationSettings.connectionLimit`; inbound
///   connections are counted by whoever accepts them). Over a limit stanzas wait in the queue, and
///   the link with the oldest waiting stanza gets the next free slot.
/// - A link that writes nothing for the keep-alive interval gets an XEP-0199 ping (see `tick`); an
///   answer (`pongReceived`) must come within `FederationSettings.pingTimeout`, or the peer is
///   presumed dead and the link handled as lost, instead of waiting minutes for TCP to notice.
package struct LinkTable: Sendable {
    /// Who may federate, per-partner limits and keep-alive switches, and the gateway timers. A
    /// reloaded configuration is swapped in with `replacePolicy(_:)`.
    package private(set) var policy: FederationPolicy {
        didSet { entries.retime(Timers(settings, policy)) }
    }
    /// Queue bounds and retry pacing.
    package var settings: LinkSettings {
        didSet { entries.retime(Timers(settings, policy)) }
    }

    var entries: Entries
    /// Which link each attempt or established connection belongs to.
    private var connections: [ConnectionID: LinkKey] = [:]
    /// Links that went down (`linkDown` was reported) and have not come back since.
    private var downLinks: Set<LinkKey> = []
    private var openConnectionCount = 0
    /// Connections the table does not own but that count against the global limit: the inbound
    /// streams and the verification-only connections.
    private var otherConnections = 0
    private var openConnectionsByPartner: [DomainPattern: Int] = [:]
    private var connectionsOpened: UInt64 = 0
    /// Pings asked for so far: each ping's id is `ping-<count>`, unique for the table's lifetime
    /// and repeatable in tests, with no randomness in the table.
    private var pingsSent = 0

    /// Measures queued stanzas as they will be written inside an s2s stream.
    private static let serializer = XMLSerializer(defaultNamespace: Namespace.server)

    package init(policy: FederationPolicy, settings: LinkSettings = .defaults) {
        self.policy = policy
        self.settings = settings
        entries = Entries(timers: Timers(settings, policy))
    }

    // MARK: - Observations

    /// Connection attempts running plus links established: what counts against the limits.
    package var openConnections: Int { openConnectionCount }

    /// The links the table holds state for, sorted.
    package var keys: [LinkKey] { entries.keys.sorted() }

    /// The state of the link, or `nil` if the table holds nothing for it.
    package func status(of key: LinkKey) -> Status? {
        guard let entry = entries[key] else { return nil }
        let phase: Status.Phase =
            switch entry.phase {
            case .idle: .waitingForSlot
            case .connecting(let attempt, _): .connecting(attempt: attempt)
            case .established: .established
            case .retryScheduled(let at): .retryScheduled(at: at)
            }
        return Status(
            phase: phase,
            connection: entry.connection,
            queuedStanzas: entry.queue.count,
            queuedBytes: entry.queue.bytes,
            consecutiveFailures: entry.consecutiveFailures
        )
    }

    /// The link's established connection, if it is up: where a `<db:verify/>` for the pair can go.
    package func establishedConnection(for key: LinkKey) -> ConnectionID? {
        guard case .established(let link) = entries[key]?.phase else { return nil }
        return link.connection
    }

    /// The link `connection` is (or was last) an attempt at, while the table still holds it.
    package func key(of connection: ConnectionID) -> LinkKey? { connections[connection] }

    /// The earliest instant at which `tick` has something to do (a retry, an expiring stanza, an
    /// idle link, a keep-alive, an unanswered ping), or `nil` if nothing is pending; the driver
    /// arms one timer for it after each event.
    package var nextDeadline: LinkInstant? { entries.nextDeadline }

    // MARK: - Events

    /// A local stanza for the link `key` (its local domain the stanza's `from` domain, its remote
    /// one the `to` domain): refused if the remote domain may not federate (`cancel/not-allowed`),
    /// sent if the link is up, queued otherwise (starting a connection attempt if none is running
    /// or scheduled and a slot is free), or refused with `wait/resource-constraint` if the queue is
    /// full.
    package mutating func stanzaToSend(_ element: XMLElement, on key: LinkKey, ticket: Ticket? = nil, now: LinkInstant) -> [Action] {
        guard let normalisedKey = normalised(key) else {
            return [Self.reject(OutboundStanza(element, on: key, ticket: ticket), StanzaError(.notAllowed, text: "\(key.remote) may not federate with this gateway: \(RefusalReason.invalidDomain)"))]
        }
        let stanza = OutboundStanza(element, on: normalisedKey, ticket: ticket)
        let partner: PartnerPolicy
        switch policy.decision(forDomainpart: stanza.key.remote) {
        case .refused(let reason):
            return [Self.reject(stanza, StanzaError(.notAllowed, text: "\(stanza.key.remote) may not federate with this gateway: \(reason)"))]
        case .allowed(let allowed):
            partner = allowed
        }
        var entry = entries.removeValue(forKey: stanza.key) ?? Entry(partner: partner)
        entry.partner = partner
        var actions: [Action] = []
        expire(stanza.key, &entry, now: now, into: &actions)
        if case .established(var link) = entry.phase {
            link.lastStanza = now
            link.lastWrite = now
            entry.phase = .established(link)
            actions.append(.send(stanza, on: link.connection))
        } else {
            enqueue(stanza, in: &entry, now: now, into: &actions)
            startAttempt(stanza.key, &entry, into: &actions)
        }
        store(entry, for: stanza.key)
        return actions
    }

    /// The attempt `.connect` asked for has an authenticated stream. The queue is flushed in order
    /// (after bouncing what expired), the backoff starts over, and `.linkUp` follows if the link had
    /// gone down. The policy is asked again first: if the remote domain may no longer federate, the
    /// connection is closed and the queue bounced with `not-allowed`. A success nobody is waiting
    /// for (a superseded or abandoned attempt) gets `.close(.unwanted)`, so that a stray
    /// connection is not leaked.
    package mutating func connectionSucceeded(_ connection: ConnectionID, now: LinkInstant) -> [Action] {
        guard let key = connections[connection], var entry = entries.removeValue(forKey: key) else {
            return [.close(connection, .unwanted)]
        }
        guard case .connecting(_, let pending) = entry.phase, pending == connection else {
            entries[key] = entry
            if entry.connection == connection { return [] }
            return [.close(connection, .unwanted)]
        }
        var actions: [Action] = []
        switch policy.decision(forDomainpart: key.remote) {
        case .refused(let reason):
            releaseSlot(&entry)
            entry.phase = .idle
            actions.append(.close(connection, .refused(reason)))
            let error = StanzaError(.notAllowed, text: "\(key.remote) may not federate with this gateway: \(reason)")
            for queued in entry.queue.removeAll() { actions.append(Self.reject(queued.stanza, error)) }
            store(entry, for: key)
            startWaitingAttempts(into: &actions)
            return actions
        case .allowed(let partner):
            entry.partner = partner
        }
        expire(key, &entry, now: now, into: &actions)
        entry.consecutiveFailures = 0
        entry.phase = .established(Entry.Established(connection: connection, now: now))
        for queued in entry.queue.removeAll() { actions.append(.send(queued.stanza, on: connection)) }
        if downLinks.remove(key) != nil { actions.append(.linkUp(key)) }
        store(entry, for: key)
        return actions
    }

    /// `connection` failed or ended. For the link's running attempt: a retry is scheduled after
    /// `settings.backoff.delay(afterFailures:)`, expired stanzas are bounced with
    /// `remote-server-timeout`, and after a permanent failure the rest of the queue is bounced with
    /// `failure.bounceError` (`cancel/remote-server-not-found` for `.notFound`), after a temporary
    /// one it waits for the retry. For the link's established connection: what `linkLost` does.
    /// A report about any other connection (superseded, already closed) is ignored.
    package mutating func connectionFailed(
        _ connection: ConnectionID,
        _ failure: LinkFailure,
        now: LinkInstant,
        using generator: inout some RandomNumberGenerator
    ) -> [Action] {
        guard let key = connections[connection], var entry = entries.removeValue(forKey: key) else { return [] }
        switch entry.phase {
        case .connecting(_, let pending) where pending == connection:
            break
        case .established(let link) where link.connection == connection:
            entries[key] = entry
            return linkLost(connection, now: now)
        default:
            entries[key] = entry
            return []
        }
        releaseSlot(&entry)
        entry.consecutiveFailures += 1
        var actions: [Action] = []
        expire(key, &entry, now: now, into: &actions)
        if !failure.isTemporary {
            for queued in entry.queue.removeAll() { actions.append(Self.reject(queued.stanza, failure.bounceError)) }
        }
        let retryAt = now + settings.backoff.delay(afterFailures: entry.consecutiveFailures, using: &generator)
        entry.phase = .retryScheduled(at: retryAt)
        actions.append(.scheduleRetry(key, at: retryAt))
        store(entry, for: key)
        startWaitingAttempts(into: &actions)
        return actions
    }

    /// The established `connection` closed or broke. Reports `.linkDown`; the link reconnects only
    /// when something is queued for it (now or later), and reports `.linkUp` when it does. Ignored
    /// unless `connection` is the link's established one (after `.close` the table has already let
    /// go of it).
    package mutating func linkLost(_ connection: ConnectionID, now: LinkInstant) -> [Action] {
        guard let key = connections[connection], var entry = entries.removeValue(forKey: key) else { return [] }
        guard case .established(let link) = entry.phase, link.connection == connection else {
            entries[key] = entry
            return []
        }
        var actions: [Action] = []
        markDown(key, &entry, into: &actions)
        expire(key, &entry, now: now, into: &actions)
        store(entry, for: key)
        startWaitingAttempts(into: &actions)
        return actions
    }

    /// A stanza `.send` handed to `connection` was not written (the stream ended first). It goes
    /// back to the front of its link's queue, ahead of anything queued after it was sent, and goes
    /// out on the next link; a connection that cannot be written to is lost, so if it was the
    /// link's established one, what `linkLost` does follows. On a link that is already up again
    /// the stanza is sent at once.
    package mutating func writeFailed(_ stanza: OutboundStanza, on connection: ConnectionID, now: LinkInstant) -> [Action] {
        var actions = linkLost(connection, now: now)
        let key = stanza.key
        if case .established = entries[key]?.phase {
            return actions + stanzaToSend(stanza.element, on: key, ticket: stanza.ticket, now: now)
        }
        guard case .allowed(let partner) = policy.decision(forDomainpart: key.remote) else {
            return actions + stanzaToSend(stanza.element, on: key, ticket: stanza.ticket, now: now)
        }
        var entry = entries.removeValue(forKey: key) ?? Entry(partner: partner)
        // It keeps the queue in time order, so that what waited longest still expires first.
        let queuedAt = entry.queue.first.map { min($0.queuedAt, now) } ?? now
        entry.queue.returnToFront(QueuedStanza(stanza, queuedAt: queuedAt, size: Self.serializer.bytes(stanza.element).count))
        startAttempt(key, &entry, into: &actions)
        store(entry, for: key)
        return actions
    }

    /// The link's remote server answered the ping `id` (`.sendPing`), with a result or with an
    /// error: either proves that it still reads our link and processes stanzas (XEP-0199 §4.2: a
    /// server without ping support answers `service-unavailable`), so the link's ping deadline is
    /// cleared. Returns whether `id` was the ping outstanding on the link; when it was not, the
    /// answer is somebody else's (or came after the link was given up) and the caller routes the
    /// stanza on as usual.
    package mutating func pongReceived(on key: LinkKey, id: String) -> Bool {
        guard let key = normalised(key), var entry = entries[key], case .established(var link) = entry.phase, link.ping?.id == id else { return false }
        link.ping = nil
        entry.phase = .established(link)
        entries[key] = entry
        return true
    }

    /// Does what is due at `now`, link by link in order: bounces expired stanzas, gives up links
    /// whose ping went unanswered for `FederationSettings.pingTimeout` (`.close` with
    /// `.pingUnanswered`, then what `linkLost` does), closes links idle for
    /// `FederationSettings.inactivityTimeout`, asks for keep-alives on links of partners with
    /// `keepAlive` that wrote nothing for `keepAliveInterval`, and turns due retries into
    /// `.connect` (only if something is still queued: a retry with nothing to send is dropped, and
    /// the link forgotten). Connection attempts come last, oldest waiting stanza first.
    ///
    /// A keep-alive is a ping (`.sendPing`) when pings are on and none is outstanding, and a
    /// whitespace `.sendKeepAlive` otherwise. The ping replaces the space rather than joining it:
    /// its bytes refresh NAT and firewall state just as well, and its answer also proves that the
    /// peer is alive, which a space cannot (TCP may take minutes to notice a vanished peer).
    /// Whitespace remains for keep-alives due while a ping is outstanding, so that a short
    /// interval keeps middleboxes fed without piling up pings, and for when pings are off.
    package mutating func tick(now: LinkInstant) -> [Action] {
        var actions: [Action] = []
        for key in entries.takeDue(at: now) {
            guard var entry = entries.removeValue(forKey: key) else { continue }
            expire(key, &entry, now: now, into: &actions)
            switch entry.phase {
            case .established(var link):
                if let ping = link.ping, ping.deadline <= now {
                    actions.append(.close(link.connection, .pingUnanswered))
                    markDown(key, &entry, into: &actions)
                } else if now - link.lastStanza >= policy.settings.inactivityTimeout {
                    releaseSlot(&entry)
                    entry.phase = .idle
                    actions.append(.close(link.connection, .idle))
                } else if entry.partner.keepAlive, now - link.lastWrite >= policy.settings.keepAliveInterval {
                    link.lastWrite = now
                    if link.ping == nil, let timeout = policy.settings.pingTimeout {
                        pingsSent += 1
                        let id = "ping-\(pingsSent)"
                        link.ping = Entry.OutstandingPing(id: id, deadline: now + timeout)
                        actions.append(.sendPing(key, link.connection, id: id))
                    } else {
                        actions.append(.sendKeepAlive(link.connection))
                    }
                    entry.phase = .established(link)
                }
            case .retryScheduled(let at) where at <= now:
                entry.phase = .idle
            case .idle, .connecting, .retryScheduled:
                break
            }
            store(entry, for: key)
        }
        startWaitingAttempts(into: &actions)
        return actions
    }

    /// How many connections the table does not own (inbound streams, verification-only
    /// connections) are open: they count against `FederationSettings.connectionLimit` with the
    /// table's own. When fewer are, waiting links may get a slot.
    package mutating func setOtherConnections(_ count: Int) -> [Action] {
        guard count != otherConnections else { return [] }
        let freed = count < otherConnections
        otherConnections = count
        var actions: [Action] = []
        if freed { startWaitingAttempts(into: &actions) }
        return actions
    }

    /// Swaps in a reloaded policy (an allowlist change, a reloaded `federation.toml`). A link whose
    /// remote domain may no longer federate loses its connection or attempt (`.close` with
    /// `.refused`, and `.linkDown` if it was established, so its contacts stop looking available)
    /// and its queue, bounced with `not-allowed`; the table forgets it. The others take their
    /// partner's new settings (keep-alive, connection limit) from now on, and freed slots go to
    /// waiting links.
    package mutating func replacePolicy(_ newPolicy: FederationPolicy) -> [Action] {
        policy = newPolicy
        var actions: [Action] = []
        for key in entries.keys.sorted() {
            guard var entry = entries.removeValue(forKey: key) else { continue }
            switch policy.decision(forDomainpart: key.remote) {
            case .allowed(let partner):
                entry.partner = partner
                entries[key] = entry
            case .refused(let reason):
                if let connection = entry.connection {
                    actions.append(.close(connection, .refused(reason)))
                    if case .established = entry.phase {
                        markDown(key, &entry, into: &actions)
                    } else {
                        releaseSlot(&entry)
                    }
                }
                // It stays down: if a later reload allows the domain again, its return brings
                // `.linkUp`, which probes the contacts the translator stopped showing.
                let error = StanzaError(.notAllowed, text: "\(key.remote) may no longer federate with this gateway: \(reason)")
                for queued in entry.queue.removeAll() { actions.append(Self.reject(queued.stanza, error)) }
            }
        }
        startWaitingAttempts(into: &actions)
        return actions
    }

    /// Stops everything: `.close` for every link and attempt, and every queued stanza handed back
    /// unbounced (see `Shutdown.unsent`) so that the caller can persist it. The table is empty
    /// afterwards; the caller stops feeding it events (a late `connectionSucceeded` would get
    /// `.close`).
    package mutating func shutdown() -> Shutdown {
        var actions: [Action] = []
        var unsent: [QueuedStanza] = []
        for key in entries.keys.sorted() {
            guard var entry = entries.removeValue(forKey: key) else { continue }
            if let connection = entry.connection { actions.append(.close(connection, .shutdown)) }
            unsent += entry.queue.removeAll()
        }
        connections = [:]
        downLinks = []
        openConnectionCount = 0
        openConnectionsByPartner = [:]
        return Shutdown(actions: actions, unsent: unsent)
    }

    /// An established link is gone (lost, or given up for an unanswered ping): its slot is
    /// freed, and `.linkDown` tells the translator that the presence on it can no longer be
    /// trusted. Whatever is queued for the link later waits for a new attempt.
    private mutating func markDown(_ key: LinkKey, _ entry: inout Entry, into actions: inout [Action]) {
        releaseSlot(&entry)
        entry.phase = .idle
        downLinks.insert(key)
        actions.append(.linkDown(key))
    }

    /// Both domains as JID domainparts, as the table keeps and actions name them; `nil` when the
    /// remote one is not a domain. Every key enters the table through here.
    private func normalised(_ key: LinkKey) -> LinkKey? {
        guard let remote = DomainPattern.normalisedDomain(key.remote) else { return nil }
        return LinkKey(local: DomainPattern.normalisedDomain(key.local) ?? key.local, remote: remote)
    }

    // MARK: - Queue

    private func enqueue(_ stanza: OutboundStanza, in entry: inout Entry, now: LinkInstant, into actions: inout [Action]) {
        let size = Self.serializer.bytes(stanza.element).count
        if entry.queue.count >= settings.maxQueuedStanzas {
            let text = "the queue for \(stanza.key.remote) already holds \(settings.maxQueuedStanzas) stanzas"
            actions.append(Self.reject(stanza, StanzaError(.resourceConstraint, text: text)))
        } else if entry.queue.bytes + size > settings.maxQueuedBytes {
            let text = "the queue for \(stanza.key.remote) cannot take \(size) more bytes (limit \(settings.maxQueuedBytes))"
            actions.append(Self.reject(stanza, StanzaError(.resourceConstraint, text: text)))
        } else {
            entry.queue.append(QueuedStanza(stanza, queuedAt: now, size: size))
        }
    }

    /// Bounces what has waited `maxQueueAge` with `remote-server-timeout`.
    private func expire(_ key: LinkKey, _ entry: inout Entry, now: LinkInstant, into actions: inout [Action]) {
        let expired = entry.queue.removeQueued(atOrBefore: now - settings.maxQueueAge)
        guard !expired.isEmpty else { return }
        let error = StanzaError(.remoteServerTimeout, text: "no link to \(key.remote) within \(settings.maxQueueAge)")
        for queued in expired { actions.append(Self.reject(queued.stanza, error)) }
    }

    /// The error reply for a stanza that cannot go out, or `.discard` when it must not get one.
    private static func reject(_ stanza: OutboundStanza, _ error: StanzaError) -> Action {
        guard let reply = Stanza.errorReply(to: stanza.element, error: error) else {
            return .discard(stanza.element, error, ticket: stanza.ticket)
        }
        return .bounce(reply, ticket: stanza.ticket)
    }

    private mutating func store(_ entry: Entry, for key: LinkKey) {
        if !entry.isForgettable { entries[key] = entry }
    }

    // MARK: - Connection slots

    private func hasSlot(for partner: PartnerPolicy) -> Bool {
        openConnectionCount + otherConnections < policy.settings.connectionLimit
            && openConnectionsByPartner[partner.domain, default: 0] < policy.connectionLimit(for: partner)
    }

    /// Starts an attempt for an idle link with something queued, if a slot is free.
    private mutating func startAttempt(_ key: LinkKey, _ entry: inout Entry, into actions: inout [Action]) {
        guard case .idle = entry.phase, !entry.queue.isEmpty, hasSlot(for: entry.partner) else { return }
        let pattern = entry.partner.domain
        entry.slot = pattern
        openConnectionCount += 1
        openConnectionsByPartner[pattern, default: 0] += 1
        connectionsOpened += 1
        let connection = ConnectionID(.link, connectionsOpened)
        connections[connection] = key
        let attempt = entry.consecutiveFailures + 1
        entry.phase = .connecting(attempt: attempt, connection)
        actions.append(.connect(key, connection, entry.partner, attempt: attempt))
    }

    /// Frees the link's slot; its connection is forgotten, so reports about it are ignored.
    private mutating func releaseSlot(_ entry: inout Entry) {
        if let connection = entry.connection { connections[connection] = nil }
        guard let pattern = entry.slot else { return }
        entry.slot = nil
        openConnectionCount -= 1
        let remaining = openConnectionsByPartner[pattern, default: 1] - 1
        openConnectionsByPartner[pattern] = remaining > 0 ? remaining : nil
    }

    /// Gives free slots to idle links with queued stanzas, oldest waiting stanza first (then by
    /// link, so the order is repeatable).
    private mutating func startWaitingAttempts(into actions: inout [Action]) {
        guard openConnectionCount + otherConnections < policy.settings.connectionLimit else { return }
        let waiting = entries.waiting.compactMap { key -> (queuedAt: LinkInstant, key: LinkKey)? in
            guard let first = entries[key]?.queue.first else { return nil }
            return (first.queuedAt, key)
        }
        for (_, key) in waiting.sorted(by: <) {
            guard openConnectionCount + otherConnections < policy.settings.connectionLimit else { break }
            guard var entry = entries.removeValue(forKey: key) else { continue }
            startAttempt(key, &entry, into: &actions)
            entries[key] = entry
        }
    }
}
