import Federation
import Translation
import XMLStreaming
import XMPP

/// The outcome of replaying one fixture.
package struct FixtureResult: Sendable {
    package var fixture: String
    package var title: String
    /// `nil` when the fixture passed; otherwise where and why it failed, with a diff where one helps.
    package var failure: String?

    package var passed: Bool { failure == nil }
}

/// Replays fixtures against the real parser, stream checks and translator.
package enum FixtureRunner {
    /// Replays one fixture. `chunkSize` splits every remote block (1 = one byte at a time).
    package static func run(_ fixture: Fixture, chunkSize: Int? = nil) -> FixtureResult {
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
            if let step = fixture.steps.first, case .configurationIsRefused(let text) = step.action {
                guard error.message.contains(text) else {
                    throw ReplayFailure(line: step.line, message: "the configuration was refused with '\(error.message)', which does not contain '\(text)'")
                }
                return
            }
            throw ReplayFailure(line: 1, message: "setup: \(error.message)")
        }
        var gateway = ReplayGateway(world: world)

        for step in fixture.steps {
            try perform(step, on: &gateway, world: world, chunkSize: chunkSize)
        }
        try expectNoPendingOutput(gateway, line: (fixture.steps.last?.line ?? 0) + 1)
    }

    /// Carries out one step. Input steps first require every earlier output to have been matched.
    private static func perform(
        _ step: Fixture.Step, on gateway: inout ReplayGateway, world: FixtureNotation.World, chunkSize: Int?
    ) throws(ReplayFailure) {
        func fail(_ message: String) -> ReplayFailure { ReplayFailure(line: step.line, message: message) }
        func script(_ body: (inout ReplayGateway) throws(ReplayGateway.ScriptError) -> Void) throws(ReplayFailure) {
            try expectNoPendingOutput(gateway, line: step.line)
            do throws(ReplayGateway.ScriptError) {
                try body(&gateway)
            } catch {
                throw fail(error.message)
            }
        }
        switch step.action {
        case .sends(let bytes, let raw):
            guard world.mayFederate(step.actor) || gateway.isNegotiating(step.actor) else {
                throw fail("'\(step.actor)' is neither a domain that may federate under this fixture's policy nor connected")
            }
            if gateway.streamIsClosed(for: step.actor) { throw fail("\(step.actor)'s stream is already closed") }
            try script { (gateway) throws(ReplayGateway.ScriptError) in
                if !raw, !gateway.streamIsOpen(for: step.actor) {
                    try gateway.receive(gateway.standardHeader(from: step.actor), from: step.actor, chunkSize: chunkSize)
                }
                try gateway.receive(bytes, from: step.actor, chunkSize: chunkSize)
            }

        case .connects(let bytes, let directTLS):
            guard let domain = try? JID(step.actor), domain.isDomain else { throw fail("'\(step.actor)' is not a domain that could connect") }
            try script { (gateway) throws(ReplayGateway.ScriptError) in
                try gateway.connect(step.actor, directTLS: directTLS)
                try gateway.receive(bytes ?? gateway.standardHeader(from: step.actor), from: step.actor, chunkSize: chunkSize)
            }

        case .restartsStream:
            guard gateway.isNegotiating(step.actor) else { throw fail("\(step.actor) has not connected; restarts need a negotiated stream") }
            if gateway.streamIsClosed(for: step.actor) { throw fail("\(step.actor)'s stream is already closed") }
            try script { (gateway) throws(ReplayGateway.ScriptError) in
                try gateway.receive(gateway.standardHeader(from: step.actor), from: step.actor, chunkSize: chunkSize)
            }

        case .completesTLS(let certificate):
            try script { (gateway) throws(ReplayGateway.ScriptError) in try gateway.completeTLS(for: step.actor, with: certificate) }

        case .authoritativeServerAnswers(let domain, let reply):
            try script { (gateway) throws(ReplayGateway.ScriptError) in try gateway.authoritativeServer(of: domain, replies: reply) }

        case .configurationIsRefused(let text):
            throw fail("the configuration was accepted, but the fixture expects it refused with '\(text)'")

        case .timePasses(let duration):
            try script { gateway in gateway.pass(duration) }

        case .linkIsLost(let local):
            try script { (gateway) throws(ReplayGateway.ScriptError) in try gateway.loseLink(to: step.actor, from: local) }

        case .reachability(let reachability):
            try script { gateway in gateway.setReachability(of: step.actor, reachability) }

        case .linkIsClosed(let local, let reason):
            let local = local ?? world.firstLocalDomain
            let expected = "the link from \(local) closed" + (reason.map { " (\($0))" } ?? "")
            guard let output = gateway.takeOutput(for: step.actor) else {
                throw fail("\(step.actor) received nothing; expected \(expected)")
            }
            guard case .linkClosed(let closedLocal, let closedReason) = output, closedLocal == local, reason == nil || reason == closedReason.description else {
                throw fail("expected \(expected), but \(step.actor) got:\n" + indent(describe(output)))
            }

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
                case .stanza(let element), .event(let element), .streamHeader(let element): actual = element
                case .streamError, .streamClosed, .disconnected, .authenticated, .linkClosed:
                    throw fail("\(step.actor) got \(describe(output)) instead of receiving:\n" + indent(PrettyPrinter.string(expectedElement)))
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
            let expected = condition.map { "a \($0) stream error" } ?? "the stream closed without an error"
            guard let output = gateway.takeOutput(for: step.actor) else {
                throw fail("\(step.actor) is still connected; expected \(expected)")
            }
            switch (output, condition) {
            case (.streamClosed, nil):
                break
            case (.streamError(let error), let condition?):
                if error.condition.rawValue != condition {
                    throw fail("expected stream error \(condition), got \(error)")
                }
                if let textContains, !(error.text ?? "").contains(textContains) {
                    throw fail("the \(condition) stream error's text '\(error.text ?? "")' does not contain '\(textContains)'")
                }
            default:
                throw fail("expected \(expected), but \(step.actor) got:\n" + indent(describe(output)))
            }

        case .isDropped:
            guard let output = gateway.takeOutput(for: step.actor) else {
                throw fail("\(step.actor) is still connected; expected the connection to be dropped")
            }
            guard output == .disconnected else {
                throw fail("expected the connection to be dropped with nothing written, but \(step.actor) got:\n" + indent(describe(output)))
            }

        case .isAuthenticated(let domain, let method):
            let domain = domain ?? step.actor
            guard let output = gateway.takeOutput(for: step.actor) else {
                throw fail("\(step.actor) received nothing; expected \(domain) to be authenticated by \(method)")
            }
            guard output == .authenticated(domain: domain, method: method) else {
                throw fail("expected \(domain) to be authenticated by \(method), but \(step.actor) got:\n" + indent(describe(output)))
            }
        }
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
        case .streamHeader(let element): "stream header " + PrettyPrinter.string(element)
        case .streamClosed: "</stream:stream> (closed without an error)"
        case .disconnected: "the connection closed with nothing written"
        case .authenticated(let domain, let method): "authentication of \(domain) by \(method)"
        case .linkClosed(let local, let reason): "the link from \(local) closed (\(reason))"
        }
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
    }
}
