import Administration
import Configuration
import Federation
import Foundation
import PresenceModel
import Storage
import Testing
import XMPP

/// An `Administration` over a real SQLite file in a fresh temporary directory, removed afterwards.
func withAdministration(_ body: (Administration, SQLiteStore) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-admin-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteStore(path: directory.appendingPathComponent("store.sqlite").path)
    let administration = Administration(
        store: store, localDomains: ["contoso.example"], now: { Timestamp(secondsSinceEpoch: 1_700_000_000) }
    )
    try await body(administration, store)
}

/// The message an admin operation refuses with, or `nil` if it succeeds.
func refusal(_ operation: () async throws(AdminError) -> Void) async -> AdminError? {
    do throws(AdminError) {
        try await operation()
        return nil
    } catch {
        return error
    }
}

@Suite struct UserAdministrationTests {
    @Test func addedUsersAreListedAndTheirTokenFindsThem() async throws {
        try await withAdministration { admin, store in
            let token = try await admin.addUser("Alice@Contoso.example", name: "Alice")
            _ = try await admin.addUser("bob@contoso.example", name: nil)
            #expect(try await admin.users().map(\.jid) == ["alice@contoso.example", "bob@contoso.example"])
            #expect(try await admin.users().first?.name == "Alice")
            #expect(try await store.owner(ofToken: token) == .user(try JID("alice@contoso.example")))
        }
    }

    @Test func anEmptyNameIsRefusedBeforeAnythingIsStored() async throws {
        try await withAdministration { (admin: Administration, store: SQLiteStore) async throws in
            let failure = await refusal { () throws(AdminError) in _ = try await admin.addUser("carol@contoso.example", name: "") }
            #expect(failure?.message.contains("name must not be empty") == true)
            #expect(try await store.user(try JID("carol@contoso.example")) == nil)
        }
    }

    @Test func anExistingUserIsNotReplaced() async throws {
        try await withAdministration { admin, store in
            _ = try await admin.addUser("alice@contoso.example", name: "Alice")
            let failure = await refusal { () throws(AdminError) in _ = try await admin.addUser("alice@contoso.example", name: "Other") }
            #expect(failure?.message.contains("already a user") == true)
            #expect(failure?.exitCode == 2)
            #expect(try await store.user(try JID("alice@contoso.example"))?.name == "Alice")
        }
    }

    @Test(arguments: ["contoso.example", "alice@contoso.example/desk", "alice@fabrikam.example", "not a jid@@"])
    func usersOutsideOurDomainsOrNotBareAreRefused(_ text: String) async throws {
        try await withAdministration { admin, _ in
            let failure = await refusal { () throws(AdminError) in _ = try await admin.addUser(text, name: nil) }
            let users = try await admin.users()
            #expect(failure?.exitCode == 2)
            #expect(users.isEmpty)
        }
    }

    @Test func removingAUserRemovesTheirToken() async throws {
        try await withAdministration { admin, store in
            let token = try await admin.addUser("alice@contoso.example", name: nil)
            try await admin.removeUser("alice@contoso.example")
            #expect(try await admin.users().isEmpty)
            #expect(try await store.owner(ofToken: token) == nil)
            let failure = await refusal { () throws(AdminError) in try await admin.removeUser("alice@contoso.example") }
            #expect(failure?.message == "no internal user alice@contoso.example")
        }
    }

    @Test func aNewTokenRevokesTheOldOne() async throws {
        try await withAdministration { admin, store in
            let old = try await admin.addUser("alice@contoso.example", name: nil)
            let new = try await admin.replaceToken(of: "alice@contoso.example")
            #expect(new != old)
            #expect(try await store.owner(ofToken: old) == nil)
            #expect(try await store.owner(ofToken: new) == .user(try JID("alice@contoso.example")))
            let failure = await refusal { () throws(AdminError) in _ = try await admin.replaceToken(of: "bob@contoso.example") }
            #expect(failure?.message.contains("no internal user bob@contoso.example") == true)
        }
    }

    @Test func theFirstAdminTokenIsIssuedOnceAndLaterOnesOnRequest() async throws {
        try await withAdministration { admin, store in
            #expect(try await !store.hasAdminToken())
            let first = try #require(try await admin.issueAdminToken(onlyIfNone: true))
            #expect(try await store.owner(ofToken: first) == .admin)
            #expect(try await admin.issueAdminToken(onlyIfNone: true) == nil, "a restart keeps the token the operator holds")
            let second = try #require(try await admin.issueAdminToken(onlyIfNone: false))
            #expect(second != first)
            #expect(try await store.owner(ofToken: first) == .admin, "issuing another admin token revokes none")
        }
    }
}

@Suite struct DomainAdministrationTests {
    let filePartner = PartnerPolicy(domain: DomainPattern(exactly: "contoso-partner.example"), trust: .federated)

