public import XMLStreaming
import XMPP

/// The outbound side of federation as a pure state machine: one link per remote domain, the
/// stanzas waiting for it, retries with backoff, and the bounces that tell local senders what could
/// not go out. Events in, actions out; no I/O, no clock (every event carries `now`) and no global
/// randomness (the one event that draws, `connectionFailed`, takes a generator), so the NIO driver
/// stays thin and every behaviour here is tested by feeding events.
///
/// The rules, each a fix for a known problem in Prosody or ejabberd (reference
/// `federation-servers.md` §1.6, §2.4, §5, §6):
/// - One link per remote domain (normalised as a JID domainpart). A stanza for a domain whose link
///   is up is sent at once; otherwise it is queued, and a connection attempt starts if none is
///   running or scheduled and the connection limits allow one.
/// - Queues are bounded per domain by count, bytes and age (`LinkSettings`); a full queue refuses
///   with `wait/resource-constraint`, a stanza that waited `maxQueueAge` is bounced with
///   `wait/remote-server-timeout` by the next event for its domain or the next `tick`.
/// - A failed attempt schedules a retry with exponential backoff and full jitter (`LinkBackoff`).
///   A permanent failure bounces the queue with its error (`cancel/remote-server-not-found` for
///   DNS); a temporary one keeps it. New stanzas wait for the retry either way: there is no window
///   in which they are bounced unseen (ejabberd's pain point).
/// - Errors, IQ results and stanzas without `from` are never answered with an error (they are
///   `.discard`ed instead), and every stanza handed in leaves exactly once: sent, bounced,
///   discarded or returned by `shutdown()`.
/// - Connection attempts and established links count against the partner's limit and the global
///   one (`FederationPolicy.connectionLimit(for:)`, `FederationSettings.connectionLimit`; inbound
///   connections are counted by whoever accepts them). Over a limit stanzas wait in the queue, and
///   the domain with the oldest waiting stanza gets the next free slot.
/// - A link that writes nothing for the keep-alive interval gets an XEP-0199 ping (see `tick`); an
///   answer (`pongReceived`) must come within `FederationSettings.pingTimeout`, or the peer is
///   presumed dead and the link handled as lost, instead of waiting minutes for TCP to notice.
public struct LinkTable: Sendable {
    /// Who may federate, per-partner limits and keep-alive switches, and the gateway timers. A
    /// reloaded configuration is swapped in with `replacePolicy(_:)`.
    public private(set) var policy: FederationPolicy
    /// Queue bounds and retry pacing.
    public var settings: LinkSettings

    private var entries: [String: Entry] = [:]
    /// Domains whose link went down (`linkDown` was reported) and has not come back since.
    private var downDomains: Set<String> = []
    private var openConnectionCount = 0
    private var openConnectionsByPartner: [DomainPattern: Int] = [:]
    /// Pings asked for so far: each ping's id is `ping-<count>`, unique for the table's lifetime
    /// and repeatable in tests, with no randomness in the table.
    private var pingsSent = 0

    /// Measures queued stanzas as they will be written inside an s2s stream.
    private static let serializer = XMLSerializer(defaultNamespace: Namespace.server)

    public init(policy: FederationPolicy, settings: LinkSettings = .defaults) {
        self.policy = policy
        self.settings = settings
    }

    // MARK: - Observations

    /// Connection attempts running plus links established: what counts against the limits.
    public var openConnections: Int { openConnectionCount }

    /// The domains the table holds state for, sorted.
    public var domains: [String] { entries.keys.sorted() }

    /// The state of `domain` (normalised, as actions name it), or `nil` if the table holds nothing
    /// for it.
    public func status(of domain: String) -> Status? {
        guard let entry = entries[domain] else { return nil }
        let phase: Status.Phase =
            switch entry.phase {
            case .idle: .waitingForSlot
            case .connecting(let attempt): .connecting(attempt: attempt)
            case .established: .established
            case .retryScheduled(let at): .retryScheduled(at: at)
            }
        return Status(
            phase: phase,
            queuedStanzas: entry.queue.count,
            queuedBytes: entry.queue.bytes,
            consecutiveFailures: entry.consecutiveFailures
        )
    }

