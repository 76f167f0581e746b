/// Why a federation policy cannot be used: what it is about and how to fix it.
///
/// Policies are checked once, when they are loaded, so that a mistake stops the gateway at start-up
/// with a message an admin can act on instead of surfacing later as a peer that cannot authenticate.
package struct PolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What the problem is about, for example `partner fabrikam.example` or `blocklist`.
    package var subject: String
    /// What is wrong and how to fix it.
    package var problem: String

    package init(subject: String, problem: String) {
        self.subject = subject
        self.problem = problem
    }

    package var description: String { "\(subject): \(problem)" }
}

/// A policy that works but probably not as its author expects; returned as a value so that the
/// caller decides where it goes (start-up log, admin command output, a test's expectation).
package struct PolicyWarning: Sendable, Hashable, CustomStringConvertible {
    /// What the warning is about, for example `partner fabrikam.example`.
    package var subject: String
    /// What will happen and what to change if that is not intended.
    package var message: String

    package init(subject: String, message: String) {
        self.subject = subject
        self.message = message
    }

    package var description: String { "\(subject): \(message)" }
}
