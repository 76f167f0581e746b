import Foundation

/// The per-code-point rules shared by PRECIS (RFC 8264 §8–9, for localparts and resourceparts) and
/// IDNA2008 (RFC 5892, for domain labels), computed from the Unicode properties Swift exposes rather
/// than from generated tables, so they follow the toolchain's Unicode version.
///
/// Where a rule needs a property Swift does not expose, it is approximated: the Script property used
/// by a few contextual rules is approximated by code point ranges, and the ZERO WIDTH NON-JOINER is
/// accepted only after a virama (its Joining_Type alternative is not available).
enum CodePointRules {
    /// The string class a part is checked against.
    enum Repertoire {
        /// PRECIS IdentifierClass (localparts): printable ASCII, and beyond ASCII only letters,
        /// digits and combining marks; no spaces, symbols or punctuation outside ASCII.
        case identifier
        /// PRECIS FreeformClass (resourceparts): also spaces, symbols, punctuation and
        /// compatibility characters; still no controls, format or private-use code points.
        case freeform
        /// IDNA2008 PVALID (domain labels): LDH in ASCII; beyond it letters, digits and marks that
        /// NFKC_Casefold leaves unchanged, outside the blocks RFC 5892 §2.4 ignores.
        case domainLabel
    }

    /// Checks every scalar of a normalised part, throwing for the first one the repertoire does not
    /// admit. The scalars are passed as an array because contextual rules look at neighbours.
    static func check(_ scalars: [Unicode.Scalar], against repertoire: Repertoire, in part: String) throws(JIDError) {
        for index in scalars.indices {
            let scalar = scalars[index]
            if scalar.isASCII {
                guard isAllowedASCII(UInt8(scalar.value), in: repertoire) else {
                    throw JIDError("the \(part) may not contain \(describe(scalar))")
                }
                continue
            }
            switch exception(scalar.value) {
            case .valid?:
                continue
            case .disallowed?:
                throw JIDError("the \(part) may not contain \(describe(scalar))")
            case .contextual?:
                guard contextAllows(scalars, at: index) else {
                    throw JIDError("the \(part) may not contain \(describe(scalar)) in this context")
                }
                continue
            case nil:
                break
            }
            let properties = scalar.properties
            let category = properties.generalCategory
            if category == .unassigned {
                throw JIDError("the \(part) may not contain the unassigned code point \(describe(scalar))")
            }
            if properties.isJoinControl {
                guard contextAllows(scalars, at: index) else {
                    throw JIDError("the \(part) may not contain \(describe(scalar)) in this context")
                }
                continue
            }
            if isConjoiningJamo(scalar.value) || properties.isDefaultIgnorableCodePoint
                || properties.isNoncharacterCodePoint || category == .control
                || (repertoire == .domainLabel && isInIgnoredBlock(scalar.value))
            {
                throw JIDError("the \(part) may not contain \(describe(scalar))")
            }
            let admitted =
                switch repertoire {
                case .identifier: isLetterOrDigit(category)
                case .domainLabel: isLetterOrDigit(category) && !properties.changesWhenNFKCCaseFolded
                case .freeform: isLetterOrDigit(category) || isFreeformOnly(category)
                }
            guard admitted else { throw JIDError("the \(part) may not contain \(describe(scalar))") }
        }
    }

    /// PRECIS HasCompat (RFC 8264 §9.17): the IdentifierClass refuses code points whose NFKC form
    /// differs. For an NFC string that holds exactly when the NFKC form of the whole string differs,
    /// so the per-scalar search only runs to name the culprit.
    static func checkNoCompatibilityForms(_ normalised: String, in part: String) throws(JIDError) {
        guard normalised.precomposedStringWithCompatibilityMapping != normalised else { return }
        let culprit = normalised.unicodeScalars.first { scalar in
            let single = String(scalar)
            return single.precomposedStringWithCompatibilityMapping != single
        }
        let name = culprit.map(describe) ?? "a compatibility character"
        throw JIDError("the \(part) may not contain \(name), which has a compatibility decomposition")
    }

    /// PRECIS width mapping (RFC 8265 §3.3.1, RFC 7622 §3.2.2): fullwidth and halfwidth forms
    /// become their decomposition mappings, so `ｊｕｌｉｅｔ` and `juliet` are the same localpart.
    static func mapWidth(_ text: Substring) -> String {
        guard text.unicodeScalars.contains(where: isWidthVariant) else { return String(text) }
        var mapped = ""
        for scalar in text.unicodeScalars {
            if isWidthVariant(scalar) {
                mapped += String(scalar).precomposedStringWithCompatibilityMapping
            } else {
                mapped.unicodeScalars.append(scalar)
            }
        }
        return mapped
    }

    /// A code point for an error message: printable ASCII as itself, everything else as `U+XXXX`.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        if (0x21...0x7E).contains(scalar.value) { return "'\(Character(scalar))'" }
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    // MARK: - Properties

