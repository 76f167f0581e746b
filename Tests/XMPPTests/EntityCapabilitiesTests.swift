import Testing
import XMLStreaming
import XMPP

@Suite("XEP-0115 entity capabilities and the disco#info they hash")
struct EntityCapabilitiesTests {
    static let exodus = DiscoInfo(
        identities: [DiscoInfo.Identity(category: "client", type: "pc", name: "Exodus 0.9.1")],
        features: [
            "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
            "http://jabber.org/protocol/muc", "http://jabber.org/protocol/caps",
        ]
    )

    static let psi = DiscoInfo(
        identities: [
            DiscoInfo.Identity(category: "client", type: "pc", name: "Psi 0.11", language: "en"),
            DiscoInfo.Identity(category: "client", type: "pc", name: "Ψ 0.11", language: "el"),
        ],
        features: [
            "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
            "http://jabber.org/protocol/muc", "http://jabber.org/protocol/caps",
        ],
        forms: [
            DiscoInfo.Form(
                formType: "urn:xmpp:dataforms:softwareinfo",
                fields: [
                    (name: "software", values: ["Psi"]), (name: "software_version", values: ["0.11"]),
                    (name: "os", values: ["Mac"]), (name: "os_version", values: ["10.5.1"]),
                    (name: "ip_version", values: ["ipv6", "ipv4"]),
                ]
            )
        ]
    )

    @Test("the simple example of XEP-0115 §5.2 hashes to its published ver")
    func simpleVector() {
        #expect(
            EntityCapabilities.verificationString(of: Self.exodus)
                == "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<"
                + "http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<"
        )
        #expect(EntityCapabilities.ver(of: Self.exodus) == "QgayPKawpkPSDYmwT/WM94uAlu0=")
    }

    @Test("the complex example of §5.3 (two languages, an extended form) hashes to its published ver")
    func complexVector() {
        #expect(
            EntityCapabilities.verificationString(of: Self.psi)
                == "client/pc/el/Ψ 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<"
                + "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<"
                + "urn:xmpp:dataforms:softwareinfo<ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<"
                + "software_version<0.11<"
        )
        #expect(EntityCapabilities.ver(of: Self.psi) == "q07IKJEyjvHSyhy//CH0CxmKi8w=")
    }

    @Test("an answer read back from its own element hashes the same, so what is answered is what was hashed")
    func roundTrip() throws {
        for info in [Self.exodus, Self.psi] {
            let element = info.element(node: "https://consulate.example/caps#\(EntityCapabilities.ver(of: info)!)")
            #expect(element["node"]?.hasPrefix("https://consulate.example/caps#") == true)
            let read = try #require(DiscoInfo(element))
            #expect(EntityCapabilities.ver(of: read) == EntityCapabilities.ver(of: info))
        }
    }

    @Test("features sort by octets, not by Unicode order: uppercase before lowercase")
    func octetOrder() {
        let info = DiscoInfo(identities: [], features: ["b", "a", "B", "é", "z"])
        #expect(EntityCapabilities.verificationString(of: info) == "B<a<b<z<é<")
    }

    @Test("a repeated identity, feature or form type is ill-formed and has no ver (§5.4)")
    func illFormed() {
        var repeatedFeature = Self.exodus
        repeatedFeature.features.append("http://jabber.org/protocol/muc")
        #expect(EntityCapabilities.ver(of: repeatedFeature) == nil)
        var repeatedIdentity = Self.exodus
        repeatedIdentity.identities.append(repeatedIdentity.identities[0])
        #expect(EntityCapabilities.ver(of: repeatedIdentity) == nil)
        var repeatedForm = Self.psi
        repeatedForm.forms.append(repeatedForm.forms[0])
        #expect(EntityCapabilities.ver(of: repeatedForm) == nil)
    }

    @Test("a form without exactly one FORM_TYPE is left out when an answer is read")
    func formWithoutType() throws {
        let query = XMLElement(
            "query", namespace: Namespace.discoInfo,
            children: [
                .element(XMLElement("feature", namespace: Namespace.discoInfo, attributes: ["var": "urn:xmpp:ping"])),
                .element(
                    XMLElement(
                        "x", namespace: Namespace.dataForms, attributes: ["type": "result"],
                        children: [.element(XMLElement("field", namespace: Namespace.dataForms, attributes: ["var": "os"]))]
                    )
                ),
            ]
        )
        let info = try #require(DiscoInfo(query))
        #expect(info.features == ["urn:xmpp:ping"])
        #expect(info.forms.isEmpty)
        #expect(DiscoInfo(XMLElement("query", namespace: "jabber:iq:roster")) == nil)
    }
}
