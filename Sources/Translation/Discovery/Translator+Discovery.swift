import XMLStreaming
import XMPP

/// Service discovery (XEP-0030) for our domains: what a peer's server or client learns when it asks
/// what this gateway is. Only what is really answered is advertised; internal users' bare and full
/// JIDs are not answered yet (issue 13), so they keep getting `service-unavailable`.
extension Translator {
    /// A domain of ours: an IM server (`server/im`) that answers disco and XEP-0199 pings.
    static let domainInfo = DiscoInfo(
        identities: [DiscoInfo.Identity(category: "server", type: "im", name: "Consulate")],
        features: [Namespace.discoInfo, Namespace.discoItems, Namespace.ping]
    )

    /// The answer to a disco get addressed to one of our domains, or `nil` when `iq` is not one.
    /// A `node` we do not have is `item-not-found` (XEP-0030 §3.1, §4.1).
    func domainDiscovery(_ iq: IQ, _ stanza: Stanza) -> Result<XMLElement, StanzaError>? {
        guard iq.type == .get, let query = iq.payload, query.name == "query" else { return nil }
        let answer: XMLElement
        switch query.namespace {
        case Namespace.discoInfo: answer = Self.domainInfo.element()
        case Namespace.discoItems: answer = XMLElement("query", namespace: Namespace.discoItems)
        default: return nil
        }
        if let node = query["node"] {
            return .failure(StanzaError(.itemNotFound, text: "this domain has no node \(node)"))
        }
        var result = IQ.result(to: stanza)
        result.children = [.element(answer)]
        return .success(result)
    }
}
