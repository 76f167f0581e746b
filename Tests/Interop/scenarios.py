"""The interop scenarios. Each runs against one peer server in one s2s security mode, with its own
internal and external users so that scenarios do not see each other's traffic.

No scenario sleeps and hopes: absence is proven with a barrier, a later stanza on the same s2s
stream that can only arrive after the one that must not have been answered.
"""

import re

from clients import ExternalUser
from peers import restart

INTERNAL = "contoso.test"
# Our second domain, in the phase where Consulate serves two.
SECOND = "second.test"
PASSWORD = "interop-secret"


def attr(name, value):
    return lambda element: element.get(name) == value


def event(tag, **attributes):
    """A predicate on a console event: its tag and some attributes (from_ for 'from', compared as a
    bare JID; receipt_for for 'receipt-for')."""
    wanted = {key.rstrip("_").replace("_", "-"): value for key, value in attributes.items()}

    def value(element, name):
        found = element.get(name)
        return found.split("/")[0] if name == "from" and found else found

    return lambda element: element.tag == tag and all(value(element, k) == v for k, v in wanted.items())


def presence_from(jid, ptype=None):
    def match(stanza):
        return stanza.name == "presence" and stanza["from"].bare == jid and (ptype is None or stanza["type"] == ptype)
    return match


def message_from(jid, body=None, mtype=None):
    def match(stanza):
        return (stanza.name == "message" and stanza["from"].bare == jid
                and (body is None or stanza["body"] == body) and (mtype is None or stanza["type"] == mtype))
    return match


class Context:
    def __init__(self, gateway, peer, ca_certificate):
        self.gateway = gateway
        self.peer = peer
        self.ca_certificate = ca_certificate
        self.clients = []

    def domain(self, trust):
        return f"{trust}.{self.peer.software}.test"

    async def external(self, user, trust="federated"):
        client = ExternalUser(f"{user}@{self.domain(trust)}", PASSWORD, self.peer.address, self.ca_certificate)
        await client.online()
        self.clients.append(client)
        return client

    async def close(self):
        for client in self.clients:
            await client.offline()


async def befriend(ctx, internal, client, access="colleagues"):
    """A mutual subscription started by the internal user, approved by the external one."""
    gw, external = ctx.gateway, client.boundjid.bare
    gw.do(internal, "<set-presence availability='3500'/>")
    gw.do(internal, f"<add-contact jid='{external}' access='{access}'/>")
    await client.expect(presence_from(internal, "subscribe"), "the internal user's subscription request")
    client.send_presence(pto=internal, ptype="subscribed")
    client.send_presence(pto=internal, ptype="subscribe")
    await gw.expect(internal, event("contact-update", jid=external, subscription="both"), "subscription both")
    await client.expect(presence_from(internal, "available"), "the internal user's presence")
    await gw.expect(internal, event("contact-presence", contact=external), "the external user's presence")


async def subscription(ctx, trust):
    """Subscription both ways under one partner trust: Federated and PublicVerified users are
    approved at once; PublicUnverified ones are held (and may not message) until the internal user
    adds them, which approves them."""
    gw, internal = ctx.gateway, f"alice@{INTERNAL}"
    client = await ctx.external("subscriber", trust)
    external = client.boundjid.bare
    gw.do(internal, "<set-presence availability='3500'/>")
    client.send_presence(pto=internal, ptype="subscribe")
    client.send_message(mto=internal, mbody="hello from a stranger", mtype="chat")
    if trust == "unverified":
        await client.expect(message_from(internal, mtype="error"), "the refusal of a message from a non-contact")
        assert not client.unconsumed(presence_from(internal, "subscribed")), "a held request was approved"
        gw.do(internal, f"<add-contact jid='{external}' access='external'/>")
        await client.expect(presence_from(internal, "subscribed"), "the approval the internal user's add implies")
        await client.expect(presence_from(internal, "subscribe"), "the internal user's own subscription request")
    else:
        await client.expect(presence_from(internal, "subscribed"), "the automatic approval")
        await client.expect(presence_from(internal, "available"), "the internal user's presence after approval")
        await gw.expect(internal, event("contact-update", jid=external, subscription="from"), "subscription from")
        await gw.expect(internal, event("message", from_=external), "the message of a permitted stranger")
        gw.do(internal, f"<add-contact jid='{external}' access='external'/>")
        await client.expect(presence_from(internal, "subscribe"), "the internal user's subscription request")
    client.send_presence(pto=internal, ptype="subscribed")
    await gw.expect(internal, event("contact-update", jid=external, subscription="both"), "subscription both")
    client.send_presence(pto=internal)
    await gw.expect(internal, event("contact-presence", contact=external, availability="3500"), "the external presence")


