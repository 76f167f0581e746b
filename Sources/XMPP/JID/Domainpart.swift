import Foundation

extension JIDPart {
    /// DNS limits (RFC 1035 §2.3.4), counted in UTF-8 bytes of the normalised form.
    static let maximumLabelBytes = 63
    static let maximumDomainNameBytes = 253

    /// RFC 7622 §3.2: a domain name, an IPv4 address or a bracketed IPv6 address.
    ///
    /// One trailing dot is stripped first, as §3.2 requires before any other step, so `example.com.`
    /// and `example.com` are the same address. Names are lowercased, width-mapped and put in NFC
    /// (§3.2.2), then every label must be a non-empty NR-LDH label or U-label of at most 63 bytes:
    /// letters, digits and combining marks of any script plus `-`, no hyphen at either end, and a
    /// label starting `xn--` must be ASCII. A-labels are validated as LDH but not decoded, so
    /// `xn--caf-dma.example` and `café.example` stay different addresses. A name whose last label is
    /// all digits must be a dotted-quad IPv4 address, so `1.2.3.256` and `01.2.3.4` are rejected
    /// rather than treated as names. IPv6 literals are rewritten in RFC 5952 canonical form so that
    /// every spelling of one address compares equal.
    static func normaliseDomainpart(_ part: Substring) throws(JIDError) -> String {
        var domain = part
        if domain.utf8.last == UInt8(ascii: ".") { domain = Substring(domain.unicodeScalars.dropLast()) }
        guard !domain.isEmpty else { throw JIDError("the domainpart is empty") }
        guard domain.utf8.count <= maximumInputBytes else { throw JIDError("the domainpart is longer than 253 bytes") }
        if domain.utf8.first == UInt8(ascii: "[") {
            guard domain.utf8.last == UInt8(ascii: "]"), let address = IPv6Address(String(domain.dropFirst().dropLast()))?.description else {
                throw JIDError("the domainpart is not a valid IPv6 address literal")
            }
            return "[" + address + "]"
        }
        if let ascii = try normaliseASCIIDomain(domain) { return ascii }
        return try normaliseUnicodeDomain(domain)
    }

    /// The fast path: validates and lowercases an all-ASCII name in one pass. Returns `nil` as soon
    /// as it meets a non-ASCII byte; what it has rejected by then (a bad ASCII character, an empty,
    /// over-long or hyphen-edged label) would be rejected by the full path as well.
    private static func normaliseASCIIDomain(_ domain: Substring) throws(JIDError) -> String? {
        var labelBytes = 0
        var labelIsNumeric = true
        var previous: UInt8 = 0
        var hasUppercase = false
        for byte in domain.utf8 {
            switch byte {
            case UInt8(ascii: "."):
                guard labelBytes > 0 else { throw JIDError("the domainpart has an empty label") }
                guard previous != UInt8(ascii: "-") else { throw JIDError("a domain label ends with a hyphen") }
                labelBytes = 0
                labelIsNumeric = true
                previous = byte
                continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"):
                labelIsNumeric = false
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                labelIsNumeric = false
                hasUppercase = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                break
            case UInt8(ascii: "-"):
                guard labelBytes > 0 else { throw JIDError("a domain label starts with a hyphen") }
                labelIsNumeric = false
            case 0x80...:
                return nil
            default:
                throw JIDError("the domainpart may not contain \(CodePointRules.describe(Unicode.Scalar(byte)))")
            }
            labelBytes += 1
            guard labelBytes <= maximumLabelBytes else { throw JIDError("a domain label is longer than 63 bytes") }
            previous = byte
        }
        guard labelBytes > 0 else { throw JIDError("the domainpart has an empty label") }
        guard previous != UInt8(ascii: "-") else { throw JIDError("a domain label ends with a hyphen") }
        if labelIsNumeric {
            guard IPv4Address(String(domain)) != nil else {
                throw JIDError("the domainpart is neither an IPv4 address nor a name (its last label is numeric)")
            }
            return String(domain)
        }
        guard domain.utf8.count <= maximumDomainNameBytes else {
            throw JIDError("the domainpart is longer than 253 bytes")
        }
        return hasUppercase ? asciiLowercased(domain) : String(domain)
    }

    private static func normaliseUnicodeDomain(_ domain: Substring) throws(JIDError) -> String {
        let normalised = CodePointRules.mapWidth(domain).lowercased().precomposedStringWithCanonicalMapping
        guard normalised.utf8.count <= maximumDomainNameBytes else {
            throw JIDError("the domainpart is longer than 253 bytes")
        }
        let labels = normalised.unicodeScalars.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            try checkLabel(Array(label))
        }
        if let last = labels.last, last.allSatisfy({ $0.properties.numericType == .decimal }) {
            throw JIDError("the domainpart is neither an IPv4 address nor a name (its last label is numeric)")
        }
        return normalised
    }

    /// RFC 5891 §4.2.3 and RFC 5892 for one label of the normalised name.
    private static func checkLabel(_ label: [Unicode.Scalar]) throws(JIDError) {
        guard let first = label.first, let last = label.last else {
            throw JIDError("the domainpart has an empty label")
        }
        guard label.reduce(0, { $0 + UTF8.width($1) }) <= maximumLabelBytes else {
            throw JIDError("a domain label is longer than 63 bytes")
        }
        guard first != "-" else { throw JIDError("a domain label starts with a hyphen") }
        guard last != "-" else { throw JIDError("a domain label ends with a hyphen") }
        if !label.allSatisfy(\.isASCII) {
            guard !label.starts(with: "xn--".unicodeScalars) else {
                throw JIDError("a domain label starting 'xn--' must be ASCII")
            }
            guard !(label.count >= 4 && label[2] == "-" && label[3] == "-") else {
                throw JIDError("a non-ASCII domain label has '--' in its third and fourth positions")
            }
            switch first.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark:
                throw JIDError("a domain label starts with a combining mark")
            default:
                break
            }
        }
        try CodePointRules.check(label, against: .domainLabel, in: "domainpart")
    }
}
