import Crypto
import Federation
import Foundation
import Testing

@Suite("Dialback keys (XEP-0185)")
struct DialbackKeyTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var secret: String
        var receiving: String
        var originating: String
        var streamID: String
        var key: String
        var source: String

        var testDescription: String { source }
    }

    /// Published vectors, plus one with the domains swapped that was computed independently (Python
    /// `hmac.new(hashlib.sha256(b'd14lb4ck43v3r').hexdigest().encode(), b'montague.example
    /// capulet.example 417GAF25', hashlib.sha256)`), which shows that the order matters.
    static let vectors = [
        Vector(
            secret: DialbackFixtures.xep0185Secret, receiving: "xmpp.example.com", originating: "example.org",
            streamID: "D60000229F", key: DialbackFixtures.xep0185Key, source: "XEP-0185 §3"
        ),
        Vector(
            secret: DialbackFixtures.capuletSecret, receiving: DialbackFixtures.montague, originating: DialbackFixtures.capulet,
            streamID: DialbackFixtures.capuletToMontagueStreamID, key: DialbackFixtures.capuletKey, source: "XEP-0220 Example 1"
        ),
        Vector(
            secret: DialbackFixtures.montagueSecret, receiving: DialbackFixtures.capulet, originating: DialbackFixtures.montague,
            streamID: DialbackFixtures.montagueToCapuletStreamID, key: DialbackFixtures.montagueKey, source: "XEP-0220 Example 5"
        ),
        Vector(
            secret: DialbackFixtures.montagueSecret, receiving: DialbackFixtures.montague, originating: DialbackFixtures.capulet,
            streamID: DialbackFixtures.montagueToCapuletStreamID,
            key: "9e6a0158705a76c7fe6d1d3cdcdda37324eb5926a9bd11157505177816b2a426", source: "Example 5 with the domains swapped"
        ),
    ]

    @Test("generation matches the published and independently computed keys", arguments: vectors)
    func generation(vector: Vector) {
        let key = DialbackKey(
            secret: DialbackSecret(vector.secret),
            receivingServer: vector.receiving,
            originatingServer: vector.originating,
            streamID: vector.streamID
        )
        #expect(key.rawValue == vector.key)
    }

    /// The XEP-0185 recipe spelled out with swift-crypto directly: the HMAC key is the hex *text* of
    /// SHA-256(secret), and the message is "receiving originating streamID".
    static func independentKey(secret: String, receiving: String, originating: String, streamID: String) -> String {
        let hashedSecret = SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
        let code = HMAC<SHA256>.authenticationCode(
            for: Data("\(receiving) \(originating) \(streamID)".utf8),
            using: SymmetricKey(data: Data(hashedSecret.utf8))
        )
        return code.map { String(format: "%02x", $0) }.joined()
    }

    @Test(
        "generation matches the recipe computed with swift-crypto directly",
        arguments: [
            ("a secret", "fabrikam.example", "contoso.example", "abc123"),
            ("", "b.example", "a.example", "0"),
            ("ünïcödé secret ✓", "xn--bcher-kva.example", "rooms.contoso.example", "id with spaces"),
        ]
    )
    func independent(secret: String, receiving: String, originating: String, streamID: String) {
        let key = DialbackKey(secret: DialbackSecret(secret), receivingServer: receiving, originatingServer: originating, streamID: streamID)
        let expected = Self.independentKey(secret: secret, receiving: receiving, originating: originating, streamID: streamID)
        #expect(key.rawValue == expected)
        #expect(key.rawValue.count == 64)
    }

    @Test("the XEP-0185 example key verifies, in either case of hex digit")
    func verifies() {
        let secret = DialbackSecret(DialbackFixtures.xep0185Secret)
        for text in [DialbackFixtures.xep0185Key, DialbackFixtures.xep0185Key.uppercased()] {
            #expect(
                DialbackKey(rawValue: text)
                    .isValid(secret: secret, receivingServer: "xmpp.example.com", originatingServer: "example.org", streamID: "D60000229F")
            )
        }
    }

    static let genuine = DialbackFixtures.xep0185Key

    @Test(
        "a wrong, truncated or malformed key is refused",
        arguments: [
            String(genuine.dropLast()) + "4",
            "4" + String(genuine.dropFirst()),
            String(genuine.dropLast(2)),
            genuine + "00",
            "",
            String(genuine.dropLast()) + "g",
            " " + genuine,
        ]
    )
    func refusesWrongKeys(text: String) {
        let key = DialbackKey(rawValue: text)
        #expect(
            !key.isValid(
                secret: DialbackSecret(DialbackFixtures.xep0185Secret),
                receivingServer: "xmpp.example.com", originatingServer: "example.org", streamID: "D60000229F"
            )
        )
    }

    @Test("a genuine key is refused for another stream, another direction or another secret")
    func refusesOtherContexts() {
        let key = DialbackKey(rawValue: DialbackFixtures.xep0185Key)
        let secret = DialbackSecret(DialbackFixtures.xep0185Secret)
        #expect(!key.isValid(secret: secret, receivingServer: "xmpp.example.com", originatingServer: "example.org", streamID: "D60000229G"))
        #expect(!key.isValid(secret: secret, receivingServer: "example.org", originatingServer: "xmpp.example.com", streamID: "D60000229F"))
        #expect(
            !key.isValid(
                secret: DialbackSecret("another secret"),
                receivingServer: "xmpp.example.com", originatingServer: "example.org", streamID: "D60000229F"
            )
        )
    }

    @Test("the secret never shows up in a description")
    func redacted() {
        let secret = DialbackSecret(DialbackFixtures.xep0185Secret)
        #expect(!String(describing: secret).contains(DialbackFixtures.xep0185Secret))
        #expect(!String(reflecting: secret).contains(DialbackFixtures.xep0185Secret))
        var dumped = ""
        dump(secret, to: &dumped)
        let hashedSecretText = "a7136eb1f46c9ef18c5e78c36ca257067c69b3d518285f0b18a96c33beae9acc"
        #expect(!dumped.contains(hashedSecretText))
        #expect(!dumped.contains("hmacKey"))
    }
}
