import Crypto
import PresenceModel
import XMLStreaming
import XMPP

/// Checks done before any write, so that a refused call writes nothing.
enum Validate {
    /// A bare JID in normalised form: rows are keyed by this text, so a variant spelling would
    /// create a second user or contact rather than find the first.
    static func bareJID(_ text: String, field: String) throws(StorageError) -> JID {
        let jid: JID
        do throws(JIDError) {
            jid = try JID(text)
        } catch {
            throw .invalidJID(field: field, value: text, reason: error.reason)
        }
        guard jid.isBare else {
            throw .invalidJID(field: field, value: text, reason: "a bare JID is needed, without a resource")
        }
        guard jid.description == text else {
            throw .invalidJID(field: field, value: text, reason: "not in normalised form; use '\(jid)'")
        }
        return jid
    }

    /// A `JID` value is valid by construction; this only insists on bareness where rows are per
    /// bare address (users, contacts, history).
    static func bare(_ jid: JID, field: String) throws(StorageError) {
        guard jid.isBare else {
            throw .invalidJID(field: field, value: jid.description, reason: "a bare JID is needed, without a resource")
        }
    }

    static func presence(_ presence: RichPresence) throws(StorageError) {
        do throws(RichPresence.ValidationError) {
            try presence.validate()
        } catch {
            throw .invalidPresence(error.description)
        }
    }
}

/// Stanzas are stored as the XML text `XMLSerializer` writes, with every namespace declared on the
/// element itself, and read back with the stream parser: the same code that reads them from peers.
enum StanzaText {
    private static let streamOpen = "<stream:stream xmlns:stream='\(xmppStreamNamespace)'>"
    private static let streamClose = "</stream:stream>"

    static func encode(_ element: XMLElement) -> String {
        XMLSerializer().string(element)
    }

    static func decode(_ text: String) throws(StorageError) -> XMLElement {
        let parser = XMLStreamParser(limits: .postAuthentication)
        var events: [XMLStreamEvent] = []
        do throws(XMLStreamError) {
            try parser.feed(Array((streamOpen + text + streamClose).utf8), into: &events)
        } catch {
            throw .corrupt("a stored stanza does not parse: \(error.detail)")
        }
        let elements = events.compactMap { event -> XMLElement? in
            if case .element(let element) = event { element } else { nil }
        }
        guard elements.count == 1, let element = elements.first else {
            throw .corrupt("a stored stanza is not exactly one element")
        }
        return element
    }
}

/// Bearer tokens are `<selector>.<secret>`, both random hex. The selector finds the row (it is not
/// secret, so looking it up by index leaks nothing); only SHA-256 of the secret is stored, and it is
/// compared in constant time, so neither a stolen database nor response timing gives a usable token.
enum TokenCodec {
    static let selectorBytes = 8
    static let secretBytes = 32

    static func generate() -> (token: String, selector: String, secretHash: [UInt8]) {
        let selector = hex(randomBytes(selectorBytes))
        let secret = hex(randomBytes(secretBytes))
        return ("\(selector).\(secret)", selector, hash(secret))
    }

    /// The selector and the hash of the secret, or `nil` when the text cannot be a token at all.
    static func split(_ token: String) -> (selector: String, secretHash: [UInt8])? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == selectorBytes * 2, parts[1].utf8.count == secretBytes * 2,
            parts.allSatisfy({ $0.utf8.allSatisfy(isLowerHex) })
        else { return nil }
        return (String(parts[0]), hash(String(parts[1])))
    }

    static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// Compares every byte whatever the first difference, so the time taken says nothing about
    /// how much of a guess was right.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    /// From the system's cryptographic generator, through swift-crypto.
    private static func randomBytes(_ count: Int) -> [UInt8] {
        SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Array($0) }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