    @Test func allowBlockAndRemoveRoundTrip() async throws {
        try await withAdministration { admin, _ in
            let settings = PartnerSettings(
                domain: "Fabrikam.example", additionalDomains: ["*.fabrikam.example"], trust: "federated", tls: "required",
                sasl: "optional", dialback: true, route: "xmpp.fabrikam.example:5270", keepAlive: false, connectionLimit: 3,
                description: "Fabrikam"
            )
            try await admin.allow(settings)
            try await admin.block("spam.example")
            let shown = try #require(try await admin.domain("fabrikam.example", filePartners: [filePartner]))
            guard case .allow(let partner) = shown.change else {
                Issue.record("not allowed: \(shown)")
                return
            }
            #expect(partner.trust == .federated)
            #expect(partner.negotiation == NegotiationPolicy(tls: .required, sasl: .optional, supportDialback: true))
            #expect(partner.route?.description == "xmpp.fabrikam.example:5270")
            #expect(partner.additionalDomains.map(\.description) == ["*.fabrikam.example"])
            #expect(partner.keepAlive == false)
            #expect(partner.connectionLimit == 3)
            #expect(shown.details.contains("  description: Fabrikam"))
            #expect(
                try await admin.domains(filePartners: [filePartner]).map(\.pattern.description)
                    == ["contoso-partner.example", "fabrikam.example", "spam.example"]
            )

            try await admin.remove("fabrikam.example")
            try await admin.remove("contoso-partner.example")
            let entries = try await admin.domains(filePartners: [filePartner])
            #expect(entries.map(\.pattern.description) == ["contoso-partner.example", "spam.example"])
            #expect(entries.first?.change == .remove(DomainPattern(exactly: "contoso-partner.example")))
            #expect(entries.first?.summary.hasPrefix("contoso-partner.example  removed") == true)
            #expect(entries.last?.change == .block(DomainPattern(exactly: "spam.example")))
        }
    }

    @Test(arguments: [
        (PartnerSettings(domain: "fabrikam.example", trust: "friends"), "--trust"),
        (PartnerSettings(domain: "fabrikam.example", tls: "maybe"), "--tls"),
        (PartnerSettings(domain: "fabrikam.example", tls: "not-supported", sasl: "required", dialback: false), "fabrikam.example"),
        (PartnerSettings(domain: "fabrikam.example", route: "host:99999"), "--route"),
        (PartnerSettings(domain: "fabrikam.example", connectionLimit: 0), "--connection-limit"),
        (PartnerSettings(domain: "fabrikam.example", additionalDomains: ["bad domain"]), "--additional-domain"),
        (PartnerSettings(domain: "not a domain"), "<domain>"),
    ])
    func invalidPartnerOptionsAreRefusedWithNothingWritten(_ settings: PartnerSettings, naming option: String) async throws {
        try await withAdministration { admin, store in
            let failure = await refusal { () throws(AdminError) in try await admin.allow(settings) }
            #expect(failure?.exitCode == 2)
            #expect(failure?.message.contains(option) == true, "\(failure?.message ?? "accepted")")
            let changes = try await store.allowlistChanges()
            #expect(changes.isEmpty)
        }
    }

    @Test func invalidPatternsAreRefusedForBlockAndRemove() async throws {
        try await withAdministration { admin, store in
            #expect(await refusal { () throws(AdminError) in try await admin.block("a b") }?.exitCode == 2)
            #expect(await refusal { () throws(AdminError) in try await admin.remove("@x") }?.exitCode == 2)
            let changes = try await store.allowlistChanges()
            #expect(changes.isEmpty)
        }
    }
}

@Suite struct ArchiveAdministrationTests {
    static let alice = try! JID("alice@contoso.example")
    static let bob = try! JID("bob@fabrikam.example")

    @Test func theExportKeepsTheRangeItIsGiven() async throws {
        try await withAdministration { admin, store in
            try await store.saveUser(InternalUser(jid: Self.alice.description))
            for seconds in [1_700_000_010, 1_700_000_020, 1_700_000_030] as [Int64] {
                try await store.recordMessage(
                    MessageRecord(
                        user: Self.alice, contact: Self.bob, direction: .outbound, body: "at \(seconds)", messageID: nil,
                        at: Timestamp(secondsSinceEpoch: seconds)
                    )
                )
            }
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-export-\(UUID().uuidString).jsonl")
            defer { try? FileManager.default.removeItem(at: url) }
            #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
            let handle = try FileHandle(forWritingTo: url)
            let count = try await admin.exportArchive(to: handle, since: "2023-11-14T22:13:40Z", until: "2023-11-14T22:13:50Z")
            try handle.close()
            #expect(count == 1)
            let text = try String(contentsOf: url, encoding: .utf8)
            #expect(text.contains(#""body":"at 1700000020""#) && text.split(separator: "\n").count == 1, "\(text)")
        }
    }

    @Test(arguments: [
        ("yesterday", nil, "--since 'yesterday' is not an XEP-0082 date-time"),
        (nil, "2026-13-01T00:00:00Z", "--until '2026-13-01T00:00:00Z' is not an XEP-0082 date-time"),
        ("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z", "--since 2026-11-02T00:00:00Z is after --until"),
    ] as [(String?, String?, String)])
    func badRangesAreRefused(since: String?, until: String?, expected: String) async throws {
        try await withAdministration { admin, _ in
            let error = await refusal { () async throws(AdminError) in
                _ = try await admin.exportArchive(to: FileHandle.nullDevice, since: since, until: until)
            }
            #expect(error?.message.hasPrefix(expected) == true, "\(String(describing: error?.message))")
        }
    }
}
