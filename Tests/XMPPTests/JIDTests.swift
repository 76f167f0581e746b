import Foundation
import Testing
import XMPP

@Suite("JIDs (RFC 7622)")
struct JIDTests {
    // MARK: - Splitting

    @Test("a domain alone has no localpart and no resource")
    func domainOnly() throws {
        let jid = try JID("example.com")
        #expect(jid.localpart == nil)
        #expect(jid.domainpart == "example.com")
        #expect(jid.resourcepart == nil)
        #expect(jid.isDomain && jid.isBare && !jid.isFull)
    }

    @Test("a bare JID has a localpart and a domainpart")
    func bareJID() throws {
        let jid = try JID("juliet@example.com")
        #expect(jid.localpart == "juliet")
        #expect(jid.domainpart == "example.com")
        #expect(jid.resourcepart == nil)
        #expect(jid.isBare && !jid.isDomain)
    }

    @Test("a full JID has all three parts")
    func fullJID() throws {
        let jid = try JID("juliet@example.com/balcony")
        #expect(jid.localpart == "juliet")
        #expect(jid.domainpart == "example.com")
        #expect(jid.resourcepart == "balcony")
        #expect(jid.isFull && !jid.isBare && !jid.isDomain)
    }

    @Test("the first '/' starts the resource, which may hold '/' and '@'")
    func resourceWithSeparators() throws {
        let jid = try JID("juliet@example.com/foo/bar@baz@qux")
        #expect(jid.localpart == "juliet")
        #expect(jid.domainpart == "example.com")
        #expect(jid.resourcepart == "foo/bar@baz@qux")

        let noLocal = try JID("example.com/a@b")
        #expect(noLocal.localpart == nil)
        #expect(noLocal.domainpart == "example.com")
        #expect(noLocal.resourcepart == "a@b")
    }

    @Test("separators are found by code point even when a combining mark follows them")
    func splitsOnCodePoints() throws {
        let jid = try JID("juliet@example.com/\u{301}x")
        #expect(jid.resourcepart?.unicodeScalars.map(\.value) == [0x301, 0x78])
        #expect(jid.domainpart == "example.com")
    }

    @Test("a second '@' before the resource belongs to the domainpart, which refuses it")
    func secondAtSign() {
        #expect(throws: JIDError.self) { try JID("a@b@c") }
        #expect(throws: JIDError.self) { try JID("a@b@c/r") }
    }

    @Test("empty input and empty parts are errors", arguments: ["", "@", "@example.com", "example.com/", "juliet@example.com/", "juliet@", "/r", "juliet@/r", "@/"])
    func emptyParts(text: String) {
        #expect(throws: JIDError.self) { try JID(text) }
    }

    // MARK: - Localpart

    @Test("ASCII localparts are lowercased; resources keep their case")
    func asciiCaseFolding() throws {
        let mixed = try JID("Juliet@Example.COM/Balcony")
        #expect(mixed == (try JID("juliet@example.com/Balcony")))
        #expect(mixed.description == "juliet@example.com/Balcony")
        #expect(mixed != (try JID("juliet@example.com/balcony")))
    }

    @Test("non-ASCII localparts are put in NFC")
    func localpartNFC() throws {
        let jid = try JID("e\u{301}lodie@example.com")
        #expect(jid.localpart?.unicodeScalars.map(\.value) == [0xE9, 0x6C, 0x6F, 0x64, 0x69, 0x65])
        #expect(jid == (try JID("\u{E9}lodie@example.com")))
    }

    @Test("non-ASCII localparts are lowercased", arguments: [
        ("ÉLODIE", "élodie"), ("ΑΘΗΝΑ", "αθηνα"), ("Straße", "straße"), ("ДМИТРИЙ", "дмитрий"),
    ])
    func localpartCaseMapping(input: String, expected: String) throws {
        #expect(try JID("\(input)@example.com").localpart == expected)
    }

    @Test("fullwidth localparts are width-mapped to their ASCII forms")
    func localpartWidthMapping() throws {
        let jid = try JID("ＪＵＬＩＥＴ@example.com")
        #expect(jid.localpart == "juliet")
        #expect(jid == (try JID("juliet@example.com")))
    }

    @Test("letters and digits of other scripts are valid localparts", arguments: ["用户", "ملك", "नमस्ते", "ユーザー", "٣٤٥", "l\u{B7}l"])
    func internationalLocalparts(local: String) throws {
        #expect(try JID("\(local)@example.com").localpart == local)
    }

    @Test("characters RFC 7622 §3.3.1 excludes, spaces and controls are refused in the localpart", arguments: [
        "\"", "&", "'", ":", "<", ">", " ", "\t", "\u{0}", "\u{7F}",
    ])
    func localpartExcludedASCII(character: String) {
        #expect(throws: JIDError.self) { try JID("ju\(character)liet@example.com") }
    }

