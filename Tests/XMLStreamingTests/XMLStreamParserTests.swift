import Testing
import XMLStreaming

/// Feeds `input` in chunks of `chunkSize` bytes and returns the events and the error, if any.
func parse(
    _ input: [UInt8],
    chunkSize: Int? = nil,
    limits: XMLStreamLimits = .postAuthentication
) -> (events: [XMLStreamEvent], error: XMLStreamError?) {
    let parser = XMLStreamParser(limits: limits)
    var events: [XMLStreamEvent] = []
    let size = chunkSize ?? max(input.count, 1)
    var offset = 0
    do throws(XMLStreamError) {
        repeat {
            let end = min(offset + size, input.count)
            try parser.feed(Array(input[offset..<end]), into: &events)
            offset = end
        } while offset < input.count
    } catch {
        return (events, error)
    }
    return (events, nil)
}

func parse(_ input: String, chunkSize: Int? = nil, limits: XMLStreamLimits = .postAuthentication) -> (
    events: [XMLStreamEvent], error: XMLStreamError?
) {
    parse(Array(input.utf8), chunkSize: chunkSize, limits: limits)
}

let openStream: String =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='fabrikam.example' to='contoso.example' version='1.0' xml:lang='en'>"

let restrictedInputs: [String] = [
        "<!DOCTYPE stream [<!ENTITY a 'b'>]>" + openStream,
        openStream + "<!-- a comment -->",
        openStream + "<message><!-- inside --></message>",
        openStream + "<?pi data?>",
        "<?xml-stylesheet href='x'?>" + openStream,
        openStream + "<message><body>&custom;</body></message>",
        "<!DOCTYPE lol [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]><lol>&lol2;</lol>",
    ]

let malformedInputs: [String] = [
        openStream + "<message></presence>",
        openStream + "<message to='a' to='b'/>",
        openStream + "<message><body>\u{0}</body></message>",
        openStream + "<x:message/>",
        openStream + "<'/>",
        openStream + "</stream:stream><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
        openStream + "</stream:stream>junk",
        openStream + "<message><?xml version='1.0'?></message>",
    ]

let invalidNamespaceInputs: [String] = [
        "<stream:stream xmlns:stream='urn:wrong' xmlns='jabber:server'>",
        "<stream xmlns='jabber:server'>",
        "<html><body/></html>",
    ]

