import PresenceModel
import XMPP

/// Subscriptions and the contact list: RFC 6121 Appendix A state changes (in `SubscriptionState`)
/// plus the partner-trust rules of a Lync gateway:
/// - Federated and PublicVerified partners' users are approved automatically;
/// - PublicUnverified partners' users are held until the internal user adds them, which counts as
///   the user's express approval;
/// - Blocked contacts cannot ask for anything; their cancellations still update the state.
/// - A request that would take the user's contact list (held requests included) past
///   `contactLimit` is refused with `not-allowed`, whatever the trust.
extension Translator {
    mutating func receiveSubscription(_ type: Presence.PresenceType, user: JID, contact: JID, stanza: Stanza) -> [TranslatorOutput] {
        guard let request = SubscriptionState.Request(rawValue: type.rawValue) else { return [] }
        let existing = self.contact(contact, of: user)
        if existing?.accessLevel == .blocked, request == .subscribe { return [] }
        guard let trust = trust(of: contact.domainpart) else { return [] }

        if existing == nil {
            guard request == .subscribe else {
                // A held request the requester withdraws is simply forgotten.
                if request == .unsubscribe { releaseSubscriptionRequest(from: contact, to: user) }
                return []
            }
            // A repeated request takes no more room than it had.
            guard directory.isHeld(from: contact.description, to: user.description) || !contactListIsFull(user) else {
                return reject(stanza, StanzaError(.notAllowed, text: "\(user) has reached the contact limit of \(configuration.contactLimit)"))
            }
            guard trust.autoApprovesInboundSubscriptions else {
                holdSubscriptionRequest(from: contact, to: user)
                return []
            }
            setContact(Contact(jid: contact.description), of: user)
        }
        var contactEntry = self.contact(contact, of: user)!
        let result = contactEntry.subscription.inbound(request)
        contactEntry.subscription = result.state
        setContact(contactEntry, of: user)

        var outputs: [TranslatorOutput] = []
        if result.autoReplySubscribed {
            outputs.append(send(Presence(type: .subscribed).element(from: user, to: contact), from: user, to: contact))
        }
        if request == .subscribe, result.deliver, trust.autoApprovesInboundSubscriptions {
            // Approve on the user's behalf, then tell them who now sees their presence.
            outputs.append(.notify(user: user, .subscriptionApproved(from: contact)))
            outputs += sendSubscription(.subscribed, user: user, contact: contact)
            return outputs
        }
        if result.deliver || result.state != existing?.subscription {
            if request == .subscribe, result.deliver {
                outputs.append(.notify(user: user, .subscriptionRequest(from: contact)))
            }
            outputs.append(.notify(user: user, .contactUpdated(contactEntry)))
        }
        switch request {
        case .subscribe where result.autoReplySubscribed:
            outputs += sendView(user: user, watcher: contactEntry, force: true)
        case .unsubscribe:
            sentViews[Pair(user: user, contact: contact)] = nil
        case .unsubscribed:
            outputs += forgetContactPresence(user: user, contact: contact)
        default:
            break
        }
        return outputs
    }

    /// The user sends a subscription stanza (approve, deny, revoke, unsubscribe, or subscribe).
    mutating func sendSubscription(_ request: SubscriptionState.Request, user: JID, contact: JID) -> [TranslatorOutput] {
        guard directory.user(user.description) != nil else { return [] }
        if releaseSubscriptionRequest(from: contact, to: user) {
            if request == .subscribed || request == .subscribe {
                // The user acts on someone whose request was held: it is now a real request.
                var entry = self.contact(contact, of: user) ?? Contact(jid: contact.description)
                entry.subscription = entry.subscription.inbound(.subscribe).state
                setContact(entry, of: user)
            }
        }
        guard var entry = self.contact(contact, of: user) else { return [] }
        let previous = entry.subscription
        let result = previous.outbound(request)
        entry.subscription = result.state
        setContact(entry, of: user)

        var outputs: [TranslatorOutput] = []
        if result.forward {
            outputs.append(send(Presence(type: Presence.PresenceType(rawValue: request.rawValue)).element(from: user, to: contact), from: user, to: contact))
        }
        if result.state != previous {
            outputs.append(.notify(user: user, .contactUpdated(entry)))
        }
        switch request {
        case .subscribed where result.forward:
            outputs += sendView(user: user, watcher: entry, force: true)
        case .unsubscribed where previous.contactReceivesPresence:
            outputs += sendUnavailable(user: user, to: contact)
        case .unsubscribe where previous.userReceivesPresence:
            outputs += forgetContactPresence(user: user, contact: contact)
        default:
            break
        }
        return outputs
    }