    @Test("the localpart refuses symbols, punctuation, spaces, format, private-use and unassigned code points", arguments: [
        0x2603, 0x00A1, 0x00A0, 0x3000, 0x2028, 0x200B, 0x200D, 0xE000, 0x0378, 0xFDD0, 0x0085, 0x1100, 0x0640,
    ] as [UInt32])
    func localpartDisallowedUnicode(codePoint: UInt32) throws {
        let scalar = try #require(Unicode.Scalar(codePoint))
        #expect(throws: JIDError.self) { try JID("ju\(Character(scalar))liet@example.com") }
    }

    @Test("the localpart refuses compatibility characters", arguments: ["\u{FB01}", "\u{2460}", "\u{2126}x\u{00BD}", "\u{1D400}"])
    func localpartCompatibilityForms(text: String) {
        #expect(throws: JIDError.self) { try JID("a\(text)@example.com") }
    }

    @Test("contextual code points are allowed only in their context")
    func contextualRules() throws {
        #expect(throws: JIDError.self) { try JID("a\u{B7}b@example.com") }
        #expect(throws: JIDError.self) { try JID("\u{200D}a@example.com") }
        #expect(throws: JIDError.self) { try JID("\u{661}\u{6F1}@example.com") }
        #expect(try JID("\u{915}\u{94D}\u{200D}@example.com").localpart == "\u{915}\u{94D}\u{200D}")
    }

    @Test("'@' and '/' cannot be smuggled into a localpart given separately")
    func localpartSeparatorsFromParts() {
        #expect(throws: JIDError.self) { try JID(localpart: "a@b", domainpart: "example.com", resourcepart: nil) }
        #expect(throws: JIDError.self) { try JID(localpart: "a/b", domainpart: "example.com", resourcepart: nil) }
        #expect(throws: JIDError.self) { try JID(localpart: "", domainpart: "example.com", resourcepart: nil) }
        #expect(throws: JIDError.self) { try JID(localpart: nil, domainpart: "example.com/r", resourcepart: nil) }
    }

    @Test("the localpart may be 1023 bytes but not 1024")
    func localpartLength() throws {
        #expect(try JID(String(repeating: "a", count: 1023) + "@example.com").localpart?.utf8.count == 1023)
        #expect(throws: JIDError.self) { try JID(String(repeating: "a", count: 1024) + "@example.com") }
        #expect(try JID(String(repeating: "é", count: 511) + "a@example.com").localpart?.utf8.count == 1023)
        #expect(throws: JIDError.self) { try JID(String(repeating: "é", count: 512) + "@example.com") }
        #expect(throws: JIDError.self) { try JID(String(repeating: "e\u{301}", count: 512) + "@example.com") }
    }

    // MARK: - Domainpart

    @Test("one trailing dot is stripped from the domainpart")
    func trailingDot() throws {
        #expect(try JID("juliet@example.com.") == (try JID("juliet@example.com")))
        #expect(try JID("example.com./r").description == "example.com/r")
        #expect(try JID("192.0.2.1.").domainpart == "192.0.2.1")
        #expect(throws: JIDError.self) { try JID("example.com..") }
        #expect(throws: JIDError.self) { try JID("juliet@.") }
    }

    @Test("internationalised domainparts are lowercased and put in NFC", arguments: [
        ("BÜCHER.example", "bücher.example"), ("bu\u{308}cher.EXAMPLE", "bücher.example"), ("ПРИМЕР.РФ", "пример.рф"),
        ("例子.测试", "例子.测试"), ("ｅｘａｍｐｌｅ.com", "example.com"), ("straße.de", "straße.de"), ("नमस्ते.भारत", "नमस्ते.भारत"),
    ])
    func internationalDomains(input: String, expected: String) throws {
        #expect(try JID("user@\(input)").domainpart == expected)
    }

    @Test("ASCII-compatible labels are valid LDH labels and are kept as they are")
    func aLabels() throws {
        #expect(try JID("XN--BCHER-KVA.example").domainpart == "xn--bcher-kva.example")
        #expect(throws: JIDError.self) { try JID("xn--bücher.example") }
        #expect(throws: JIDError.self) { try JID("ab--ü.example") }
    }

    @Test("malformed domainparts are refused", arguments: [
        "a..b", ".example.com", "-example.com", "example-.com", "exa-.mple.com", "mail.-example.com", "exa mple.com",
        "exa_mple.com", "example.com:5222", "exa\u{2603}mple.com", "例子。测试", "\u{301}a.example", "a\u{200B}b.example",
        "a\u{E000}.example", "exa\u{00A0}mple.com", "ex\u{0378}.com", "a[b].com", "a\u{20DD}.example",
    ])
    func malformedDomains(domain: String) {
        #expect(throws: JIDError.self) { try JID("juliet@\(domain)") }
    }

