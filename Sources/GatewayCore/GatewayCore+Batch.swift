import Federation
import XMLStreaming
import XMPP

extension GatewayCore {
    /// The actions of one input as they are decided, with what is settled once at its end: which
    /// connections were written to (one `.flush` each) and the bounces to log.
    struct Batch {
        let time: GatewayTime
        private(set) var actions: [Action] = []
        private var written: [ConnectionID] = []
        /// `written` as a set: a fan-out writes to a thousand connections in one batch.
        private var writtenSet: Set<ConnectionID> = []
        private var bounced: [String: [String: Int]] = [:]
        /// The store jobs among the actions: what the store writer will report on.
        private(set) var storeJobs = 0

        init(time: GatewayTime) {
            self.time = time
        }

        mutating func append(_ action: Action) {
            if case .store = action { storeJobs += 1 }
            actions.append(action)
        }

        mutating func append(_ more: [Action]) {
            for action in more { append(action) }
        }

        /// A write on `connection`, flushed at the end of the input.
        mutating func write(_ action: Action, on connection: ConnectionID) {
            actions.append(action)
            if writtenSet.insert(connection).inserted { written.append(connection) }
        }

        mutating func log(_ level: LogRecord.Level, _ message: String, _ metadata: [String: String] = [:]) {
            actions.append(.log(LogRecord(level, message, metadata)))
        }

        /// A bounce is counted at once and logged with the others of its domain and condition.
        mutating func countBounce(_ reply: XMLElement) {
            let domain = (try? JID.parse(reply["from"]))??.domainpart ?? "unknown"
            let condition = StanzaError(stanza: reply)?.condition ?? .undefinedCondition
            bounced[domain, default: [:]][condition.rawValue, default: 0] += 1
            actions.append(.metric(.bounced(condition)))
        }

        mutating func flushWrites() {
            actions += written.map { .flush($0) }
            written = []
            writtenSet = []
        }

        mutating func logBounces() {
            for (domain, conditions) in bounced.sorted(by: { $0.key < $1.key }) {
                for (condition, count) in conditions.sorted(by: { $0.key < $1.key }) {
                    log(.notice, "stanzas bounced", ["peer": domain, "count": "\(count)", "condition": condition])
                }
            }
            bounced = [:]
        }
    }
}
