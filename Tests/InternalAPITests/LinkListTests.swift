import GatewayCore
import Gateway
import InternalAPI
import PresenceModel
import Testing

/// How `consulate links` prints the API's link list.
@Suite("Link list table")
struct LinkListTests {
    static let now = Timestamp(secondsSinceEpoch: 1_790_000_000)

    @Test("one aligned row per link; states, ages and queues in an operator's terms")
    func table() {
        let list = LinkList(
            LinkSnapshot(
                takenAt: Self.now,
                links: [
                    LinkReport(
                        domain: "fabrikam.example", direction: .outbound, localDomain: "contoso.example", state: .established,
                        authentication: .saslOverTLS, tls: .startTLS, establishedAt: Timestamp(secondsSinceEpoch: 1_790_000_000 - 7_385)
                    ),
                    LinkReport(
                        domain: "fabrikam.example", direction: .inbound, localDomain: "contoso.example", state: .established,
                        authentication: .tlsDialback, tls: .directTLS, establishedAt: Timestamp(secondsSinceEpoch: 1_790_000_000 - 42)
                    ),
                    LinkReport(
                        domain: "northwind.example", direction: .outbound, localDomain: "contoso.example",
                        state: .retryScheduled(retryAt: Timestamp(secondsSinceEpoch: 1_790_000_000 + 95)),
                        authentication: nil, tls: nil, establishedAt: nil, queuedStanzas: 4, queuedBytes: 900, consecutiveFailures: 3
                    ),
                    LinkReport(
                        domain: "tailspin.example", direction: .outbound, localDomain: "second.example", state: .connecting(attempt: 2),
                        authentication: nil, tls: nil, establishedAt: nil, queuedStanzas: 1, queuedBytes: 120, consecutiveFailures: 1
                    ),
                ]
            )
        )
        #expect(
            list.table() == """
                DOMAIN             OURS             DIRECTION  STATE                   AUTH           TLS         AGE    QUEUED
                fabrikam.example   contoso.example  outbound   established             sasl-external  starttls    2h03m  0
                fabrikam.example   contoso.example  inbound    established             dialback       direct-tls  42s    -
                northwind.example  contoso.example  outbound   retry in 1m35s          -              -           -      4
                tailspin.example   second.example   outbound   connecting (attempt 2)  -              -           -      1
                """
        )
    }
}
