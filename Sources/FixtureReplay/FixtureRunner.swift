import Translation
import XMLStreaming
import XMPP

/// The outcome of replaying one fixture.
public struct FixtureResult: Sendable {
    public var fixture: String
    public var title: String
    /// `nil` when the fixture passed; otherwise where and why it failed, with a diff where one helps.
    public var failure: String?

    public var passed: Bool { failure == nil }
}

/// Replays fixtures against the real parser, stream checks and translator.
public enum FixtureRunner {
    /// Replays one fixture. `chunkSize` splits every remote block (1 = one byte at a time).
    public static func run(_ fixture: Fixture, chunkSize: Int? = nil) -> FixtureResult {
        var result = FixtureResult(fixture: fixture.name, title: fixture.title, failure: nil)
        do throws(ReplayFailure) {
            try replay(fixture, chunkSize: chunkSize)
        } catch {
            result.failure = error.description
        }
        return result
    }

    struct ReplayFailure: Error, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    private static func replay(_ fixture: Fixture, chunkSize: Int?) throws(ReplayFailure) {
        let world: FixtureNotation.World
        do throws(FixtureNotation.NotationError) {
            world = try FixtureNotation.world(configuration: fixture.configuration, setup: fixture.setup)
        } catch {
            throw ReplayFailure(line: 1, message: "setup: \(error.message)")
        }
        var gateway = ReplayGateway(translator: world.translator, parserLimits: world.parserLimits)

        for step in fixture.steps {
            func fail(_ message: String) -> ReplayFailure { ReplayFailure(line: step.line, message: message) }
            switch step.action {
            case .sends(let bytes, let raw):
                try expectNoPendingOutput(gateway, line: step.line)
                guard world.partnerDomains.contains(step.actor) else {
                    throw fail("'\(step.actor)' is not a partner domain of this fixture's setup")
                }
                if gateway.streamIsClosed(for: step.actor) { throw fail("\(step.actor)'s stream is already closed") }
                if !raw, !gateway.streamIsOpen(for: step.actor) {
                    gateway.receive(gateway.standardHeader(from: step.actor), from: step.actor, chunkSize: chunkSize)
                }
                gateway.receive(bytes, from: step.actor, chunkSize: chunkSize)

            case .does(let elements):
                try expectNoPendingOutput(gateway, line: step.line)
                guard let user = try? JID(step.actor), world.users.contains(user) else {
                    throw fail("'\(step.actor)' is not an internal user of this fixture's setup")
                }
                for element in elements {
                    do throws(FixtureNotation.NotationError) {
                        gateway.perform(try FixtureNotation.action(element, user: user))
                    } catch {
                        throw fail(error.message)
                    }
                }

            case .receives(let expected):
                for expectedElement in expected {
                    guard let output = gateway.takeOutput(for: step.actor) else {
                        throw fail("\(step.actor) received nothing, but expected:\n" + indent(PrettyPrinter.string(expectedElement)))
                    }
                    let actual: XMLElement
                    switch output {
                    case .stanza(let element), .event(let element): actual = element
                    case .streamError(let error):
                        throw fail("\(step.actor) was disconnected with \(error) instead of receiving:\n" + indent(PrettyPrinter.string(expectedElement)))
                    }
                    if !XMLMatcher.matches(expected: expectedElement, actual: actual) {
                        throw fail(
                            "\(step.actor) received something else (- expected, + actual):\n"
                                + indent(XMLMatcher.diff(expected: expectedElement, actual: actual))
                        )
                    }
                }

            case .receivesNothing:
                if let output = gateway.takeOutput(for: step.actor) {
                    throw fail("\(step.actor) should have received nothing, but received:\n" + indent(describe(output)))
                }

            case .isDisconnected(let condition, let textContains):
                guard let output = gateway.takeOutput(for: step.actor) else {
                    throw fail("\(step.actor) is still connected; expected a \(condition) stream error")
                }
                guard case .streamError(let error) = output else {
                    throw fail("expected a \(condition) stream error, but \(step.actor) received:\n" + indent(describe(output)))
                }
                if error.condition.rawValue != condition {
                    throw fail("expected stream error \(condition), got \(error)")
                }
                if let textContains, !(error.text ?? "").contains(textContains) {
                    throw fail("the \(condition) stream error's text '\(error.text ?? "")' does not contain '\(textContains)'")
                }
            }
        }
        try expectNoPendingOutput(gateway, line: (fixture.steps.last?.line ?? 0) + 1)
    }

    private static func expectNoPendingOutput(_ gateway: ReplayGateway, line: Int) throws(ReplayFailure) {
        for actor in gateway.outputs.keys.sorted() {
            guard let first = gateway.outputs[actor]?.first else { continue }
            throw ReplayFailure(line: line, message: "unexpected output to \(actor) that no 'receives' step matched:\n" + indent(describe(first)))
        }
    }

    static func describe(_ output: ReplayGateway.Output) -> String {
        switch output {
        case .stanza(let element): PrettyPrinter.string(element)
        case .event(let element): PrettyPrinter.string(element, parentNamespace: "")
        case .streamError(let error): "stream error \(error)"
        }
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
    }
}