    /// The earliest instant at which `tick` has something to do (a retry, an expiring stanza, an
    /// idle link, a keep-alive, an unanswered ping), or `nil` if nothing is pending; the driver
    /// arms one timer for it after each event.
    public var nextDeadline: LinkInstant? {
        var earliest: LinkInstant?
        for entry in entries.values {
            var candidates: [LinkInstant] = []
            if let first = entry.queue.first { candidates.append(first.queuedAt + settings.maxQueueAge) }
            switch entry.phase {
            case .established(let link):
                candidates.append(link.lastStanza + policy.settings.inactivityTimeout)
                if entry.partner.keepAlive { candidates.append(link.lastWrite + policy.settings.keepAliveInterval) }
                if let ping = link.ping { candidates.append(ping.deadline) }
            case .retryScheduled(let at):
                candidates.append(at)
            case .idle, .connecting:
                break
            }
            for candidate in candidates where earliest.map({ candidate < $0 }) ?? true {
                earliest = candidate
            }
        }
        return earliest
    }

    // MARK: - Events

    /// A local stanza for `domain`: refused if the domain may not federate (`cancel/not-allowed`),
    /// sent if its link is up, queued otherwise (starting a connection attempt if none is running
    /// or scheduled and a slot is free), or refused with `wait/resource-constraint` if the queue is
    /// full.
    public mutating func stanzaToSend(_ element: XMLElement, to domain: String, now: LinkInstant) -> [Action] {
        let partner: PartnerPolicy
        switch policy.decision(for: domain) {
        case .refused(let reason):
            return [Self.reject(element, StanzaError(.notAllowed, text: "\(domain) may not federate with this gateway: \(reason)"))]
        case .allowed(let allowed):
            partner = allowed
        }
        let key = DomainPattern.normalisedDomain(domain) ?? domain
        var entry = entries.removeValue(forKey: key) ?? Entry(partner: partner)
        entry.partner = partner
        var actions: [Action] = []
        expire(key, &entry, now: now, into: &actions)
        if case .established(var link) = entry.phase {
            link.lastStanza = now
            link.lastWrite = now
            entry.phase = .established(link)
            actions.append(.send(key, element))
        } else {
            enqueue(element, for: key, in: &entry, now: now, into: &actions)
            startAttempt(key, &entry, into: &actions)
        }
        store(entry, for: key)
        return actions
    }

    /// The attempt `.connect` asked for has an authenticated stream. The queue is flushed in order
    /// (after bouncing what expired), the backoff starts over, and `.linkUp` follows if the domain's
    /// link had gone down. The policy is asked again first: if the domain may no longer federate,
    /// the link is closed and the queue bounced with `not-allowed`. A success nobody asked for
    /// (no attempt running) gets `.close`, so that a stray connection is not leaked.
    public mutating func connectionSucceeded(_ domain: String, now: LinkInstant) -> [Action] {
        guard var entry = entries.removeValue(forKey: domain) else { return [.close(domain)] }
        switch entry.phase {
        case .connecting:
            break
        case .established:
            entries[domain] = entry
            return []
        case .idle, .retryScheduled:
            entries[domain] = entry
            return [.close(domain)]
        }
        var actions: [Action] = []
        switch policy.decision(for: domain) {
        case .refused(let reason):
            releaseSlot(&entry)
            entry.phase = .idle
            actions.append(.close(domain))
            let error = StanzaError(.notAllowed, text: "\(domain) may not federate with this gateway: \(reason)")
            for stanza in entry.queue.removeAll() { actions.append(Self.reject(stanza.element, error)) }
            store(entry, for: domain)
            startWaitingAttempts(into: &actions)
            return actions
        case .allowed(let partner):
            entry.partner = partner
        }
        expire(domain, &entry, now: now, into: &actions)
        entry.consecutiveFailures = 0
        entry.phase = .established(Entry.Established(now: now))
        for stanza in entry.queue.removeAll() { actions.append(.send(domain, stanza.element)) }
        if downDomains.remove(domain) != nil { actions.append(.linkUp(domain)) }
        store(entry, for: domain)
        return actions
    }

