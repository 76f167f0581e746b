import Federation
import XMPP
import Testing

/// One row of Microsoft's "XMPP Federation Negotiation Methods Matrix - Complete" (reference
/// `presence-and-partners.md` §6), as the expected outcome for that combination.
struct MatrixRow: Sendable, CustomTestStringConvertible {
    var row: Int
    var tls: NegotiationRequirement
    var sasl: NegotiationRequirement
    var dialback: Bool
    /// Empty for the invalid rows.
    var expected: [AuthenticationMethod]
    var warns: Bool

    var negotiation: NegotiationPolicy { NegotiationPolicy(tls: tls, sasl: sasl, supportDialback: dialback) }
    var testDescription: String { "row \(row): \(negotiation)" }
}

let matrix: [MatrixRow] = [
    MatrixRow(row: 1, tls: .required, sasl: .required, dialback: true, expected: [.saslOverTLS], warns: true),
    MatrixRow(row: 2, tls: .required, sasl: .required, dialback: false, expected: [.saslOverTLS], warns: false),
    MatrixRow(row: 3, tls: .optional, sasl: .required, dialback: true, expected: [.saslOverTLS, .tlsDialback, .tcpDialback], warns: true),
    MatrixRow(row: 4, tls: .optional, sasl: .required, dialback: false, expected: [.saslOverTLS], warns: true),
    MatrixRow(row: 5, tls: .notSupported, sasl: .required, dialback: true, expected: [.tcpDialback], warns: true),
    MatrixRow(row: 6, tls: .notSupported, sasl: .required, dialback: false, expected: [], warns: false),
    MatrixRow(row: 7, tls: .required, sasl: .optional, dialback: true, expected: [.saslOverTLS, .tlsDialback], warns: false),
    MatrixRow(row: 8, tls: .required, sasl: .optional, dialback: false, expected: [.saslOverTLS], warns: false),
    MatrixRow(row: 9, tls: .optional, sasl: .optional, dialback: true, expected: [.saslOverTLS, .tlsDialback, .tcpDialback], warns: true),
    MatrixRow(row: 10, tls: .optional, sasl: .optional, dialback: false, expected: [.saslOverTLS], warns: true),
    MatrixRow(row: 11, tls: .notSupported, sasl: .optional, dialback: true, expected: [.tcpDialback], warns: true),
    MatrixRow(row: 12, tls: .notSupported, sasl: .optional, dialback: false, expected: [], warns: false),
    MatrixRow(row: 13, tls: .required, sasl: .notSupported, dialback: true, expected: [.tlsDialback], warns: false),
    MatrixRow(row: 14, tls: .required, sasl: .notSupported, dialback: false, expected: [], warns: false),
    MatrixRow(row: 15, tls: .optional, sasl: .notSupported, dialback: true, expected: [.tlsDialback, .tcpDialback], warns: false),
    MatrixRow(row: 16, tls: .optional, sasl: .notSupported, dialback: false, expected: [], warns: false),
    MatrixRow(row: 17, tls: .notSupported, sasl: .notSupported, dialback: true, expected: [.tcpDialback], warns: false),
    MatrixRow(row: 18, tls: .notSupported, sasl: .notSupported, dialback: false, expected: [], warns: false),
]

@Suite("Policy: TLS × SASL × dialback matrix")
struct PolicyNegotiationTests {
    @Test("the table covers all 18 combinations, each once, in Microsoft's order")
    func complete() {
        let combinations = Set(matrix.map { "\($0.negotiation)" })
        #expect(combinations.count == 18)
        #expect(matrix.map(\.row) == Array(1...18))
        #expect(matrix.filter { $0.expected.isEmpty }.map(\.row) == [6, 12, 14, 16, 18])
    }

    @Test("each row has its number, expected authentication, validity and warnings", arguments: matrix)
    func row(_ row: MatrixRow) {
        let negotiation = row.negotiation
        #expect(negotiation.matrixRow == row.row)
        #expect(negotiation.expectedAuthentication == row.expected)
        #expect(negotiation.isValid == !row.expected.isEmpty)
        #expect((negotiation.problem != nil) == row.expected.isEmpty)
        #expect(negotiation.warnings.isEmpty == !row.warns)
    }

    @Test("a partner in an invalid row is refused, naming the partner and a fix", arguments: matrix.filter { $0.expected.isEmpty })
    func invalidPartner(_ row: MatrixRow) throws {
        let partner = PartnerPolicy(domain: try DomainPattern("fabrikam.example"), negotiation: row.negotiation)
        let error = #expect(throws: PolicyError.self) { try partner.validate() }
        #expect(error?.subject == "partner fabrikam.example")
        #expect(error?.problem.contains("no way to authenticate") == true)
        #expect(error?.problem.contains("enable dialback") == true)
    }

    @Test("a partner in a warning row is accepted with warnings naming it", arguments: matrix.filter(\.warns))
    func warningPartner(_ row: MatrixRow) throws {
        let partner = PartnerPolicy(domain: try DomainPattern("*.example.org"), negotiation: row.negotiation)
        let warnings = try partner.validate()
        #expect(!warnings.isEmpty)
        #expect(warnings.allSatisfy { $0.description.hasPrefix("partner *.example.org: ") })
    }

    @Test("the invalid messages say what is missing")
    func invalidMessages() {
        #expect(matrix[5].negotiation.problem?.hasPrefix("TLS not-supported with SASL required and dialback off") == true)
        #expect(matrix[5].negotiation.problem?.contains("allow TLS") == true)
        #expect(matrix[11].negotiation.problem?.hasPrefix("TLS not-supported with SASL optional") == true)
        #expect(matrix[13].negotiation.problem?.hasPrefix("SASL not-supported with dialback off") == true)
        #expect(matrix[13].negotiation.problem?.contains("allow SASL") == true)
        #expect(matrix[17].negotiation.problem?.hasPrefix("TLS and SASL not-supported") == true)
    }

    @Test("the warnings say what goes wrong")
    func warningMessages() {
        #expect(matrix[0].negotiation.warnings.first?.contains("dialback is enabled but will never be used") == true)
        #expect(matrix[2].negotiation.warnings.first?.contains("require TLS") == true)
        #expect(matrix[4].negotiation.warnings.first?.contains("unencrypted") == true)
        #expect(matrix[8].negotiation.warnings.first?.contains("depends on what it offers") == true)
        #expect(matrix[9].negotiation.warnings.first?.contains("cannot authenticate") == true)
    }

    @Test("defaults are Microsoft's: TLS and SASL required, dialback on (row 1)")
    func defaults() throws {
        #expect(NegotiationPolicy.default.matrixRow == 1)
        let partner = PartnerPolicy(domain: try DomainPattern("fabrikam.example"))
        #expect(partner.negotiation == NegotiationPolicy(tls: .required, sasl: .required, supportDialback: true))
        #expect(partner.trust == .publicUnverified)
        #expect(partner.keepAlive)
        #expect(partner.connectionLimit == nil)
        #expect(partner.route == nil)
    }

    @Test("requirement tokens are the configuration's")
    func tokens() {
        #expect(NegotiationRequirement.allCases.map(\.rawValue) == ["required", "optional", "not-supported"])
        #expect(AuthenticationMethod.allCases.map(\.description) == ["SASL over TLS", "TLS dialback", "TCP dialback"])
    }
}
