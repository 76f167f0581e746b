/// Why an admin operation did nothing, with the exit code the command ends with: 2 for input the
/// operator can correct (the same code as an invalid `federation.toml`), 1 when the store failed.
package struct AdminError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of refusal this is, so that the admin HTTP API can answer with the right status
    /// (the command only needs the exit code).
    package enum Kind: Sendable, Hashable {
        /// The input is malformed or breaks a rule.
        case invalid
        /// The user or domain named does not exist.
        case notFound
        /// It exists already, and replacing it would lose something.
        case conflict
        /// The store failed.
        case failure
    }

    package var message: String
    package var exitCode: Int32
    package var kind: Kind

    package init(_ message: String, exitCode: Int32 = AdminError.invalidInput, kind: Kind? = nil) {
        self.message = message
        self.exitCode = exitCode
        self.kind = kind ?? (exitCode == AdminError.failure ? .failure : .invalid)
    }

    /// Refused input: nothing was written.
    package static let invalidInput: Int32 = 2
    /// The store could not be opened, read or written.
    package static let failure: Int32 = 1

    package var description: String { message }
}