    /// The attempt `.connect` asked for failed. A retry is scheduled after
    /// `settings.backoff.delay(afterFailures:)`; expired stanzas are bounced with
    /// `remote-server-timeout`; after a permanent failure the rest of the queue is bounced with
    /// `failure.bounceError` (`cancel/remote-server-not-found` for `.notFound`), after a temporary
    /// one it waits for the retry. A failure for a domain with no attempt running is ignored.
    public mutating func connectionFailed(
        _ domain: String,
        _ failure: LinkFailure,
        now: LinkInstant,
        using generator: inout some RandomNumberGenerator
    ) -> [Action] {
        guard var entry = entries.removeValue(forKey: domain) else { return [] }
        guard case .connecting = entry.phase else {
            entries[domain] = entry
            return []
        }
        releaseSlot(&entry)
        entry.consecutiveFailures += 1
        var actions: [Action] = []
        expire(domain, &entry, now: now, into: &actions)
        if !failure.isTemporary {
            for stanza in entry.queue.removeAll() { actions.append(Self.reject(stanza.element, failure.bounceError)) }
        }
        let retryAt = now + settings.backoff.delay(afterFailures: entry.consecutiveFailures, using: &generator)
        entry.phase = .retryScheduled(at: retryAt)
        actions.append(.scheduleRetry(domain, at: retryAt))
        store(entry, for: domain)
        startWaitingAttempts(into: &actions)
        return actions
    }

    /// The established link to `domain` closed or broke. Reports `.linkDown`; the domain reconnects
    /// only when something is queued for it (now or later), and reports `.linkUp` when it does.
    /// Ignored unless the link was established (after `.closeIdleLink` or `.close` the table has
    /// already let go of it).
    public mutating func linkLost(_ domain: String, now: LinkInstant) -> [Action] {
        guard var entry = entries.removeValue(forKey: domain) else { return [] }
        guard case .established = entry.phase else {
            entries[domain] = entry
            return []
        }
        var actions: [Action] = []
        markDown(domain, &entry, into: &actions)
        expire(domain, &entry, now: now, into: &actions)
        store(entry, for: domain)
        startWaitingAttempts(into: &actions)
        return actions
    }

    /// `domain`'s server answered the ping `id` (`.sendPing`), with a result or with an error:
    /// either proves that it still reads our link and processes stanzas (XEP-0199 §4.2: a server
    /// without ping support answers `service-unavailable`), so the link's ping deadline is
    /// cleared. Returns whether `id` was the ping outstanding on the domain's established link;
    /// when it was not, the answer is somebody else's (or came after the link was given up) and
    /// the caller routes the stanza on as usual.
    public mutating func pongReceived(from domain: String, id: String) -> Bool {
        let key = DomainPattern.normalisedDomain(domain) ?? domain
        guard var entry = entries[key], case .established(var link) = entry.phase, link.ping?.id == id else { return false }
        link.ping = nil
        entry.phase = .established(link)
        entries[key] = entry
        return true
    }

