public import XMLStreaming

/// Reads the inbound half of a server-to-server stream whose peer is authenticated for `peerDomain`:
/// bytes in, stanzas out, with every RFC 6120 check that does not depend on negotiation.
///
/// - The header must be a `jabber:server` stream addressed to one of `localDomains` (`host-unknown`
///   otherwise) and, when it names its sender, from the authenticated domain (`invalid-from`).
/// - Each stanza must carry `from` and `to` (`improper-addressing`), come from the authenticated
///   domain (`invalid-from`) and go to one of ours (`host-unknown`); a malformed `to` is answered
///   with `jid-malformed` and the stream goes on; anything else at top level is
///   `unsupported-stanza-type`.
/// - Parser failures become the stream error RFC 6120 prescribes.
///
/// Events completed before a failure are still returned, so nothing accepted is lost. The federation
/// links run this after negotiation; fixtures run it directly.
public struct AuthenticatedStreamReader {
    public enum Event: Sendable, Hashable {
        case opened(StreamHeader)
        case stanza(Stanza)
        /// A stanza error to send back without involving anyone else.
        case reply(XMLElement)
        /// The peer sent `</stream:stream>`; reading goes on so trailing junk is still caught.
        case closedByPeer
        /// The stream must end with this error; nothing more will be read.
        case failed(StreamError)
    }

    public let peerDomain: String
    public let localDomains: Set<String>
    private let parser: XMLStreamParser
    public private(set) var hasFailed = false

    public init(peerDomain: String, localDomains: Set<String>, limits: XMLStreamLimits) {
        self.peerDomain = peerDomain
        self.localDomains = localDomains
        self.parser = XMLStreamParser(limits: limits)
    }

    /// Reads `bytes` and returns what they completed, in order; a `.failed` event is always last.
    public mutating func read(_ bytes: UnsafeRawBufferPointer) -> [Event] {
        guard !hasFailed else { return [] }
        var parsed: [XMLStreamEvent] = []
        var parseFailure: XMLStreamError?
        do throws(XMLStreamError) {
            try parser.feed(bytes, into: &parsed)
        } catch {
            parseFailure = error
        }
        var events: [Event] = []
        for event in parsed {
            let handled = handle(event)
            events.append(handled)
            if case .failed = handled {
                hasFailed = true
                return events
            }
        }
        if let parseFailure {
            hasFailed = true
            events.append(.failed(StreamError(parseFailure)))
        }
        return events
    }

    public mutating func read(_ bytes: [UInt8]) -> [Event] {
        bytes.withUnsafeBytes { read($0) }
    }

    private func handle(_ event: XMLStreamEvent) -> Event {
        switch event {
        case .streamOpened(let raw):
            do throws(StreamError) {
                let header = try StreamHeader(raw, expectedContentNamespace: Namespace.server)
                guard let to = header.to, localDomains.contains(to.domainpart) else {
                    throw StreamError(.hostUnknown, text: "this gateway does not serve '\(header.to?.description ?? "")'")
                }
                if let from = header.from, from.domainpart != peerDomain {
                    throw StreamError(.invalidFrom, text: "the stream is authenticated for \(peerDomain), not \(from)")
                }
                return .opened(header)
            } catch {
                return .failed(error)
            }
        case .element(let element):
            return handleElement(element)
        case .streamClosed:
            return .closedByPeer
        }
    }

    private func handleElement(_ element: XMLElement) -> Event {
        let peerDomain = self.peerDomain
        switch InboundAddressing.check(element, localDomains: localDomains, isAuthenticated: { sender, _ in sender == peerDomain }) {
        case .stanza(let stanza): return .stanza(stanza)
        case .reply(let reply): return .reply(reply)
        case .fail(let error): return .failed(error)
        }
    }
}
