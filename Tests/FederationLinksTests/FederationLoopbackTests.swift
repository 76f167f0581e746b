import ConsulateTestSupport
import Federation
import FederationLinks
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import X509
import XMLStreaming
import XMPP

/// Consulate federating with Consulate over loopback: our outbound stream (as fabrikam.example)
/// against our listener (as contoso.example), real TLS both ways, certificates from the test CA.
@Suite("Federation over loopback, both sides ours")
struct FederationLoopbackTests {
    /// Completes once the outbound stream is established or has failed.
    final class Outcome: Sendable {
        let promise: EventLoopPromise<Result<OutboundEstablishedStream, OutboundFailure>>
        init(loop: any EventLoop) { promise = loop.makePromise() }
    }

    static func outboundTLS(pki: TestPKI) throws -> FederationTLS {
        let leaf = try pki.leaf(identifiers: [.dns("fabrikam.example")], usages: [.serverAuth])
        return FederationTLS(
            certificateChain: [try TestTLS.nioCertificate(leaf.certificate)],
            privateKey: try TestTLS.nioKey(leaf.key),
            trustRoots: [pki.ca]
        )
    }

    static let fabrikamSecret = DialbackSecret("fabrikam's dialback secret for tests")

    static func connect(
        to gateway: InboundLoopbackTests.Gateway,
        policy: NegotiationPolicy,
        tls: FederationTLS?
    ) async throws -> (channel: any Channel, outcome: Result<OutboundEstablishedStream, OutboundFailure>) {
        let loop = InboundLoopbackTests.group.next()
        let outcome = Outcome(loop: loop)
        let machine = try OutboundStreamStateMachine(
            localDomain: "fabrikam.example",
            remoteDomain: "contoso.example",
            policy: policy,
            dialbackSecret: fabrikamSecret,
            directTLS: false
        )
        let channel = try await FederationConnector.connect(host: "127.0.0.1", port: gateway.port, group: loop) {
            OutboundStreamHandler(
                machine: machine,
                limits: .postAuthentication,
                tls: tls,
                callbacks: OutboundStreamCallbacks(
                    established: { stream, _ in outcome.promise.succeed(.success(stream)) },
                    failed: { outcome.promise.succeed(.failure($0)) }
                )
            )
        }
        let timeout = loop.scheduleTask(in: .seconds(10)) {
            outcome.promise.succeed(.failure(OutboundFailure(cause: .timedOut, reason: "test deadline")))
        }
        let result = try await outcome.promise.futureResult.get()
        timeout.cancel()
        return (channel, result)
    }

