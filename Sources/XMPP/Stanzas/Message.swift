package import XMLStreaming

/// XEP-0085 chat states.
package enum ChatState: String, Sendable, Hashable, CaseIterable {
    case active, composing, paused, inactive, gone
}

/// A typed view of a `<message/>` (RFC 6121 §5) with the extensions a gateway carries across:
/// XEP-0085 chat states and XEP-0184 receipts. Elements it does not model are kept in `extensions`
/// only to the extent the translator chooses to pass them on.
package struct Message: Sendable, Hashable {
    /// RFC 6121 §5.2.2. An absent or unknown type means `normal`.
    package enum MessageType: String, Sendable, Hashable, CaseIterable {
        case chat, error, groupchat, headline, normal
    }

    package var type: MessageType
    package var id: String?
    package var bodies: [LocalizedText]
    package var subjects: [LocalizedText]
    package var thread: String?
    package var parentThread: String?
    package var chatState: ChatState?
    /// XEP-0184: the sender asks for a delivery receipt.
    package var requestsReceipt: Bool
    /// XEP-0184: this message is the receipt for the message with this id.
    package var receiptFor: String?
    /// The stanza error carried by an error message.
    package var error: StanzaError?

    package init(
        type: MessageType = .normal,
        id: String? = nil,
        bodies: [LocalizedText] = [],
        subjects: [LocalizedText] = [],
        thread: String? = nil,
        parentThread: String? = nil,
        chatState: ChatState? = nil,
        requestsReceipt: Bool = false,
        receiptFor: String? = nil,
        error: StanzaError? = nil
    ) {
        self.type = type
        self.id = id
        self.bodies = bodies
        self.subjects = subjects
        self.thread = thread
        self.parentThread = parentThread
        self.chatState = chatState
        self.requestsReceipt = requestsReceipt
        self.receiptFor = receiptFor
        self.error = error
    }

    package init(_ element: XMLElement) {
        let threadElement = element.firstElement(named: "thread", namespace: element.namespace)
        let receipt = element.firstElement(namespace: Namespace.receipts)
        self.init(
            type: element["type"].flatMap(MessageType.init(rawValue:)) ?? .normal,
            id: element["id"],
            bodies: LocalizedText.all(named: "body", in: element),
            subjects: LocalizedText.all(named: "subject", in: element),
            thread: threadElement?.text,
            parentThread: threadElement?["parent"],
            chatState: element.firstElement(namespace: Namespace.chatStates).flatMap { ChatState(rawValue: $0.name) },
            requestsReceipt: receipt?.name == "request",
            receiptFor: receipt?.name == "received" ? (receipt?["id"] ?? "") : nil,
            error: element["type"] == "error" ? StanzaError(stanza: element) : nil
        )
    }

    /// The stanza, in the order RFC 6121 examples use: subject, body, thread, then extensions.
    package func element(from: JID, to: JID, contentNamespace: String = Namespace.server) -> XMLElement {
        var element = XMLElement("message", namespace: contentNamespace)
        element.setAttribute("from", to: from.description)
        element.setAttribute("to", to: to.description)
        element.setAttribute("type", to: type.rawValue)
        if let id { element.setAttribute("id", to: id) }
        for subject in subjects { element.append(subject.element("subject", namespace: contentNamespace)) }
        for body in bodies { element.append(body.element("body", namespace: contentNamespace)) }
        if let thread {
            var threadElement = XMLElement("thread", namespace: contentNamespace)
            if let parentThread { threadElement.setAttribute("parent", to: parentThread) }
            threadElement.append(text: thread)
            element.append(threadElement)
        }
        if let chatState { element.append(XMLElement(chatState.rawValue, namespace: Namespace.chatStates)) }
        if requestsReceipt { element.append(XMLElement("request", namespace: Namespace.receipts)) }
        if let receiptFor {
            element.append(XMLElement("received", namespace: Namespace.receipts, attributes: ["id": receiptFor]))
        }
        if let error { element.append(error.element(contentNamespace: contentNamespace)) }
        return element
    }
}
