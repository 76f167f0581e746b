/// Everything the translator needs to know about this deployment besides who may federate, which is
/// the federation policy's to say (`Translator.policy`): the links and the translator ask the same
/// `FederationPolicy`, so a domain's trust cannot differ between them.
package struct TranslationConfiguration: Sendable, Hashable {
    /// The domains our internal users live on.
    package var localDomains: Set<String>
    /// The resource internal users appear with on XMPP (`alice@contoso.example/consulate`), so that
    /// replies and presence have a full JID to address.
    package var resource: String
    package var outbound: OutboundPresenceMapping
    package var inbound: InboundPresenceMapping

    package init(
        localDomains: Set<String>,
        resource: String = "consulate",
        outbound: OutboundPresenceMapping = .defaults,
        inbound: InboundPresenceMapping = .defaults
    ) {
        self.localDomains = localDomains
        self.resource = resource
        self.outbound = outbound
        self.inbound = inbound
    }
}
