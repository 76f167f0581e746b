package import XMLStreaming
import XMPP

/// The `<dialback xmlns='urn:xmpp:features:dialback'/>` stream feature (XEP-0220 §2.4.2).
///
/// Plain dialback needs no feature (a `db` namespace declaration on the stream header is the old
/// signal, §2.4.1). The feature with `<errors/>` promises that the server understands
/// `type='error'` answers, which is what makes it safe for an Initiating Server to multiplex
/// target domains on one stream (§2.6.2): without it a dialback error may make the peer drop the
/// whole stream.
package struct DialbackStreamFeature: Sendable, Hashable {
    /// Whether `<errors/>` is present.
    package var supportsErrors: Bool

    /// The feature as Consulate offers it: with `<errors/>`, since every machine here handles them.
    package init(supportsErrors: Bool = true) {
        self.supportsErrors = supportsErrors
    }

    /// Reads the feature element itself; `nil` if `element` is something else.
    package init?(_ element: XMLElement) {
        guard element.name == "dialback", element.namespace == Namespace.dialbackFeature else { return nil }
        supportsErrors = element.firstElement(named: "errors", namespace: Namespace.dialbackFeature) != nil
    }

    /// Finds the feature among the children of `<stream:features/>`; `nil` when not offered.
    package init?(in features: XMLElement) {
        guard let element = features.firstElement(named: "dialback", namespace: Namespace.dialbackFeature) else { return nil }
        self.init(element)
    }

    package var element: XMLElement {
        var feature = XMLElement("dialback", namespace: Namespace.dialbackFeature)
        if supportsErrors { feature.append(XMLElement("errors", namespace: Namespace.dialbackFeature)) }
        return feature
    }
}
