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
    }
}
