import Federation
import Testing
import XMLStreaming
import XMPP

@Suite("Dialback elements (XEP-0220)")
struct DialbackElementTests {
    typealias F = DialbackFixtures

    static func parse(_ text: String) throws -> DialbackElement {
        try DialbackElement(DialbackWireFormat.parseOne(text))
    }

    @Test("Example 1: a key request, with the indented key trimmed")
    func request() throws {
        let element = try Self.parse(
            """
            <db:result
                from='capulet.example'
                to='montague.example'>
              b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3
            </db:result>
            """
        )
        let expected = DialbackResult(from: F.capulet, to: F.montague, payload: .key(DialbackKey(rawValue: F.capuletKey)))
        #expect(element == .result(expected))
        #expect(expected.domainPair == F.capuletToMontague)
    }

    @Test("Examples 2 and 3: valid and invalid answers")
    func answers() throws {
        let valid = try Self.parse("<db:result from='montague.example' to='capulet.example' type='valid'/>")
        let invalid = try Self.parse("<db:result from='montague.example' to='capulet.example' type='invalid'/>")
        #expect(valid == .result(.answer(.valid, for: F.capuletToMontague)))
        #expect(invalid == .result(.answer(.invalid, for: F.capuletToMontague)))
        #expect(DialbackResult.answer(.valid, for: F.capuletToMontague).domainPair == F.capuletToMontague)
    }

    @Test("Example 4: a dialback error, with the <error/> child in jabber:server")
    func error() throws {
        let element = try DialbackWireFormat.parseOne(
            """
            <db:result from='montague.example' to='capulet.example' type='error'>
              <error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>
            </db:result>
            """
        )
        #expect(element.elements.first?.namespace == Namespace.server)
        let result = try DialbackResult(element)
        #expect(result.payload == .answer(.error(StanzaError(.itemNotFound, type: .cancel))))
        #expect(result.domainPair == F.capuletToMontague)
    }

    @Test("Examples 5 to 8: a verify request and its three kinds of answer")
    func verify() throws {
        let request = try Self.parse(
            """
            <db:verify from='capulet.example' id='417GAF25' to='montague.example'>
              225cc5aa6a071133249d25fef42ae516fc7a86c523aa1c6980a7f73e784c972d
            </db:verify>
            """
        )
        let expected = DialbackVerify(
            from: F.capulet, to: F.montague, id: F.montagueToCapuletStreamID, payload: .key(DialbackKey(rawValue: F.montagueKey))
        )
        #expect(request == .verify(expected))
        let pair = DialbackDomainPair(sender: F.montague, target: F.capulet)
        #expect(expected.domainPair == pair)
        #expect(expected == .request(for: pair, streamID: F.montagueToCapuletStreamID, key: DialbackKey(rawValue: F.montagueKey)))

        let valid = try Self.parse("<db:verify from='montague.example' id='417GAF25' to='capulet.example' type='valid'/>")
        let invalid = try Self.parse("<db:verify from='montague.example' id='417GAF25' to='capulet.example' type='invalid'/>")
        let error = try Self.parse(
            """
            <db:verify from='montague.example' id='417GAF25' to='capulet.example' type='error'>
              <error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>
            </db:verify>
            """
        )
        #expect(valid == .verify(expected.answered(.valid)))
        #expect(invalid == .verify(expected.answered(.invalid)))
        #expect(error == .verify(expected.answered(.error(StanzaError(.itemNotFound)))))
        #expect(expected.answered(.valid).domainPair == pair)
    }

