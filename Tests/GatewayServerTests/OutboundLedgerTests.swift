@testable import Gateway
import Testing
import XMLStreaming
import XMPP

@Suite("OutboundLedger")
struct OutboundLedgerTests {
    static func message(_ id: String, to: String = "bob@fabrikam.example") -> XMLElement {
        Message(type: .chat, id: id, bodies: [LocalizedText("text \(id)")])
            .element(from: try! JID("alice@contoso.example/consulate"), to: try! JID(to))
    }

    @Test("a sent element is matched to its ticket once; other stanzas have none")
    func sending() {
        var ledger = OutboundLedger()
        let first = ledger.accept(Self.message("a"), for: "fabrikam.example")
        let second = ledger.accept(Self.message("b"), for: "fabrikam.example")
        #expect(first != second)
        #expect(ledger.sending(Self.message("b"), on: "fabrikam.example") == second)
        #expect(ledger.sending(Self.message("b"), on: "fabrikam.example") == nil, "a ticket leaves once")
        #expect(ledger.sending(Self.message("a"), on: "other.example") == nil, "matched per domain")
        #expect(ledger.sending(Self.message("a"), on: "fabrikam.example") == first)
        #expect(ledger.count == 0)
    }

    @Test("a bounce is matched by its swapped addresses and id; a readmitted message keeps its ticket")
    func bounces() throws {
        var ledger = OutboundLedger()
        let ticket = ledger.accept(Self.message("a"), for: "fabrikam.example")
        _ = ledger.accept(Self.message("b"), for: "fabrikam.example")
        let reply = try #require(Stanza.errorReply(to: Self.message("a"), error: StanzaError(.remoteServerTimeout)))
        let otherReply = try #require(Stanza.errorReply(to: Self.message("a", to: "carol@fabrikam.example"), error: StanzaError(.remoteServerTimeout)))
        #expect(ledger.bounced(otherReply) == nil, "another recipient's message with the same id")
        #expect(ledger.bounced(reply) == ticket)
        #expect(ledger.bounced(reply) == nil)
        ledger.readmit(Self.message("a"), ticket: ticket, for: "fabrikam.example")
        #expect(ledger.sending(Self.message("a"), on: "fabrikam.example") == ticket)
        #expect(ledger.count == 1)
    }
}
