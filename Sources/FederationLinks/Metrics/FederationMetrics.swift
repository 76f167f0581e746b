package import CoreMetrics
package import Federation
package import XMLStreaming
package import XMPP

/// Every metric Consulate reports, in one place, so that their names, types and labels (the
/// operator's contract, listed in the README) are defined once and the runtime only says what
/// happened. The pure machines never see this: the stream handlers and the gateway, which carry
/// out the machines' actions and already log them, record here next to their log records.
///
/// Labels are bounded sets only (directions, stanza kinds, link phases, RFC 6120 condition names,
/// verification results): never a JID, and never a remote domain, since in open federation any
/// domain on the internet could mint a new series.
///
/// The metrics come from the `MetricsFactory` given (by default the one `MetricsSystem` was
/// bootstrapped with), so tests count with swift-metrics' `TestMetrics` and `consulate serve`
/// with a Prometheus registry (`PrometheusExposition`).
package struct FederationMetrics: Sendable {
    /// Which way a stream or stanza goes, as the `direction` label (and the logs' `direction`).
    package enum Direction: String, Sendable, CaseIterable {
        case inbound = "in"
        case outbound = "out"
    }

    /// The phases a link is counted in, as the `state` label of `consulate_links`.
    package enum LinkState: String, Sendable, CaseIterable {
        /// Outbound stanzas are queued but the connection limits leave no slot for an attempt yet.
        case waiting
        /// Connected or connecting, not yet authenticated.
        case connecting
        case established
        /// An outbound attempt failed and the next one is scheduled.
        case backingOff = "backing_off"
    }

    private let factory: any MetricsFactory
    private let stanzas: [Direction: [Stanza.Kind: Counter]]
    private let links: [Direction: [LinkState: Meter]]
    private let queuedStanzas: Meter
    private let queuedBytes: Meter
    private let storedMessages: Meter
    private let pingsTimedOut: Counter
    private let acceptPaused: Meter
    private let readsHeld: Meter

    /// - Parameter factory: where the metrics are created; the bootstrapped `MetricsSystem` by
    ///   default, a `TestMetrics` in tests.
    package init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        var stanzas: [Direction: [Stanza.Kind: Counter]] = [:]
        var links: [Direction: [LinkState: Meter]] = [:]
        for direction in Direction.allCases {
            for kind in Stanza.Kind.allCases {
                stanzas[direction, default: [:]][kind] = Counter(
                    label: "consulate_stanzas_total",
                    dimensions: [("direction", direction.rawValue), ("type", kind.rawValue)],
                    factory: factory
                )
            }
            // Inbound streams are never waiting or backing off: those are the link table's phases.
            let states: [LinkState] = direction == .outbound ? LinkState.allCases : [.connecting, .established]
            for state in states {
                links[direction, default: [:]][state] = Meter(
                    label: "consulate_links",
                    dimensions: [("direction", direction.rawValue), ("state", state.rawValue)],
                    factory: factory
                )
            }
        }
        self.stanzas = stanzas
        self.links = links
        queuedStanzas = Meter(label: "consulate_outbound_queue_stanzas", factory: factory)
        queuedBytes = Meter(label: "consulate_outbound_queue_bytes", factory: factory)
        storedMessages = Meter(label: "consulate_stored_outbound_messages", factory: factory)
        pingsTimedOut = Counter(label: "consulate_pings_timed_out_total", factory: factory)
        acceptPaused = Meter(label: "consulate_listeners_paused", factory: factory)
        readsHeld = Meter(label: "consulate_inbound_reads_held", factory: factory)
    }

    // MARK: - Streams (recorded by the stream handlers)

    /// A stanza crossed a stream: delivered from an authenticated inbound stream, or written on an
    /// established outbound one (pings included). Anything that is not a stanza is not counted.
    package func stanza(_ direction: Direction, _ element: XMLElement) {
        guard let kind = Stanza.Kind(rawValue: element.name) else { return }
        stanzas[direction]?[kind]?.increment()
    }

    /// An inbound connection moved from `old` (`nil`: it was just accepted) to `new` (`nil`: it
    /// is gone); keeps `consulate_links{direction="in"}` equal to the live inbound streams.
    package func inboundStream(from old: LinkState?, to new: LinkState?) {
        if let old { links[.inbound]?[old]?.decrement() }
        if let new { links[.inbound]?[new]?.increment() }
    }

    /// An inbound stream was closed with a stream error before it authenticated.
    package func streamRefused(_ condition: StreamError.Condition) {
        count("consulate_streams_refused_total", [("condition", condition.rawValue)])
    }

    /// The peer's bytes could not be parsed (or broke a limit), ending the stream with `condition`.
    package func parseError(_ direction: Direction, _ condition: StreamError.Condition) {
        count("consulate_parse_errors_total", [("direction", direction.rawValue), ("condition", condition.rawValue)])
    }

    // MARK: - Links (recorded by the gateway)

    /// The outbound links by phase and the stanzas and bytes queued for them, as the link table
    /// reports them after an event.
    package func outboundLinks(_ gauges: LinkGauges) {
        let counts: [LinkState: Int] = [
            .waiting: gauges.waiting, .connecting: gauges.connecting, .established: gauges.established, .backingOff: gauges.backingOff,
        ]
        for (state, meter) in links[.outbound] ?? [:] { meter.set(counts[state] ?? 0) }
        queuedStanzas.set(gauges.queuedStanzas)
        queuedBytes.set(gauges.queuedBytes)
    }

    /// How many messages of internal users the store holds until they are written to their link
    /// or bounced: the durable queue, which outlives a restart.
    package func storedOutboundMessages(_ count: Int) {
        storedMessages.set(count)
    }

    /// A stanza that could not go out was answered with an error carrying `condition`.
    package func bounced(_ condition: StanzaError.Condition) {
        count("consulate_stanzas_bounced_total", [("condition", condition.rawValue)])
    }

    /// A stanza that could not go out was dropped without an error reply (errors, IQ results,
    /// stanzas without `from`).
    package func dropped(_ condition: StanzaError.Condition) {
        count("consulate_stanzas_dropped_total", [("condition", condition.rawValue)])
    }

    /// An inbound stream's dialback key was checked with the authoritative server.
    package func dialbackVerification(_ result: DialbackVerificationResult) {
        count("consulate_dialback_verifications_total", [("result", result.rawValue)])
    }

    /// An event stream was closed because its client did not keep up.
    package func eventStreamOverflowed() {
        count("consulate_event_streams_overflowed_total", [])
    }

    /// The internal API closed an HTTP connection itself, for `reason`: `too-many-connections`,
    /// `idle-timeout`, `write-stalled`, `request-timeout`, `malformed-request` or `body-too-large`.
    package func apiConnectionClosed(_ reason: String) {
        count("consulate_api_connections_closed_total", [("reason", reason)])
    }

    /// A partner's subscription request was refused as over its rate.
    package func subscriptionRequestsLimited() {
        count("consulate_subscription_requests_limited_total", [])
    }

    /// How many inbound connections wait, not reading, for the store to catch up.
    package func inboundReadsHeld(_ count: Int) {
        readsHeld.set(count)
    }

    /// A store job of `kind` (`StoreJob.kind`: a bounded set) could not be stored.
    package func storeFailed(_ kind: String) {
        count("consulate_store_failures_total", [("job", kind)])
    }

    /// An inbound connection was refused or cut at `limit`.
    package func inboundLimit(_ limit: InboundLimit) {
        count("consulate_inbound_limits_total", [("limit", limit.rawValue)])
    }

    /// Whether the listeners have stopped accepting near the file-descriptor limit (1) or accept (0).
    package func acceptingPaused(_ paused: Bool) {
        acceptPaused.set(paused ? 1 : 0)
    }

    /// A link was given up because a ping went unanswered.
    package func pingTimedOut() {
        pingsTimedOut.increment()
    }

    /// Counters whose label values are only known when they happen (conditions) are looked up per
    /// event: the factory hands back the same series for the same labels, and these are rare.
    private func count(_ label: String, _ dimensions: [(String, String)]) {
        Counter(label: label, dimensions: dimensions, factory: factory).increment()
    }
}
