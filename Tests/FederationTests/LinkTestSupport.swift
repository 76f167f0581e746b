import Federation
import XMLStreaming
import XMPP

/// The fake clock: instants are written as seconds since the origin.
func at(_ seconds: Double) -> LinkInstant {
    LinkInstant(sinceOrigin: .seconds(seconds))
}

/// Stanzas from a local user to a remote domain, each with an id that names it in expectations.
enum LinkStanzas {
    static let sender = "alice@local.example/desk"

    static func message(
        _ id: String,
        to domain: String = "remote.example",
        from: String? = sender,
        type: String? = "chat",
        body: String = "hello"
    ) -> XMLElement {
        var element = XMLElement("message", namespace: Namespace.server)
        element.setAttribute("from", to: from)
        element.setAttribute("to", to: "bob@\(domain)")
        element.setAttribute("id", to: id)
        element.setAttribute("type", to: type)
        var bodyElement = XMLElement("body", namespace: Namespace.server)
        bodyElement.append(text: body)
        element.append(bodyElement)
        return element
    }

    static func iq(_ id: String, to domain: String = "remote.example", type: String) -> XMLElement {
        var element = XMLElement("iq", namespace: Namespace.server)
        element.setAttribute("from", to: sender)
        element.setAttribute("to", to: domain)
        element.setAttribute("id", to: id)
        element.setAttribute("type", to: type)
        if type == "get" { element.append(XMLElement("ping", namespace: "urn:xmpp:ping")) }
        return element
    }

    static func presence(_ id: String, to domain: String = "remote.example", type: String? = nil) -> XMLElement {
        var element = XMLElement("presence", namespace: Namespace.server)
        element.setAttribute("from", to: sender)
        element.setAttribute("to", to: "bob@\(domain)")
        element.setAttribute("id", to: id)
        element.setAttribute("type", to: type)
        return element
    }

    /// The serialized size the table counts.
    static func size(_ element: XMLElement) -> Int {
        XMLSerializer(defaultNamespace: Namespace.server).bytes(element).count
    }
}

/// Policies for the link tests: open federation with a blocklist, or an allowlist.
enum LinkPolicies {
    static func open(
        partners: [PartnerPolicy] = [],
        blocklist: [String] = ["blocked.example"],
        settings: FederationSettings = .defaults
    ) throws -> FederationPolicy {
        FederationPolicy(mode: .open(blocklist: try blocklist.map { try DomainPattern($0) }), partners: partners, settings: settings)
    }

    static func partner(_ pattern: String, keepAlive: Bool = true, connectionLimit: Int? = nil) throws -> PartnerPolicy {
        PartnerPolicy(domain: try DomainPattern(pattern), keepAlive: keepAlive, connectionLimit: connectionLimit)
    }

    static func table(settings: LinkSettings = .defaults, federation: FederationSettings = .defaults) throws -> LinkTable {
        LinkTable(policy: try open(settings: federation), settings: settings)
    }

    /// A table with `domain`'s link established at `start` (its first stanza, `m1`, sent), on
    /// connection `link-1`.
    static func established(policy: FederationPolicy? = nil, domain: String = "remote.example", start: LinkInstant = at(0)) throws -> LinkTable {
        var table = LinkTable(policy: try policy ?? open())
        _ = table.stanzaToSend(LinkStanzas.message("m1", to: domain), to: domain, now: start)
        _ = table.connectionSucceeded(domain, now: start)
        return table
    }
}

/// The tests' local domain, from which every link starts.
let localDomain = "local.example"

/// The link from the tests' local domain to `remote`.
func link(_ remote: String = "remote.example") -> LinkKey {
    LinkKey(local: localDomain, remote: remote)
}

/// The tests name links by their remote domain and connections by the link's current one.
extension LinkTable {
    mutating func stanzaToSend(_ element: XMLElement, to remote: String, ticket: Ticket? = nil, now: LinkInstant) -> [Action] {
        stanzaToSend(element, on: link(remote), ticket: ticket, now: now)
    }

    /// The attempt or established connection of the link to `remote` (a connection no table
    /// names when there is none).
    func connection(_ remote: String) -> ConnectionID {
        status(of: link(remote))?.connection ?? ConnectionID(.link, 0)
    }

    mutating func connectionSucceeded(_ remote: String, now: LinkInstant) -> [Action] {
        connectionSucceeded(connection(remote), now: now)
    }

    mutating func connectionFailed(_ remote: String, _ failure: LinkFailure, now: LinkInstant, using generator: inout some RandomNumberGenerator) -> [Action] {
        connectionFailed(connection(remote), failure, now: now, using: &generator)
    }

    mutating func linkLost(_ remote: String, now: LinkInstant) -> [Action] {
        linkLost(connection(remote), now: now)
    }

    mutating func pongReceived(from remote: String, id: String) -> Bool {
        pongReceived(on: link(remote), id: id)
    }

    func status(of remote: String) -> Status? {
        status(of: link(remote))
    }

    /// The remote domains the table holds links to, sorted.
    var domains: [String] { keys.map(\.remote) }
}

/// Ways to read actions in expectations.
extension LinkTable.Action {
    /// The id of the stanza sent.
    var sentID: String? {
        if case .send(let stanza, _) = self { return stanza.element["id"] }
        return nil
    }

    /// The id and error of a bounced stanza (the reply keeps the original id).
    var bounce: (id: String?, error: StanzaError?)? {
        if case .bounce(let reply, _) = self { return (reply["id"], StanzaError(stanza: reply)) }
        return nil
    }

    var isConnect: Bool {
        if case .connect = self { return true }
        return false
    }

    /// The id of the ping asked for.
    var pingID: String? {
        if case .sendPing(_, _, let id) = self { return id }
        return nil
    }

    var retryAt: LinkInstant? {
        if case .scheduleRetry(_, let instant) = self { return instant }
        return nil
    }

    /// The action as one line, for comparing sequences: `connect remote.example #1`,
    /// `send m1 to remote.example`, `close link-1 (idle)`, `ping remote.example ping-1`, …
    var line: String {
        switch self {
        case .connect(let key, _, _, let attempt): "connect \(key.remote) #\(attempt)"
        case .send(let stanza, _): "send \(stanza.element["id"] ?? "?") to \(stanza.key.remote)"
        case .scheduleRetry(let key, let at): "retry \(key.remote) at \(at)"
        case .bounce(let reply, _): "bounce \(reply["id"] ?? "?") (\(StanzaError(stanza: reply)?.condition.rawValue ?? "?"))"
        case .discard(let element, let error, _): "discard \(element["id"] ?? "?") (\(error.condition.rawValue))"
        case .close(let connection, let reason): "close \(connection) (\(reason))"
        case .sendKeepAlive(let connection): "keep-alive \(connection)"
        case .sendPing(let key, _, let id): "ping \(key.remote) \(id)"
        case .linkDown(let key): "link down \(key.remote)"
        case .linkUp(let key): "link up \(key.remote)"
        }
    }
}

extension Array where Element == LinkTable.Action {
    var sentIDs: [String] { compactMap(\.sentID) }
    var bouncedIDs: [String] { compactMap { $0.bounce?.id ?? nil } }
    var bounceErrors: [StanzaError] { compactMap { $0.bounce?.error ?? nil } }
    var lines: [String] { map(\.line) }
}
