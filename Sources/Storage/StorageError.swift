/// Why the store refused or failed an operation. Input problems (`invalidJID`, `invalidPresence`,
/// `invalidPartner`, `unknownUser`) are found before anything is written, so a refused call leaves
/// the store as it was; the API layer can turn them into 4xx answers with the message as it is.
package enum StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A JID string that does not parse, is not bare where a bare JID is needed, or is not in its
    /// normalised form (rows are keyed by the normalised text, so `Alice@X` and `alice@x` must not
    /// become two users).
    case invalidJID(field: String, value: String, reason: String)
    /// A presence the internal model refuses (`RichPresence.validate`).
    case invalidPresence(String)
    /// A partner entry the federation policy refuses (`PartnerPolicy.validate`).
    case invalidPartner(String)
    /// The operation needs an internal user that is not in the store.
    case unknownUser(String)
    /// A stored row that no longer decodes: a bug or a file edited by hand.
    case corrupt(String)
    /// SQLite or the file system failed (full disk, locked or unreadable file, failed export write).
    case database(String)

    package var description: String {
        switch self {
        case .invalidJID(let field, let value, let reason): "\(field) '\(value)' is not a valid JID: \(reason)"
        case .invalidPresence(let problem): "invalid presence: \(problem)"
        case .invalidPartner(let problem): "invalid partner: \(problem)"
        case .unknownUser(let jid): "no internal user \(jid)"
        case .corrupt(let problem): "the store holds a row that does not decode: \(problem)"
        case .database(let problem): "database error: \(problem)"
        }
    }
}
