/// Bounds on what one peer may make us hold in memory. Counted per stanza (per depth-1 element),
/// so a long-lived stream is never penalised for its total volume. Tight before authentication,
/// looser after: switch by assigning `XMLStreamParser.limits`.
package struct XMLStreamLimits: Sendable, Hashable {
    /// Names the limit in error texts and configuration keys.
    package enum Limit: String, Sendable, Hashable, CaseIterable {
        case stanzaBytes = "max-stanza-bytes"
        case depth = "max-depth"
        case attributes = "max-attributes"
        case elements = "max-elements"
        case textBytes = "max-text-bytes"
    }

    /// Bytes from the end of the previous stanza (or whitespace) to the end of this one, including
    /// the stream header while it is being read.
    package var maxStanzaBytes: Int
    /// Element nesting counted from the stanza itself (the stanza is depth 1).
    package var maxDepth: Int
    /// Attributes on any single element.
    package var maxAttributes: Int
    /// Elements in one stanza, the stanza included.
    package var maxElements: Int
    /// Bytes of character data in one stanza.
    package var maxTextBytes: Int

    package init(maxStanzaBytes: Int, maxDepth: Int, maxAttributes: Int, maxElements: Int, maxTextBytes: Int) {
        self.maxStanzaBytes = maxStanzaBytes
        self.maxDepth = maxDepth
        self.maxAttributes = maxAttributes
        self.maxElements = maxElements
        self.maxTextBytes = maxTextBytes
    }

    /// Before the peer has authenticated, it only negotiates: 8 KiB and 32 elements are ejabberd's
    /// pre-auth figures and leave room for any real negotiation element.
    package static let preAuthentication = XMLStreamLimits(
        maxStanzaBytes: 8 * 1024, maxDepth: 8, maxAttributes: 16, maxElements: 32, maxTextBytes: 8 * 1024
    )

    /// After authentication: Prosody's s2s default of 512 KiB per stanza.
    package static let postAuthentication = XMLStreamLimits(
        maxStanzaBytes: 512 * 1024, maxDepth: 32, maxAttributes: 64, maxElements: 4096, maxTextBytes: 512 * 1024
    )

    package func value(of limit: Limit) -> Int {
        switch limit {
        case .stanzaBytes: maxStanzaBytes
        case .depth: maxDepth
        case .attributes: maxAttributes
        case .elements: maxElements
        case .textBytes: maxTextBytes
        }
    }

    package mutating func set(_ limit: Limit, to value: Int) {
        switch limit {
        case .stanzaBytes: maxStanzaBytes = value
        case .depth: maxDepth = value
        case .attributes: maxAttributes = value
        case .elements: maxElements = value
        case .textBytes: maxTextBytes = value
        }
    }
}
