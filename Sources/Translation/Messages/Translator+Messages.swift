import PresenceModel
import XMLStreaming
import XMPP

/// Messages both ways: chat, normal and headline bodies in any number of languages, threads, XEP-0085
/// chat states and XEP-0184 receipts carried across; errors become delivery failures and are never
/// answered with errors.
extension Translator {
    mutating func receiveMessage(_ stanza: Stanza, from: JID, to: JID) -> [TranslatorOutput] {
        let message = Message(stanza.element)
        let user = to.bare
        guard directory.users[user.description] != nil else {
            // RFC 6121 §8.5.2.2: no such user.
            return reject(stanza, StanzaError(.serviceUnavailable))
        }
        if message.type == .error {
            return [.notify(user: user, .deliveryFailed(to: from, messageID: message.id, message.error ?? StanzaError(.undefinedCondition)))]
        }
        if message.type == .groupchat {
            // RFC 6121 §8.5.2.1.1: groupchat to a bare JID; Consulate relays one-to-one chat only.
            return reject(stanza, StanzaError(.serviceUnavailable))
        }
        let contact = self.contact(from.bare, of: user)
        if contact?.accessLevel == .blocked {
            return reject(stanza, StanzaError(.serviceUnavailable))
        }
        if contact == nil, trust(of: from.domainpart)?.mayMessageNonContacts != true {
            // PublicUnverified: the internal user must add the sender first. The same answer as for an
            // unknown user, so nothing leaks about who exists.
            return reject(stanza, StanzaError(.serviceUnavailable))
        }
        return [.notify(user: user, .message(from: from, message))]
    }

    mutating func sendMessage(from user: JID, to recipient: JID, _ message: Message) -> [TranslatorOutput] {
        guard directory.users[user.description] != nil else { return [] }
        func fail(_ condition: StanzaError.Condition, _ text: String) -> [TranslatorOutput] {
            [.notify(user: user, .deliveryFailed(to: recipient, messageID: message.id, StanzaError(condition, text: text)))]
        }
        if isLocal(recipient) {
            return fail(.itemNotFound, "\(recipient) is an internal address; Consulate only relays to federated domains")
        }
        guard recipient.localpart != nil else {
            return fail(.badRequest, "messages go to users, not to the server \(recipient)")
        }
        if let refusal = refusal(of: recipient.domainpart) {
            return fail(.notAllowed, refusal)
        }
        if message.type == .error || message.type == .groupchat {
            return fail(.badRequest, "internal users send chat, normal or headline messages")
        }
        let from = endpoint(of: user)
        return [send(message.element(from: from, to: recipient), from: from, to: recipient)]
    }

    /// IQs: XEP-0199 pings are answered for the domain and for users, service discovery for the
    /// domain; everything else gets `service-unavailable` (RFC 6121 §8.5). Results and errors are
    /// never answered.
    mutating func receiveIQ(_ stanza: Stanza, from: JID, to: JID) -> [TranslatorOutput] {
        guard let iq = IQ(stanza.element) else {
            return reject(stanza, StanzaError(.badRequest, text: "an iq needs an id, a type and exactly one payload"))
        }
        guard iq.type == .get || iq.type == .set else { return [] }
        let exists = to.localpart == nil || directory.users[to.bare.description] != nil
        if exists, iq.type == .get, iq.payload?.name == "ping", iq.payload?.namespace == Namespace.ping {
            return [send(IQ.result(to: stanza), from: to, to: from)]
        }
        if to.localpart == nil, to.resourcepart == nil, let answer = domainDiscovery(iq, stanza) {
            switch answer {
            case .success(let result): return [send(result, from: to, to: from)]
            case .failure(let error): return reject(stanza, error)
            }
        }
        return reject(stanza, StanzaError(.serviceUnavailable))
    }
}