async def presence_mapping(ctx):
    """Internal Busy is seen as dnd; the note reaches a Federated colleague but not an External
    contact; external xa and dnd are seen as Away and Busy."""
    gw, internal = ctx.gateway, f"bob@{INTERNAL}"
    colleague = await ctx.external("colleague")
    outsider = await ctx.external("outsider")
    await befriend(ctx, internal, colleague, access="colleagues")
    await befriend(ctx, internal, outsider, access="external")
    gw.do(internal, "<set-presence availability='6500' note='Quarterly review'/>")
    seen = await colleague.expect(lambda s: presence_from(internal)(s) and s["show"] == "dnd", "Busy as dnd")
    assert "Quarterly review" in seen["status"], f"the colleague should see the note: {seen}"
    seen = await outsider.expect(lambda s: presence_from(internal)(s) and s["show"] == "dnd", "Busy as dnd")
    assert seen["status"] == "Busy", f"an External contact must not see the note: {seen}"
    colleague.send_presence(pshow="xa")
    await gw.expect(internal, event("contact-presence", contact=colleague.boundjid.bare, availability="15500"), "xa as Away")
    colleague.send_presence(pshow="dnd", pstatus="Deep work")
    found = await gw.expect(internal, event("contact-presence", contact=colleague.boundjid.bare, availability="6500"), "dnd as Busy")
    assert found.get("note") == "Deep work", f"the status text is the contact's note: {found.attrib}"


async def messages(ctx):
    """Messages both ways with chat states (XEP-0085) and receipts (XEP-0184)."""
    gw, internal = ctx.gateway, f"carol@{INTERNAL}"
    client = await ctx.external("chatter")
    external = client.boundjid.bare
    await befriend(ctx, internal, client)
    gw.do(internal, f"<send-message to='{external}' type='chat' id='c1' chat-state='active' request-receipt='true'><body>Lunch?</body></send-message>")
    received = await client.expect(message_from(internal, "Lunch?"), "the internal user's message")
    assert received["chat_state"] == "active", f"chat state lost: {received}"
    await gw.expect(internal, event("message", from_=external, receipt_for="c1"), "the receipt slixmpp sends")
    composing = client.make_message(mto=internal, mtype="chat")
    composing["chat_state"] = "composing"
    composing.send()
    await gw.expect(internal, event("message", from_=external, chat_state="composing"), "the composing chat state")
    reply = client.make_message(mto=internal, mbody="Yes, at noon", mtype="chat")
    reply["id"] = "x1"
    reply["request_receipt"] = True
    reply.send()
    found = await gw.expect(internal, event("message", from_=external, request_receipt="true"), "the reply")
    assert found.findtext("body") == "Yes, at noon", f"wrong body: {found}"
    gw.do(internal, f"<send-message to='{external}' type='chat' receipt-for='x1'/>")
    await client.expect(lambda s: s.name == "message" and s["receipt"] == "x1", "the internal user's receipt")


