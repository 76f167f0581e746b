/// Namespace URIs of the XMPP protocols Consulate speaks, in one place so that no file spells
/// one differently.
public enum Namespace {
    public static let server = "jabber:server"
    public static let client = "jabber:client"
    public static let streams = "http://etherx.jabber.org/streams"
    public static let streamErrors = "urn:ietf:params:xml:ns:xmpp-streams"
    public static let stanzaErrors = "urn:ietf:params:xml:ns:xmpp-stanzas"
    public static let tls = "urn:ietf:params:xml:ns:xmpp-tls"
    public static let sasl = "urn:ietf:params:xml:ns:xmpp-sasl"
    public static let dialback = "jabber:server:dialback"
    public static let dialbackFeature = "urn:xmpp:features:dialback"
    public static let roster = "jabber:iq:roster"
    public static let chatStates = "http://jabber.org/protocol/chatstates"
    public static let receipts = "urn:xmpp:receipts"
    public static let idle = "urn:xmpp:idle:1"
    public static let delay = "urn:xmpp:delay"
    public static let caps = "http://jabber.org/protocol/caps"
    public static let vcardUpdate = "vcard-temp:x:update"
    public static let ping = "urn:xmpp:ping"
    public static let discoInfo = "http://jabber.org/protocol/disco#info"
    public static let geoloc = "http://jabber.org/protocol/geoloc"
}
