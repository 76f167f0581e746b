package import XMLStreaming

/// A typed view of a `<presence/>` (RFC 6121 §4) with XEP-0319 idle and the XEP-0153 photo hash.
package struct Presence: Sendable, Hashable {
    /// RFC 6121 §4.7.1. `nil` means available.
    package enum PresenceType: String, Sendable, Hashable, CaseIterable {
        case error, probe, subscribe, subscribed, unavailable, unsubscribe, unsubscribed
    }

    /// RFC 6121 §4.7.2.1. `nil` means plain available.
    package enum Show: String, Sendable, Hashable, CaseIterable {
        case away, chat, dnd, xa
    }

    package var type: PresenceType?
    package var id: String?
    package var show: Show?
    package var statuses: [LocalizedText]
    package var priority: Int8
    /// XEP-0319 `since`, kept as the XEP-0082 string it arrived as.
    package var idleSince: String?
    /// XEP-0153: the SHA-1 of the avatar; `""` announces that there is no avatar.
    package var photoHash: String?
    package var error: StanzaError?

    package init(
        type: PresenceType? = nil,
        id: String? = nil,
        show: Show? = nil,
        statuses: [LocalizedText] = [],
        priority: Int8 = 0,
        idleSince: String? = nil,
        photoHash: String? = nil,
        error: StanzaError? = nil
    ) {
        self.type = type
        self.id = id
        self.show = show
        self.statuses = statuses
        self.priority = priority
        self.idleSince = idleSince
        self.photoHash = photoHash
        self.error = error
    }

    /// Reads a presence stanza. Returns `nil` for an unknown `type` or an unknown `<show/>`,
    /// which RFC 6121 §4.7.1 and §4.7.2.1 make a `bad-request`.
    package init?(_ element: XMLElement) {
        let namespace = element.namespace
        var type: PresenceType?
        if let raw = element["type"] {
            guard let known = PresenceType(rawValue: raw) else { return nil }
            type = known
        }
        var show: Show?
        if let raw = element.firstElement(named: "show", namespace: namespace)?.text {
            guard let known = Show(rawValue: raw.trimmingXMLWhitespace) else { return nil }
            show = known
        }
        let priorityText = element.firstElement(named: "priority", namespace: namespace)?.text.trimmingXMLWhitespace
        self.init(
            type: type,
            id: element["id"],
            show: show,
            statuses: LocalizedText.all(named: "status", in: element),
            priority: priorityText.flatMap { Int8($0) } ?? 0,
            idleSince: element.firstElement(named: "idle", namespace: Namespace.idle)?["since"],
            photoHash: element.firstElement(named: "x", namespace: Namespace.vcardUpdate)?
                .firstElement(named: "photo", namespace: Namespace.vcardUpdate)?.text,
            error: type == .error ? StanzaError(stanza: element) : nil
        )
    }

    package var isAvailable: Bool { type == nil }

    /// The presence stanza, children in RFC 6121 order: show, status, priority, then extensions.
    package func element(from: JID, to: JID, contentNamespace: String = Namespace.server) -> XMLElement {
        var element = XMLElement("presence", namespace: contentNamespace)
        element.setAttribute("from", to: from.description)
        element.setAttribute("to", to: to.description)
        if let id { element.setAttribute("id", to: id) }
        if let type { element.setAttribute("type", to: type.rawValue) }
        if let show {
            var showElement = XMLElement("show", namespace: contentNamespace)
            showElement.append(text: show.rawValue)
            element.append(showElement)
        }
        for status in statuses { element.append(status.element("status", namespace: contentNamespace)) }
        if priority != 0 {
            var priorityElement = XMLElement("priority", namespace: contentNamespace)
            priorityElement.append(text: String(priority))
            element.append(priorityElement)
        }
        if let idleSince {
            element.append(XMLElement("idle", namespace: Namespace.idle, attributes: ["since": idleSince]))
        }
        if let photoHash {
            var photo = XMLElement("photo", namespace: Namespace.vcardUpdate)
            if !photoHash.isEmpty { photo.append(text: photoHash) }
            element.append(XMLElement("x", namespace: Namespace.vcardUpdate, children: [.element(photo)]))
        }
        if let error { element.append(error.element(contentNamespace: contentNamespace)) }
        return element
    }
}