    @Test("STARTTLS and SASL EXTERNAL both ways, then a stanza crosses")
    func saslOverTLS() async throws {
        let pki = try TestPKI()
        let gateway = try await InboundLoopbackTests.startGateway(pki: pki, partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"))])
        let (channel, outcome) = try await Self.connect(to: gateway, policy: .default, tls: try Self.outboundTLS(pki: pki))
        let stream = try outcome.get()
        #expect(stream.method == .saslOverTLS)
        #expect(stream.security.isEncrypted)
        #expect(stream.security.peerCertificateValidForRemote == true)

        let message = XMLElement(
            "message", namespace: Namespace.server,
            attributes: ["from": "bob@fabrikam.example/laptop", "to": "alice@contoso.example", "type": "chat"],
            children: [.element(XMLElement("body", namespace: Namespace.server, children: [.text("hello across the link")]))]
        )
        let decision = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: OutboundStreamHandler.self).send(message)
        }.get()
        #expect(decision == .send(message))
        let delivered = try await gateway.stanzas.wait(for: 1, on: channel.eventLoop)
        #expect(Message(delivered[0].element).bodies.first?.text == "hello across the link")
        #expect(delivered[0].from?.description == "bob@fabrikam.example/laptop")
        try? await channel.close()
        try await gateway.listener.close()
    }

    @Test("a keep-alive ping goes out on the established stream, and the answer to it is recognised as the link's")
    func ping() async throws {
        let pki = try TestPKI()
        let gateway = try await InboundLoopbackTests.startGateway(pki: pki, partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"))])
        let (channel, outcome) = try await Self.connect(to: gateway, policy: .default, tls: try Self.outboundTLS(pki: pki))
        _ = try outcome.get()
        try await channel.eventLoop.submit {
            let link = LinkKey(local: "fabrikam.example", remote: "contoso.example")
            try channel.pipeline.syncOperations.handler(type: OutboundStreamHandler.self).send(LinkPing.request(id: "ping-1", on: link))
        }.get()
        let delivered = try await gateway.stanzas.wait(for: 1, on: channel.eventLoop)
        let ping = try #require(delivered.first)
        #expect(ping.from?.description == "fabrikam.example")
        #expect(ping.to?.description == "contoso.example")
        let iq = try #require(IQ(ping.element))
        #expect(iq.type == .get && iq.id == "ping-1")
        #expect(iq.payload?.name == "ping" && iq.payload?.namespace == Namespace.ping)
        let answer = try #require(try Stanza(IQ.result(to: ping)))
        let pong = try #require(LinkPing.answer(in: answer))
        #expect(pong.link == LinkKey(local: "fabrikam.example", remote: "contoso.example") && pong.id == "ping-1")
        try? await channel.close()
        try await gateway.listener.close()
    }

    @Test("a partner that requires SASL refuses a peer whose certificate it does not trust")
    func untrustedCertificate() async throws {
        let pki = try TestPKI()
        let stranger = try TestPKI(name: "Untrusted CA")
        let gateway = try await InboundLoopbackTests.startGateway(
            pki: pki,
            partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), negotiation: NegotiationPolicy(tls: .required, sasl: .required, supportDialback: false))]
        )
        let (channel, outcome) = try await Self.connect(
            to: gateway,
            policy: NegotiationPolicy(tls: .required, sasl: .required, supportDialback: false),
            tls: try Self.outboundTLS(pki: stranger)
        )
        guard case .failure(let failure) = outcome else {
            Issue.record("an untrusted certificate must not authenticate")
            return
        }
        #expect(failure.cause != .timedOut, "refused by the peer, not by the test's deadline: \(failure)")
        #expect(failure.bounceError.condition == .remoteServerTimeout)
        #expect(gateway.stanzas.all.isEmpty)
        try? await channel.close()
        try await gateway.listener.close()
    }

    @Test("dialback over TLS when the certificate proves nothing: the key is checked with the authoritative server")
    func dialbackOverTLS() async throws {
        let pki = try TestPKI()
        let stranger = try TestPKI(name: "Untrusted CA")
        let verifications = NIOLockedValueBox(0)
        let tlsDialback = NegotiationPolicy(tls: .required, sasl: .notSupported, supportDialback: true)
        // The authoritative server for fabrikam.example: its real dialback authority answers the
        // verify request in-process, so that this tests the inbound side alone
        // (GatewayDialbackTests makes the hop over the network).
        let authority = DialbackAuthority(secret: Self.fabrikamSecret, localDomains: ["fabrikam.example"])
        let gateway = try await InboundLoopbackTests.startGateway(
            pki: pki,
            partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), negotiation: tlsDialback)],
            verificationRequested: { domain, verify, channel in
                verifications.withLockedValue { $0 += 1 }
                guard domain == "fabrikam.example", case .send(let element) = authority.verifyReceived(verify),
                    case .verify(let answer)? = try? DialbackElement(element)
                else { return }
                InboundStreamHandler.deliverVerificationAnswer(answer, on: channel)
            }
        )
        let (channel, outcome) = try await Self.connect(to: gateway, policy: tlsDialback, tls: try Self.outboundTLS(pki: stranger))
        let stream = try outcome.get()
        #expect(stream.method == .tlsDialback)
        #expect(verifications.withLockedValue { $0 } == 1)
        let presence = XMLElement("presence", namespace: Namespace.server, attributes: ["from": "bob@fabrikam.example/laptop", "to": "alice@contoso.example"])
        _ = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: OutboundStreamHandler.self).send(presence)
        }.get()
        let delivered = try await gateway.stanzas.wait(for: 1, on: channel.eventLoop)
        #expect(delivered[0].kind == .presence)
        try? await channel.close()
        try await gateway.listener.close()
    }

    @Test("a forged dialback key is refused: the authoritative server does not know it")
    func forgedKey() async throws {
        let pki = try TestPKI()
        let stranger = try TestPKI(name: "Untrusted CA")
        let tlsDialback = NegotiationPolicy(tls: .required, sasl: .notSupported, supportDialback: true)
        let authority = DialbackAuthority(secret: DialbackSecret("the real fabrikam secret, which the forger lacks"), localDomains: ["fabrikam.example"])
        let gateway = try await InboundLoopbackTests.startGateway(
            pki: pki,
            partners: [PartnerPolicy(domain: DomainPattern(exactly: "fabrikam.example"), negotiation: tlsDialback)],
            verificationRequested: { _, verify, channel in
                guard case .send(let element) = authority.verifyReceived(verify), case .verify(let answer)? = try? DialbackElement(element) else { return }
                InboundStreamHandler.deliverVerificationAnswer(answer, on: channel)
            }
        )
        let (channel, outcome) = try await Self.connect(to: gateway, policy: tlsDialback, tls: try Self.outboundTLS(pki: stranger))
        guard case .failure(let failure) = outcome else {
            Issue.record("a forged key must not authenticate")
            return
        }
        #expect(failure.cause != .timedOut, "\(failure)")
        #expect(gateway.stanzas.all.isEmpty)
        try? await channel.close()
        try await gateway.listener.close()
    }

    @Test("a verification-only connection to a peer that never answers fails its request when the timer expires")
    func verificationTimesOut() async throws {
        let server = try await ServerBootstrap(group: InboundLoopbackTests.group).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let loop = InboundLoopbackTests.group.next()
        let failed = loop.makePromise(of: (DialbackVerify, DialbackVerificationFailure).self)
        let request = DialbackVerify.request(
            for: DialbackDomainPair(sender: "contoso.example", target: "fabrikam.example"),
            streamID: "inbound-1",
            key: DialbackKey(rawValue: "a key contoso never answers for")
        )
        var machine = try OutboundStreamStateMachine(
            localDomain: "fabrikam.example",
            remoteDomain: "contoso.example",
            policy: NegotiationPolicy(tls: .optional, sasl: .optional, supportDialback: true),
            dialbackSecret: nil,
            directTLS: false,
            purpose: .verification
        )
        #expect(machine.verificationRequested(request) == .queued)
        let queued = machine
        let channel = try await FederationConnector.connect(host: "127.0.0.1", port: port, group: loop) {
            OutboundStreamHandler(
                machine: queued,
                limits: .preAuthentication,
                tls: nil,
                callbacks: OutboundStreamCallbacks(
                    established: { _, _ in },
                    failed: { _ in },
                    verificationAnswered: { _ in failed.fail(ScriptedPeer.Timeout(marker: "no answer", received: "an answer")) },
                    verificationFailed: { failed.succeed(($0, $1)) }
                ),
                timeout: .milliseconds(200)
            )
        }
        let deadline = loop.scheduleTask(in: .seconds(10)) { failed.fail(ScriptedPeer.Timeout(marker: "the request's failure", received: "")) }
        let (failedRequest, failure) = try await failed.futureResult.get()
        deadline.cancel()
        #expect(failedRequest == request)
        #expect(failure == .authoritativeServerTimedOut)
        try await channel.closeFuture.get()
        try await server.close()
    }
}
