import FixtureReplay
import Foundation
import Testing

/// The repository's `Fixtures/` folder, found from this file's location.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path

let allFixtures: [Fixture] = (try? FixtureLibrary.load(directory: fixturesDirectory)) ?? []

@Suite("Fixture replay")
struct FixtureReplayTests {
    @Test("the fixture library loads and is big enough")
    func library() throws {
        let fixtures = try FixtureLibrary.load(directory: fixturesDirectory)
        #expect(fixtures.count >= 60)
        #expect(fixtures.filter { $0.name.hasPrefix("hostile/") }.count >= 20)
        #expect(fixtures.filter { $0.name.hasPrefix("negotiation/") }.count >= 20)
    }

    @Test("each fixture passes with every block fed whole", arguments: allFixtures.map(\.name))
    func whole(name: String) throws {
        let fixture = try #require(allFixtures.first { $0.name == name })
        let result = FixtureRunner.run(fixture)
        #expect(result.failure == nil, "\(result.failure ?? "")")
    }

    @Test("each fixture passes when fed one byte at a time", arguments: allFixtures.map(\.name))
    func byteAtATime(name: String) throws {
        let fixture = try #require(allFixtures.first { $0.name == name })
        let result = FixtureRunner.run(fixture, chunkSize: 1)
        #expect(result.failure == nil, "\(result.failure ?? "")")
    }

    /// Alice watched by Bob, then Alice turns Busy.
    static let busyAlice = """
        # Busy is dnd
        [Setup]
        \t<partner domain='fabrikam.example' trust='federated'/>
        \t<user jid='alice@contoso.example'/>
        \t<contact user='alice@contoso.example' jid='bob@fabrikam.example' subscription='both'/>
        -----
        alice@contoso.example does:
        \t<set-presence availability='6500'/>

        """

    @Test("changing one expected stanza makes a fixture fail with a readable diff")
    func mutation() throws {
        let text = Self.busyAlice + """
            fabrikam.example receives:
            \t<presence from='alice@contoso.example/consulate' to='bob@fabrikam.example'>
            \t\t<show>SHOW</show>
            \t\t<status>Busy</status>
            \t</presence>
            """
        let good = FixtureRunner.run(try FixtureParser.parse(text.replacingOccurrences(of: "SHOW", with: "dnd"), name: "good"))
        #expect(good.passed)
        let bad = FixtureRunner.run(try FixtureParser.parse(text.replacingOccurrences(of: "SHOW", with: "away"), name: "bad"))
        let failure = try #require(bad.failure)
        #expect(failure.contains("-   <show>away</show>"))
        #expect(failure.contains("+   <show>dnd</show>"))
    }

    @Test("output nobody expected fails the fixture")
    func unexpectedOutput() throws {
        let result = FixtureRunner.run(try FixtureParser.parse(Self.busyAlice, name: "unconsumed"))
        #expect(result.failure?.contains("unexpected output to fabrikam.example") == true)
    }

    /// A partner with the default policy connects; the gateway answers with its header and features.
    static let negotiationStart = """
        # Negotiation starts
        [Setup]
        \t<partner domain='fabrikam.example' trust='federated'/>
        \t<user jid='alice@contoso.example'/>
        -----
        fabrikam.example connects
        fabrikam.example receives:
        \t<stream:stream from='contoso.example' to='fabrikam.example' id='ID' version='1.0' xml:lang='en'/>
        \t<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>

        """

    /// Runs `text` whole and one byte at a time; both runs must end the same way.
    static func runBothWays(_ text: String) throws -> String? {
        let fixture = try FixtureParser.parse(text, name: "inline")
        let whole = FixtureRunner.run(fixture).failure
        let byByte = FixtureRunner.run(fixture, chunkSize: 1).failure
        #expect(whole == byByte)
        return whole
    }

    @Test("a negotiated stream's header is matched like a stanza, stream id included")
    func negotiationMutation() throws {
        #expect(try Self.runBothWays(Self.negotiationStart.replacingOccurrences(of: "ID", with: "stream-1")) == nil)
        let failure = try #require(try Self.runBothWays(Self.negotiationStart.replacingOccurrences(of: "ID", with: "stream-7")))
        #expect(failure.contains("- <stream") && failure.contains("id='stream-7'"))
        #expect(failure.contains("+ <stream") && failure.contains("id='stream-1'"))
    }

