import Federation
import XMPP

/// Where the `<db:verify/>` requests of our inbound streams go and where their answers come back
/// (XEP-0220 §2.1.2, we being the receiving server): on our established link to the authoritative
/// domain when there is one, otherwise on a verification-only connection, one per (our domain,
/// authoritative domain), reused while it is up and replaced when its stream takes no more. Every
/// answer or failure goes back to the inbound connection that asked, named by its `ConnectionID`.
/// Pure; the core feeds it and carries out what it returns.
package struct DialbackVerificationRouter: Sendable {
    /// Matches an answer to its request: the domain pair and the inbound stream's id.
    private struct Request: Hashable {
        var pair: DialbackDomainPair
        var streamID: String

        init(_ verify: DialbackVerify) {
            pair = verify.domainPair
            streamID = verify.id
        }
    }

    /// A verification-only connection. Until it is connected, `unsent` holds the request it was
    /// opened for (already queued in its stream, so failed here only if no connection is made) and
    /// those that came while it connected.
    private struct Verifier: Sendable {
        var connection: ConnectionID
        var connected = false
        var unsent: [DialbackVerify]
    }

    /// Who waits for an outstanding request: the inbound connection, and the address it came from.
    private struct Waiter: Sendable {
        var connection: ConnectionID
        var source: String
    }

    /// The inbound connection waiting for each outstanding request.
    private var waiting: [Request: Waiter] = [:]
    /// Outstanding requests by the address of the inbound streams that asked, kept as requests come
    /// and go so that the source limit is checked without going through them all.
    private var outstandingBySource: [String: Int] = [:]
    /// Keyed as links are: our domain local, the authoritative one remote.
    private var verifiers: [LinkKey: Verifier] = [:]
    /// Each verification-only connection's pair, for its events, which name only the connection.
    private var verifierPairs: [ConnectionID: LinkKey] = [:]
    private var opened: UInt64 = 0

    /// Verification-only connections open or opening: they count against the connection limit.
    var count: Int { verifiers.count }

    /// Requests outstanding for the inbound streams from `source`.
    func outstanding(from source: String) -> Int {
        outstandingBySource[source, default: 0]
    }

    /// An inbound stream (from `source`) asks for `verify` (from our domain to the authoritative
    /// one, its `to`) to be checked. `link` is our established link for the pair (`pair(of:)`), if any; `policy`
    /// decides whether the authoritative domain may be dialed at all, and `mayConnect` whether the
    /// connection limit leaves room for a new connection, should the request need one.
    mutating func requested(
        _ verify: DialbackVerify, inbound: ConnectionID, from source: String, link: ConnectionID?, mayConnect: Bool, policy: FederationPolicy
    ) -> [GatewayCore.Action] {
        if let replaced = waiting.updateValue(Waiter(connection: inbound, source: source), forKey: Request(verify)) {
            release(replaced)
        }
        outstandingBySource[source, default: 0] += 1
        if let link { return [.requestVerification(verify, on: link)] }
        return requestOnVerifier(verify, Self.pair(of: verify), mayConnect: mayConnect, policy: policy)
    }

    /// The link a request travels on: from our domain (its `from`) to the authoritative one.
    static func pair(of request: DialbackVerify) -> LinkKey {
        LinkKey(local: request.from, remote: request.to)
    }

    /// The stream `connection` took no more: a verification-only connection that refuses is
    /// replaced by a new one.
    mutating func redirected(_ verify: DialbackVerify, from connection: ConnectionID, mayConnect: Bool, policy: FederationPolicy) -> [GatewayCore.Action] {
        let key = Self.pair(of: verify)
        if let verifier = verifiers[key], verifier.connection == connection {
            verifiers[key] = nil
            verifierPairs[connection] = nil
        }
        return requestOnVerifier(verify, key, mayConnect: mayConnect, policy: policy)
    }

    /// A verification-only connection is up: the requests that came while it connected go to it
    /// (the first is already in its stream).
    mutating func connected(_ connection: ConnectionID) -> [GatewayCore.Action] {
        guard let key = verifierPairs[connection], var verifier = verifiers[key] else { return [] }
        let waitingRequests = verifier.unsent.dropFirst()
        verifier.connected = true
        verifier.unsent = []
        verifiers[key] = verifier
        return waitingRequests.map { .requestVerification($0, on: connection) }
    }

    /// A verification-only connection could not be made, or is gone: what it never carried fails.
    /// (What it carried is failed by its stream, which reports each outstanding request.)
    mutating func ended(_ connection: ConnectionID) -> [GatewayCore.Action] {
        guard let key = verifierPairs.removeValue(forKey: connection), let verifier = verifiers.removeValue(forKey: key) else { return [] }
        return verifier.unsent.flatMap { failed($0, .authoritativeServerNotFound) }
    }

    /// The authoritative server's verdict, for the inbound stream that asked.
    mutating func answered(_ answer: DialbackVerify) -> [GatewayCore.Action] {
        guard case .answer(let verdict) = answer.payload else { return [] }
        var metadata = ["peer": answer.from, "target": answer.to, "stream-id": answer.id]
        var actions: [GatewayCore.Action]
        switch verdict {
        case .valid:
            actions = [.metric(.dialbackVerification(.valid)), .log(LogRecord(.info, "dialback key verified by the authoritative server", metadata))]
        case .invalid:
            actions = [.metric(.dialbackVerification(.invalid)), .log(LogRecord(.warning, "the authoritative server judged a dialback key invalid", metadata))]
        case .error(let error):
            metadata["condition"] = error.condition.rawValue
            actions = [.metric(.dialbackVerification(.error)), .log(LogRecord(.warning, "the authoritative server could not verify a dialback key", metadata))]
        }
        if let waiter = waiting.removeValue(forKey: Request(answer)) {
            release(waiter)
            actions.append(.answerVerification(answer, on: waiter.connection))
        }
        return actions
    }

    /// No answer will come for `request`: the inbound stream that asked is told, so its peer gets a
    /// dialback error instead of waiting.
    mutating func failed(_ request: DialbackVerify, _ failure: DialbackVerificationFailure) -> [GatewayCore.Action] {
        var actions: [GatewayCore.Action] = [
            .metric(.dialbackVerification(.failed)),
            .log(
                LogRecord(
                    .warning, "dialback key could not be verified",
                    ["peer": request.to, "target": request.from, "stream-id": request.id, "condition": failure.condition.rawValue]
                )
            ),
        ]
        if let waiter = waiting.removeValue(forKey: Request(request)) {
            release(waiter)
            actions.append(.failVerification(request, failure, on: waiter.connection))
        }
        return actions
    }

    /// An inbound stream is gone: nobody waits for its requests' answers any more.
    mutating func inboundClosed(_ connection: ConnectionID) {
        waiting = waiting.filter { _, waiter in
            if waiter.connection == connection { release(waiter) }
            return waiter.connection != connection
        }
    }

    private mutating func release(_ waiter: Waiter) {
        let left = outstandingBySource[waiter.source, default: 1] - 1
        outstandingBySource[waiter.source] = left > 0 ? left : nil
    }

    /// Hands `verify` to the pair's verification-only connection, opening one if there is none
    /// (one DNS lookup and one connection per pair, however many streams ask). A domain that may
    /// not federate is never dialed: the request fails as if its server could not be found; with no
    /// connection slot free it fails with `resource-constraint`.
    private mutating func requestOnVerifier(_ verify: DialbackVerify, _ key: LinkKey, mayConnect: Bool, policy: FederationPolicy) -> [GatewayCore.Action] {
        if var verifier = verifiers[key] {
            if verifier.connected { return [.requestVerification(verify, on: verifier.connection)] }
            verifier.unsent.append(verify)
            verifiers[key] = verifier
            return []
        }
        guard case .allowed(let partner) = policy.decision(for: key.remote) else {
            return failed(verify, .authoritativeServerNotFound)
        }
        guard mayConnect else { return failed(verify, .noConnectionSlot) }
        opened += 1
        let connection = ConnectionID(.verification, opened)
        verifiers[key] = Verifier(connection: connection, unsent: [verify])
        verifierPairs[connection] = key
        return [.connect(connection, key, partner, .verification(verify))]
    }
}
