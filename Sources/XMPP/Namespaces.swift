/// Namespace URIs of the XMPP protocols Consulate speaks, in one place so that no file spells
/// one differently.
package enum Namespace {
    package static let server = "jabber:server"
    package static let client = "jabber:client"
    package static let streams = "http://etherx.jabber.org/streams"
    package static let streamErrors = "urn:ietf:params:xml:ns:xmpp-streams"
    package static let stanzaErrors = "urn:ietf:params:xml:ns:xmpp-stanzas"
    package static let tls = "urn:ietf:params:xml:ns:xmpp-tls"
    package static let sasl = "urn:ietf:params:xml:ns:xmpp-sasl"
    package static let dialback = "jabber:server:dialback"
    package static let dialbackFeature = "urn:xmpp:features:dialback"
    package static let roster = "jabber:iq:roster"
    package static let chatStates = "http://jabber.org/protocol/chatstates"
    package static let receipts = "urn:xmpp:receipts"
    package static let idle = "urn:xmpp:idle:1"
    package static let delay = "urn:xmpp:delay"
    package static let caps = "http://jabber.org/protocol/caps"
    package static let vcardUpdate = "vcard-temp:x:update"
    package static let ping = "urn:xmpp:ping"
    package static let discoInfo = "http://jabber.org/protocol/disco#info"
    package static let dataForms = "jabber:x:data"
    package static let geoloc = "http://jabber.org/protocol/geoloc"
}
