import Federation
import Testing
import XMLStreaming
import XMPP

/// Wire helpers for the dialback tests: elements go through the real serializer and parser, with the
/// `db:` prefix declared on the stream as servers do, so the tests see what a peer would send.
enum DialbackWireFormat {
    /// The serializer inside an s2s stream whose header declared `xmlns='jabber:server'` and `db:`.
    static let serializer = XMLSerializer(
        defaultNamespace: Namespace.server,
        prefixes: [Namespace.dialback: "db", Namespace.streams: "stream"]
    )

    static let streamHeader =
        "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
        + "xmlns:db='jabber:server:dialback' from='a.example' to='b.example' id='s1' version='1.0'>"

    /// The depth-1 elements in `text`, parsed inside an s2s stream header.
    static func parse(_ text: String) throws -> [XMLElement] {
        let parser = XMLStreamParser()
        var events: [XMLStreamEvent] = []
        try parser.feed(Array((streamHeader + text).utf8), into: &events)
        return events.compactMap { if case .element(let element) = $0 { element } else { nil } }
    }

    /// Exactly one element parsed from `text`.
    static func parseOne(_ text: String) throws -> XMLElement {
        let elements = try parse(text)
        try #require(elements.count == 1)
        return elements[0]
    }

    static func string(_ element: XMLElement) -> String {
        serializer.string(element)
    }

    /// The element as a peer would receive it: serialized, then parsed again.
    static func transmit(_ element: XMLElement) throws -> XMLElement {
        try parseOne(string(element))
    }
}

/// Inputs shared by the dialback tests.
enum DialbackFixtures {
    /// XEP-0185 §3: the worked example.
    static let xep0185Secret = "s3cr3tf0rd14lb4ck"
    static let xep0185Key = "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643"

    /// XEP-0220 §2: capulet.example's and montague.example's secrets, and the stream IDs.
    static let capuletSecret = "s3cr3tf0rd14lb4ck"
    static let montagueSecret = "d14lb4ck43v3r"
    static let capuletToMontagueStreamID = "D60000229F"
    static let montagueToCapuletStreamID = "417GAF25"
    /// XEP-0220 Example 1: capulet.example's key on the stream to montague.example.
    static let capuletKey = "b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3"
    /// XEP-0220 Example 5: montague.example's key on the stream to capulet.example.
    static let montagueKey = "225cc5aa6a071133249d25fef42ae516fc7a86c523aa1c6980a7f73e784c972d"

    static let capulet = "capulet.example"
    static let montague = "montague.example"
    static let capuletToMontague = DialbackDomainPair(sender: capulet, target: montague)
}
