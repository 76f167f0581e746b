import Testing
import XMLStreaming

/// SplitMix64: a tiny, seedable generator so every failing case can be reproduced from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Generates element trees that exercise escaping and namespaces: every character class that needs
/// escaping, CR/LF/tab in attributes, non-ASCII from several scripts, astral-plane characters,
/// namespaced and `xml:` attributes, and elements that switch, repeat or undeclare namespaces.
struct TreeGenerator {
    var random: SeededGenerator

    static let namespaces = ["jabber:server", "urn:xmpp:receipts", "http://jabber.org/protocol/chatstates", "", "urn:x:a"]
    static let names = ["message", "body", "x", "item", "a-b", "ns.dot", "_u", "é", "数据"]
    static let alphabet: [String] = [
        "a", "Z", "0", " ", "&", "<", ">", "'", "\"", "\t", "\n", "\r", "]]>", "é", "ß", "Ж", "日", "🎉", "\u{301}", ";", "&amp;",
    ]

    mutating func text(maxLength: Int = 12) -> String {
        let length = Int.random(in: 1...maxLength, using: &random)
        return (0..<length).map { _ in Self.alphabet.randomElement(using: &random)! }.joined()
    }

    mutating func element(depth: Int = 0) -> XMLElement {
        var element = XMLElement(
            Self.names.randomElement(using: &random)!,
            namespace: Self.namespaces.randomElement(using: &random)!
        )
        var used = Set<String>()
        for _ in 0..<Int.random(in: 0...4, using: &random) {
            let namespace = ["", "", XMLNamespace.xml, "urn:attr:one"].randomElement(using: &random)!
            let name = namespace == XMLNamespace.xml ? "lang" : ["id", "to", "from", "type", "k"].randomElement(using: &random)!
            guard used.insert(namespace + " " + name).inserted else { continue }
            element.attributes.append(XMLAttribute(name, namespace: namespace, value: Bool.random(using: &random) ? text() : ""))
        }
        var lastWasText = false
        for _ in 0..<(depth < 4 ? Int.random(in: 0...4, using: &random) : 0) {
            if !lastWasText, Bool.random(using: &random) {
                element.children.append(.text(text()))
                lastWasText = true
            } else {
                element.children.append(.element(self.element(depth: depth + 1)))
                lastWasText = false
            }
        }
        return element
    }
}

@Suite("XMLSerializer")
struct SerializerPropertyTests {
    /// parse(serialize(tree)) == tree, streamed inside a real stream header with `jabber:server` as the
    /// default namespace and the `stream:` prefix in scope, as stanzas are written on the wire.
    @Test("parse(serialize(x)) == x for generated trees", arguments: 0..<20)
    func roundTrip(seed: UInt64) throws {
        var generator = TreeGenerator(random: SeededGenerator(state: seed))
        let serializer = XMLSerializer(defaultNamespace: "jabber:server", prefixes: ["http://etherx.jabber.org/streams": "stream"])
        for _ in 0..<50 {
            let tree = generator.element()
            let bytes = XMLSerializer.streamHeader(attributes: [], defaultNamespace: "jabber:server") + serializer.bytes(tree)
            let parser = XMLStreamParser(limits: .postAuthentication)
            var events: [XMLStreamEvent] = []
            try parser.feed(bytes, into: &events)
            #expect(events.count == 2)
            #expect(events.last == .element(tree), "seed \(seed): \(serializer.string(tree))")
        }
    }

    @Test("escaping of text and attribute values")
    func escaping() {
        let element = XMLElement(
            "body", namespace: "jabber:server",
            attributes: ["a": "'\"<&>\t\n\r"],
            children: [.text("<&>'\"\r\n\t")]
        )
        #expect(
            XMLSerializer(defaultNamespace: "jabber:server").string(element)
                == "<body a='&apos;&quot;&lt;&amp;&gt;&#9;&#10;&#13;'>&lt;&amp;&gt;'\"&#13;\n\t</body>"
        )
    }

    @Test("namespaces: inherited default, in-scope prefix, undeclared default, generated attribute prefix")
    func namespaces() {
        let element = XMLElement(
            "error", namespace: "http://etherx.jabber.org/streams",
            children: [
                .element(XMLElement("not-well-formed", namespace: "urn:ietf:params:xml:ns:xmpp-streams")),
                .element(XMLElement("bare", namespace: "", attributes: [XMLAttribute("k", namespace: "urn:a", value: "v")])),
            ])
        let serializer = XMLSerializer(defaultNamespace: "jabber:server", prefixes: ["http://etherx.jabber.org/streams": "stream"])
        #expect(
            serializer.string(element)
                == "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><bare xmlns='' xmlns:ns1='urn:a' ns1:k='v'/></stream:error>"
        )
    }

    @Test("characters XML cannot carry become U+FFFD instead of breaking the stream")
    func unrepresentable() {
        let element = XMLElement("body", namespace: "jabber:server", children: [.text("a\u{1}b\u{FFFE}")])
        #expect(XMLSerializer(defaultNamespace: "jabber:server").string(element) == "<body>a\u{FFFD}b\u{FFFD}</body>")
    }
}
