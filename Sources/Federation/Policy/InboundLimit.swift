/// The limits an inbound connection can meet (`FederationSettings`, and the partner's connection
/// limit): how refusals and cuts are logged and counted (`consulate_inbound_limits_total{limit}`).
package enum InboundLimit: String, Sendable, Hashable, CaseIterable {
    /// Inbound and outbound connections together (`connection-limit`).
    case connectionLimit = "connection-limit"
    /// Unauthenticated connections from one address (`source-connection-limit`).
    case sourceConnectionLimit = "source-connection-limit"
    /// Streams one partner authenticated (`partner-connection-limit`, or the partner's own).
    case partnerConnectionLimit = "partner-connection-limit"
    /// No authenticated stream in time (`stream-establishment-timeout`).
    case establishmentTimeout = "stream-establishment-timeout"
    /// An authenticated stream that carried nothing (`inactivity-timeout`).
    case inactivityTimeout = "inactivity-timeout"
    /// Dialback verifications one stream asked for that did not succeed (`dialback-limit`).
    case streamDialbackLimit = "dialback-limit"
    /// Dialback verifications outstanding for one address's streams (`source-dialback-limit`).
    case sourceDialbackLimit = "source-dialback-limit"
}
