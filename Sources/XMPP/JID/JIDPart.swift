import Foundation

/// Validation and normalisation of the three JID parts (RFC 7622 §3.2–3.4).
///
/// Every part has an ASCII fast path, because nearly every address on the wire is ASCII and JIDs
/// are parsed for every stanza's `from` and `to`: one pass over the bytes both validates and tells
/// whether lowercasing is needed, and Foundation (NFC, NFKC) is only reached for non-ASCII input.
enum JIDPart {
    /// RFC 7622 §3.1: each part is at most 1023 bytes once normalised.
    static let maximumPartBytes = 1023

    /// Input longer than this cannot normalise to `maximumPartBytes` (mapping and NFC shrink text
    /// at most threefold), so it is rejected before any Unicode work is spent on it.
    static let maximumInputBytes = 4 * maximumPartBytes

    // MARK: - Localpart

    /// PRECIS UsernameCaseMapped (RFC 8265 §3.3) plus the RFC 7622 §3.3.1 exclusions: width-mapped,
    /// lowercased, NFC, then checked against the IdentifierClass, which admits printable ASCII
    /// and, beyond ASCII, only letters, digits and combining marks without compatibility forms. The
    /// bidi rule is not applied: Swift does not expose the Bidi_Class property.
    static func normaliseLocalpart(_ part: Substring) throws(JIDError) -> String {
        guard !part.isEmpty else { throw JIDError("the localpart is empty") }
        let count = part.utf8.count
        guard count <= maximumInputBytes else { throw JIDError("the localpart is longer than 1023 bytes") }
        var hasUppercase = false
        for byte in part.utf8 {
            switch byte {
            case 0x41...0x5A:
                hasUppercase = true
            case 0x80...:
                return try normaliseUnicodeLocalpart(part)
            case 0x21...0x7E:
                guard !isExcludedFromLocalpart(byte) else {
                    throw JIDError("the localpart may not contain \(CodePointRules.describe(Unicode.Scalar(byte)))")
                }
            default:
                throw JIDError("the localpart may not contain \(CodePointRules.describe(Unicode.Scalar(byte)))")
            }
        }
        guard count <= maximumPartBytes else { throw JIDError("the localpart is longer than 1023 bytes") }
        return hasUppercase ? asciiLowercased(part) : String(part)
    }

    private static func normaliseUnicodeLocalpart(_ part: Substring) throws(JIDError) -> String {
        let normalised = CodePointRules.mapWidth(part).lowercased().precomposedStringWithCanonicalMapping
        guard !normalised.isEmpty else { throw JIDError("the localpart is empty") }
        guard normalised.utf8.count <= maximumPartBytes else { throw JIDError("the localpart is longer than 1023 bytes") }
        let scalars = Array(normalised.unicodeScalars)
        for scalar in scalars where scalar.isASCII && isExcludedFromLocalpart(UInt8(scalar.value)) {
            throw JIDError("the localpart may not contain \(CodePointRules.describe(scalar))")
        }
        try CodePointRules.check(scalars, against: .identifier, in: "localpart")
        try CodePointRules.checkNoCompatibilityForms(normalised, in: "localpart")
        return normalised
    }

    /// RFC 7622 §3.3.1: `" & ' / : < > @`, which the IdentifierClass would allow but which would
    /// clash with the JID syntax or with XMPP's XML and URI contexts.
    private static func isExcludedFromLocalpart(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "/"),
            UInt8(ascii: ":"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"):
            true
        default:
            false
        }
    }

    // MARK: - Resourcepart

    /// PRECIS OpaqueString (RFC 8265 §4.2): non-ASCII spaces mapped to U+0020, NFC, no case or width
    /// mapping, checked against the FreeformClass, which admits spaces, symbols and punctuation but
    /// not controls, default-ignorable, private-use or unassigned code points.
    static func normaliseResourcepart(_ part: Substring) throws(JIDError) -> String {
        guard !part.isEmpty else { throw JIDError("the resourcepart is empty") }
        let count = part.utf8.count
        guard count <= maximumInputBytes else { throw JIDError("the resourcepart is longer than 1023 bytes") }
        for byte in part.utf8 {
            switch byte {
            case 0x20...0x7E:
                continue
            case 0x80...:
                return try normaliseUnicodeResourcepart(part)
            default:
                throw JIDError("the resourcepart may not contain \(CodePointRules.describe(Unicode.Scalar(byte)))")
            }
        }
        guard count <= maximumPartBytes else { throw JIDError("the resourcepart is longer than 1023 bytes") }
        return String(part)
    }

    private static func normaliseUnicodeResourcepart(_ part: Substring) throws(JIDError) -> String {
        var mapped = String.UnicodeScalarView()
        for scalar in part.unicodeScalars {
            let isNonASCIISpace = !scalar.isASCII && scalar.properties.generalCategory == .spaceSeparator
            mapped.append(isNonASCIISpace ? " " : scalar)
        }
        let normalised = String(mapped).precomposedStringWithCanonicalMapping
        guard normalised.utf8.count <= maximumPartBytes else {
            throw JIDError("the resourcepart is longer than 1023 bytes")
        }
        try CodePointRules.check(Array(normalised.unicodeScalars), against: .freeform, in: "resourcepart")
        return normalised
    }

    // MARK: - ASCII helpers

    /// Lowercases A–Z only; the caller has checked the text is ASCII.
    static func asciiLowercased(_ text: Substring) -> String {
        String(unsafeUninitializedCapacity: text.utf8.count) { buffer in
            var index = 0
            for byte in text.utf8 {
                buffer[index] = (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
                index += 1
            }
            return index
        }
    }
}
