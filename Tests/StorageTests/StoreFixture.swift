import Foundation
import PresenceModel
import Storage
import XMLStreaming
import XMPP

/// A database file in a fresh temporary directory; tests `defer { database.remove() }`.
struct TemporaryDatabase {
    let directory: URL
    var path: String { directory.appendingPathComponent("consulate.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("consulate-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    func open(archivePolicy: ArchivePolicy = .everyone, busyTimeout: Duration = .seconds(5)) throws -> SQLiteStore {
        try SQLiteStore(path: path, archivePolicy: archivePolicy, busyTimeout: busyTimeout)
    }

    /// Every byte SQLite has on disk for the database: the file and its write-ahead log.
    func bytesOnDisk() throws -> [UInt8] {
        var bytes: [UInt8] = []
        for suffix in ["", "-wal"] {
            if let data = FileManager.default.contents(atPath: path + suffix) { bytes += data }
        }
        return bytes
    }
}

func jid(_ text: String) -> JID {
    // Test literals are valid JIDs; a typo should fail loudly.
    try! JID(text)
}

func time(_ seconds: Int64) -> Timestamp {
    Timestamp(secondsSinceEpoch: 1_750_000_000 + seconds)
}

/// A chat message stanza from `from` to `to`.
func chat(_ body: String, from: String, to: String, id: String? = nil) -> XMLElement {
    var element = XMLElement("message", namespace: "jabber:server")
    element.setAttribute("from", to: from)
    element.setAttribute("to", to: to)
    element.setAttribute("type", to: "chat")
    element.setAttribute("id", to: id)
    var bodyElement = XMLElement("body", namespace: "jabber:server")
    bodyElement.append(text: body)
    element.append(bodyElement)
    return element
}

extension [UInt8] {
    func contains(_ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
