import PresenceModel
import Testing

@Suite("Partner trust")
struct PartnerTrustTests {
    @Test("PartnerType semantics (§4)")
    func semantics() {
        #expect(PartnerTrust.federated.autoApprovesInboundSubscriptions)
        #expect(PartnerTrust.federated.mayMessageNonContacts)
        #expect(PartnerTrust.federated.allowsNotes)

        #expect(PartnerTrust.publicVerified.autoApprovesInboundSubscriptions)
        #expect(PartnerTrust.publicVerified.mayMessageNonContacts)
        #expect(!PartnerTrust.publicVerified.allowsNotes)

        #expect(!PartnerTrust.publicUnverified.autoApprovesInboundSubscriptions)
        #expect(!PartnerTrust.publicUnverified.mayMessageNonContacts)
        #expect(!PartnerTrust.publicUnverified.allowsNotes)
    }

    @Test("the default is PublicUnverified")
    func defaultTrust() {
        #expect(PartnerTrust.default == .publicUnverified)
    }

    @Test("tokens and Lync PartnerType names round-trip", arguments: PartnerTrust.allCases)
    func names(trust: PartnerTrust) {
        #expect(PartnerTrust(rawValue: trust.rawValue) == trust)
        #expect(PartnerTrust(partnerType: trust.partnerType) == trust)
        #expect(trust.description == trust.rawValue)
    }

    @Test("token spellings")
    func spellings() {
        #expect(PartnerTrust.allCases.map(\.rawValue) == ["federated", "public-verified", "public-unverified"])
        #expect(PartnerTrust.allCases.map(\.partnerType) == ["Federated", "PublicVerified", "PublicUnverified"])
        #expect(PartnerTrust(partnerType: "federated") == nil)
    }

    static let effective: [(PartnerTrust, AccessLevel, AccessLevel)] = [
        (.federated, .external, .external),
        (.federated, .colleagues, .colleagues),
        (.federated, .workgroup, .workgroup),
        (.federated, .friendsAndFamily, .friendsAndFamily),
        (.federated, .blocked, .blocked),
        (.publicVerified, .external, .external),
        (.publicVerified, .colleagues, .external),
        (.publicVerified, .workgroup, .external),
        (.publicVerified, .friendsAndFamily, .external),
        (.publicVerified, .blocked, .blocked),
        (.publicUnverified, .external, .external),
        (.publicUnverified, .colleagues, .external),
        (.publicUnverified, .workgroup, .external),
        (.publicUnverified, .friendsAndFamily, .external),
        (.publicUnverified, .blocked, .blocked),
    ]

    @Test("the table covers every trust × level pair")
    func tableComplete() {
        let pairs = Set(Self.effective.map { "\($0.0.rawValue)/\($0.1.token)" })
        #expect(pairs.count == PartnerTrust.allCases.count * AccessLevel.allCases.count)
    }

    @Test("effective level = min(ceiling, contact level); Blocked always wins", arguments: effective)
    func effectiveLevel(trust: PartnerTrust, level: AccessLevel, expected: AccessLevel) {
        let effective = trust.effectiveLevel(for: level)
        #expect(effective == expected)
        #expect(effective == (level == .blocked ? .blocked : min(trust.ceiling, level)))
        // §3.3: notes only when the partner is Federated and the contact was promoted.
        #expect(effective.canSeeNote == (trust.allowsNotes && [.colleagues, .workgroup, .friendsAndFamily].contains(level)))
        #expect(effective.seesRealState == (level != .blocked))
    }

    @Test("ceilings")
    func ceilings() {
        #expect(PartnerTrust.federated.ceiling == .friendsAndFamily)
        #expect(PartnerTrust.publicVerified.ceiling == .external)
        #expect(PartnerTrust.publicUnverified.ceiling == .external)
    }
}
