import Configuration
package import GatewayCore
package import Federation
import PresenceModel
package import Translation
package import XMLStreaming
package import XMPP

/// The fixture notation for the internal side (see `Fixtures/README.md`): setup elements, internal
/// actions and internal events as small XML elements, translated to and from the translator's types.
package enum FixtureNotation {
    package struct NotationError: Error, Sendable {
        package var message: String

        init(_ message: String) {
            self.message = message
        }
    }

    /// Everything a fixture's `[Config]` and `[Setup]` describe.
    package struct World {
        /// The gateway's core as production builds it from the configuration, with the setup's
        /// users, contacts and presence; messages are kept as with a store, so durable messages
        /// travel under tickets.
        package var core: GatewayCore
        package var parserLimits: XMLStreamLimits
        /// The limits of a negotiated stream until it authenticates.
        package var preAuthenticationLimits: XMLStreamLimits
        /// What each negotiated inbound stream's machine is given: our domains, the federation
        /// policy of `[Config]` and `[Setup]` partners, and the dialback secret.
        package var inbound: InboundStreamStateMachine.Configuration
        package var users: Set<JID>

        /// The domain the standard stream headers are addressed to.
        package var firstLocalDomain: String { inbound.localDomains.sorted().first ?? "localhost" }

        /// Whether `domain` may federate under the fixture's policy (a partner, or any domain not
        /// blocked in open mode): who may send on a stream that starts authenticated.
        package func mayFederate(_ domain: String) -> Bool {
            if case .allowed = inbound.policy.decision(for: domain) { true } else { false }
        }
    }

    /// The dialback secret of a fixture whose `[Config]` sets none, fixed so that replays are
    /// reproducible (production draws a random one at start-up).
    package static let fixtureDialbackSecret = "consulate fixture dialback secret"
    /// The seed of the core's backoff jitter, fixed for the same reason.
    static let fixtureRandomSeed: UInt64 = 0x636F_6E73_756C_6174

    static func world(configuration toml: String?, setup: [XMLElement]) throws(NotationError) -> World {
        var configuration = GatewayConfiguration()
        if let toml {
            do throws(ConfigurationError) {
                configuration = try GatewayConfiguration.load(toml: toml, over: configuration)
            } catch {
                throw NotationError("[Config]: \(error.message)")
            }
        }
        var directory = PresenceDirectory()
        var users: Set<JID> = []
        var contactPresence: [(JID, JID, RichPresence)] = []
        for element in setup {
            switch element.name {
            case "partner":
                let domain = try required("domain", of: element)
                guard let pattern = try? DomainPattern(domain) else { throw NotationError("<partner domain='\(domain)'> is not a domain pattern") }
                var trust = PartnerTrust.default
                if let raw = element["trust"] {
                    guard let value = PartnerTrust(rawValue: raw) else { throw NotationError("unknown trust '\(raw)'") }
                    trust = value
                }
                configuration.federation.partners.append(PartnerPolicy(domain: pattern, trust: trust, negotiation: try negotiation(element)))
            case "user":
                let jid = try jidAttribute("jid", of: element)
                directory.add(InternalUser(jid: jid.description, name: element["name"]))
                configuration.translation.localDomains.insert(jid.domainpart)
                users.insert(jid)
            case "contact":
                let user = try jidAttribute("user", of: element)
                guard directory.users[user.description] != nil else { throw NotationError("<contact> for unknown user \(user)") }
                let contact = try jidAttribute("jid", of: element)
                var entry = Contact(jid: contact.description, name: element["name"], groups: groups(of: element))
                if let access = element["access"] { entry.accessLevel = try accessLevel(access) }
                let kind = try element["subscription"].map { (raw) throws(NotationError) in
                    guard let kind = SubscriptionState.Kind(rawValue: raw) else { throw NotationError("unknown subscription '\(raw)'") }
                    return kind
                } ?? .none
                entry.subscription = SubscriptionState(
                    kind,
                    pendingOut: element["pending-out"] == "true",
                    pendingIn: element["pending-in"] == "true",
                    preApproved: element["pre-approved"] == "true"
                )
                directory.users[user.description]?.contacts[contact.description] = entry
            case "presence":
                let user = try jidAttribute("user", of: element)
                guard directory.users[user.description] != nil else { throw NotationError("<presence> for unknown user \(user)") }
                directory.users[user.description]?.presence = try richPresence(element)
            case "contact-presence":
                contactPresence.append((try jidAttribute("user", of: element), try jidAttribute("contact", of: element), try richPresence(element)))
            default:
                throw NotationError("unknown setup element <\(element.name)>")
            }
        }
        do throws(PolicyError) {
            _ = try configuration.federation.validate()
        } catch {
            throw NotationError(error.description)
        }
        var core = GatewayCore(
            configuration: GatewayCore.Configuration(
                translation: configuration.translation, policy: configuration.federation, keepsMessages: true, randomSeed: fixtureRandomSeed
            ),
            directory: directory
        )
        for (user, contact, presence) in contactPresence {
            core.assumeContactPresence(user: user, contact: contact, presence)
        }
        return World(
            core: core,
            parserLimits: configuration.postAuthenticationLimits,
            preAuthenticationLimits: configuration.preAuthenticationLimits,
            inbound: InboundStreamStateMachine.Configuration(
                localDomains: configuration.translation.localDomains,
                policy: configuration.federation,
                dialbackSecret: configuration.federation.settings.dialbackSecret ?? DialbackSecret(fixtureDialbackSecret)
            ),
            users: users
        )
    }

    /// A `<partner/>`'s `tls`, `sasl` and `dialback` attributes, with the defaults and tokens of
    /// `[[partner]]` in `federation.toml`.
    static func negotiation(_ element: XMLElement) throws(NotationError) -> NegotiationPolicy {
        var negotiation = NegotiationPolicy.default
        for (name, keyPath) in [("tls", \NegotiationPolicy.tls), ("sasl", \NegotiationPolicy.sasl)] {
            guard let raw = element[name] else { continue }
            guard let value = NegotiationRequirement(rawValue: raw) else {
                throw NotationError("\(name) '\(raw)' is not one of required, optional, not-supported")
            }
            negotiation[keyPath: keyPath] = value
        }
        switch element["dialback"] {
        case nil: break
        case "true": negotiation.supportDialback = true
        case "false": negotiation.supportDialback = false
        case let raw?: throw NotationError("dialback '\(raw)' is not true or false")
        }
        return negotiation
    }

    static func action(_ element: XMLElement, user: JID) throws(NotationError) -> InternalAction {
        switch element.name {
        case "set-presence":
            return .setPresence(user: user, try richPresence(element))
        case "add-contact":
            return .addContact(
                user: user,
                contact: try jidAttribute("jid", of: element),
                name: element["name"],
                groups: groups(of: element),
                accessLevel: try element["access"].map { (raw) throws(NotationError) in try accessLevel(raw) }
            )
        case "remove-contact":
            return .removeContact(user: user, contact: try jidAttribute("jid", of: element))
        case "set-access":
            return .setAccessLevel(user: user, contact: try jidAttribute("jid", of: element), try accessLevel(try required("access", of: element)))
        case "approve":
            return .approveSubscription(user: user, contact: try jidAttribute("jid", of: element))
        case "deny":
            return .denySubscription(user: user, contact: try jidAttribute("jid", of: element))
        case "unsubscribe":
            return .unsubscribe(user: user, contact: try jidAttribute("jid", of: element))
        case "revoke":
            return .revokeSubscription(user: user, contact: try jidAttribute("jid", of: element))
        case "send-message":
            return .sendMessage(user: user, to: try jidAttribute("to", of: element), try message(element))
        default:
            throw NotationError("unknown action <\(element.name)>")
        }
    }

    /// An internal event in fixture notation.
    package static func element(for event: InternalEvent) -> XMLElement {
        switch event {
        case .message(let from, let message):
            var element = messageElement(message)
            element.attributes.insert(XMLAttribute("from", value: from.description), at: 0)
            return element
        case .contactPresence(let contact, let presence):
            var element = XMLElement("contact-presence", namespace: "", attributes: ["contact": contact.description])
            appendPresenceAttributes(presence, to: &element)
            return element
        case .subscriptionRequest(let from):
            return XMLElement("subscription-request", namespace: "", attributes: ["from": from.description])
        case .subscriptionApproved(let from):
            return XMLElement("subscription-approved", namespace: "", attributes: ["from": from.description])
        case .contactUpdated(let contact):
            var element = XMLElement(
                "contact-update", namespace: "",
                attributes: ["jid": contact.jid, "subscription": contact.subscription.kind.rawValue]
            )
            if contact.subscription.pendingOut { element["pending-out"] = "true" }
            if contact.subscription.pendingIn { element["pending-in"] = "true" }
            if contact.subscription.preApproved { element["pre-approved"] = "true" }
            return element
        case .contactRemoved(let contact):
            return XMLElement("contact-removed", namespace: "", attributes: ["jid": contact.description])
        case .deliveryFailed(let to, let messageID, let error):
            var element = XMLElement("delivery-failed", namespace: "", attributes: ["to": to.description])
            if let messageID { element["id"] = messageID }
            element["condition"] = error.condition.rawValue
            if let text = error.text { element["text"] = text }
            return element
        case .linkChanged(let domain, let isUp):
            return XMLElement("link", namespace: "", attributes: ["domain": domain, "state": isUp ? "up" : "down"])
        }
    }

    // MARK: - Pieces

    /// The optional text fields of a presence and their attribute names in the notation.
    static var presenceAttributes: [(String, WritableKeyPath<RichPresence, String?>)] {
        [
            ("note", \.note), ("location", \.location), ("photo", \.photoHash),
            ("meeting-subject", \.meetingSubject), ("meeting-location", \.meetingLocation),
        ]
    }

    static func richPresence(_ element: XMLElement) throws(NotationError) -> RichPresence {
        var presence = RichPresence(availability: .available)
        if let raw = element["availability"] {
            guard let value = UInt32(raw) else { throw NotationError("availability '\(raw)' is not a number") }
            presence.availability = Availability(value)
        }
        presence.activity = element["activity"].map(Activity.init(token:))
        for (name, keyPath) in presenceAttributes { presence[keyPath: keyPath] = element[name] }
        if let raw = element["idle-since"] {
            guard let timestamp = Timestamp(xmppDateTime: raw) else { throw NotationError("idle-since '\(raw)' is not an XEP-0082 date-time") }
            presence.idleSince = timestamp
        }
        if let failure = presence.validationFailure { throw NotationError(failure) }
        return presence
    }

    static func appendPresenceAttributes(_ presence: RichPresence, to element: inout XMLElement) {
        element["availability"] = presence.availability.description
        if let activity = presence.activity { element["activity"] = activity.token }
        for (name, keyPath) in presenceAttributes {
            if let value = presence[keyPath: keyPath] { element[name] = value }
        }
        if let idle = presence.idleSince { element["idle-since"] = idle.xmppDateTime }
    }

    static func message(_ element: XMLElement) throws(NotationError) -> Message {
        var message = Message()
        if let raw = element["type"] {
            guard let type = Message.MessageType(rawValue: raw) else { throw NotationError("unknown message type '\(raw)'") }
            message.type = type
        }
        message.id = element["id"]
        message.thread = element["thread"]
        if let raw = element["chat-state"] {
            guard let state = ChatState(rawValue: raw) else { throw NotationError("unknown chat state '\(raw)'") }
            message.chatState = state
        }
        message.requestsReceipt = element["request-receipt"] == "true"
        message.receiptFor = element["receipt-for"]
        message.bodies = element.elements(named: "body", namespace: "").map { LocalizedText($0.text, language: $0["lang"]) }
        message.subjects = element.elements(named: "subject", namespace: "").map { LocalizedText($0.text, language: $0["lang"]) }
        return message
    }

    static func messageElement(_ message: Message) -> XMLElement {
        var element = XMLElement("message", namespace: "", attributes: ["type": message.type.rawValue])
        if let id = message.id { element["id"] = id }
        if let thread = message.thread { element["thread"] = thread }
        if let chatState = message.chatState { element["chat-state"] = chatState.rawValue }
        if message.requestsReceipt { element["request-receipt"] = "true" }
        if let receiptFor = message.receiptFor { element["receipt-for"] = receiptFor }
        for (name, texts) in [("subject", message.subjects), ("body", message.bodies)] {
            for text in texts {
                var child = XMLElement(name, namespace: "")
                if let language = text.language { child["lang"] = language }
                child.append(text: text.text)
                element.append(child)
            }
        }
        return element
    }

    static func required(_ name: String, of element: XMLElement) throws(NotationError) -> String {
        guard let value = element[name] else { throw NotationError("<\(element.name)> needs a '\(name)' attribute") }
        return value
    }

    static func jidAttribute(_ name: String, of element: XMLElement) throws(NotationError) -> JID {
        let raw = try required(name, of: element)
        do throws(JIDError) {
            return try JID(raw)
        } catch {
            throw NotationError("<\(element.name) \(name)='\(raw)'> is not a JID: \(error)")
        }
    }

    static func accessLevel(_ raw: String) throws(NotationError) -> AccessLevel {
        guard let level = AccessLevel(token: raw) else { throw NotationError("unknown access level '\(raw)'") }
        return level
    }

    static func groups(of element: XMLElement) -> [String] {
        element.elements(named: "group", namespace: "").map(\.text)
    }
}
