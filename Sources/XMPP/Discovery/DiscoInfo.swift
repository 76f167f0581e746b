package import XMLStreaming

/// What an entity says it is and supports (XEP-0030 `disco#info`): identities, features and
/// extended information forms (XEP-0128). The same value is answered to a query and hashed into
/// the entity's capabilities (`EntityCapabilities`), so that the two can never disagree.
package struct DiscoInfo: Sendable, Hashable {
    package struct Identity: Sendable, Hashable {
        package var category: String
        package var type: String
        package var name: String?
        package var language: String?

        package init(category: String, type: String, name: String? = nil, language: String? = nil) {
            self.category = category
            self.type = type
            self.name = name
            self.language = language
        }
    }

    /// An extended information form (XEP-0128, data forms of type `result`): its `FORM_TYPE` and
    /// its other fields, each with its values.
    package struct Form: Sendable, Hashable {
        package var formType: String
        package var fields: [(name: String, values: [String])]

        package init(formType: String, fields: [(name: String, values: [String])]) {
            self.formType = formType
            self.fields = fields
        }

        package static func == (a: Form, b: Form) -> Bool {
            a.formType == b.formType && a.fields.count == b.fields.count
                && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.values == $1.values }
        }

        package func hash(into hasher: inout Hasher) {
            hasher.combine(formType)
            for field in fields {
                hasher.combine(field.name)
                hasher.combine(field.values)
            }
        }
    }

    package var identities: [Identity]
    package var features: [String]
    package var forms: [Form]

    package init(identities: [Identity], features: [String], forms: [Form] = []) {
        self.identities = identities
        self.features = features
        self.forms = forms
    }

    /// The answer's `<query/>`, for `node` when the question named one (a caps `node#ver`).
    package func element(node: String? = nil) -> XMLElement {
        var children: [XMLNode] = identities.map { identity in
            var attributes = [XMLAttribute("category", value: identity.category), XMLAttribute("type", value: identity.type)]
            if let name = identity.name { attributes.append(XMLAttribute("name", value: name)) }
            if let language = identity.language { attributes.append(XMLAttribute("lang", namespace: XMLNamespace.xml, value: language)) }
            return .element(XMLElement("identity", namespace: Namespace.discoInfo, attributes: attributes))
        }
        children += features.map { .element(XMLElement("feature", namespace: Namespace.discoInfo, attributes: ["var": $0])) }
        children += forms.map { .element($0.element) }
        return XMLElement("query", namespace: Namespace.discoInfo, attributes: node.map { ["node": $0] } ?? [:], children: children)
    }

    /// Reads a `disco#info` `<query/>` (an answer from elsewhere); `nil` for another element.
    /// Forms without a `FORM_TYPE` are left out, as XEP-0115 §5.1 leaves them out of the hash.
    package init?(_ query: XMLElement) {
        guard query.name == "query", query.namespace == Namespace.discoInfo else { return nil }
        identities = query.elements(named: "identity", namespace: Namespace.discoInfo).map { element in
            Identity(category: element["category"] ?? "", type: element["type"] ?? "", name: element["name"], language: element.language)
        }
        features = query.elements(named: "feature", namespace: Namespace.discoInfo).compactMap { $0["var"] }
        forms = query.elements(named: "x", namespace: Namespace.dataForms).compactMap(Form.init)
    }
}

extension DiscoInfo.Form {
    var element: XMLElement {
        let formType = XMLElement(
            "field", namespace: Namespace.dataForms, attributes: ["var": "FORM_TYPE", "type": "hidden"],
            children: [.element(XMLElement("value", namespace: Namespace.dataForms, children: [.text(self.formType)]))]
        )
        let others = fields.map { field in
            XMLElement(
                "field", namespace: Namespace.dataForms, attributes: ["var": field.name],
                children: field.values.map { .element(XMLElement("value", namespace: Namespace.dataForms, children: [.text($0)])) }
            )
        }
        return XMLElement("x", namespace: Namespace.dataForms, attributes: ["type": "result"], children: ([formType] + others).map { .element($0) })
    }

    /// A form read from an answer: `nil` without exactly one `FORM_TYPE` value.
    init?(_ element: XMLElement) {
        var formType: [String] = []
        var fields: [(name: String, values: [String])] = []
        for field in element.elements(named: "field", namespace: Namespace.dataForms) {
            let values = field.elements(named: "value", namespace: Namespace.dataForms).map(\.text)
            if field["var"] == "FORM_TYPE" {
                formType += values
            } else if let name = field["var"] {
                fields.append((name, values))
            }
        }
        guard formType.count == 1 else { return nil }
        self.init(formType: formType[0], fields: fields)
    }
}