async def domain_discovery(ctx):
    """Service discovery (XEP-0030) on our domain, asked by the peer's user over federation: an IM
    server named Consulate, with the features it answers, and no services listed yet."""
    client = await ctx.external("explorer")
    disco = "http://jabber.org/protocol/disco"
    info = await client.make_iq_get(queryxmlns=f"{disco}#info", ito=INTERNAL).send(timeout=20)
    query = info.xml.find(f"{{{disco}#info}}query")
    identities = [(i.get("category"), i.get("type"), i.get("name")) for i in query.findall(f"{{{disco}#info}}identity")]
    features = {f.get("var") for f in query.findall(f"{{{disco}#info}}feature")}
    assert identities == [("server", "im", "Consulate")], f"identities: {identities}"
    assert features == {f"{disco}#info", f"{disco}#items", "urn:xmpp:ping"}, f"features: {features}"
    items = await client.make_iq_get(queryxmlns=f"{disco}#items", ito=INTERNAL).send(timeout=20)
    assert not list(items.xml.find(f"{{{disco}#items}}query")), f"items: {items}"


async def not_allowlisted(ctx):
    """A domain not on the allowlist is refused: its users' messages come back as errors, and ours
    to it fail with not-allowed."""
    gw, internal = ctx.gateway, f"carol@{INTERNAL}"
    mallory = await ctx.external("mallory", "rogue")
    mallory.send_message(mto=internal, mbody="let me in", mtype="chat")
    await mallory.expect(message_from(internal, mtype="error"), "the bounce of a refused domain")
    assert not gw.unconsumed(internal, event("message", from_=mallory.boundjid.bare)), "a refused domain got through"
    gw.do(internal, f"<send-message to='{mallory.boundjid.bare}' type='chat' id='r1'><body>no</body></send-message>")
    await gw.expect(internal, event("delivery-failed", to=mallory.boundjid.bare, id="r1", condition="not-allowed"), "not-allowed")


async def peer_restart(ctx):
    """The peer server is killed mid-conversation: the contact goes offline for the internal user,
    messages sent meanwhile wait in Consulate's queue, and after the peer returns each reaches it
    once, in order. The external user stays away until the peer has them all, so they come from
    its offline storage in the order Consulate delivered them: no race with the user's login."""
    gw, internal = ctx.gateway, f"dave@{INTERNAL}"
    client = await ctx.external("survivor")
    external = client.boundjid.bare
    await befriend(ctx, internal, client)
    client.send_message(mto=internal, mbody="before", mtype="chat")
    await gw.expect(internal, event("message", from_=external), "a message before the crash")
    ctx.peer.kill()
    await client.offline()
    await gw.expect(internal, event("contact-presence", contact=external, availability="18500"), "the contact going offline")
    for number in range(1, 6):
        gw.do(internal, f"<send-message to='{external}' type='chat' id='q{number}'><body>queued {number}</body></send-message>")
    await restart(ctx.peer)
    # Prosody logs the stanza's XML, ejabberd its Erlang record (or the bytes, for long reads).
    await ctx.peer.wait_for_log(r"""id(=['"]q5['"]| = <<"q5">>)""", "the last queued message reaching the peer", timeout=60)
    client = await ctx.external("survivor")
    for number in range(1, 6):
        await client.expect(message_from(internal, f"queued {number}"), f"queued message {number} from offline storage")
    # A barrier on the same link: any duplicate Consulate sent would have been sent before it.
    gw.do(internal, f"<send-message to='{external}' type='chat' id='end'><body>end</body></send-message>")
    await client.expect(message_from(internal, "end"), "the message sent after the queue drained")
    bodies = [s["body"] for s in client.stanzas if message_from(internal)(s) and s["body"].startswith("queued")]
    assert bodies == [f"queued {n}" for n in range(1, 6)], f"queued messages lost, duplicated or reordered: {bodies}"
    assert not gw.unconsumed(internal, event("delivery-failed")), f"bounced: {gw.unconsumed(internal, event('delivery-failed'))}"


async def authentication(ctx):
    """The phase's s2s authentication really was the one its mode names, in both directions, as
    the peer's own log records it (run last: the other scenarios opened the links)."""
    required, forbidden = ctx.peer.authentication_evidence(ctx.peer.mode)
    log = ctx.peer.log_text()
    missing = [what for what, pattern in required if not re.search(pattern, log)]
    assert not missing, f"no evidence in the {ctx.peer.software} log that {missing}"
    present = [what for what, pattern in forbidden if re.search(pattern, log)]
    assert not present, f"the {ctx.peer.software} log shows {present} was used"


