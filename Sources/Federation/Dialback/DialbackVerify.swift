package import XMLStreaming
package import XMPP

/// `<db:verify/>`: the Receiving Server asking the Authoritative Server whether a key is genuine
/// (Step 2 of XEP-0220 §1.4), and the answer (Step 3).
///
/// A request goes `from` the Target Domain `to` the Sender Domain, with `id` the stream ID of the
/// Receiving Server's response header on the stream the key arrived on; together the three
/// identify that stream. The answer swaps `from` and `to` and copies `id`.
package struct DialbackVerify: Sendable, Hashable {
    package var from: String
    package var to: String
    package var id: String
    package var payload: DialbackPayload

    package init(from: String, to: String, id: String, payload: DialbackPayload) {
        self.from = from
        self.to = to
        self.id = id
        self.payload = payload
    }

    /// The Receiving Server's request to check `key`, received for `pair` on the inbound stream
    /// whose ID is `streamID`.
    package static func request(for pair: DialbackDomainPair, streamID: String, key: DialbackKey) -> DialbackVerify {
        DialbackVerify(from: pair.target, to: pair.sender, id: streamID, payload: .key(key))
    }

    /// The answer to this request: addresses swapped, `id` copied (XEP-0220 §2.2.2).
    package func answered(_ answer: DialbackAnswer) -> DialbackVerify {
        DialbackVerify(from: to, to: from, id: id, payload: .answer(answer))
    }

    /// The pair this element is about, whichever direction it travels in.
    package var domainPair: DialbackDomainPair {
        switch payload {
        case .key: DialbackDomainPair(sender: to, target: from)
        case .answer: DialbackDomainPair(sender: from, target: to)
        }
    }

    /// Reads a `<db:verify/>`; see `DialbackElement` for what is refused and why.
    package init(_ element: XMLElement) throws(StreamError) {
        guard element.name == "verify", element.namespace == Namespace.dialback else {
            throw StreamError(.unsupportedStanzaType, text: "expected <db:verify/>")
        }
        from = try DialbackWire.domain("from", of: element)
        to = try DialbackWire.domain("to", of: element)
        guard let id = element["id"], !id.isEmpty else {
            throw StreamError(.invalidXML, text: "<db:verify/> has no 'id'")
        }
        self.id = id
        payload = try DialbackWire.payload(of: element)
    }

    package var element: XMLElement {
        DialbackWire.element("verify", attributes: ["from": from, "to": to, "id": id], payload: payload)
    }
}
