import Federation
import XMLStreaming
import XMPP

/// SplitMix64 (Steele, Lea and Flood): a tiny seeded generator, so that every backoff draw and every
/// random event sequence in the link tests is repeatable from its seed.
struct LinkTestRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

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

    /// A table with `domain`'s link established at `start` (its first stanza, `m1`, sent).
    static func established(policy: FederationPolicy? = nil, domain: String = "remote.example", start: LinkInstant = at(0)) throws -> LinkTable {
        var table = LinkTable(policy: try policy ?? open())
        _ = table.stanzaToSend(LinkStanzas.message("m1", to: domain), to: domain, now: start)
        _ = table.connectionSucceeded(domain, now: start)
        return table
    }
}

/// Ways to read actions in expectations.
extension LinkTable.Action {
    /// The id of the stanza sent.
    var sentID: String? {
        if case .send(_, let element) = self { return element["id"] }
        return nil
    }

    /// The id and error of a bounced stanza (the reply keeps the original id).
    var bounce: (id: String?, error: StanzaError?)? {
        if case .bounce(let reply) = self { return (reply["id"], StanzaError(stanza: reply)) }
        return nil
    }

    var isConnect: Bool {
        if case .connect = self { return true }
        return false
    }

    /// The id of the ping asked for.
    var pingID: String? {
        if case .sendPing(_, let id) = self { return id }
        return nil
    }

    var retryAt: LinkInstant? {
        if case .scheduleRetry(_, let instant) = self { return instant }
        return nil
    }
}

extension Array where Element == LinkTable.Action {
    var sentIDs: [String] { compactMap(\.sentID) }
    var bouncedIDs: [String] { compactMap { $0.bounce?.id ?? nil } }
    var bounceErrors: [StanzaError] { compactMap { $0.bounce?.error ?? nil } }
}