    /// Does what is due at `now`, domain by domain in name order: bounces expired stanzas, gives
    /// up links whose ping went unanswered for `FederationSettings.pingTimeout` (`.close`, then
    /// what `linkLost` does), closes links idle for `FederationSettings.inactivityTimeout`, asks
    /// for keep-alives on links of partners with `keepAlive` that wrote nothing for
    /// `keepAliveInterval`, and turns due retries into `.connect` (only if something is still
    /// queued: a retry with nothing to send is dropped, and the domain forgotten). Connection
    /// attempts come last, oldest waiting stanza first.
    ///
    /// A keep-alive is a ping (`.sendPing`) when pings are on and none is outstanding, and a
    /// whitespace `.sendKeepAlive` otherwise. The ping replaces the space rather than joining it:
    /// its bytes refresh NAT and firewall state just as well, and its answer also proves that the
    /// peer is alive, which a space cannot (TCP may take minutes to notice a vanished peer).
    /// Whitespace remains for keep-alives due while a ping is outstanding, so that a short
    /// interval keeps middleboxes fed without piling up pings, and for when pings are off.
    public mutating func tick(now: LinkInstant) -> [Action] {
        var actions: [Action] = []
        for domain in entries.keys.sorted() {
            guard var entry = entries.removeValue(forKey: domain) else { continue }
            expire(domain, &entry, now: now, into: &actions)
            switch entry.phase {
            case .established(var link):
                if let ping = link.ping, ping.deadline <= now {
                    actions.append(.close(domain))
                    markDown(domain, &entry, into: &actions)
                } else if now - link.lastStanza >= policy.settings.inactivityTimeout {
                    releaseSlot(&entry)
                    entry.phase = .idle
                    actions.append(.closeIdleLink(domain))
                } else if entry.partner.keepAlive, now - link.lastWrite >= policy.settings.keepAliveInterval {
                    link.lastWrite = now
                    if link.ping == nil, let timeout = policy.settings.pingTimeout {
                        pingsSent += 1
                        let id = "ping-\(pingsSent)"
                        link.ping = Entry.OutstandingPing(id: id, deadline: now + timeout)
                        actions.append(.sendPing(domain, id: id))
                    } else {
                        actions.append(.sendKeepAlive(domain))
                    }
                    entry.phase = .established(link)
                }
            case .retryScheduled(let at) where at <= now:
                entry.phase = .idle
            case .idle, .connecting, .retryScheduled:
                break
            }
            store(entry, for: domain)
        }
        startWaitingAttempts(into: &actions)
        return actions
    }

    /// Swaps in a reloaded policy (an allowlist change, a reloaded `federation.toml`). A domain that
    /// may no longer federate loses its link or attempt (`.close`, and `.linkDown` if it was
    /// established, so its contacts stop looking available) and its queue, bounced with
    /// `not-allowed`; the table forgets it. The others take their partner's new settings
    /// (keep-alive, connection limit) from now on, and freed slots go to waiting domains.
    public mutating func replacePolicy(_ newPolicy: FederationPolicy) -> [Action] {
        policy = newPolicy
        var actions: [Action] = []
        for domain in entries.keys.sorted() {
            guard var entry = entries.removeValue(forKey: domain) else { continue }
            switch policy.decision(for: domain) {
            case .allowed(let partner):
                entry.partner = partner
                entries[domain] = entry
            case .refused(let reason):
                switch entry.phase {
                case .established:
                    actions.append(.close(domain))
                    markDown(domain, &entry, into: &actions)
                case .connecting:
                    actions.append(.close(domain))
                    releaseSlot(&entry)
                case .idle, .retryScheduled:
                    break
                }
                downDomains.remove(domain)
                let error = StanzaError(.notAllowed, text: "\(domain) may no longer federate with this gateway: \(reason)")
                for stanza in entry.queue.removeAll() { actions.append(Self.reject(stanza.element, error)) }
            }
        }
        startWaitingAttempts(into: &actions)
        return actions
    }

    /// Stops everything: `.close` for every link and attempt, and every queued stanza handed back
    /// unbounced (see `Shutdown.unsent`) so that the caller can persist it. The table is empty
    /// afterwards; the caller stops feeding it events (a late `connectionSucceeded` would get
    /// `.close`).
    public mutating func shutdown() -> Shutdown {
        var actions: [Action] = []
        var unsent: [QueuedStanza] = []
        for domain in entries.keys.sorted() {
            guard var entry = entries.removeValue(forKey: domain) else { continue }
            switch entry.phase {
            case .connecting, .established: actions.append(.close(domain))
            case .idle, .retryScheduled: break
            }
            unsent += entry.queue.removeAll()
        }
        downDomains = []
        openConnectionCount = 0
        openConnectionsByPartner = [:]
        return Shutdown(actions: actions, unsent: unsent)
    }

