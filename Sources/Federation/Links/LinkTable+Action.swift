public import XMLStreaming
public import XMPP

extension LinkTable {
    /// What the caller must do after an event, in the order given. The table has already updated
    /// its state as if each action succeeded; what actually happens comes back as further events.
    public enum Action: Sendable, Hashable {
        /// Open a connection to the domain (resolve, connect, negotiate) and report the outcome with
        /// `connectionSucceeded` or `connectionFailed`. `attempt` counts from 1 since the last
        /// success, for logs and for a connector that wants to re-resolve on later attempts.
        case connect(String, attempt: Int)
        /// Write the stanza on the domain's established link.
        case send(String, XMLElement)
        /// A failed attempt will be retried at this instant: call `tick` then (or earlier; the table
        /// only acts on what is due).
        case scheduleRetry(String, at: LinkInstant)
        /// Route this error reply back to the local sender of a stanza that could not go out.
        case bounce(XMLElement)
        /// A stanza that could not go out but must not be answered with an error: an error, an IQ
        /// result, or a stanza without `from`. Log it; it is gone.
        case discard(XMLElement, StanzaError)
        /// The established link has carried no stanza for `FederationSettings.inactivityTimeout`:
        /// close it. The table has already forgotten it (a later `linkLost` for it is ignored), and
        /// no `linkDown` is reported: the peer did nothing wrong and no presence is lost.
        case closeIdleLink(String)
        /// `FederationSettings.keepAliveInterval` has passed since anything was written on the
        /// domain's link, and a ping is already outstanding or pings are off: write a keep-alive (a
        /// single space between stanzas) to keep middleboxes from dropping the link.
        case sendKeepAlive(String)
        /// `FederationSettings.keepAliveInterval` has passed since anything was written on the
        /// domain's link: write the XEP-0199 ping `LinkPing.request(id:from:to:)` on it, from the
        /// domain the link authenticated as. The answer comes back on the peer's own stream to us
        /// and goes to `pongReceived`; without one within `FederationSettings.pingTimeout` the
        /// table gives the link up (`.close`, `.linkDown`).
        case sendPing(String, id: String)
        /// The domain's link went down: its contacts' presence can no longer be trusted (the
        /// translator reports them unavailable).
        case linkDown(String)
        /// A link came back after `linkDown`: the translator probes the domain's contacts again.
        case linkUp(String)
        /// Close the domain's link or abandon its connection attempt; the table has forgotten it.
        case close(String)
    }

    /// A stanza waiting for a link, as `shutdown()` hands it back.
    public struct QueuedStanza: Sendable, Hashable {
        /// The normalised remote domain it is for.
        public var domain: String
        public var element: XMLElement
        /// When it was queued, so that a store that keeps it can go on counting its age.
        public var queuedAt: LinkInstant
        /// Its serialized size, as counted against `LinkSettings.maxQueuedBytes`.
        public var size: Int

        public init(domain: String, element: XMLElement, queuedAt: LinkInstant, size: Int) {
            self.domain = domain
            self.element = element
            self.queuedAt = queuedAt
            self.size = size
        }
    }

    /// What `shutdown()` leaves the caller with.
    public struct Shutdown: Sendable, Hashable {
        /// `.close` for every link and connection attempt, by domain.
        public var actions: [Action]
        /// Every stanza still queued, by domain and then in queue order. None is bounced: a stanza
        /// that merely waited for a link when the gateway stopped is not undeliverable, so it is
        /// returned for the caller to persist and queue again after a restart.
        public var unsent: [QueuedStanza]

        public init(actions: [Action], unsent: [QueuedStanza]) {
            self.actions = actions
            self.unsent = unsent
        }
    }

    /// One domain's state, for administration and tests.
    public struct Status: Sendable, Hashable {
        public enum Phase: Sendable, Hashable {
            /// Stanzas are queued, but the connection limits leave no slot for an attempt yet.
            case waitingForSlot
            case connecting(attempt: Int)
            case established
            case retryScheduled(at: LinkInstant)
        }

        public var phase: Phase
        public var queuedStanzas: Int
        public var queuedBytes: Int
        /// Failed attempts since the last success.
        public var consecutiveFailures: Int

        public init(phase: Phase, queuedStanzas: Int, queuedBytes: Int, consecutiveFailures: Int) {
            self.phase = phase
            self.queuedStanzas = queuedStanzas
            self.queuedBytes = queuedBytes
            self.consecutiveFailures = consecutiveFailures
        }
    }
}