    @Test("domain labels may be 63 bytes and names 253 bytes, but no more")
    func domainLengths() throws {
        let label63 = String(repeating: "a", count: 63)
        #expect(try JID("\(label63).example").domainpart == "\(label63).example")
        #expect(throws: JIDError.self) { try JID("\(label63)a.example") }
        #expect(throws: JIDError.self) { try JID(String(repeating: "é", count: 32) + ".example") }
        let name253 = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(try JID(name253).domainpart.utf8.count == 253)
        #expect(throws: JIDError.self) { try JID(name253 + "b") }
        let longUnicodeName = Array(repeating: String(repeating: "ü", count: 30), count: 5).joined(separator: ".")
        #expect(throws: JIDError.self) { try JID(longUnicodeName) }
    }

    @Test("IPv4 addresses are valid domainparts; numeric names that are not IPv4 addresses are not")
    func ipv4() throws {
        let jid = try JID("juliet@192.0.2.1/r")
        #expect(jid.domainpart == "192.0.2.1")
        #expect(try JID("0.0.0.0").domainpart == "0.0.0.0")
        for bad in ["1.2.3.256", "01.2.3.4", "1.2.3", "1.2.3.4.5", "123", "example.123", "1..2.3"] {
            #expect(throws: JIDError.self, "\(bad)") { try JID(bad) }
        }
        #expect(try JID("1.2.3.4.example").domainpart == "1.2.3.4.example")
    }

    @Test("IPv6 literals are valid and written in RFC 5952 canonical form", arguments: [
        ("[::1]", "[::1]"), ("[0:0:0:0:0:0:0:1]", "[::1]"), ("[2001:DB8::1]", "[2001:db8::1]"), ("[::]", "[::]"),
        ("[2001:0db8:0000:0000:0000:ff00:0042:8329]", "[2001:db8::ff00:42:8329]"),
        ("[2001:db8:0:0:1:0:0:1]", "[2001:db8::1:0:0:1]"), ("[1:0:0:2:0:0:0:3]", "[1:0:0:2::3]"),
        ("[2001:db8:0:1:1:1:1:1]", "[2001:db8:0:1:1:1:1:1]"), ("[1:2:3:4:5:6:7::]", "[1:2:3:4:5:6:7:0]"),
        ("[::FFFF:192.0.2.1]", "[::ffff:192.0.2.1]"), ("[::ffff:c000:201]", "[::ffff:192.0.2.1]"),
        ("[1:2:3:4:5:6:1.2.3.4]", "[1:2:3:4:5:6:102:304]"), ("[fe80::]", "[fe80::]"),
    ])
    func ipv6(input: String, canonical: String) throws {
        let jid = try JID("juliet@\(input)/r")
        #expect(jid.domainpart == canonical)
        #expect(try JID(jid.description) == jid)
    }

    @Test("malformed IPv6 literals are refused", arguments: [
        "[::1", "::1", "[]", "[1:2:3:4:5:6:7:8:9]", "[1:2:3:4:5:6:7]", "[1::2::3]", "[12345::]", "[::g]", "[1.2.3.4]",
        "[:1]", "[1:]", "[:::]", "[::1%eth0]", "[::1.2.3]", "[1:2:3:4:5:6:7:1.2.3.4]", "[::01.2.3.4]", "[::1]x",
    ])
    func malformedIPv6(domain: String) {
        #expect(throws: JIDError.self) { try JID(domain) }
    }

    // MARK: - Resourcepart

    @Test("resources keep case and spaces, and are put in NFC")
    func resourceNormalisation() throws {
        #expect(try JID("a@example.com/ Mobile Phone ").resourcepart == " Mobile Phone ")
        #expect(try JID("a@example.com/cafe\u{301}").resourcepart == "caf\u{E9}")
        #expect(try JID("a@example.com/x\u{3000}y\u{A0}z").resourcepart == "x y z")
        #expect(try JID("a@example.com/\u{2603} \u{FB01} ½ «quoted»").resourcepart == "\u{2603} \u{FB01} ½ «quoted»")
        #expect(try JID("a@example.com/ＡＢ").resourcepart == "ＡＢ")
    }

    @Test("resources refuse controls, format, private-use and unassigned code points", arguments: [
        0x07, 0x00, 0x09, 0x0A, 0x7F, 0x85, 0x2028, 0x200B, 0xFEFF, 0xE000, 0x0378, 0xFFFF, 0x10FFFF,
    ] as [UInt32])
    func resourceDisallowed(codePoint: UInt32) throws {
        let scalar = try #require(Unicode.Scalar(codePoint))
        #expect(throws: JIDError.self) { try JID("a@example.com/re\(Character(scalar))source") }
    }

