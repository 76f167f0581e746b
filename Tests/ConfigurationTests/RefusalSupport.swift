import Configuration
import Testing

/// The message `GatewayConfiguration.load` refuses `toml` with, or `nil` if it accepts it.
func refusal(_ toml: String) -> String? {
    do {
        _ = try GatewayConfiguration.load(toml: toml)
        return nil
    } catch {
        return error.message
    }
}

/// Expects `toml` to be refused with a message containing `expected`.
func expectRefusal(_ toml: String, containing expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let message = refusal(toml) else {
        Issue.record("accepted: \(toml)", sourceLocation: sourceLocation)
        return
    }
    #expect(message.contains(expected), "\(message)", sourceLocation: sourceLocation)
}
