import Crypto
import Foundation

/// XEP-0115 entity capabilities: the `ver` string that names a `DiscoInfo` in presence
/// (`<c hash='sha-1' node=… ver=…/>`), so that peers fetch the disco answer once per feature set
/// instead of once per contact. Servers check it: Prosody caches by the hash it computes from our
/// answer and asks again on every presence if ours differs; ejabberd drops features whose hash
/// does not verify.
package enum EntityCapabilities {
    /// The SHA-1 `ver` of `info` (§5.1), or `nil` when `info` is ill-formed for hashing (§5.4:
    /// a repeated identity, feature or form type).
    package static func ver(of info: DiscoInfo) -> String? {
        guard let string = verificationString(of: info) else { return nil }
        return Data(Insecure.SHA1.hash(data: Array(string.utf8))).base64EncodedString()
    }

    /// The string §5.1 hashes: sorted identities (`category/type/lang/name<`), sorted features
    /// (`feature<`), then each form by `FORM_TYPE` with its fields sorted by name and each field's
    /// values sorted. Every sort compares UTF-8 octets ("i;octet" collation), not Unicode order.
    package static func verificationString(of info: DiscoInfo) -> String? {
        let identities = info.identities.map { identity in
            [identity.category, identity.type, identity.language ?? "", identity.name ?? ""]
        }
        guard Set(identities).count == identities.count, Set(info.features).count == info.features.count,
            Set(info.forms.map(\.formType)).count == info.forms.count
        else { return nil }
        var string = ""
        for identity in identities.sorted(by: identityOrder) {
            string += identity.joined(separator: "/") + "<"
        }
        for feature in info.features.sorted(by: octetOrder) {
            string += feature + "<"
        }
        for form in info.forms.sorted(by: { octetOrder($0.formType, $1.formType) }) {
            string += form.formType + "<"
            for field in form.fields.sorted(by: { octetOrder($0.name, $1.name) }) {
                string += field.name + "<"
                for value in field.values.sorted(by: octetOrder) { string += value + "<" }
            }
        }
        return string
    }

    private static func octetOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Orders identities by category, then type, then language, each by octets.
    private static func identityOrder(_ a: [String], _ b: [String]) -> Bool {
        for (x, y) in zip(a.prefix(3), b.prefix(3)) where x != y { return octetOrder(x, y) }
        return false
    }
}