    @Test("data behind <starttls/> is refused however the bytes are split")
    func starttlsInjection() throws {
        let start = Self.negotiationStart.replacingOccurrences(of: "ID", with: "stream-1")
        let proceed = "fabrikam.example receives:\n\t<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n"
        let starttls = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        let injected = start + "fabrikam.example sends:\n\t\(starttls)<iq type='get' id='x'/>\n" + proceed
            + "fabrikam.example is disconnected with policy-violation \"before TLS\"\n"
        #expect(try Self.runBothWays(injected) == nil)
        let later = start + "fabrikam.example sends:\n\t\(starttls)\n" + proceed + "fabrikam.example sends:\n\t<iq type='get' id='x'/>\n"
            + "fabrikam.example is disconnected with policy-violation \"before TLS\"\n"
        #expect(try Self.runBothWays(later) == nil)
        let clean = start + "fabrikam.example sends:\n\t\(starttls)\n" + proceed + "fabrikam.example completes TLS with no certificate\n"
        #expect(try Self.runBothWays(clean) == nil)
    }

    @Test("steps the negotiation cannot take fail with a message instead of guessing")
    func negotiationScriptErrors() throws {
        let start = Self.negotiationStart.replacingOccurrences(of: "ID", with: "stream-1")
        let early = try #require(try Self.runBothWays(start + "fabrikam.example completes TLS with no certificate\n"))
        #expect(early.contains("no TLS handshake under way"))
        let unasked = try #require(try Self.runBothWays(start + "fabrikam.example's authoritative server answers valid\n"))
        #expect(unasked.contains("no verification waiting"))
        let direct = Self.negotiationStart.replacingOccurrences(of: "ID", with: "stream-1")
            .replacingOccurrences(of: "connects\n", with: "connects with direct TLS and a certificate for fabrikam.example\n")
            .replacingOccurrences(of: "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>", with: "")
        let restart = direct.replacingOccurrences(of: "<stream:features></stream:features>", with: """
            <stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>EXTERNAL</mechanism></mechanisms></stream:features>
            """)
            + "fabrikam.example sends:\n\t<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>"
            + "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='contoso.example' version='1.0'>\n"
        let pipelined = try #require(try Self.runBothWays(restart))
        #expect(pipelined.contains("end the block there"))
    }

    @Test("a configuration refusal must happen, with the expected text")
    func configurationRefusal() throws {
        let refused = "# r\n[Setup]\n\t<partner domain='fabrikam.example' tls='not-supported' sasl='required' dialback='false'/>\n-----\n"
        #expect(try Self.runBothWays(refused + "the configuration is refused with \"no way to authenticate\"\n") == nil)
        let wrongText = try #require(try Self.runBothWays(refused + "the configuration is refused with \"something else\"\n"))
        #expect(wrongText.contains("does not contain 'something else'"))
        let accepted = "# a\n[Setup]\n\t<partner domain='fabrikam.example'/>\n-----\nthe configuration is refused with \"anything\"\n"
        #expect(try Self.runBothWays(accepted)?.contains("the configuration was accepted") == true)
    }

    @Test("syntax errors name the line")
    func syntaxError() {
        #expect(throws: FixtureSyntaxError.self) {
            try FixtureParser.parse("# t\n-----\nfabrikam.example shouts:\n", name: "x")
        }
        do {
            _ = try FixtureParser.parse("# t\n-----\nfabrikam.example shouts:\n", name: "x")
        } catch {
            #expect(error.line == 3)
        }
        for step in ["fabrikam.example completes TLS with a smile", "fabrikam.example is authenticated by magic", "fabrikam.example's authoritative server shrugs"] {
            do {
                _ = try FixtureParser.parse("# t\n-----\n\n\(step)\n", name: "x")
                Issue.record("'\(step)' was accepted")
            } catch {
                #expect(error.line == 4)
            }
        }
    }
}
