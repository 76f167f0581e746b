package import Foundation

/// Files for a test, in a fresh directory under the system's temporary one.
package enum TestFiles {
    /// Writes `files` (name → text) into a new directory and returns it.
    package static func write(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return directory
    }
}
