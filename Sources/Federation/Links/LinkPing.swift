package import XMLStreaming
package import XMPP

/// XEP-0199 pings between servers, as the link table uses them to tell a live peer from a dead one:
/// a whitespace keep-alive only shows that bytes leave, while an answered ping shows that the
/// peer's server still reads our link and processes stanzas. The request and the recognition of
/// its answer live here, apart from the I/O, so that the stream handler that writes a ping and the
/// gateway that routes its answer share one definition.
package enum LinkPing {
    /// `<iq type='get' from=… to=… id=…><ping xmlns='urn:xmpp:ping'/></iq>` from our domain to the
    /// peer's (XEP-0199 §6). `localDomain` must be the domain the link authenticated as, or the
    /// peer refuses the stanza with `invalid-from`.
    package static func request(id: String, from localDomain: String, to remoteDomain: String) -> XMLElement {
        var iq = XMLElement("iq", namespace: Namespace.server)
        iq.setAttribute("from", to: localDomain)
        iq.setAttribute("to", to: remoteDomain)
        iq.setAttribute("id", to: id)
        iq.setAttribute("type", to: "get")
        iq.append(XMLElement("ping", namespace: Namespace.ping))
        return iq
    }

    /// The ping `id` on `link`: from its local domain, the one the link authenticated as.
    package static func request(id: String, on link: LinkKey) -> XMLElement {
        request(id: id, from: link.local, to: link.remote)
    }

    /// The link and the id when `stanza` has the shape of an answer to one of our pings: an
    /// `<iq/>` of type `result` or `error` (a server without ping support answers
    /// `service-unavailable`, XEP-0199 §4.2, which still proves it alive) between two bare
    /// domains, since the reply swaps the request's addresses (RFC 6120 §8.2.3): its `to` is the
    /// link's local domain, its `from` the remote one. Whether a ping with that id is outstanding
    /// is `LinkTable.pongReceived`'s to say.
    package static func answer(in stanza: Stanza) -> (link: LinkKey, id: String)? {
        guard stanza.kind == .iq, let iq = IQ(stanza.element), iq.type == .result || iq.type == .error else { return nil }
        guard let from = stanza.from, from.isDomain, let to = stanza.to, to.isDomain else { return nil }
        return (LinkKey(local: to.domainpart, remote: from.domainpart), iq.id)
    }
}
