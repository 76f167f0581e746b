import Foundation

/// Why a string is not a JID; stanza handling reports it as `jid-malformed`.
public struct JIDError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

/// An XMPP address (RFC 7622): `localpart@domainpart/resourcepart`, stored normalised so that equal
/// addresses compare equal: localpart and domainpart in NFC and lowercase, resourcepart in NFC.
public struct JID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let localpart: String?
    public let domainpart: String
    public let resourcepart: String?

    /// Parses, validates and normalises a JID string (RFC 7622 §3.1 splitting rules: the first `/`
    /// starts the resource; before it, the first `@` ends the localpart).
    public init(_ string: String) throws(JIDError) {
        var rest = Substring(string)
        var resource: Substring?
        if let slash = rest.firstIndex(of: "/") {
            resource = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var local: Substring?
        if let at = rest.firstIndex(of: "@") {
            local = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        try self.init(localpart: local.map(String.init), domainpart: String(rest), resourcepart: resource.map(String.init))
    }

    public init(localpart: String?, domainpart: String, resourcepart: String?) throws(JIDError) {
        if let localpart { self.localpart = try Self.normaliseLocalpart(localpart) } else { self.localpart = nil }
        self.domainpart = try Self.normaliseDomainpart(domainpart)
        if let resourcepart { self.resourcepart = try Self.normaliseResourcepart(resourcepart) } else { self.resourcepart = nil }
    }

    /// Parses an optional attribute value: `nil` stays `nil`.
    public static func parse(_ string: String?) throws(JIDError) -> JID? {
        guard let string else { return nil }
        return try JID(string)
    }

    private init(uncheckedLocal: String?, domain: String, resource: String?) {
        localpart = uncheckedLocal
        domainpart = domain
        resourcepart = resource
    }

    /// The address without its resource: the account, or the domain itself.
    public var bare: JID { JID(uncheckedLocal: localpart, domain: domainpart, resource: nil) }
    /// The server alone.
    public var domain: JID { JID(uncheckedLocal: nil, domain: domainpart, resource: nil) }
    public var isBare: Bool { resourcepart == nil }
    public var isDomain: Bool { localpart == nil && resourcepart == nil }

    public var description: String {
        var text = domainpart
        if let localpart { text = localpart + "@" + text }
        if let resourcepart { text += "/" + resourcepart }
        return text
    }

    public static func < (lhs: JID, rhs: JID) -> Bool { lhs.description < rhs.description }

    // MARK: - Normalisation and validation

    static let maximumPartBytes = 1023

    /// PRECIS UsernameCaseMapped, as far as the Unicode properties Swift exposes allow: case-mapped,
    /// NFC, and none of the characters RFC 7622 §3.3.1 forbids.
    static func normaliseLocalpart(_ part: String) throws(JIDError) -> String {
        guard !part.isEmpty else { throw JIDError("the localpart is empty") }
        let normalised = part.utf8.allSatisfy({ $0 < 0x80 }) ? part.lowercased() : nfc(nfc(part).lowercased())
        guard normalised.utf8.count <= maximumPartBytes else { throw JIDError("the localpart is longer than 1023 bytes") }
        for scalar in normalised.unicodeScalars {
            if "\"&'/:<>@".unicodeScalars.contains(scalar) {
                throw JIDError("the localpart may not contain '\(scalar)'")
            }
            if scalar.properties.isWhitespace { throw JIDError("the localpart may not contain spaces") }
            try checkAllowed(scalar, in: "localpart")
        }
        return normalised
    }

    /// IDNA2008-style checks on each label, lowercase and NFC; IP literals pass as they are.
    static func normaliseDomainpart(_ part: String) throws(JIDError) -> String {
        var domain = part
        if domain.hasSuffix(".") { domain.removeLast() }
        guard !domain.isEmpty else { throw JIDError("the domainpart is empty") }
        if domain.hasPrefix("[") {
            guard domain.hasSuffix("]"), let address = IPLiteral.normaliseIPv6(String(domain.dropFirst().dropLast())) else {
                throw JIDError("'\(part)' is not a valid IPv6 literal")
            }
            return "[\(address)]"
        }
        if IPLiteral.isIPv4(domain) { return domain }
        let ascii = domain.utf8.allSatisfy { $0 < 0x80 }
        domain = ascii ? domain.lowercased() : nfc(nfc(domain).lowercased())
        guard domain.utf8.count <= 253 else { throw JIDError("the domainpart is longer than 253 bytes") }
        for label in domain.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty else { throw JIDError("'\(part)' has an empty label") }
            guard label.utf8.count <= 63 else { throw JIDError("the label '\(label)' is longer than 63 bytes") }
            guard label.first != "-", label.last != "-" else { throw JIDError("the label '\(label)' starts or ends with a hyphen") }
            let labelIsASCII = label.utf8.allSatisfy { $0 < 0x80 }
            if label.hasPrefix("xn--"), !labelIsASCII { throw JIDError("the A-label '\(label)' must be ASCII") }
            for scalar in label.unicodeScalars {
                if scalar == "-" { continue }
                if scalar.isASCII {
                    guard scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) else {
                        throw JIDError("the domainpart may not contain '\(scalar)'")
                    }
                    continue
                }
                switch scalar.properties.generalCategory {
                case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                    .decimalNumber, .nonspacingMark, .spacingMark:
                    continue
                default:
                    throw JIDError("the domainpart may not contain U+\(String(scalar.value, radix: 16, uppercase: true))")
                }
            }
        }
        return domain
    }

    /// PRECIS OpaqueString: NFC, any printable character including spaces inside.
    static func normaliseResourcepart(_ part: String) throws(JIDError) -> String {
        guard !part.isEmpty else { throw JIDError("the resourcepart is empty") }
        let normalised = part.utf8.allSatisfy({ $0 < 0x80 }) ? part : nfc(part)
        guard normalised.utf8.count <= maximumPartBytes else { throw JIDError("the resourcepart is longer than 1023 bytes") }
        for scalar in normalised.unicodeScalars where !scalar.isASCII || scalar.value < 0x20 || scalar.value == 0x7F {
            try checkAllowed(scalar, in: "resourcepart")
        }
        return normalised
    }

    private static func checkAllowed(_ scalar: Unicode.Scalar, in part: String) throws(JIDError) {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator:
            throw JIDError("the \(part) may not contain U+\(String(scalar.value, radix: 16, uppercase: true))")
        default:
            break
        }
    }

    private static func nfc(_ string: String) -> String {
        string.precomposedStringWithCanonicalMapping
    }
}

/// IP address literals allowed as domainparts (RFC 7622 §3.2).
enum IPLiteral {
    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && Int(part)! <= 255
        }
    }

    /// Lowercases a textual IPv6 address after checking its shape; `nil` if it is not one.
    static func normaliseIPv6(_ text: String) -> String? {
        var body = Substring(text)
        var groupsAvailable = 8
        if let lastColon = body.lastIndex(of: ":"), body[body.index(after: lastColon)...].contains(".") {
            guard isIPv4(String(body[body.index(after: lastColon)...])) else { return nil }
            body = body[...lastColon]
            if body.hasSuffix(":"), !body.hasSuffix("::") { body = body.dropLast() }
            groupsAvailable = 6
        }
        let halves = body.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        var groupCount = 0
        for half in halves where !half.isEmpty {
            for group in half.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), group.allSatisfy(\.isHexDigit) else { return nil }
                groupCount += 1
            }
        }
        if halves.count == 1 ? groupCount != groupsAvailable : groupCount >= groupsAvailable { return nil }
        return text.lowercased()
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
