import Crypto

/// The secret that dialback keys are derived from (XEP-0185 §2), shared by every server that must
/// answer for our domains as Authoritative Server. In Consulate one process is both the Initiating
/// and the Authoritative Server, so a random value per process (as Prosody uses) works as well as a
/// configured one; only a cluster needs the configured one.
///
/// Only the HMAC key derived from the secret is kept, never the secret itself, and neither is ever
/// printed or reflected (`dump` included): a leaked secret lets anyone forge dialback keys for our
/// domains.
package struct DialbackSecret: Sendable, CustomStringConvertible, CustomReflectable {
    /// XEP-0185 §2: the HMAC key is the *hexadecimal text* of SHA-256(secret), not the 32 raw digest
    /// bytes. The worked example in §3 only comes out right this way.
    fileprivate let hmacKey: SymmetricKey

    /// Derives the HMAC key from the secret's UTF-8 bytes.
    package init(_ secret: String) {
        let digest = SHA256.hash(data: Array(secret.utf8))
        hmacKey = SymmetricKey(data: Array(DialbackHex.encode(digest).utf8))
    }

    /// Redacted, so the secret cannot end up in a log by accident.
    package var description: String { "DialbackSecret(redacted)" }

    /// No children, so reflection-based printing shows nothing of the key either.
    package var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// A dialback key: the character data of a `<db:result/>` request and of a `<db:verify/>` request.
///
/// Keys we generate follow XEP-0185 §2:
/// `hex(HMAC-SHA256(hex(SHA256(secret)), receiving + " " + originating + " " + streamID))`,
/// where the spaces keep `example.in` + `form.example.org` apart from `example.info` +
/// `rm.example.org`. Keys we receive from other servers are opaque text: only the Authoritative
/// Server that issued a key can judge it.
package struct DialbackKey: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    package let rawValue: String

    /// A key as it appeared on the wire (surrounding XML white space already removed).
    package init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Generates the key for a stream from `originatingServer` to `receivingServer` whose response
    /// header carried `streamID`. The domains are used exactly as given, so pass the canonical
    /// domainparts (`JID.domainpart`) that the dialback elements also carry.
    package init(secret: DialbackSecret, receivingServer: String, originatingServer: String, streamID: String) {
        let code = HMAC<SHA256>.authenticationCode(
            for: Self.authenticatedText(receivingServer, originatingServer, streamID),
            using: secret.hmacKey
        )
        rawValue = DialbackHex.encode(code)
    }

    /// Whether this key is the one `secret` gives for the stream, as the Authoritative Server must
    /// decide for a `<db:verify/>` (XEP-0220 §2.2.2).
    ///
    /// The comparison runs in constant time (swift-crypto's HMAC validation), so the time taken
    /// does not tell a forger how many leading bytes of a guess were right. Upper-case hex digits
    /// are accepted, since XEP-0185 only says "hexadecimal"; anything that is not 64 hex digits is
    /// refused before any comparison, which reveals only its length, not the secret.
    package func isValid(secret: DialbackSecret, receivingServer: String, originatingServer: String, streamID: String) -> Bool {
        guard let code = DialbackHex.decode(rawValue), code.count == SHA256.byteCount else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(
            code,
            authenticating: Self.authenticatedText(receivingServer, originatingServer, streamID),
            using: secret.hmacKey
        )
    }

    package var description: String { rawValue }

    private static func authenticatedText(_ receiving: String, _ originating: String, _ streamID: String) -> [UInt8] {
        Array("\(receiving) \(originating) \(streamID)".utf8)
    }
}

/// Lower-case hexadecimal text, as XEP-0185 asks for both the hashed secret and the key.
private enum DialbackHex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(SHA256.byteCount * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes spelled by an even number of hex digits of either case, or `nil`.
    static func decode(_ text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let high = value(of: characters[index]), let low = value(of: characters[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