    @Test("building gives the XEP's wire form")
    func wireForm() {
        let request = DialbackResult.request(for: F.capuletToMontague, key: DialbackKey(rawValue: F.capuletKey))
        #expect(
            DialbackWireFormat.string(request.element)
                == "<db:result from='capulet.example' to='montague.example'>\(F.capuletKey)</db:result>"
        )
        let error = DialbackResult.answer(.error(StanzaError(.itemNotFound)), for: F.capuletToMontague)
        #expect(
            DialbackWireFormat.string(error.element)
                == "<db:result from='montague.example' to='capulet.example' type='error'><error type='cancel'>"
                + "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>"
        )
        let verify = DialbackVerify(from: F.montague, to: F.capulet, id: "417GAF25", payload: .answer(.valid))
        #expect(DialbackWireFormat.string(verify.element) == "<db:verify from='montague.example' to='capulet.example' id='417GAF25' type='valid'/>")
    }

    static let roundTrips: [DialbackElement] = [
        .result(.request(for: F.capuletToMontague, key: DialbackKey(rawValue: F.capuletKey))),
        .result(.answer(.valid, for: F.capuletToMontague)),
        .result(.answer(.invalid, for: F.capuletToMontague)),
        .result(.answer(.error(StanzaError(.remoteServerTimeout, text: "no answer <in time> & more")), for: F.capuletToMontague)),
        .result(.answer(.error(StanzaError(.forbidden, type: .cancel, by: "montague.example")), for: F.capuletToMontague)),
        .verify(.request(for: F.capuletToMontague, streamID: "D60000229F", key: DialbackKey(rawValue: F.capuletKey))),
        .verify(DialbackVerify(from: F.capulet, to: F.montague, id: "D60000229F", payload: .answer(.valid))),
        .verify(DialbackVerify(from: F.capulet, to: F.montague, id: "D60000229F", payload: .answer(.invalid))),
        .verify(DialbackVerify(from: F.capulet, to: F.montague, id: "x", payload: .answer(.error(StanzaError(.itemNotFound))))),
    ]

    @Test("elements survive building, serializing and parsing unchanged", arguments: roundTrips)
    func roundTrip(element: DialbackElement) throws {
        #expect(try DialbackElement(element.element) == element)
        #expect(try DialbackElement(DialbackWireFormat.transmit(element.element)) == element)
    }

    @Test("addresses are normalised like any JID")
    func normalisation() throws {
        let element = try Self.parse("<db:result from='Capulet.EXAMPLE.' to='MONTAGUE.example'>k</db:result>")
        #expect(element == .result(.request(for: F.capuletToMontague, key: DialbackKey(rawValue: "k"))))
    }

    @Test("type='error' without a readable <error/> still reads as an error")
    func errorWithoutCondition() throws {
        let element = try Self.parse("<db:result from='montague.example' to='capulet.example' type='error'/>")
        #expect(element == .result(.answer(.error(StanzaError(.undefinedCondition)), for: F.capuletToMontague)))
    }

    @Test(
        "malformed dialback elements are stream errors",
        arguments: [
            ("<db:result to='montague.example'>k</db:result>", StreamError.Condition.improperAddressing),
            ("<db:result from='capulet.example'>k</db:result>", .improperAddressing),
            ("<db:result from='' to='montague.example'>k</db:result>", .improperAddressing),
            ("<db:result from='user@capulet.example' to='montague.example'>k</db:result>", .improperAddressing),
            ("<db:result from='capulet.example' to='montague.example/r'>k</db:result>", .improperAddressing),
            ("<db:result from='capulet..example' to='montague.example'>k</db:result>", .improperAddressing),
            ("<db:result from='capulet.example' to='montague.example' type='maybe'/>", .invalidXML),
            ("<db:verify from='capulet.example' to='montague.example'>k</db:verify>", .invalidXML),
            ("<db:verify from='capulet.example' to='montague.example' id=''>k</db:verify>", .invalidXML),
            ("<db:verify to='montague.example' id='1'>k</db:verify>", .improperAddressing),
            ("<db:errors from='capulet.example' to='montague.example'/>", .unsupportedStanzaType),
            ("<result from='capulet.example' to='montague.example'>k</result>", .unsupportedStanzaType),
        ]
    )
    func malformed(text: String, condition: StreamError.Condition) throws {
        let element = try DialbackWireFormat.parseOne(text)
        let error = #expect(throws: StreamError.self) { try DialbackElement(element) }
        #expect(error?.condition == condition)
    }

    @Test("a <db:verify/> is not read as a <db:result/>, nor the other way round")
    func wrongKind() throws {
        let verify = try DialbackWireFormat.parseOne("<db:verify from='a.example' to='b.example' id='1'>k</db:verify>")
        let result = try DialbackWireFormat.parseOne("<db:result from='a.example' to='b.example'>k</db:result>")
        #expect(throws: StreamError.self) { try DialbackResult(verify) }
        #expect(throws: StreamError.self) { try DialbackVerify(result) }
        #expect(DialbackElement.isDialback(verify))
        #expect(!DialbackElement.isDialback(XMLElement("message", namespace: Namespace.server)))
    }
}

@Suite("Dialback stream feature (XEP-0220 §2.4.2)")
struct DialbackStreamFeatureTests {
    @Test("Consulate offers dialback with errors")
    func offered() throws {
        let feature = DialbackStreamFeature()
        #expect(
            XMLSerializer(defaultNamespace: Namespace.server).string(feature.element)
                == "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>"
        )
        #expect(DialbackStreamFeature(feature.element) == feature)
    }

    @Test("found among the stream features, with or without <errors/>")
    func parsed() throws {
        let features = try DialbackWireFormat.parseOne(
            """
            <stream:features>
              <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>
              <dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>
            </stream:features>
            """
        )
        #expect(DialbackStreamFeature(in: features)?.supportsErrors == true)

        let plain = try DialbackWireFormat.parseOne(
            "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>"
        )
        #expect(DialbackStreamFeature(in: plain)?.supportsErrors == false)

        let none = try DialbackWireFormat.parseOne("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>")
        #expect(DialbackStreamFeature(in: none) == nil)
        #expect(DialbackStreamFeature(XMLElement("dialback", namespace: Namespace.dialback)) == nil)
    }
}
