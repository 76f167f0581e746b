public import Translation
public import XMLStreaming
public import XMPP

/// The gateway core as a fixture sees it: one authenticated inbound s2s stream per partner domain
/// feeding the translator, and queues of everything the gateway said to each actor. No sockets:
/// bytes go in exactly as a peer would write them and come out as the elements the gateway would
/// write. Negotiation belongs to the federation links; from the first byte after it on, this is the
/// production path (`AuthenticatedStreamReader`, then `Translator`).
public struct ReplayGateway {
    /// What the gateway produced for one actor.
    public enum Output: Sendable, Hashable {
        case stanza(XMLElement)
        case event(XMLElement)
        case streamError(StreamError)
    }

    public private(set) var translator: Translator
    public private(set) var outputs: [String: [Output]] = [:]
    private var streams: [String: AuthenticatedStreamReader] = [:]
    private var opened: Set<String> = []
    private let parserLimits: XMLStreamLimits

    public init(translator: Translator, parserLimits: XMLStreamLimits) {
        self.translator = translator
        self.parserLimits = parserLimits
    }

    /// Whether `domain`'s server has sent its stream header.
    public func streamIsOpen(for domain: String) -> Bool { opened.contains(domain) }

    /// Whether the gateway ended `domain`'s stream with a stream error.
    public func streamIsClosed(for domain: String) -> Bool { streams[domain]?.hasFailed ?? false }

    /// The header a partner's server writes when it opens its stream to us.
    public func standardHeader(from domain: String) -> [UInt8] {
        let local = translator.configuration.localDomains.sorted().first ?? "localhost"
        return Array(
            ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
                + "xmlns:db='jabber:server:dialback' from='\(domain)' to='\(local)' version='1.0'>").utf8
        )
    }

    /// Feeds bytes written by `domain`'s server, `chunkSize` bytes at a time (all at once if `nil`).
    public mutating func receive(_ bytes: [UInt8], from domain: String, chunkSize: Int?) {
        var reader = streams[domain]
            ?? AuthenticatedStreamReader(peerDomain: domain, localDomains: translator.configuration.localDomains, limits: parserLimits)
        let size = max(chunkSize ?? bytes.count, 1)
        var offset = 0
        while offset < bytes.count, !reader.hasFailed {
            let end = min(offset + size, bytes.count)
            for event in bytes[offset..<end].withUnsafeBytes({ reader.read($0) }) {
                switch event {
                case .opened: opened.insert(domain)
                case .stanza(let stanza): route(translator.receive(stanza))
                case .reply(let reply): append(.stanza(reply), for: domain)
                case .closedByPeer: break
                case .failed(let error): append(.streamError(error), for: domain)
                }
            }
            offset = end
        }
        streams[domain] = reader
    }

    /// Runs an internal action through the translator.
    public mutating func perform(_ action: InternalAction) {
        route(translator.perform(action))
    }

    /// Removes and returns the oldest output waiting for `actor`.
    public mutating func takeOutput(for actor: String) -> Output? {
        guard var queue = outputs[actor], !queue.isEmpty else { return nil }
        let first = queue.removeFirst()
        outputs[actor] = queue
        return first
    }

    private mutating func route(_ results: [TranslatorOutput]) {
        for result in results {
            switch result {
            case .send(let element):
                let domain = (try? JID.parse(element["to"]))??.domainpart ?? ""
                append(.stanza(element), for: domain)
            case .notify(let user, let event):
                append(.event(FixtureNotation.element(for: event)), for: user.description)
            }
        }
    }

    private mutating func append(_ output: Output, for actor: String) {
        outputs[actor, default: []].append(output)
    }
}
