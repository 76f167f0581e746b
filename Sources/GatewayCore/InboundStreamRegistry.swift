package import Federation
package import PresenceModel
import XMPP

/// The inbound streams peers opened to us and the domain pairs each has authenticated: what an
/// operator's link report lists, and what a reloaded policy is checked against, so that a domain it
/// refuses is dropped from every stream that holds it. Pure; the core feeds it and carries out
/// what it returns.
package struct InboundStreamRegistry: Sendable {
    /// One pair authenticated on a stream.
    package struct Authentication: Sendable, Hashable {
        package var method: AuthenticationMethod
        package var tls: LinkReport.TLS
        package var since: Timestamp
    }

    /// One accepted connection; `pairs` is empty until its peer authenticates.
    package struct Stream: Sendable, Hashable {
        /// Keyed as our links are: our domain local, the peer's remote.
        package var pairs: [LinkKey: Authentication] = [:]
    }

    package private(set) var streams: [ConnectionID: Stream] = [:]

    mutating func accepted(_ connection: ConnectionID) {
        streams[connection] = Stream()
    }

    /// The peer authenticated a pair. A stream that negotiated under a policy since replaced may
    /// have authenticated a domain the current one refuses: then it is closed.
    mutating func authenticated(
        _ connection: ConnectionID, _ pair: LinkKey, _ method: AuthenticationMethod, _ tls: LinkReport.TLS,
        at time: GatewayTime, policy: FederationPolicy
    ) -> [GatewayCore.Action] {
        if case .refused = policy.decision(for: pair.remote) {
            return [
                .log(LogRecord(.notice, "inbound stream closed: its domain was refused while it negotiated", ["peer": pair.remote])),
                .closeInbound(connection, Self.refusal(of: pair.remote)),
            ]
        }
        streams[connection, default: Stream()].pairs[pair] = Authentication(method: method, tls: tls, since: time.wall)
        return []
    }

    mutating func closed(_ connection: ConnectionID) {
        streams[connection] = nil
    }

    /// Every stream holding a domain `policy` refuses is closed (once, however many it holds);
    /// returns the actions and the domains dropped.
    func refused(under policy: FederationPolicy) -> (actions: [GatewayCore.Action], dropped: Set<String>) {
        var actions: [GatewayCore.Action] = []
        var dropped: Set<String> = []
        for connection in streams.keys.sorted() {
            let refused = Set(streams[connection]!.pairs.keys.map(\.remote)).filter {
                if case .refused = policy.decision(for: $0) { true } else { false }
            }
            guard let domain = refused.sorted().first else { continue }
            dropped.formUnion(refused)
            actions.append(.closeInbound(connection, Self.refusal(of: domain)))
        }
        return (actions, dropped)
    }

    private static func refusal(of domain: String) -> StreamError {
        StreamError(.policyViolation, text: "\(domain) may no longer federate with this gateway")
    }
}
