import PresenceModel
import Storage
import XMPP

/// How fast the SQLite store takes inbound messages with history and the compliance archive, as
/// the gateway's store writer gives them to it: `apply` with one transaction (and one fsync) per
/// batch. Batches of the writer's maximum (512) are what a flood gets; smaller ones what lighter
/// traffic gets; one per transaction is the cost without group commit.
enum StoreBenchmark {
    struct Result {
        var batch: Int
        var messages: Int
        var seconds: Double
    }

    static let bodies = [
        "Can we move the review to Thursday afternoon?",
        "Die Unterlagen für das Angebot liegen im gemeinsamen Ordner, bitte bis Freitag prüfen.",
        "会議の資料を共有しました。ご確認ください。",
        "Відправив оновлений договір, чекаю на коментарі від юристів.",
        "ok 👍",
        String(repeating: "A longer message, as people paste them from elsewhere. ", count: 8),
    ]

    /// `file` must not exist yet: the store is created there.
    static func run(file: String) async throws -> [Result] {
        let store = try SQLiteStore(path: file, archivePolicy: .everyone)
        let user = try JID("alice@contoso.example")
        try await store.saveUser(InternalUser(jid: user.description))
        let contacts = try (0..<100).map { try JID("user\($0)@partner\($0 % 10).example") }
        var results: [Result] = []
        var written = 0
        for (batch, messages) in [(512, 100_000), (32, 20_000), (1, 2_000)] {
            let clock = ContinuousClock()
            let started = clock.now
            var done = 0
            while done < messages {
                let writes = (0..<min(batch, messages - done)).map { offset -> StoreWrite in
                    let number = written + done + offset
                    return .recordMessage(
                        MessageRecord(
                            user: user, contact: contacts[number % contacts.count], direction: .inbound,
                            body: bodies[number % bodies.count], messageID: "m\(number)",
                            at: Timestamp(millisecondsSinceEpoch: 1_765_000_000_000 + Int64(number))
                        )
                    )
                }
                _ = try await store.apply(writes)
                done += writes.count
            }
            results.append(Result(batch: batch, messages: messages, seconds: (clock.now - started).seconds))
            written += messages
        }
        return results
    }
}
