/// Why an admin operation did nothing, with the exit code the command ends with: 2 for input the
/// operator can correct (the same code as an invalid `federation.toml`), 1 when the store failed.
public struct AdminError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var exitCode: Int32

    public init(_ message: String, exitCode: Int32 = AdminError.invalidInput) {
        self.message = message
        self.exitCode = exitCode
    }

    /// Refused input: nothing was written.
    public static let invalidInput: Int32 = 2
    /// The store could not be opened, read or written.
    public static let failure: Int32 = 1

    public var description: String { message }
}
