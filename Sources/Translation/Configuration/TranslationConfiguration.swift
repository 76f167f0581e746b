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
    /// Most entries one internal user's contact list holds, counting the subscription requests
    /// held for them: a partner's users cannot grow it beyond this, nor can the user. Each
    /// entry costs a presence stanza whenever the user's presence changes.
    package var contactLimit: Int

    /// 1000: the most Lync's `MaxContacts` (`Set-CsUserServicesConfiguration`) allows, far beyond
    /// what a person keeps, and a bounded fan-out per presence change.
    package static let defaultContactLimit = 1000
    package static let maximumContactLimit = 100_000

    package init(
        localDomains: Set<String>,
        resource: String = "consulate",
        outbound: OutboundPresenceMapping = .defaults,
        inbound: InboundPresenceMapping = .defaults,
        contactLimit: Int = Self.defaultContactLimit
    ) {
        self.localDomains = localDomains
        self.resource = resource
        self.outbound = outbound
        self.inbound = inbound
        self.contactLimit = contactLimit
    }
}