    private static func isAllowedASCII(_ byte: UInt8, in repertoire: Repertoire) -> Bool {
        switch repertoire {
        case .identifier:
            (0x21...0x7E).contains(byte)
        case .freeform:
            (0x20...0x7E).contains(byte)
        case .domainLabel:
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
    }

    /// RFC 8264 §9.1 LetterDigits (the same set as RFC 5892 §2.1).
    private static func isLetterOrDigit(_ category: Unicode.GeneralCategory) -> Bool {
        switch category {
        case .lowercaseLetter, .uppercaseLetter, .otherLetter, .modifierLetter, .decimalNumber,
            .nonspacingMark, .spacingMark:
            true
        default:
            false
        }
    }

    /// RFC 8264 §9.12–9.16: OtherLetterDigits, Spaces, Symbols and Punctuation, which the
    /// FreeformClass admits and the IdentifierClass does not.
    private static func isFreeformOnly(_ category: Unicode.GeneralCategory) -> Bool {
        switch category {
        case .titlecaseLetter, .letterNumber, .otherNumber, .enclosingMark, .spaceSeparator,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            true
        default:
            false
        }
    }

    /// RFC 8264 §9.9 OldHangulJamo: conjoining jamo (Hangul_Syllable_Type L, V or T). NFC has
    /// already composed modern sequences into syllables, so any left are refused.
    private static func isConjoiningJamo(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x11FF, 0xA960...0xA97C, 0xD7B0...0xD7C6, 0xD7CB...0xD7FB: true
        default: false
        }
    }

    /// RFC 5892 §2.4 IgnorableBlocks.
    private static func isInIgnoredBlock(_ value: UInt32) -> Bool {
        switch value {
        case 0x20D0...0x20FF, 0x1D100...0x1D1FF, 0x1D200...0x1D24F: true
        default: false
        }
    }

    private static func isWidthVariant(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value == 0x3000 || (0xFF01...0xFFEE).contains(scalar.value)
    }

    // MARK: - Exceptions and contextual rules

    private enum Exception {
        case valid, contextual, disallowed
    }

    /// RFC 5892 §2.6 Exceptions, which RFC 8264 §9.6 adopts unchanged.
    private static func exception(_ value: UInt32) -> Exception? {
        switch value {
        case 0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007:
            .valid
        case 0x00B7, 0x0375, 0x05F3, 0x05F4, 0x0660...0x0669, 0x06F0...0x06F9, 0x30FB:
            .contextual
        case 0x0640, 0x07FA, 0x302E, 0x302F, 0x3031...0x3035, 0x303B:
            .disallowed
        default:
            nil
        }
    }

    /// RFC 5892 Appendix A: the CONTEXTJ and CONTEXTO rules.
    private static func contextAllows(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        let before = index > scalars.startIndex ? scalars[index - 1] : nil
        let after = index + 1 < scalars.endIndex ? scalars[index + 1] : nil
        switch scalars[index].value {
        case 0x200C, 0x200D:
            return before?.properties.canonicalCombiningClass == .virama
        case 0x00B7:
            return before == "l" && after == "l"
        case 0x0375:
            return after.map(isGreek) ?? false
        case 0x05F3, 0x05F4:
            return before.map(isHebrew) ?? false
        case 0x30FB:
            return scalars.contains(where: isKanaOrHan)
        case 0x0660...0x0669:
            return !scalars.contains { (0x06F0...0x06F9).contains($0.value) }
        case 0x06F0...0x06F9:
            return !scalars.contains { (0x0660...0x0669).contains($0.value) }
        default:
            return false
        }
    }

    private static func isGreek(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0370...0x0373, 0x0376...0x037D, 0x037F, 0x0384, 0x0386, 0x0388...0x03E1, 0x03F0...0x03FF,
            0x1D26...0x1D2A, 0x1F00...0x1FFE, 0x2126, 0xAB65, 0x10140...0x1018E, 0x1D200...0x1D245:
            true
        default:
            false
        }
    }

    private static func isHebrew(_ scalar: Unicode.Scalar) -> Bool {
        (0x0591...0x05F4).contains(scalar.value) || (0xFB1D...0xFB4F).contains(scalar.value)
    }

    private static func isKanaOrHan(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3041...0x3096, 0x309D...0x309F, 0x30A1...0x30FA, 0x30FD...0x30FF, 0x31F0...0x31FF,
            0x32D0...0x32FE, 0x3300...0x3357, 0xFF66...0xFF6F, 0xFF71...0xFF9D, 0x1AFF0...0x1B16F,
            0x2E80...0x2FD5, 0x3005, 0x3007, 0x3021...0x3029, 0x3038...0x303B, 0x3400...0x4DBF,
            0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x323AF:
            true
        default:
            false
        }
    }
}
