import Foundation

/// Finds and reads fixture files.
package enum FixtureLibrary {
    /// Every `*.fixture` file below `directory`, sorted by path so runs are reproducible.
    package static func load(directory: String) throws -> [Fixture] {
        let root = URL(fileURLWithPath: directory)
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw FixtureSyntaxError(file: directory, line: 0, message: "cannot read the directory")
        }
        var paths: [String] = []
        for case let url as URL in enumerator where url.pathExtension == "fixture" {
            paths.append(url.path)
        }
        return try paths.sorted().map { path in
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let name = path.hasPrefix(root.path + "/") ? String(path.dropFirst(root.path.count + 1)) : path
            return try FixtureParser.parse(text, name: name)
        }
    }
}
