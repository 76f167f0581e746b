package import XMLStreaming
package import XMPP

/// `<db:result/>`: the Initiating Server's request to be authorized for a domain pair (Step 1 of
/// XEP-0220 §1.4), and the Receiving Server's answer to it (Step 4).
///
/// A request goes `from` the Sender Domain `to` the Target Domain and carries the key; the answer
/// swaps the two and carries the verdict.
package struct DialbackResult: Sendable, Hashable {
    package var from: String
    package var to: String
    package var payload: DialbackPayload

    package init(from: String, to: String, payload: DialbackPayload) {
        self.from = from
        self.to = to
        self.payload = payload
    }

    /// The Initiating Server's request for `pair`.
    package static func request(for pair: DialbackDomainPair, key: DialbackKey) -> DialbackResult {
        DialbackResult(from: pair.sender, to: pair.target, payload: .key(key))
    }

    /// The Receiving Server's answer for `pair`.
    package static func answer(_ answer: DialbackAnswer, for pair: DialbackDomainPair) -> DialbackResult {
        DialbackResult(from: pair.target, to: pair.sender, payload: .answer(answer))
    }

    /// The pair this element is about, whichever direction it travels in.
    package var domainPair: DialbackDomainPair {
        switch payload {
        case .key: DialbackDomainPair(sender: from, target: to)
        case .answer: DialbackDomainPair(sender: to, target: from)
        }
    }

    /// Reads a `<db:result/>`; see `DialbackElement` for what is refused and why.
    package init(_ element: XMLElement) throws(StreamError) {
        guard element.name == "result", element.namespace == Namespace.dialback else {
            throw StreamError(.unsupportedStanzaType, text: "expected <db:result/>")
        }
        from = try DialbackWire.domain("from", of: element)
        to = try DialbackWire.domain("to", of: element)
        payload = try DialbackWire.payload(of: element)
    }

    package var element: XMLElement {
        DialbackWire.element("result", attributes: ["from": from, "to": to], payload: payload)
    }
}