@Suite("XMLStreamParser")
struct XMLStreamParserTests {
    @Test("reports the stream header with its attributes and namespace declarations")
    func header() throws {
        let (events, error) = parse(openStream)
        #expect(error == nil)
        guard case .streamOpened(let opened) = try #require(events.first) else {
            Issue.record("expected streamOpened, got \(events)")
            return
        }
        #expect(opened.name == "stream")
        #expect(opened.namespace == "http://etherx.jabber.org/streams")
        #expect(opened.attribute("from") == "fabrikam.example")
        #expect(opened.attribute("version") == "1.0")
        #expect(opened.attribute("lang", namespace: XMLNamespace.xml) == "en")
        #expect(opened.defaultNamespace == "jabber:server")
        #expect(opened.namespaceDeclarations["db"] == "jabber:server:dialback")
    }

    @Test("delivers each depth-1 element as a complete tree with namespaces resolved")
    func stanzas() {
        let input: String = openStream
            + "<message to='a@contoso.example' type='chat'><body xml:lang='de'>Grüße &amp; &#x263A;</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>"
            + "  \n<db:result from='a' to='b'>key</db:result></stream:stream>"
        let (events, error) = parse(input)
        #expect(error == nil)
        #expect(events.count == 4)
        let message = XMLElement(
            "message", namespace: "jabber:server", attributes: ["to": "a@contoso.example", "type": "chat"],
            children: [
                .element(
                    XMLElement(
                        "body", namespace: "jabber:server",
                        attributes: [XMLAttribute("lang", namespace: XMLNamespace.xml, value: "de")],
                        children: [.text("Grüße & ☺")])),
                .element(XMLElement("active", namespace: "http://jabber.org/protocol/chatstates")),
            ])
        #expect(events[1] == .element(message))
        #expect(events[2] == .element(XMLElement("result", namespace: "jabber:server:dialback", attributes: ["from": "a", "to": "b"], children: [.text("key")])))
        #expect(events[3] == .streamClosed)
    }

    @Test("names shared by every parser and names only this stream uses resolve alike, whichever comes first")
    func sharedAndOwnNames() {
        // More distinct names than a parser's own cache has slots, so that some of them collide.
        let others = (0..<100).map { "<e\($0) xmlns='urn:example:\($0 % 7)'/>" }.joined()
        let input = openStream + "<message><x xmlns='jabber:x:oob'><url>u</url></x>" + others + "<body>b</body></message>"
            + "<presence><c xmlns='http://jabber.org/protocol/caps' node='n'/><x xmlns='jabber:x:oob'/>" + others + "</presence>"
        let (events, error) = parse(input)
        #expect(error == nil)
        let otherElements: [XMLNode] = (0..<100).map { .element(XMLElement("e\($0)", namespace: "urn:example:\($0 % 7)")) }
        let oob = XMLElement("x", namespace: "jabber:x:oob", children: [.element(XMLElement("url", namespace: "jabber:x:oob", children: [.text("u")]))])
        let message = XMLElement(
            "message", namespace: "jabber:server",
            children: [.element(oob)] + otherElements + [.element(XMLElement("body", namespace: "jabber:server", children: [.text("b")]))])
        let presence = XMLElement(
            "presence", namespace: "jabber:server",
            children: [
                .element(XMLElement("c", namespace: "http://jabber.org/protocol/caps", attributes: ["node": "n"])),
                .element(XMLElement("x", namespace: "jabber:x:oob")),
            ] + otherElements)
        #expect(events.dropFirst().first == .element(message))
        #expect(events.dropFirst(2).first == .element(presence))
    }

    @Test("one byte at a time yields exactly the events of the whole input", arguments: [1, 2, 3, 7, 64])
    func chunking(chunkSize: Int) {
        let input: String = openStream
            + "<message to='b@contoso.example'><body>日本語 ✓ 🎉 Ærøskøbing &lt;&gt;&apos;&quot;</body><thread parent='p'>t1</thread></message>"
            + " \t\r\n"
            + "<presence><show>dnd</show><status xml:lang='fr'>Réunion</status><idle xmlns='urn:xmpp:idle:1' since='2026-11-24T10:00:00Z'/></presence>"
            + "<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq><![CDATA[]]>"
        let whole = parse(input)
        let chunked = parse(input, chunkSize: chunkSize)
        #expect(chunked.events == whole.events)
        #expect(chunked.error == whole.error)
        #expect(whole.events.count == 4)
    }

    @Test("restricted XML ends the stream with restricted-xml", arguments: restrictedInputs)
    func restricted(input: String) {
        let (_, error) = parse(input)
        #expect(error?.kind == .restrictedXML)
        #expect(parse(input, chunkSize: 1).error?.kind == .restrictedXML)
    }

    @Test("malformed input ends the stream with not-well-formed", arguments: malformedInputs)
    func malformed(input: String) {
        let (_, error) = parse(input)
        #expect(error?.kind == .notWellFormed)
    }

    @Test("a wrong root or stream namespace is invalid-namespace", arguments: invalidNamespaceInputs)
    func invalidNamespace(input: String) {
        #expect(parse(input).error?.kind == .invalidNamespace)
    }

    @Test("invalid UTF-8 and foreign encodings are unsupported-encoding")
    func encoding() {
        var bytes = Array((openStream + "<message><body>").utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("</body></message>".utf8)
        #expect(parse(bytes).error?.kind == .unsupportedEncoding)
        #expect(parse(bytes, chunkSize: 1).error?.kind == .unsupportedEncoding)
        #expect(parse(Array(openStream.utf8) + [0xFF, 0xFE]).error?.kind == .unsupportedEncoding)
        let latin1 = "<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"
        #expect(parse(latin1).error?.kind == .unsupportedEncoding)
    }

    @Test("text between stanzas is bad-format; whitespace keepalives are fine")
    func textBetweenStanzas() {
        #expect(parse(openStream + "  \n\t  <presence/>  ").error == nil)
        let (events, error) = parse(openStream + "<presence/>hello<presence/>")
        #expect(error?.kind == .badFormat)
        #expect(events.count == 2, "the stanza before the text is still delivered")
    }

    @Test("each limit ends the stream with policy-violation naming the limit")
    func limits() {
        let tight = XMLStreamLimits(maxStanzaBytes: 300, maxDepth: 3, maxAttributes: 4, maxElements: 5, maxTextBytes: 20)
        let cases: [(String, XMLStreamLimits.Limit)] = [
            ("<message><a><b><c/></b></a></message>", .depth),
            ("<message a='1' b='2' c='3' d='4' e='5'/>", .attributes),
            ("<message><a/><a/><a/><a/><a/></message>", .elements),
            ("<message><body>\(String(repeating: "x", count: 21))</body></message>", .textBytes),
            ("<message to='\(String(repeating: "x", count: 400))'/>", .stanzaBytes),
            ("<message><a x='\(String(repeating: "y", count: 150))'/><a x='\(String(repeating: "y", count: 150))'/></message>", .stanzaBytes),
        ]
        for (stanza, limit) in cases {
            for chunkSize in [nil, 1] {
                let error = parse(openStream + stanza, chunkSize: chunkSize, limits: tight).error
                #expect(error?.kind == .limitExceeded(limit), "\(limit) with chunk size \(String(describing: chunkSize))")
                #expect(error?.detail.contains(limit.rawValue) == true)
            }
        }
        #expect(parse(openStream + "<message><a><b/></a></message>", limits: tight).error == nil)
    }

    @Test("a huge attribute is refused while it streams in, long before it ends")
    func memoryBounded() throws {
        let parser = XMLStreamParser(limits: .preAuthentication)
        var events: [XMLStreamEvent] = []
        try parser.feed(Array((openStream + "<message to='").utf8), into: &events)
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1024)
        var fed = 0
        var failure: XMLStreamError?
        while fed < 10 << 20 {
            do throws(XMLStreamError) {
                try parser.feed(chunk, into: &events)
            } catch {
                failure = error
                break
            }
            fed += chunk.count
        }
        #expect(failure?.kind == .limitExceeded(.stanzaBytes))
        #expect(fed <= XMLStreamLimits.preAuthentication.maxStanzaBytes)
    }

    @Test("whitespace keepalives never add up to a stanza-size violation")
    func keepalives() throws {
        let limits = XMLStreamLimits(maxStanzaBytes: 100, maxDepth: 4, maxAttributes: 4, maxElements: 4, maxTextBytes: 100)
        let parser = XMLStreamParser(limits: limits)
        var events: [XMLStreamEvent] = []
        try parser.feed(Array(openStream.utf8), into: &events)
        for _ in 0..<1000 { try parser.feed([0x20], into: &events) }
        try parser.feed(Array("<presence/>".utf8), into: &events)
        #expect(events.count == 2)
    }

    @Test("errors are final and events before the error are kept")
    func stickyErrors() throws {
        let parser = XMLStreamParser()
        var events: [XMLStreamEvent] = []
        #expect(throws: XMLStreamError.self) {
            try parser.feed(Array((openStream + "<presence/><!-- x -->").utf8), into: &events)
        }
        #expect(events.count == 2)
        #expect(throws: XMLStreamError.self) { try parser.feed(Array("<presence/>".utf8), into: &events) }
        #expect(events.count == 2)
    }

    @Test("restart parses a fresh stream header, as after STARTTLS or SASL")
    func restart() throws {
        let parser = XMLStreamParser()
        var events: [XMLStreamEvent] = []
        try parser.feed(Array((openStream + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").utf8), into: &events)
        #expect(events.count == 2)
        parser.restart()
        events.removeAll()
        try parser.feed(Array((openStream + "<presence/>").utf8), into: &events)
        #expect(events.count == 2)
        if case .streamOpened = events[0] {} else { Issue.record("expected a new header after restart") }
    }
}

@Suite("XMLStreamParser bookkeeping")
struct XMLStreamParserBookkeepingTests {
    @Test("bytes after the last element are counted, so STARTTLS injection can be refused")
    func bytesAfterLastElement() throws {
        let parser = XMLStreamParser()
        var events: [XMLStreamEvent] = []
        try parser.feed(Array((openStream + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").utf8), into: &events)
        #expect(parser.bytesAfterLastElement == 0)
        try parser.feed(Array("<presence".utf8), into: &events)
        #expect(parser.bytesAfterLastElement == 9)
    }
}
