/// A domain name as DNS carries it (RFC 1035 §3.1): a sequence of labels of 1–63 octets, at most
/// 255 octets on the wire counting each label's length byte and the final root byte.
///
/// Names compare case-insensitively (RFC 4343), so the labels are stored with ASCII letters folded
/// to lowercase: two spellings of one name are then simply equal and hash alike. Other octets are
/// kept as they are, because labels on the wire may hold any byte.
///
/// IDNA is out of scope: a JID domainpart may be Unicode (`café.example`), but this type only
/// accepts ASCII text. Converting U-labels to A-labels (`xn--caf-dma.example`) must happen before a
/// name gets here; `init(_:)` refuses non-ASCII text with ``DNSNameError/nonASCII`` rather than
/// sending bytes no server would match.
package struct DNSName: Sendable, Hashable, CustomStringConvertible {
    /// RFC 1035 §2.3.4.
    package static let maximumLabelLength = 63
    /// RFC 1035 §2.3.4, in wire octets: every label's length byte and octets, plus the root byte.
    package static let maximumWireLength = 255

    /// The labels, most specific first, letters in lowercase; empty for the root.
    package let labels: [[UInt8]]

    /// The root name, `.`, which as an SRV target means "no service here" (RFC 2782).
    package static let root = DNSName(validatedLabels: [])

    /// Octets this name takes on the wire without compression.
    package var wireLength: Int {
        labels.reduce(1) { $0 + 1 + $1.count }
    }

    /// Whether this is the root name.
    package var isRoot: Bool { labels.isEmpty }

    /// Parses dotted text such as `_xmpp-server._tcp.example.com`; one trailing dot is allowed and
    /// `.` alone is the root.
    ///
    /// Only printable ASCII other than `.` and `\` may appear in a label: service labels need `_`,
    /// and refusing spaces, control characters and escapes keeps configuration typos from turning
    /// into queries for names that cannot exist. Non-ASCII text is refused with
    /// ``DNSNameError/nonASCII``: IDNA conversion is the caller's job (see the type's documentation).
    package init(_ text: String) throws(DNSNameError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw .empty }
        if bytes == [UInt8(ascii: ".")] {
            self = .root
            return
        }
        var body = bytes[...]
        if body.last == UInt8(ascii: ".") { body = body.dropLast() }
        var labels: [[UInt8]] = []
        var current: [UInt8] = []
        for byte in body {
            switch byte {
            case UInt8(ascii: "."):
                guard !current.isEmpty else { throw .emptyLabel }
                labels.append(current)
                current = []
            case 0x80...:
                throw .nonASCII
            case 0x21...0x7E where byte != UInt8(ascii: "\\"):
                current.append(Self.lowercased(byte))
                guard current.count <= Self.maximumLabelLength else { throw .labelTooLong(current.count) }
            default:
                throw .invalidCharacter(byte)
            }
        }
        guard !current.isEmpty else { throw .emptyLabel }
        labels.append(current)
        try self.init(labels: labels)
    }

    /// Builds a name from raw labels, as decoded from the wire, checking the RFC 1035 limits.
    package init(labels: [[UInt8]]) throws(DNSNameError) {
        var length = 1
        for label in labels {
            guard !label.isEmpty else { throw .emptyLabel }
            guard label.count <= Self.maximumLabelLength else { throw .labelTooLong(label.count) }
            length += 1 + label.count
        }
        guard length <= Self.maximumWireLength else { throw .nameTooLong(length) }
        self.init(validatedLabels: labels.map { $0.map(Self.lowercased) })
    }

    private init(validatedLabels: [[UInt8]]) {
        labels = validatedLabels
    }

    /// This name with `label` in front, as in `_tcp` + `example.com`; fails if the result breaks
    /// the RFC 1035 limits.
    package func prepending(_ label: String) throws(DNSNameError) -> DNSName {
        let prefix = try DNSName(label)
        return try DNSName(labels: prefix.labels + labels)
    }

    /// Whether `self` is `other` or lies beneath it.
    package func isSubdomain(of other: DNSName) -> Bool {
        labels.count >= other.labels.count && Array(labels.suffix(other.labels.count)) == other.labels
    }

    /// Dotted text without a trailing dot (`.` for the root); octets outside printable ASCII, and
    /// `.` or `\` inside a label, are written as `\DDD` (RFC 1035 §5.1) so that the text is
    /// unambiguous and safe to log.
    package var description: String {
        guard !labels.isEmpty else { return "." }
        return labels.map { label in
            var text = ""
            for byte in label {
                if (0x21...0x7E).contains(byte), byte != UInt8(ascii: "."), byte != UInt8(ascii: "\\") {
                    text.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            return text
        }.joined(separator: ".")
    }

    /// Appends the uncompressed wire form: each label's length and octets, then the root byte.
    func write(to buffer: inout [UInt8]) {
        for label in labels {
            buffer.append(UInt8(label.count))
            buffer.append(contentsOf: label)
        }
        buffer.append(0)
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }
}

/// Why text or labels are not a usable DNS name.
package enum DNSNameError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text was empty (the root is written `.`).
    case empty
    /// Two dots in a row, or a leading dot: DNS has no empty labels except the root.
    case emptyLabel
    /// A label longer than 63 octets (its length is given).
    case labelTooLong(Int)
    /// The name takes more than 255 octets on the wire (its wire length is given).
    case nameTooLong(Int)
    /// The text has a non-ASCII character: it needs IDNA conversion to A-labels first, which this
    /// module does not do.
    case nonASCII
    /// A space, control character or `\` (the byte is given).
    case invalidCharacter(UInt8)

    package var description: String {
        switch self {
        case .empty: "the name is empty"
        case .emptyLabel: "the name has an empty label"
        case .labelTooLong(let length): "a label is \(length) octets long; DNS allows at most 63"
        case .nameTooLong(let length): "the name is \(length) octets on the wire; DNS allows at most 255"
        case .nonASCII:
            "the name is not ASCII; convert internationalised labels to A-labels (punycode) first"
        case .invalidCharacter(let byte): "the name contains the byte 0x\(String(byte, radix: 16))"
        }
    }
}
