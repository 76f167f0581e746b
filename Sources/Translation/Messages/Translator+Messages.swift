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
        func reject(_ condition: StanzaError.Condition, _ text: String? = nil) -> [TranslatorOutput] {
            stanza.errorReply(StanzaError(condition, text: text)).map { [.send($0)] } ?? []
        }
        guard directory.users[user.description] != nil else {
            // RFC 6121 §8.5.2.2: no such user.
            return reject(.serviceUnavailable)
        }
        if message.type == .error {
            return [.notify(user: user, .deliveryFailed(to: from, messageID: message.id, message.error ?? StanzaError(.undefinedCondition)))]
        }
        if message.type == .groupchat {
            // RFC 6121 §8.5.2.1.1: groupchat to a bare JID; Consulate relays one-to-one chat only.
            return reject(.serviceUnavailable)
        }
        let contact = self.contact(from.bare, of: user)
        if contact?.accessLevel == .blocked {
            return reject(.serviceUnavailable)
        }
        if contact == nil, configuration.partner(for: from.domainpart)?.trust.mayMessageNonContacts != true {
            // PublicUnverified: the internal user must add the sender first. The same answer as for an
            // unknown user, so nothing leaks about who exists.
            return reject(.serviceUnavailable)
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
        guard configuration.partner(for: recipient.domainpart) != nil else {
            return fail(.notAllowed, "\(recipient.domainpart) is not a federated domain")
        }
        if message.type == .error || message.type == .groupchat {
            return fail(.badRequest, "internal users send chat, normal or headline messages")
        }
        return [.send(message.element(from: endpoint(of: user), to: recipient))]
    }

    /// IQs: XEP-0199 pings are answered for the domain and for users; everything else a user cannot
    /// answer gets `service-unavailable` (RFC 6121 §8.5). Results and errors are never answered.
    mutating func receiveIQ(_ stanza: Stanza, from: JID, to: JID) -> [TranslatorOutput] {
        guard let iq = IQ(stanza.element) else {
            return stanza.errorReply(StanzaError(.badRequest, text: "an iq needs an id, a type and exactly one payload")).map { [.send($0)] } ?? []
        }
        guard iq.type == .get || iq.type == .set else { return [] }
        let exists = to.localpart == nil || directory.users[to.bare.description] != nil
        if exists, iq.type == .get, iq.payload?.name == "ping", iq.payload?.namespace == Namespace.ping {
            return [.send(IQ.result(to: stanza))]
        }
        return stanza.errorReply(StanzaError(.serviceUnavailable)).map { [.send($0)] } ?? []
    }
}
