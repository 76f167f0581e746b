package import Federation
package import FederationLinks
package import Translation
package import XMLStreaming
import GatewayCore

extension Gateway {
    package struct Settings: Sendable {
        package var translation: TranslationConfiguration
        package var policy: FederationPolicy
        package var links: LinkSettings
        package var limits: (pre: XMLStreamLimits, post: XMLStreamLimits)
        package var tls: FederationTLS?
        package var dialbackSecret: DialbackSecret
        package var listenAddress: String
        package var listenPort: Int
        /// The XEP-0368 direct TLS port on `listenAddress` (0: any free one), or `nil` for none;
        /// needs `tls`.
        package var directTLSPort: Int?
        /// Store jobs waiting for the store beyond which peers' connections stop reading
        /// (`[store] write-queue-limit`).
        package var storeBacklogLimit: Int
        /// The most bytes of events one event stream holds for a client that reads slowly
        /// (`[api] event-buffer-bytes`); one more closes the stream.
        package var eventBufferBytes: Int

        /// 1 MiB: four pages of offline messages, or two of the largest stanza a partner may send.
        package static let defaultEventBufferBytes = 1 << 20

        package init(
            translation: TranslationConfiguration,
            policy: FederationPolicy,
            links: LinkSettings = .defaults,
            limits: (pre: XMLStreamLimits, post: XMLStreamLimits) = (.preAuthentication, .postAuthentication),
            tls: FederationTLS?,
            dialbackSecret: DialbackSecret,
            listenAddress: String,
            listenPort: Int,
            directTLSPort: Int? = nil,
            storeBacklogLimit: Int = GatewayCore.Configuration.defaultStoreBacklogLimit,
            eventBufferBytes: Int = Self.defaultEventBufferBytes
        ) {
            self.translation = translation
            self.policy = policy
            self.links = links
            self.limits = limits
            self.tls = tls
            self.dialbackSecret = dialbackSecret
            self.listenAddress = listenAddress
            self.listenPort = listenPort
            self.directTLSPort = directTLSPort
            self.storeBacklogLimit = storeBacklogLimit
            self.eventBufferBytes = eventBufferBytes
        }
    }

    /// The ports `bind()` bound: with port 0 in the settings, the only way to learn them.
    package struct ListeningPorts: Sendable, Hashable {
        package var startTLS: Int
        package var directTLS: Int?

        package init(startTLS: Int, directTLS: Int?) {
            self.startTLS = startTLS
            self.directTLS = directTLS
        }
    }
}
