public import Translation
public import XMLStreaming
public import XMPP

/// The gateway core as a fixture sees it: one inbound s2s stream per partner domain feeding the
/// translator, and queues of everything the gateway said to each actor. No sockets: bytes go in
/// exactly as a peer would write them and come out as the elements the gateway would write.
///
/// The remote streams here are already authenticated (negotiation belongs to the federation links);
/// everything after that—parsing, RFC 6120 stream checks, addressing checks, translation—is the
/// production code path.
public struct ReplayGateway {
    /// What the gateway produced for one actor.
    public enum Output: Sendable, Hashable {
        case stanza(XMLElement)
        case event(XMLElement)
        case streamError(StreamError)
    }

    public private(set) var translator: Translator
    public private(set) var outputs: [String: [Output]] = [:]
    private var streams: [String: RemoteStream] = [:]
    private let parserLimits: XMLStreamLimits

    final class RemoteStream {
        let parser: XMLStreamParser
        var opened = false
        /// The gateway ended the stream (after a stream error).
        var closed = false
        var peerClosed = false

        init(limits: XMLStreamLimits) {
            parser = XMLStreamParser(limits: limits)
        }
    }

    public init(translator: Translator, parserLimits: XMLStreamLimits) {
        self.translator = translator
        self.parserLimits = parserLimits
    }

    /// Whether the gateway has already sent the standard stream header's worth of bytes for `domain`.
    public func streamIsOpen(for domain: String) -> Bool { streams[domain]?.opened ?? false }

    public func streamIsClosed(for domain: String) -> Bool { streams[domain]?.closed ?? false }

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
        let stream = streams[domain] ?? RemoteStream(limits: parserLimits)
        streams[domain] = stream
        guard !stream.closed else { return }
        let size = max(chunkSize ?? bytes.count, 1)
        var offset = 0
        var events: [XMLStreamEvent] = []
        while offset < bytes.count, !stream.closed {
            let end = min(offset + size, bytes.count)
            events.removeAll(keepingCapacity: true)
            var failure: XMLStreamError?
            do throws(XMLStreamError) {
                try stream.parser.feed(Array(bytes[offset..<end]), into: &events)
            } catch {
                failure = error
            }
            for event in events where !stream.closed {
                handle(event, on: stream, from: domain)
            }
            if let failure, !stream.closed {
                close(stream, of: domain, with: StreamError(failure))
            }
            offset = end
        }
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

    private mutating func handle(_ event: XMLStreamEvent, on stream: RemoteStream, from domain: String) {
        switch event {
        case .streamOpened(let header):
            stream.opened = true
            do throws(StreamError) {
                let validated = try StreamHeader(header, expectedContentNamespace: Namespace.server)
                guard let to = validated.to, translator.configuration.localDomains.contains(to.domainpart) else {
                    throw StreamError(.hostUnknown, text: "this gateway does not serve '\(validated.to?.description ?? "")'")
                }
                if let from = validated.from, from.description != domain {
                    throw StreamError(.invalidFrom, text: "the stream is authenticated for \(domain), not \(from)")
                }
            } catch {
                close(stream, of: domain, with: error)
            }
        case .element(let element):
            handleElement(element, on: stream, from: domain)
        case .streamClosed:
            // The peer is done; keep reading so that anything it sends after the close is caught
            // as the error it is (the parser refuses junk after the root).
            stream.peerClosed = true
        }
    }

    private mutating func handleElement(_ element: XMLElement, on stream: RemoteStream, from domain: String) {
        let stanza: Stanza
        do throws(AddressingError) {
            guard let parsed = try Stanza(element) else {
                return close(stream, of: domain, with: StreamError(.unsupportedStanzaType, text: "unexpected {\(element.namespace)}\(element.name)"))
            }
            stanza = parsed
        } catch {
            if error.attribute == "from" {
                return close(stream, of: domain, with: StreamError(.invalidFrom, text: error.description))
            }
            let reply = Stanza.errorReply(to: element, error: StanzaError(.jidMalformed, text: error.description))
            if let reply { append(.stanza(reply), for: domain) }
            return
        }
        guard let from = stanza.from, let to = stanza.to else {
            return close(stream, of: domain, with: StreamError(.improperAddressing, text: "stanzas between servers need 'from' and 'to'"))
        }
        guard from.domainpart == domain else {
            return close(stream, of: domain, with: StreamError(.invalidFrom, text: "'\(from.domainpart)' is not authenticated on this stream"))
        }
        guard translator.configuration.localDomains.contains(to.domainpart) else {
            return close(stream, of: domain, with: StreamError(.hostUnknown, text: "this gateway does not serve '\(to.domainpart)'"))
        }
        route(translator.receive(stanza))
    }

    private mutating func close(_ stream: RemoteStream, of domain: String, with error: StreamError) {
        stream.closed = true
        append(.streamError(error), for: domain)
    }

    private mutating func route(_ results: [TranslatorOutput]) {
        for result in results {
            switch result {
            case .send(let element):
                let domain = element["to"].flatMap { try? JID($0) }?.domainpart ?? ""
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
