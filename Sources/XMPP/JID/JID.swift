/// Why a string is not a JID. Stanza handling reports it as `jid-malformed` (RFC 6120 §8.3.3.8) and
/// stream headers as `improper-addressing`, with `reason` as the human-readable text; so `reason`
/// names the rule that failed and at most the one offending character, never the whole input, which
/// may be long or hostile.
package struct JIDError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which rule the address broke, in English, for logs and the error stanza's text.
    package var reason: String

    /// An error with the given explanation.
    package init(_ reason: String) {
        self.reason = reason
    }

    /// The reason alone, so interpolating the error reads naturally.
    package var description: String { reason }
}

/// An XMPP address (RFC 7622): `localpart@domainpart/resourcepart`.
///
/// The parts are stored in their canonical form, so that two addresses for the same entity are
/// equal, hash alike and print alike however the peer spelled them: the localpart enforced with
/// PRECIS UsernameCaseMapped (width-mapped, lowercased, NFC), the domainpart with the IDNA2008 rules
/// of RFC 7622 §3.2 (trailing dot stripped, lowercased, NFC; IP literals in canonical text form),
/// the resourcepart with PRECIS OpaqueString (NFC, case kept). Anything that does not survive those
/// rules is rejected at parse time, so a `JID` value is always valid and `description` always
/// parses back to an equal value.
package struct JID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The account name, normalised; `nil` for a domain or domain-plus-resource address.
    package let localpart: String?
    /// The server or service, normalised; never empty.
    package let domainpart: String
    /// The client session or other instance, normalised; `nil` for a bare address.
    package let resourcepart: String?

    /// Parses, validates and normalises a JID string.
    ///
    /// Splitting follows RFC 7622 §3.1 on code points (not grapheme clusters): the first `/` starts
    /// the resourcepart, which may itself contain `/` and `@`; before it, the first `@` ends the
    /// localpart. An empty localpart (`@d`) or resourcepart (`d/`) is an error, not an absent one.
    /// All-ASCII input, the common case on the wire, never touches Foundation.
    package init(_ string: String) throws(JIDError) {
        // Searching the UTF-8 view finds a separator even when a combining mark follows it, which
        // the Character view would fold into one grapheme; '/' and '@' are ASCII, so the indices
        // found are scalar boundaries and slicing the scalar view there splits exactly on them.
        let utf8 = string.utf8
        let scalars = string.unicodeScalars
        var end = utf8.endIndex
        var resource: Substring?
        if let slash = utf8.firstIndex(of: UInt8(ascii: "/")) {
            resource = Substring(scalars[scalars.index(after: slash)...])
            end = slash
        }
        var start = utf8.startIndex
        var local: Substring?
        if let at = utf8[..<end].firstIndex(of: UInt8(ascii: "@")) {
            local = Substring(scalars[..<at])
            start = scalars.index(after: at)
        }
        try self.init(parts: local, Substring(scalars[start..<end]), resource)
    }

    /// Builds an address from separate parts, validating and normalising each exactly as
    /// `init(_:)` does, so the result is the same as parsing the joined string. A part that would
    /// change the split (an `@` or `/` in the localpart, a `/` in the domainpart) is rejected.
    package init(localpart: String?, domainpart: String, resourcepart: String?) throws(JIDError) {
        try self.init(parts: localpart.map { Substring($0) }, Substring(domainpart), resourcepart.map { Substring($0) })
    }

    /// Parses an optional attribute value, as stanzas and stream headers carry `from` and `to`:
    /// `nil` stays `nil`, anything else must be a valid JID.
    package static func parse(_ string: String?) throws(JIDError) -> JID? {
        guard let string else { return nil }
        return try JID(string)
    }

    private init(parts local: Substring?, _ domain: Substring, _ resource: Substring?) throws(JIDError) {
        if let local { localpart = try JIDPart.normaliseLocalpart(local) } else { localpart = nil }
        domainpart = try JIDPart.normaliseDomainpart(domain)
        if let resource { resourcepart = try JIDPart.normaliseResourcepart(resource) } else { resourcepart = nil }
    }

    /// For parts taken from an existing `JID`, which are already normalised.
    private init(normalisedLocalpart: String?, domainpart: String, resourcepart: String?) {
        localpart = normalisedLocalpart
        self.domainpart = domainpart
        self.resourcepart = resourcepart
    }

    /// The address without its resource: the account (or the domain itself), which is what rosters,
    /// subscriptions and presence probes are keyed by (RFC 6121).
    package var bare: JID { JID(normalisedLocalpart: localpart, domainpart: domainpart, resourcepart: nil) }

    /// The server alone, which is what server-to-server routing and partner lookup go by.
    package var domain: JID { JID(normalisedLocalpart: nil, domainpart: domainpart, resourcepart: nil) }

    /// Whether the address has no resource, so it names an account or a server rather than one
    /// session of it.
    package var isBare: Bool { resourcepart == nil }

    /// Whether the address has a resource, so it names one session.
    package var isFull: Bool { resourcepart != nil }

    /// Whether the address is a server alone: no localpart and no resource.
    package var isDomain: Bool { localpart == nil && resourcepart == nil }

    /// The same account with another resource (or none). Only the new resource is validated; the
    /// other parts are already normalised.
    package func withResource(_ resourcepart: String?) throws(JIDError) -> JID {
        guard let resourcepart else { return bare }
        return JID(
            normalisedLocalpart: localpart,
            domainpart: domainpart,
            resourcepart: try JIDPart.normaliseResourcepart(Substring(resourcepart))
        )
    }

    /// The canonical string form, as written into `from` and `to` attributes. It parses back to an
    /// equal `JID`.
    package var description: String {
        var text = ""
        if let localpart {
            text += localpart
            text += "@"
        }
        text += domainpart
        if let resourcepart {
            text += "/"
            text += resourcepart
        }
        return text
    }

    /// Orders by the canonical string form, so sorted output (logs, fixtures, rosters) is stable
    /// and reads naturally.
    package static func < (lhs: JID, rhs: JID) -> Bool { lhs.description < rhs.description }
}

/// Encoded as its canonical string, so configuration files and stored state hold plain addresses;
/// decoding validates like `init(_:)`.
extension JID: Codable {
    /// Decodes a string and parses it; an invalid address is a `DecodingError.dataCorrupted`.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            try self.init(string)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JID: \(error)")
        }
    }

    /// Encodes `description`.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
