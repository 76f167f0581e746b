/// One domain, or every subdomain of one (`*.example.org`): how partners and the blocklist name the
/// servers they cover.
///
/// Patterns are normalised when they are made (lowercase, NFC, IPv6 in canonical form, as a JID
/// domainpart), so matching is plain comparison. The one implementation of domain matching: the
/// federation policy (partners, blocklist) and the translator's partners both use it.
package struct DomainPattern: Sendable, Hashable, CustomStringConvertible {
    /// The normalised domain: the whole pattern when exact, the part after `*.` for a wildcard.
    package let domain: String
    /// Whether the pattern covers the subdomains of `domain` (at any depth) instead of `domain` itself.
    package let isWildcard: Bool

    /// Parses a domain, or `*.` followed by one. A wildcard covers `a.example.org` and
    /// `a.b.example.org` but never `example.org` itself, so an organisation's apex and its
    /// subdomains can be given different policies. IP addresses have no subdomains, so `*.` before
    /// one is refused.
    package init(_ text: String) throws(JIDError) {
        let wildcard = text.hasPrefix("*.")
        let candidate = wildcard ? String(text.dropFirst(2)) : text
        guard let normalised = Self.normalisedDomain(candidate) else {
            throw JIDError("not a domain name (or '*.' followed by one)")
        }
        if wildcard && Self.isIPLiteral(normalised) {
            throw JIDError("an IP address has no subdomains; write the address without '*.'")
        }
        self.init(normalised: normalised, wildcard: wildcard)
    }

    /// The pattern for exactly one domain that is already normalised (a `JID.domainpart`).
    package init(exactly domainpart: String) {
        self.init(normalised: domainpart, wildcard: false)
    }

    init(normalised domain: String, wildcard: Bool) {
        self.domain = domain
        self.isWildcard = wildcard
    }

    /// Whether the pattern covers `candidate`, which must be normalised as a JID domainpart is
    /// (`JID.domainpart`); callers holding raw text use `FederationPolicy.decision(for:)`, which
    /// normalises first.
    package func matches(_ candidate: String) -> Bool {
        guard isWildcard else { return candidate == domain }
        let text = candidate.utf8
        let suffix = domain.utf8
        guard text.count > suffix.count + 1 else { return false }
        let tail = text.suffix(suffix.count + 1)
        return tail.first == UInt8(ascii: ".") && tail.dropFirst().elementsEqual(suffix)
    }

    /// How specific the pattern is, for choosing among patterns that match the same domain: an
    /// exact domain beats any wildcard, and a longer wildcard (`*.lab.example.org`) beats a shorter
    /// one (`*.example.org`). Two different patterns that match one domain never tie.
    package var specificity: Int {
        isWildcard ? domain.utf8.count : Int.max
    }

    /// The pattern as written in configuration: `fabrikam.example` or `*.example.org`.
    package var description: String { isWildcard ? "*." + domain : domain }

    /// `text` as a JID domainpart, or `nil` if it is not a domain (a name or an IP literal).
    package static func normalisedDomain(_ text: String) -> String? {
        guard !text.isEmpty, let jid = try? JID(text), jid.isDomain else { return nil }
        return jid.domainpart
    }

    /// A normalised domainpart that is an IPv4 or bracketed IPv6 address: its last label is all
    /// digits (JID normalisation only lets that through for a dotted quad) or it is bracketed.
    static func isIPLiteral(_ domain: String) -> Bool {
        if domain.hasPrefix("[") { return true }
        let lastLabel = domain.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).last ?? []
        return !lastLabel.isEmpty && lastLabel.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
