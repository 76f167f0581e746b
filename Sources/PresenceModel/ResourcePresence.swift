/// The presence one resource (client) of an external contact last sent, as translated to the
/// internal model. Kept per resource because an XMPP user can be online from several clients and
/// the shown state is chosen among them (by priority, then availability) by the translator.
package struct ResourcePresence: Sendable, Hashable {
    package var presence: RichPresence
    /// The XMPP `<priority/>` (RFC 6121 §4.7.2.3, −128…127; 0 when absent).
    package var priority: Int

    package init(_ presence: RichPresence, priority: Int = 0) {
        self.presence = presence
        self.priority = priority
    }
}