async def open_federation(ctx):
    """Open federation: Consulate lists no partner, and Prosody's domain is treated as the open
    default, PublicUnverified, end to end: its user may not message or subscribe to an internal
    user who has not added them; once added, subscription, presence (the state, never the note)
    and messages flow both ways."""
    gw, internal = ctx.gateway, f"alice@{INTERNAL}"
    client = await ctx.external("greeter")
    external = client.boundjid.bare
    gw.do(internal, "<set-presence availability='3500' note='Planning the offsite'/>")
    client.send_message(mto=internal, mbody="hello from an unlisted domain", mtype="chat")
    await client.expect(message_from(internal, mtype="error"), "the refusal of a stranger's message")
    client.send_presence(pto=internal, ptype="subscribe")
    gw.do(internal, f"<add-contact jid='{external}' access='colleagues'/>")
    await client.expect(presence_from(internal, "subscribed"), "the approval that adding implies")
    await client.expect(presence_from(internal, "subscribe"), "the internal user's own request")
    seen = await client.expect(lambda s: presence_from(internal)(s) and s["type"] == "available", "the internal user's presence")
    assert "Planning" not in (seen["status"] or ""), f"a PublicUnverified contact must not see the note: {seen}"
    assert not gw.unconsumed(internal, event("message", from_=external)), "the stranger's message got through"
    client.send_presence(pto=internal, ptype="subscribed")
    await gw.expect(internal, event("contact-update", jid=external, subscription="both"), "subscription both")
    client.send_presence(pto=internal)
    await gw.expect(internal, event("contact-presence", contact=external, availability="3500"), "the external presence")
    gw.do(internal, f"<send-message to='{external}' type='chat' id='o1'><body>welcome</body></send-message>")
    await client.expect(message_from(internal, "welcome"), "the internal user's message")
    client.send_message(mto=internal, mbody="thanks", mtype="chat")
    await gw.expect(internal, event("message", from_=external), "the contact's message, now allowed")


async def two_local_domains(ctx):
    """Consulate serves two domains: users of both message one Prosody user, and each domain's
    stanzas leave on a stream authenticated for that domain, as Prosody's log records (a stream
    of contoso.test could not carry second.test's stanzas: Prosody would refuse them)."""
    gw = ctx.gateway
    client = await ctx.external("keeper")
    external = client.boundjid.bare
    for internal, body in ((f"alice@{INTERNAL}", "from contoso"), (f"carol@{SECOND}", "from second")):
        gw.do(internal, f"<send-message to='{external}' type='chat'><body>{body}</body></send-message>")
        await client.expect(message_from(internal, body), f"the message {body}")
    client.send_message(mto=f"carol@{SECOND}", mbody="reply to second", mtype="chat")
    await gw.expect(f"carol@{SECOND}", event("message", from_=external), "the reply to our second domain")
    for domain in (INTERNAL, SECOND):
        await ctx.peer.wait_for_log(f"Accepting SASL EXTERNAL identity from {re.escape(domain)}",
                                    f"Prosody accepting {domain}'s certificate (SASL EXTERNAL)")
        await ctx.peer.wait_for_log(f"connection {re.escape(domain)}->{re.escape(client.boundjid.domain)} is now authenticated for {re.escape(domain)}",
                                    f"a stream from {domain} authenticated for {domain}")


SCENARIOS = [
    ("subscription, Federated", lambda ctx: subscription(ctx, "federated")),
    ("subscription, PublicVerified", lambda ctx: subscription(ctx, "verified")),
    ("subscription, PublicUnverified", lambda ctx: subscription(ctx, "unverified")),
    ("presence mapping", presence_mapping),
    ("messages, chat states, receipts", messages),
    ("service discovery on the domain", domain_discovery),
    ("domain not on the allowlist", not_allowlisted),
    ("peer killed and restarted", peer_restart),
    ("authenticated as the mode says, both ways", authentication),
]
