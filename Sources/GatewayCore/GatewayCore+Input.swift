package import XMLStreaming
package import Federation
package import PresenceModel
package import Storage
package import Translation
package import XMPP

extension GatewayCore {
    /// Everything that can happen to the gateway, as the runtime reports it. Each input names the
    /// connection, ticket or event stream it is about, as the action that led to it did.
    package enum Input: Sendable {
        // MARK: Peers and users

        /// An authenticated inbound stream delivered a stanza (its addressing already checked by
        /// `InboundAddressing`).
        case stanzaReceived(Stanza, on: ConnectionID)
        /// An internal user acts (the internal API, the console).
        case action(InternalAction)

        // MARK: Our outbound connections

        /// The TCP (and, for direct TLS, TLS) connection asked for with `.connect` is up; the
        /// stream negotiates next.
        case connected(ConnectionID)
        /// A link's stream authenticated (`.connect` with `.link`).
        case linkEstablished(ConnectionID, OutboundEstablishedStream)
        /// The connection failed: before it existed (DNS, no target answered), while negotiating,
        /// or after it was established. Which of these it was is the core's to know.
        case connectionFailed(ConnectionID, LinkFailure)
        /// The connection's channel is gone (after a failure, a close, or without either).
        case connectionClosed(ConnectionID)
        /// A stanza handed over with `.send` is written to the socket; only stanzas with a ticket
        /// are reported.
        case written(Ticket)
        /// A stanza handed over with `.send` was not written: the stream had ended.
        case writeFailed(OutboundStanza, on: ConnectionID)

        // MARK: Inbound streams

        /// A listener accepted a connection from `source` (the peer's IP address).
        case inboundAccepted(ConnectionID, source: String)
        /// The peer on an inbound connection authenticated `link.remote` for our `link.local` (a
        /// dialback stream can authenticate several pairs).
        case inboundAuthenticated(ConnectionID, LinkKey, AuthenticationMethod, LinkReport.TLS)
        case inboundClosed(ConnectionID)
        /// A read on an inbound connection delivered stanzas, all of them handed in before this;
        /// the connection reads no more until `.readMore`.
        case inboundReadHandled(ConnectionID)

        // MARK: Dialback as the receiving server (XEP-0220 §2.1.2)

        /// An inbound stream needs `verify` (from our domain, to the authoritative one) checked by
        /// the authoritative server.
        case verificationRequested(DialbackVerify, inbound: ConnectionID)
        /// The outbound connection a request was handed to takes no more: ask over another one.
        case verificationRedirected(DialbackVerify, from: ConnectionID)
        /// The authoritative server answered.
        case verificationAnswered(DialbackVerify)
        /// No answer will come for the request.
        case verificationFailed(DialbackVerify, DialbackVerificationFailure)

        // MARK: Internal users' event streams

        case subscriberOpened(SubscriberID, user: JID)
        case subscriberClosed(SubscriberID, SubscriberEnd)
        /// An event the core gave a stream that had ended before the core heard of it (its
        /// `subscriberClosed` was on its way): the stream's end did not include it.
        case eventRefused(InternalEvent, for: JID)
        /// What `.readOffline` read for the stream, in order: one page.
        case offlineMessagesRead(SubscriberID, [OfflineMessage])
        /// The stream's buffer drained after `.awaitDrain`, having written the offline messages
        /// through this sequence.
        case subscriberDrained(SubscriberID, writtenOfflineThrough: Int64?)
        /// The store writer carried out jobs.
        case storeReported(StoreReport)

        // MARK: Time and administration

        /// The timer `.armTimer` asked for fired (or any later instant: a tick that finds nothing
        /// due is harmless).
        case tick
        /// What a previous run left in the outbound queue, read at start, in order: it goes to the
        /// links ahead of anything new.
        case storedMessagesLoaded([QueuedStanza])
        /// A reloaded policy and translation settings (SIGHUP, an allowlist change).
        case reconfigured(FederationPolicy, TranslationConfiguration)
        /// The internal users as the store now has them: users added or removed while running.
        case usersSynchronized(PresenceDirectory)
    }

    /// What a `.connect` is for.
    package enum ConnectionPurpose: Sendable, Hashable {
        /// A link: authenticate the key's local domain, then carry stanzas.
        case link
        /// A verification-only connection, with the request it is opened for already queued in
        /// its stream (`OutboundStreamStateMachine.Purpose.verification`).
        case verification(DialbackVerify)
    }

    /// What the runtime must do, in order. Writes to one connection within one input are followed
    /// by one `.flush` for it, after the input's last write.
    package enum Action: Sendable, Hashable {
        /// Write a stanza on a link; report `.written` (when it has a ticket) or `.writeFailed`.
        case send(OutboundStanza, on: ConnectionID)
        /// Write this element on the connection (a ping); nothing to report.
        case write(XMLElement, on: ConnectionID)
        /// Write a whitespace keep-alive on the connection.
        case writeKeepAlive(ConnectionID)
        /// Flush what was written to the connection.
        case flush(ConnectionID)
        /// Open an outbound connection for `key` (as the key's local domain, to its remote one),
        /// negotiating as `partner` says; report `.connected`, then `.linkEstablished` or
        /// `.connectionFailed`, and `.connectionClosed` when its channel is gone.
        case connect(ConnectionID, LinkKey, PartnerPolicy, ConnectionPurpose)
        /// End an outbound connection politely (our closing tag), or abandon its attempt.
        case close(ConnectionID, LinkTable.CloseReason)
        /// End an inbound stream with this stream error (preceded by our header if we sent none),
        /// or politely with our closing tag alone.
        case closeInbound(ConnectionID, StreamError?)
        /// Stop accepting connections on the listeners: the open ones are near the process's
        /// file-descriptor limit, and the rest is kept for the API, the store and our links.
        case pauseAccepting
        case resumeAccepting
        /// The inbound connection may read again: what it delivered has been taken, and the store
        /// is not behind.
        case readMore(ConnectionID)
        /// Hand a `<db:verify/>` request to the outbound connection's stream; if that stream takes
        /// no more, report `.verificationRedirected`.
        case requestVerification(DialbackVerify, on: ConnectionID)
        /// Give the inbound stream that asked the authoritative server's answer.
        case answerVerification(DialbackVerify, on: ConnectionID)
        /// Tell the inbound stream that asked that no answer will come.
        case failVerification(DialbackVerify, DialbackVerificationFailure, on: ConnectionID)
        /// Tell an internal user's event stream.
        case notify(SubscriberID, InternalEvent)
        /// Hand a stored offline message to a stream catching up; it stays stored until the
        /// stream reports it written.
        case handOver(SubscriberID, InternalEvent, offlineSequence: Int64)
        /// Report `.subscriberDrained` once the stream's buffer is half empty.
        case awaitDrain(SubscriberID)
        /// End an event stream (its user was removed).
        case finish(SubscriberID)
        case store(StoreJob)
        /// Report `.tick` at this instant (or later).
        case armTimer(at: LinkInstant)
        case log(LogRecord)
        case metric(MetricChange)
    }
}
