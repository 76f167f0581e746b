/// Limits on what waits for a link, and how retries are paced.
///
/// Queues are bounded three ways, because each bound protects against a different failure: the
/// count against floods of small stanzas, the bytes against a few huge ones, and the age against a
/// peer that never comes back (a sender learns within `maxQueueAge` that its stanza did not go out,
/// instead of never). Nothing is preallocated, unlike Prosody's 32,768-slot queues.
package struct LinkSettings: Sendable, Hashable {
    /// Most stanzas waiting for one remote domain.
    package var maxQueuedStanzas: Int
    /// Most bytes waiting for one remote domain, counting each stanza as serialized inside a
    /// `jabber:server` stream.
    package var maxQueuedBytes: Int
    /// Longest a stanza may wait for a link before it is bounced with `remote-server-timeout`.
    package var maxQueueAge: Duration
    /// How retries after failed connection attempts are spaced.
    package var backoff: LinkBackoff

    /// Defaults: 1,000 stanzas, 1 MiB and 120 s per domain (120 s is ejabberd's negotiation
    /// timeout, so a queue outlives one slow negotiation), and `LinkBackoff()`'s 1 s to 5 min.
    package init(
        maxQueuedStanzas: Int = 1000,
        maxQueuedBytes: Int = 1 << 20,
        maxQueueAge: Duration = .seconds(120),
        backoff: LinkBackoff = LinkBackoff()
    ) {
        self.maxQueuedStanzas = maxQueuedStanzas
        self.maxQueuedBytes = maxQueuedBytes
        self.maxQueueAge = maxQueueAge
        self.backoff = backoff
    }

    /// The defaults above.
    package static let defaults = LinkSettings()

    /// Refuses bounds that would refuse or expire every stanza, and backoff values that would
    /// retry in a tight loop or cap the delay below its own base.
    package func validate() throws(PolicyError) {
        if maxQueuedStanzas < 1 {
            throw PolicyError(subject: "link queue stanza limit", problem: "\(maxQueuedStanzas) would refuse every stanza; use 1 or more")
        }
        if maxQueuedBytes < 1 {
            throw PolicyError(subject: "link queue byte limit", problem: "\(maxQueuedBytes) would refuse every stanza; use 1 or more")
        }
        if maxQueueAge <= .zero {
            throw PolicyError(subject: "link queue age limit", problem: "\(maxQueueAge) would expire every stanza at once; use a positive duration")
        }
        if backoff.base <= .zero {
            throw PolicyError(subject: "retry backoff base", problem: "\(backoff.base) would retry failed domains in a tight loop; use a positive duration")
        }
        if backoff.cap < backoff.base {
            throw PolicyError(subject: "retry backoff cap", problem: "\(backoff.cap) is below the base \(backoff.base); use at least the base")
        }
    }
}