    /// An established link is gone (lost, or given up for an unanswered ping): its slot is
    /// freed, and `.linkDown` tells the translator that the domain's presence can no longer be
    /// trusted. Whatever is queued for the domain later waits for a new attempt.
    private mutating func markDown(_ domain: String, _ entry: inout Entry, into actions: inout [Action]) {
        releaseSlot(&entry)
        entry.phase = .idle
        downDomains.insert(domain)
        actions.append(.linkDown(domain))
    }

    // MARK: - Queue

    private func enqueue(_ element: XMLElement, for domain: String, in entry: inout Entry, now: LinkInstant, into actions: inout [Action]) {
        let size = Self.serializer.bytes(element).count
        if entry.queue.count >= settings.maxQueuedStanzas {
            let text = "the queue for \(domain) already holds \(settings.maxQueuedStanzas) stanzas"
            actions.append(Self.reject(element, StanzaError(.resourceConstraint, text: text)))
        } else if entry.queue.bytes + size > settings.maxQueuedBytes {
            let text = "the queue for \(domain) cannot take \(size) more bytes (limit \(settings.maxQueuedBytes))"
            actions.append(Self.reject(element, StanzaError(.resourceConstraint, text: text)))
        } else {
            entry.queue.append(QueuedStanza(domain: domain, element: element, queuedAt: now, size: size))
        }
    }

    /// Bounces what has waited `maxQueueAge` with `remote-server-timeout`.
    private func expire(_ domain: String, _ entry: inout Entry, now: LinkInstant, into actions: inout [Action]) {
        let expired = entry.queue.removeQueued(atOrBefore: now - settings.maxQueueAge)
        guard !expired.isEmpty else { return }
        let error = StanzaError(.remoteServerTimeout, text: "no link to \(domain) within \(settings.maxQueueAge)")
        for stanza in expired { actions.append(Self.reject(stanza.element, error)) }
    }

    /// The error reply for a stanza that cannot go out, or `.discard` when it must not get one.
    private static func reject(_ element: XMLElement, _ error: StanzaError) -> Action {
        Stanza.errorReply(to: element, error: error).map(Action.bounce) ?? .discard(element, error)
    }

    private mutating func store(_ entry: Entry, for domain: String) {
        if !entry.isForgettable { entries[domain] = entry }
    }

    // MARK: - Connection slots

    private func hasSlot(for partner: PartnerPolicy) -> Bool {
        openConnectionCount < policy.settings.connectionLimit
            && openConnectionsByPartner[partner.domain, default: 0] < policy.connectionLimit(for: partner)
    }

    /// Starts an attempt for an idle domain with something queued, if a slot is free.
    private mutating func startAttempt(_ domain: String, _ entry: inout Entry, into actions: inout [Action]) {
        guard case .idle = entry.phase, !entry.queue.isEmpty, hasSlot(for: entry.partner) else { return }
        let key = entry.partner.domain
        entry.slot = key
        openConnectionCount += 1
        openConnectionsByPartner[key, default: 0] += 1
        let attempt = entry.consecutiveFailures + 1
        entry.phase = .connecting(attempt: attempt)
        actions.append(.connect(domain, attempt: attempt))
    }

    private mutating func releaseSlot(_ entry: inout Entry) {
        guard let key = entry.slot else { return }
        entry.slot = nil
        openConnectionCount -= 1
        let remaining = openConnectionsByPartner[key, default: 1] - 1
        openConnectionsByPartner[key] = remaining > 0 ? remaining : nil
    }

    /// Gives free slots to idle domains with queued stanzas, oldest waiting stanza first (then by
    /// name, so the order is repeatable).
    private mutating func startWaitingAttempts(into actions: inout [Action]) {
        guard openConnectionCount < policy.settings.connectionLimit else { return }
        let waiting = entries.compactMap { domain, entry -> (queuedAt: LinkInstant, domain: String)? in
            guard case .idle = entry.phase, let first = entry.queue.first else { return nil }
            return (first.queuedAt, domain)
        }
        for (_, domain) in waiting.sorted(by: <) {
            guard openConnectionCount < policy.settings.connectionLimit else { break }
            guard var entry = entries.removeValue(forKey: domain) else { continue }
            startAttempt(domain, &entry, into: &actions)
            entries[domain] = entry
        }
    }
}
