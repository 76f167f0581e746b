public import XMLStreaming

/// One replayable transcript: who says what to the gateway and what the gateway must say back.
/// See `Fixtures/README.md` for the format.
public struct Fixture: Sendable {
    /// The file the fixture came from, for reports.
    public var name: String
    public var title: String
    public var description: [String]
    /// TOML overriding the translator's defaults, in `federation.toml` syntax.
    public var configuration: String?
    /// Partners, users, contacts and presence that exist before the script starts.
    public var setup: [XMLElement]
    public var steps: [Step]

    public struct Step: Sendable {
        /// 1-based line in the fixture file, for error messages.
        public var line: Int
        public var actor: String
        public var action: Action
    }

    public enum Action: Sendable {
        /// A remote server writes these bytes on its stream (the block exactly as written, or with
        /// `\xNN` escapes decoded for `sends raw:`). `raw` also suppresses the automatic stream header.
        case sends(bytes: [UInt8], raw: Bool)
        /// An internal user acts, in the fixture notation of internal actions.
        case does([XMLElement])
        /// The gateway must have produced exactly these outputs for the actor, in order.
        case receives([XMLElement])
        /// The gateway must have produced nothing for the actor.
        case receivesNothing
        /// The gateway must have ended the actor's stream with this condition; when `textContains`
        /// is given, the error text must contain it.
        case isDisconnected(condition: String, textContains: String?)
    }
}
