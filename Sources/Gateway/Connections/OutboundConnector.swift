package import Federation
import FederationLinks
import GatewayCore
import Logging
import NIOCore
import XMLStreaming

/// Where to connect for a remote domain whose partner has no static route to an IP address: a
/// static route to a host name, or DNS (RFC 6120 §3.2, XEP-0368). Injected so that the DNS
/// transport, and tests' loopback DNS servers, plug in here.
package typealias TargetResolver = @Sendable (_ domain: String, _ staticRoute: ServerEndpoint?) async -> Result<[ConnectionTarget], LinkFailure>

/// The one path to a remote domain's servers, for links and verification-only connections alike:
/// the partner's static route when it names an IP address, otherwise the injected resolver; then
/// each target in order until one accepts a TCP connection, with a fresh `OutboundStreamHandler`
/// running the stream machine for the connection's purpose. What happens on the stream is reported
/// through the callbacks; the result only says whether a connection was made.
struct OutboundConnector: Sendable {
    let group: any EventLoopGroup
    let resolveTargets: TargetResolver
    let tls: FederationTLS?
    let limits: XMLStreamLimits
    let dialbackSecret: DialbackSecret
    let logger: Logger
    let metrics: FederationMetrics

    func open(
        _ key: LinkKey,
        partner: PartnerPolicy,
        purpose: GatewayCore.ConnectionPurpose,
        establishmentTimeout: Duration,
        callbacks: OutboundStreamCallbacks
    ) async -> Result<any Channel, LinkFailure> {
        var targets: [ConnectionTarget] = []
        if let route = partner.route, case .address(let address) = route.host {
            targets = [ConnectionTarget(address: address, port: route.port, directTLS: route.directTLS, host: route.host)]
        } else {
            switch await resolveTargets(key.remote, partner.route) {
            case .success(let found): targets = found
            case .failure(let failure): return .failure(failure)
            }
        }
        let timeout = TimeAmount(establishmentTimeout)
        for target in targets {
            // At shutdown the gateway cancels its child tasks: no new target is tried.
            guard !Task.isCancelled else { return .failure(.temporary(reason: "the gateway is stopping")) }
            do {
                var machine = try OutboundStreamStateMachine(
                    localDomain: key.local,
                    remoteDomain: key.remote,
                    policy: partner.negotiation,
                    dialbackSecret: dialbackSecret,
                    directTLS: target.directTLS,
                    purpose: purpose == .link ? .link : .verification
                )
                if case .verification(let request) = purpose { _ = machine.verificationRequested(request) }
                let stream = machine
                let (limits, tls, logger, metrics) = (self.limits, self.tls, self.logger, self.metrics)
                let channel = try await FederationConnector.connect(host: target.address.description, port: Int(target.port), group: group) {
                    OutboundStreamHandler(machine: stream, limits: limits, tls: tls, callbacks: callbacks, timeout: timeout, logger: logger, metrics: metrics)
                }
                return .success(channel)
            } catch {
                logger.debug(
                    "could not connect to a target",
                    metadata: ["peer": "\(key.remote)", "target": "\(target.address):\(target.port)", "error": "\(error)"]
                )
                continue
            }
        }
        return .failure(.temporary(reason: "no target of \(key.remote) accepted a connection"))
    }
}
