package import XMLStreaming

/// The addressing rules for each top-level element on an authenticated inbound s2s stream, shared by
/// everything that reads such a stream so the rules exist once:
/// - a non-stanza is `unsupported-stanza-type`;
/// - a malformed `from` is `invalid-from`; a malformed `to` is answered with `jid-malformed` and the
///   stream goes on;
/// - `from` and `to` are required (`improper-addressing`);
/// - `to` must be one of our domains (`host-unknown`);
/// - the (sender domain, target domain) pair must be authenticated on the stream (`invalid-from`).
package enum InboundAddressing {
    package enum Verdict: Sendable, Hashable {
        case stanza(Stanza)
        /// A stanza error to send back; the stream goes on.
        case reply(XMLElement)
        /// The stream must end with this error.
        case fail(StreamError)
    }

    package static func check(
        _ element: XMLElement,
        localDomains: Set<String>,
        isAuthenticated: (_ sender: String, _ target: String) -> Bool
    ) -> Verdict {
        let stanza: Stanza
        do throws(AddressingError) {
            guard let parsed = try Stanza(element) else {
                return .fail(StreamError(.unsupportedStanzaType, text: "unexpected {\(element.namespace)}\(element.name)"))
            }
            stanza = parsed
        } catch {
            if error.attribute == "from" { return .fail(StreamError(.invalidFrom, text: error.description)) }
            guard let reply = Stanza.errorReply(to: element, error: StanzaError(.jidMalformed, text: error.description)) else {
                return .fail(StreamError(.improperAddressing, text: error.description))
            }
            return .reply(reply)
        }
        guard let from = stanza.from, let to = stanza.to else {
            return .fail(StreamError(.improperAddressing, text: "stanzas between servers need 'from' and 'to'"))
        }
        guard localDomains.contains(to.domainpart) else {
            return .fail(StreamError(.hostUnknown, text: "this gateway does not serve '\(to.domainpart)'"))
        }
        guard isAuthenticated(from.domainpart, to.domainpart) else {
            return .fail(StreamError(.invalidFrom, text: "'\(from.domainpart)' is not authenticated on this stream"))
        }
        return .stanza(stanza)
    }
}
