package import XMLStreaming
package import XMPP

extension LinkTable {
    /// Why the table closes a connection; the caller logs and counts by it.
    package enum CloseReason: Sendable, Hashable, CustomStringConvertible {
        /// The established link carried no stanza for `FederationSettings.inactivityTimeout`. The
        /// peer did nothing wrong and no presence is lost, so no `.linkDown` follows.
        case idle
        /// A keep-alive ping went unanswered for `FederationSettings.pingTimeout`: the peer is
        /// presumed dead, and `.linkDown` follows.
        case pingUnanswered
        /// A reloaded policy no longer lets the remote domain federate.
        case refused(RefusalReason)
        /// The attempt reported success, but the table no longer wants it (it was superseded, or the
        /// domain was given up meanwhile): closed so that a stray connection is not leaked.
        case unwanted
        /// `shutdown()`.
        case shutdown

        package var description: String {
            switch self {
            case .idle: "idle"
            case .pingUnanswered: "ping unanswered"
            case .refused(let reason): "may no longer federate: \(reason)"
            case .unwanted: "not wanted"
            case .shutdown: "shutting down"
            }
        }
    }

    /// What the caller must do after an event, in the order given. The table has already updated
    /// its state as if each action succeeded; what actually happens comes back as further events,
    /// naming the connection they are about.
    package enum Action: Sendable, Hashable {
        /// Open `connection` to the link's remote domain (resolve, connect, negotiate as `partner`'s
        /// policy says, authenticating the link's local domain) and report the outcome with
        /// `connectionSucceeded` or `connectionFailed`. `attempt` counts from 1 since the last
        /// success, for logs and for a connector that wants to re-resolve on later attempts.
        case connect(LinkKey, ConnectionID, PartnerPolicy, attempt: Int)
        /// Write the stanza on the established `connection`; report a write that fails with
        /// `writeFailed`.
        case send(OutboundStanza, on: ConnectionID)
        /// A failed attempt will be retried at this instant: call `tick` then (or earlier; the table
        /// only acts on what is due).
        case scheduleRetry(LinkKey, at: LinkInstant)
        /// Route this error reply back to the local sender of a stanza that could not go out; the
        /// stanza's ticket, if it had one, goes with it.
        case bounce(XMLElement, ticket: Ticket?)
        /// A stanza that could not go out but must not be answered with an error: an error, an IQ
        /// result, or a stanza without `from`. Log it; it is gone.
        case discard(XMLElement, StanzaError, ticket: Ticket?)
        /// Close the connection (or abandon the attempt) for `reason`; the table has already let go
        /// of it, so later reports about it are ignored.
        case close(ConnectionID, CloseReason)
        /// `FederationSettings.keepAliveInterval` has passed since anything was written on the
        /// established `connection`, and a ping is already outstanding or pings are off: write a
        /// keep-alive (a single space between stanzas) to keep middleboxes from dropping the link.
        case sendKeepAlive(ConnectionID)
        /// `FederationSettings.keepAliveInterval` has passed since anything was written on the
        /// link: write the XEP-0199 ping `LinkPing.request(id:on:)` on `connection`. The answer
        /// comes back on the peer's own stream to us and goes to `pongReceived`; without one
        /// within `FederationSettings.pingTimeout` the table gives the link up (`.close` with
        /// `.pingUnanswered`, then `.linkDown`).
        case sendPing(LinkKey, ConnectionID, id: String)
        /// The link went down: the presence its remote domain sent our local one can no longer be
        /// trusted (the translator reports those contacts unavailable).
        case linkDown(LinkKey)
        /// A link came back after `linkDown`: the translator probes the contacts again.
        case linkUp(LinkKey)
    }

    /// A stanza waiting for a link, as `shutdown()` hands it back.
    package struct QueuedStanza: Sendable, Hashable {
        package var stanza: OutboundStanza
        /// When it was queued, so that a store that keeps it can go on counting its age.
        package var queuedAt: LinkInstant
        /// Its serialized size, as counted against `LinkSettings.maxQueuedBytes`.
        package var size: Int

        package init(_ stanza: OutboundStanza, queuedAt: LinkInstant, size: Int) {
            self.stanza = stanza
            self.queuedAt = queuedAt
            self.size = size
        }
    }

    /// What `shutdown()` leaves the caller with.
    package struct Shutdown: Sendable, Hashable {
        /// `.close` for every link and connection attempt, by link.
        package var actions: [Action]
        /// Every stanza still queued, by link and then in queue order. None is bounced: a stanza
        /// that merely waited for a link when the gateway stopped is not undeliverable, so it is
        /// returned for the caller to persist and queue again after a restart.
        package var unsent: [QueuedStanza]

        package init(actions: [Action], unsent: [QueuedStanza]) {
            self.actions = actions
            self.unsent = unsent
        }
    }

    /// One link's state, for administration and tests.
    package struct Status: Sendable, Hashable {
        package enum Phase: Sendable, Hashable {
            /// Stanzas are queued, but the connection limits leave no slot for an attempt yet.
            case waitingForSlot
            case connecting(attempt: Int)
            case established
            case retryScheduled(at: LinkInstant)
        }

        package var phase: Phase
        /// The attempt or established link, while there is one.
        package var connection: ConnectionID?
        package var queuedStanzas: Int
        package var queuedBytes: Int
        /// Failed attempts since the last success.
        package var consecutiveFailures: Int

        package init(phase: Phase, connection: ConnectionID?, queuedStanzas: Int, queuedBytes: Int, consecutiveFailures: Int) {
            self.phase = phase
            self.connection = connection
            self.queuedStanzas = queuedStanzas
            self.queuedBytes = queuedBytes
            self.consecutiveFailures = consecutiveFailures
        }
    }
}
