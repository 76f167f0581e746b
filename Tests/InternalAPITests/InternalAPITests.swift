import ConsulateTestSupport
import Foundation
import GRDB
import Gateway
import Hummingbird
import HummingbirdTesting
import InternalAPI
import PresenceModel
import Testing
import Translation
import XMPP

/// Each route's happy path changes what it should (seen in the gateway's directory through the API,
/// and at fabrikam.example's gateway over federation); each refusal is a 4xx with a JSON error and
/// changes nothing.
@Suite("Internal API")
struct InternalAPITests {
    struct Presence: Decodable, Equatable {
        var availability: UInt32
        var state: String
        var activity: String?
        var note: String?
        var location: String?
    }

    struct Subscription: Decodable, Equatable {
        var state: String
        var pendingOut: Bool
        var pendingIn: Bool
        var preApproved: Bool
    }

    struct ContactBody: Decodable, Equatable {
        var jid: String
        var name: String?
        var groups: [String]
        var access: String
        var subscription: Subscription
    }

    struct Contacts: Decodable {
        var contacts: [ContactBody]
    }

    // MARK: - Authentication

    @Test("user routes refuse a missing, unknown or admin token with a JSON error")
    func authentication() async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let routes: [(HTTPRequest.Method, String)] = [
                    (.get, "/v1/me/presence"), (.put, "/v1/me/presence"), (.get, "/v1/me/contacts"), (.post, "/v1/me/contacts"),
                    (.delete, "/v1/me/contacts/bob@fabrikam.example"), (.post, "/v1/me/subscriptions/bob@fabrikam.example/approve"),
                    (.post, "/v1/me/subscriptions/bob@fabrikam.example/deny"), (.post, "/v1/me/messages"), (.get, "/v1/me/history"),
                ]
                for (method, uri) in routes {
                    let missing = try await client.execute(uri: uri, method: method, body: .json(#"{"availability": "busy"}"#))
                    #expect(missing.status == .unauthorized, "\(method) \(uri)")
                    #expect(missing.errorCode == "missing-token", "\(method) \(uri)")
                    #expect(missing.headers[.wwwAuthenticate] == "Bearer")

                    let forged = harness.aliceToken.dropLast() + (harness.aliceToken.last == "0" ? "1" : "0")
                    let wrong = try await client.execute(uri: uri, method: method, headers: [.authorization: "Bearer \(forged)"])
                    #expect(wrong.status == .unauthorized, "\(method) \(uri)")
                    #expect(wrong.errorCode == "invalid-token", "\(method) \(uri)")

                    let admin = try await client.execute(uri: uri, method: method, headers: [.authorization: "Bearer \(harness.adminToken)"])
                    #expect(admin.status == .forbidden, "\(method) \(uri)")
                    #expect(admin.errorCode == "admin-token", "\(method) \(uri)")
                }
                let basic = try await client.execute(uri: "/v1/me/presence", method: .get, headers: [.authorization: "Basic YWxpY2U6eA=="])
                #expect(basic.errorCode == "missing-token")
            }
            #expect(await harness.contoso.user(APIHarness.alice)?.presence == .offline, "nothing changed")
        }
    }

    // MARK: - Presence

    @Test("PUT presence publishes it: read back through the API and seen by a Federated colleague")
    func setPresence() async throws {
        try await APIHarness.with { harness in
            let bobsEvents = await harness.fabrikam.events(for: APIHarness.bob)
            try await harness.application().test(.router) { client in
                let put = try await client.execute(
                    uri: "/v1/me/presence", method: .put, headers: harness.aliceAuthorization,
                    body: .json(#"{"availability": "busy", "activity": "in-a-meeting", "note": "Q3 planning", "location": "Office 4.12"}"#)
                )
                #expect(put.status == .ok, "\(put.text)")
                let expected = Presence(availability: 6500, state: "busy", activity: "in-a-meeting", note: "Q3 planning", location: "Office 4.12")
                #expect(try put.json(Presence.self) == expected)
                let get = try await client.execute(uri: "/v1/me/presence", method: .get, headers: harness.aliceAuthorization)
                #expect(try get.json(Presence.self) == expected)

                let number = try await client.execute(
                    uri: "/v1/me/presence", method: .put, headers: harness.aliceAuthorization, body: .json(#"{"availability": 15500}"#)
                )
                #expect(try number.json(Presence.self) == Presence(availability: 15500, state: "away"))
            }
            guard case .contactPresence(let contact, let presence) = try await nextEvent(bobsEvents, waitingFor: "alice's presence") else {
                Issue.record("bob saw no presence change")
                return
            }
            #expect(contact == APIHarness.alice)
            #expect(presence.availability.range == .busy)
            #expect(presence.note?.contains("Q3 planning") == true)
        }
    }

    @Test(
        "PUT presence refuses bad input with a 4xx JSON error and changes nothing",
        arguments: [
            (#"{"availability": "sleeping"}"#, "unknown-availability"),
            (#"{"availability": -1}"#, "invalid-body"),
            (#"{"note": "no availability"}"#, "invalid-body"),
            (#"{"availability": "away", "activity": "Gardening"}"#, "invalid-presence"),
            (#"{"availability": "available", "photo": "not-a-sha1"}"#, "invalid-presence"),
            (#"{"availability": "busy", "note": 42}"#, "invalid-body"),
            ("not json", "invalid-body"),
            ("", "invalid-body"),
        ]
    )
    func setPresenceRefused(body: String, code: String) async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: "/v1/me/presence", method: .put, headers: harness.aliceAuthorization, body: .json(body))
                #expect(response.status == .badRequest, "\(response.text)")
                #expect(response.errorCode == code, "\(response.text)")
                #expect(response.headers[.contentType] == "application/json")
            }
            #expect(await harness.contoso.user(APIHarness.alice)?.presence == .offline)
        }
    }

    @Test("a body over the limit is refused with 413 before it is read, and changes nothing")
    func oversizedBody() async throws {
        try await APIHarness.with { harness in
            try await harness.application(limits: InternalAPI.Limits(maxBodyBytes: 256)).test(.router) { client in
                let note = String(repeating: "x", count: 300)
                let response = try await client.execute(
                    uri: "/v1/me/presence", method: .put, headers: harness.aliceAuthorization,
                    body: .json(#"{"availability": "busy", "note": "\#(note)"}"#)
                )
                #expect(response.status == .contentTooLarge)
                #expect(response.errorCode == "body-too-large")
            }
            #expect(await harness.contoso.user(APIHarness.alice)?.presence == .offline)
        }
    }

    // MARK: - Contacts

    @Test("GET contacts lists the contacts with their subscription and access")
    func listContacts() async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: "/v1/me/contacts", method: .get, headers: harness.aliceAuthorization)
                #expect(response.status == .ok)
                let contacts = try response.json(Contacts.self).contacts
                #expect(contacts.map(\.jid) == ["bob@fabrikam.example"])
                #expect(contacts.first?.access == "colleagues")
                #expect(contacts.first?.subscription == Subscription(state: "both", pendingOut: false, pendingIn: false, preApproved: false))
            }
        }
    }

    @Test("POST contacts adds the contact, asks for their presence, and the list shows it")
    func addContact() async throws {
        try await APIHarness.with { harness in
            let erinsEvents = await harness.fabrikam.events(for: APIHarness.erin)
            try await harness.application().test(.router) { client in
                let response = try await client.execute(
                    uri: "/v1/me/contacts", method: .post, headers: harness.aliceAuthorization,
                    body: .json(#"{"jid": "erin@fabrikam.example", "name": "Erin", "groups": ["Partners"], "access": "workgroup"}"#)
                )
                #expect(response.status == .created, "\(response.text)")
                let added = try response.json(ContactBody.self)
                #expect(added.jid == "erin@fabrikam.example")
                #expect(added.name == "Erin")
                #expect(added.groups == ["Partners"])
                #expect(added.access == "workgroup")
                #expect(added.subscription.pendingOut)

                let list = try await client.execute(uri: "/v1/me/contacts", method: .get, headers: harness.aliceAuthorization)
                #expect(try list.json(Contacts.self).contacts.map(\.jid) == ["bob@fabrikam.example", "erin@fabrikam.example"])
            }
            // fabrikam.example trusts contoso.example as Federated, so it approves alice's request
            // for erin, and tells her so.
            #expect(try await nextEvent(erinsEvents, waitingFor: "the approval") == .subscriptionApproved(from: APIHarness.alice))
            guard case .contactUpdated(let contact) = try await nextEvent(erinsEvents, waitingFor: "alice's subscription request") else {
                Issue.record("erin's contact list did not change")
                return
            }
            #expect(contact.jid == APIHarness.alice.description)
            #expect(contact.subscription.from, "alice now receives erin's presence")
        }
    }

    @Test("POST contacts at the contact limit answers 409 contact-limit and adds nothing")
    func addContactAtTheLimit() async throws {
        try await APIHarness.with(contosoContactLimit: 2) { harness in
            try await harness.application().test(.router) { client in
                let erin = try await client.execute(
                    uri: "/v1/me/contacts", method: .post, headers: harness.aliceAuthorization, body: .json(#"{"jid": "erin@fabrikam.example"}"#)
                )
                #expect(erin.status == .created, "\(erin.text)")
                let dave = try await client.execute(
                    uri: "/v1/me/contacts", method: .post, headers: harness.aliceAuthorization, body: .json(#"{"jid": "dave@fabrikam.example"}"#)
                )
                #expect(dave.status == .conflict, "\(dave.text)")
                #expect(dave.errorCode == "contact-limit", "\(dave.text)")
                let again = try await client.execute(
                    uri: "/v1/me/contacts", method: .post, headers: harness.aliceAuthorization,
                    body: .json(#"{"jid": "erin@fabrikam.example", "name": "Erin"}"#)
                )
                #expect(again.status == .created, "a contact already in the list can still be changed: \(again.text)")
            }
            #expect(await harness.contoso.user(APIHarness.alice)?.contacts.keys.sorted() == ["bob@fabrikam.example", "erin@fabrikam.example"])
        }
    }

    @Test(
        "POST contacts refuses bad input with a 4xx JSON error and changes nothing",
        arguments: [
            (#"{"jid": "not a jid@"}"#, "invalid-jid"),
            (#"{"jid": "erin@fabrikam.example/phone"}"#, "invalid-jid"),
            (#"{"jid": "erin@fabrikam.example", "access": "best-friends"}"#, "unknown-access-level"),
            (#"{"jid": "erin@fabrikam.example", "groups": [""]}"#, "invalid-group"),
            (#"{"jid": "erin@fabrikam.example", "name": ""}"#, "invalid-name"),
            (#"{"jid": "erin@fabrikam.example", "groups": "Partners"}"#, "invalid-body"),
            (#"{"name": "Erin"}"#, "invalid-body"),
        ]
    )
    func addContactRefused(body: String, code: String) async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: "/v1/me/contacts", method: .post, headers: harness.aliceAuthorization, body: .json(body))
                #expect(response.status == .badRequest, "\(response.text)")
                #expect(response.errorCode == code, "\(response.text)")
            }
            #expect(await harness.contoso.user(APIHarness.alice)?.contacts.keys.sorted() == ["bob@fabrikam.example"])
        }
    }

    @Test("DELETE contacts removes the contact; the contact's side sees the subscription cancelled")
    func removeContact() async throws {
        try await APIHarness.with { harness in
            let bobsEvents = await harness.fabrikam.events(for: APIHarness.bob)
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: "/v1/me/contacts/bob@fabrikam.example", method: .delete, headers: harness.aliceAuthorization)
                #expect(response.status == .noContent, "\(response.text)")
                let list = try await client.execute(uri: "/v1/me/contacts", method: .get, headers: harness.aliceAuthorization)
                #expect(try list.json(Contacts.self).contacts.isEmpty)
            }
            guard case .contactUpdated(let contact) = try await nextEvent(bobsEvents, waitingFor: "bob's contact update") else {
                Issue.record("bob saw no change")
                return
            }
            #expect(contact.jid == APIHarness.alice.description)
            #expect(!contact.subscription.from)
        }
    }

    @Test(
        "DELETE contacts refuses a malformed or unknown JID and changes nothing",
        arguments: [
            ("/v1/me/contacts/bob@fabrikam.example%2Fphone", 400, "invalid-jid"),
            ("/v1/me/contacts/%40fabrikam.example", 400, "invalid-jid"),
            ("/v1/me/contacts/carol@fabrikam.example", 404, "unknown-contact"),
        ]
    )
    func removeContactRefused(uri: String, status: Int, code: String) async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: uri, method: .delete, headers: harness.aliceAuthorization)
                #expect(response.status.code == status, "\(response.text)")
                #expect(response.errorCode == code, "\(response.text)")
            }
            #expect(await harness.contoso.user(APIHarness.alice)?.contacts.keys.sorted() == ["bob@fabrikam.example"])
        }
    }

    // MARK: - Subscription requests

    @Test("approve and deny answer an external user's request; the requester sees the answer")
    func approveAndDeny() async throws {
        for (verb, granted) in [("approve", true), ("deny", false)] {
            // Below Federated trust, erin's request goes to alice, who has erin in her list.
            let erin = Contact(jid: APIHarness.erin.description, accessLevel: .external, subscription: .none)
            try await APIHarness.with(contosoTrust: .publicUnverified, aliceContacts: [erin]) { harness in
                let alicesEvents = await harness.contoso.events(for: APIHarness.alice)
                let erinsEvents = await harness.fabrikam.events(for: APIHarness.erin)
                try await harness.fabrikam.apply(.addContact(user: APIHarness.erin, contact: APIHarness.alice, name: nil, groups: [], accessLevel: nil))
                var request: InternalEvent
                repeat { request = try await nextEvent(alicesEvents, waitingFor: "erin's request") } while request != .subscriptionRequest(from: APIHarness.erin)

                try await harness.application().test(.router) { client in
                    let response = try await client.execute(
                        uri: "/v1/me/subscriptions/erin@fabrikam.example/\(verb)", method: .post, headers: harness.aliceAuthorization
                    )
                    #expect(response.status == .noContent, "\(verb): \(response.text)")
                }
                var update: Contact?
                // The first update is erin's own request going out (pending out); the answer ends it.
                while update == nil {
                    if case .contactUpdated(let contact) = try await nextEvent(erinsEvents, waitingFor: "the answer to erin"),
                        !contact.subscription.pendingOut
                    {
                        update = contact
                    }
                }
                #expect(update?.jid == APIHarness.alice.description)
                #expect(update?.subscription.to == granted, "\(verb)")
                #expect(update?.subscription.pendingOut == false, "\(verb)")
            }
        }
    }

    @Test(
        "approve and deny refuse a malformed JID and change nothing",
        arguments: ["approve", "deny"]
    )
    func subscriptionRefused(verb: String) async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                for jid in ["%40fabrikam.example", "erin@fabrikam.example%2Fphone", "erin@"] {
                    let response = try await client.execute(uri: "/v1/me/subscriptions/\(jid)/\(verb)", method: .post, headers: harness.aliceAuthorization)
                    #expect(response.status == .badRequest, "\(jid): \(response.text)")
                    #expect(response.errorCode == "invalid-jid", "\(jid): \(response.text)")
                }
            }
            #expect(await harness.contoso.user(APIHarness.alice)?.contacts.keys.sorted() == ["bob@fabrikam.example"])
        }
    }

    // MARK: - Messages

    @Test("POST messages sends a message with a chat state and a receipt request")
    func sendMessage() async throws {
        try await APIHarness.with { harness in
            let bobsEvents = await harness.fabrikam.events(for: APIHarness.bob)
            try await harness.application().test(.router) { client in
                let response = try await client.execute(
                    uri: "/v1/me/messages", method: .post, headers: harness.aliceAuthorization,
                    body: .json(#"{"to": "bob@fabrikam.example", "body": "Hello", "id": "m1", "chatState": "active", "requestReceipt": true}"#)
                )
                #expect(response.status == .accepted, "\(response.text)")
                #expect(response.text == #"{"id":"m1"}"#)
            }
            guard case .message(let from, let message) = try await nextEvent(bobsEvents, waitingFor: "alice's message") else {
                Issue.record("bob got no message")
                return
            }
            #expect(from.bare == APIHarness.alice)
            #expect(message.bodies.map(\.text) == ["Hello"])
            #expect(message.id == "m1")
            #expect(message.type == .chat)
            #expect(message.chatState == .active)
            #expect(message.requestsReceipt)
        }
    }

    @Test("a message the store refuses is answered 503 store-unavailable and never sent; the next one goes once the store takes it")
    func sendMessageNotStored() async throws {
        try await APIHarness.with(contosoKeepsMessages: true) { harness in
            let bobsEvents = await harness.fabrikam.events(for: APIHarness.bob)
            // A real refusal by SQLite, from another connection to the file, as a full disk would refuse.
            let other = try DatabaseQueue(path: harness.store.path)
            try await other.write { db in
                try db.execute(sql: "CREATE TRIGGER refuse_queue BEFORE INSERT ON outbound_queue BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
            }
            try await harness.application().test(.router) { client in
                let refused = try await client.execute(
                    uri: "/v1/me/messages", method: .post, headers: harness.aliceAuthorization, body: .json(#"{"to": "bob@fabrikam.example", "body": "lost?", "id": "m1"}"#)
                )
                #expect(refused.status == .serviceUnavailable)
                #expect(refused.text.contains(#""code":"store-unavailable""#), "\(refused.text)")
                try await other.write { db in try db.execute(sql: "DROP TRIGGER refuse_queue") }
                let accepted = try await client.execute(
                    uri: "/v1/me/messages", method: .post, headers: harness.aliceAuthorization, body: .json(#"{"to": "bob@fabrikam.example", "body": "stored", "id": "m2"}"#)
                )
                #expect(accepted.status == .accepted)
            }
            guard case .message(_, let message) = try await nextEvent(bobsEvents, waitingFor: "alice's stored message") else {
                Issue.record("bob got no message")
                return
            }
            #expect(message.id == "m2", "the refused message was never sent")
            try await eventually("m2 leaves the stored queue once written") { try await harness.store.pending(for: "fabrikam.example").isEmpty }
        }
    }

    @Test(
        "POST messages refuses bad input with a 4xx JSON error and sends nothing",
        arguments: [
            (#"{"to": "bob@@fabrikam.example", "body": "x"}"#, "invalid-jid"),
            (#"{"to": "bob@fabrikam.example", "body": "x", "type": "groupchat"}"#, "unknown-message-type"),
            (#"{"to": "bob@fabrikam.example", "chatState": "typing"}"#, "unknown-chat-state"),
            (#"{"to": "bob@fabrikam.example"}"#, "empty-message"),
            (#"{"to": "bob@fabrikam.example", "body": ""}"#, "empty-message"),
            (#"{"to": "bob@fabrikam.example", "body": "x", "id": ""}"#, "invalid-id"),
            (#"{"to": "bob@fabrikam.example", "body": "x", "requestReceipt": "yes"}"#, "invalid-body"),
            (#"{"body": "x"}"#, "invalid-body"),
        ]
    )
    func sendMessageRefused(body: String, code: String) async throws {
        try await APIHarness.with { harness in
            let bobsEvents = await harness.fabrikam.events(for: APIHarness.bob)
            try await harness.application().test(.router) { client in
                let refused = try await client.execute(uri: "/v1/me/messages", method: .post, headers: harness.aliceAuthorization, body: .json(body))
                #expect(refused.status == .badRequest, "\(refused.text)")
                #expect(refused.errorCode == code, "\(refused.text)")
                // Messages to bob arrive in order, so if the refused one had gone out, bob would see it first.
                let marker = try await client.execute(
                    uri: "/v1/me/messages", method: .post, headers: harness.aliceAuthorization,
                    body: .json(#"{"to": "bob@fabrikam.example", "body": "marker"}"#)
                )
                #expect(marker.status == .accepted)
            }
            guard case .message(_, let message) = try await nextEvent(bobsEvents, waitingFor: "the marker message") else {
                Issue.record("bob got something else first")
                return
            }
            #expect(message.bodies.map(\.text) == ["marker"])
            #expect(message.id?.isEmpty == false, "the gateway gives a message without an id one")
        }
    }

    // MARK: - Errors outside the routes

    @Test("unknown routes and methods get JSON errors too")
    func unknownRoutes() async throws {
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let missing = try await client.execute(uri: "/v1/me/calendar", method: .get, headers: harness.aliceAuthorization)
                #expect(missing.status == .notFound)
                #expect(missing.errorCode == "not-found")
                let wrongMethod = try await client.execute(uri: "/v1/me/presence", method: .delete, headers: harness.aliceAuthorization)
                #expect((400..<500).contains(wrongMethod.status.code))
                #expect(wrongMethod.errorCode != nil, "\(wrongMethod.text)")
            }
        }
    }

    @Test("a token whose user the gateway does not know gets 404 unknown-user")
    func unknownUser() async throws {
        try await APIHarness.with { harness in
            let carol = try JID("carol@contoso.example")
            try await harness.store.saveUser(InternalUser(jid: carol.description))
            let token = try await harness.store.issueToken(for: .user(carol), at: Timestamp(secondsSinceEpoch: 1_700_000_000))
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: "/v1/me/presence", method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(response.status == .notFound)
                #expect(response.errorCode == "unknown-user")
            }
        }
    }
}