    @Test("the resourcepart may be 1023 bytes but not 1024")
    func resourceLength() throws {
        #expect(try JID("a@example.com/" + String(repeating: "r", count: 1023)).resourcepart?.utf8.count == 1023)
        #expect(throws: JIDError.self) { try JID("a@example.com/" + String(repeating: "r", count: 1024)) }
        #expect(throws: JIDError.self) { try JID("a@example.com/" + String(repeating: "ü", count: 512)) }
    }

    // MARK: - Derivation, equality, ordering

    @Test("bare and domain drop the resource and then the localpart")
    func derivation() throws {
        let full = try JID("Juliet@Example.com/Balcony")
        #expect(full.bare == (try JID("juliet@example.com")))
        #expect(full.bare.isBare && !full.bare.isDomain)
        #expect(full.domain == (try JID("example.com")))
        #expect(full.domain.isDomain)
        #expect(try JID("example.com/r").bare == (try JID("example.com")))
        #expect(try full.withResource("Orchard") == (try JID("juliet@example.com/Orchard")))
        #expect(try full.withResource(nil) == full.bare)
        #expect(throws: JIDError.self) { try full.withResource("") }
    }

    @Test("building from parts matches parsing the joined string")
    func fromParts() throws {
        let built = try JID(localpart: "Juliet", domainpart: "Example.COM.", resourcepart: "Balcony/1")
        #expect(built == (try JID("juliet@example.com/Balcony/1")))
        #expect(try JID(localpart: nil, domainpart: "[::1]", resourcepart: nil).description == "[::1]")
    }

    @Test("the description is canonical and parses back to an equal JID", arguments: [
        ("Juliet@Example.COM/Balcony", "juliet@example.com/Balcony"), ("example.com.", "example.com"),
        ("ＪＵＬＩＥＴ@BÜCHER.example/ü", "juliet@bücher.example/ü"), ("a@[0::0:1]/x/y", "a@[::1]/x/y"),
        ("e\u{301}@example.com", "\u{E9}@example.com"), ("example.com/@", "example.com/@"),
    ])
    func descriptionRoundTrip(input: String, canonical: String) throws {
        let jid = try JID(input)
        #expect(jid.description == canonical)
        let reparsed = try JID(jid.description)
        #expect(reparsed == jid)
        #expect(reparsed.localpart == jid.localpart && reparsed.domainpart == jid.domainpart && reparsed.resourcepart == jid.resourcepart)
    }

    @Test("equal addresses hash alike")
    func hashing() throws {
        let spellings = ["juliet@example.com", "JULIET@EXAMPLE.COM", "juliet@example.com.", "ｊｕｌｉｅｔ@Example.Com"]
        #expect(Set(try spellings.map { try JID($0) }).count == 1)
    }

    @Test("ordering is by the canonical string")
    func ordering() throws {
        let jids = try ["b@example.com", "a.example", "a@example.com/z", "a@example.com", "A@example.com/b"].map { try JID($0) }
        #expect(jids.sorted().map(\.description) == ["a.example", "a@example.com", "a@example.com/b", "a@example.com/z", "b@example.com"])
        #expect(try JID("a.c") < (try JID("a@b")))
        #expect(!(try JID("a@b") < (try JID("a@b"))))
    }

    @Test("a JID encodes as its canonical string and decoding validates")
    func codable() throws {
        let jid = try JID("Juliet@Example.com/Balcony")
        let data = try JSONEncoder().encode([jid])
        #expect(try JSONDecoder().decode([String].self, from: data) == ["juliet@example.com/Balcony"])
        #expect(try JSONDecoder().decode([JID].self, from: data) == [jid])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([JID].self, from: Data(#"["@example.com"]"#.utf8)) }
    }

    @Test("parse keeps absent attributes absent")
    func parseOptional() throws {
        #expect(try JID.parse(nil) == nil)
        #expect(try JID.parse("a@b") == (try JID("a@b")))
        #expect(throws: JIDError.self) { try JID.parse("") }
    }

    @Test("errors name the rule without echoing long input")
    func errorReasons() {
        let hostile = String(repeating: "\u{2603}", count: 100_000)
        for input in [hostile + "@example.com", "a@" + hostile, "a@example.com/\u{7}" + hostile, "a@" + String(repeating: "a", count: 5000)] {
            do {
                _ = try JID(input)
                Issue.record("accepted a malformed JID")
            } catch {
                #expect(error.reason.utf8.count < 200)
                #expect(!error.reason.isEmpty)
            }
        }
        #expect(throws: JIDError("the localpart may not contain '<'")) { try JID("a<b@example.com") }
        #expect(throws: JIDError("the domainpart has an empty label")) { try JID("a..b") }
    }
}