    /// Adding a contact asks for their presence and authorises them to see ours (approving a pending
    /// or held request, or pre-approving a future one).
    mutating func addContact(user: JID, contact: JID, name: String?, groups: [String], accessLevel: AccessLevel?) -> [TranslatorOutput] {
        guard directory.user(user.description) != nil, !isLocal(contact), contact.localpart != nil else { return [] }
        if let refusal = refusal(of: contact.domainpart) {
            return [.notify(user: user, .deliveryFailed(to: contact, messageID: nil, StanzaError(.notAllowed, text: refusal)))]
        }
        // A held request becomes the contact, so it takes no more room than it did.
        if self.contact(contact, of: user) == nil, !directory.isHeld(from: contact.description, to: user.description), contactListIsFull(user) {
            let error = StanzaError(.notAllowed, text: "the contact list has reached its limit of \(configuration.contactLimit)")
            return [.notify(user: user, .deliveryFailed(to: contact, messageID: nil, error))]
        }
        var entry = self.contact(contact, of: user) ?? Contact(jid: contact.description)
        if let name { entry.name = name }
        if !groups.isEmpty { entry.groups = groups }
        if let accessLevel { entry.accessLevel = accessLevel }
        setContact(entry, of: user)
        var outputs = sendSubscription(.subscribe, user: user, contact: contact)
        outputs += sendSubscription(.subscribed, user: user, contact: contact)
        return outputs
    }

    /// Whether one more contact or held request would take `user` past the contact limit.
    func contactListIsFull(_ user: JID) -> Bool {
        directory.contactListSize(of: user.description) >= configuration.contactLimit
    }

    /// Removing a contact cancels both directions (RFC 6121 §2.5.2) and forgets the entry.
    mutating func removeContact(user: JID, contact: JID) -> [TranslatorOutput] {
        guard let entry = self.contact(contact, of: user) else { return [] }
        var outputs: [TranslatorOutput] = []
        if entry.subscription.userReceivesPresence || entry.subscription.pendingOut {
            outputs.append(send(Presence(type: .unsubscribe).element(from: user, to: contact), from: user, to: contact))
        }
        if entry.subscription.contactReceivesPresence || entry.subscription.pendingIn {
            outputs.append(send(Presence(type: .unsubscribed).element(from: user, to: contact), from: user, to: contact))
        }
        outputs += sendUnavailable(user: user, to: contact)
        directory.users[user.description]?.removePresence(of: contact.description)
        toldPresence[Pair(user: user, contact: contact)] = nil
        releaseSubscriptionRequest(from: contact, to: user)
        removeContactEntry(contact, of: user)
        outputs.append(.notify(user: user, .contactRemoved(contact)))
        return outputs
    }

    /// A new access level can change what the contact sees; send the new view if it did.
    mutating func setAccessLevel(user: JID, contact: JID, _ level: AccessLevel) -> [TranslatorOutput] {
        guard var entry = self.contact(contact, of: user) else { return [] }
        entry.accessLevel = level
        setContact(entry, of: user)
        var outputs: [TranslatorOutput] = []
        if level == .blocked {
            outputs += forgetContactPresence(user: user, contact: contact)
        }
        if entry.subscription.contactReceivesPresence {
            outputs += sendView(user: user, watcher: entry, force: false)
        }
        return outputs
    }
}
