#!/usr/bin/env python3
"""Writes the benchmark inputs, deterministically (fixed seed):

- stream.xml: ~50 MB s2s stream from fabrikam.example to contoso.example, ~70 % messages (bodies of
  varied length and script, xml:lang, entities, threads, XEP-0085 chat states, XEP-0184 receipts)
  and ~30 % presence (show, status, priority, XEP-0319 idle, XEP-0115 caps, XEP-0153 photo), with
  occasional whitespace keepalives;
- presence.xml: ~5 MB of presence only, for the translator benchmark.
"""
import base64
import os
import random
import sys

HEADER = ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
          "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
          "from='fabrikam.example' to='contoso.example' version='1.0' id='bench-0001'>")
WORDS = ["meeting", "budget", "review", "deploy", "lunch", "tomorrow", "café", "Grüße", "naïve",
         "Привет", "встреча", "会議", "予定", "🎉", "👍", "&amp;", "&lt;tag&gt;", "&apos;quoted&apos;",
         "&#x263A;", "ok", "thanks", "the", "a", "is", "on", "at", "we", "will", "ship", "it"]
SHOWS = [None, "away", "xa", "dnd", "chat"]
STATES = ["active", "composing", "paused", "inactive"]


def sentence(rng, low, high):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def message(rng, n):
    frm = f"user{rng.randrange(2000)}@fabrikam.example/res{rng.randrange(4)}"
    to = f"user{rng.randrange(2000)}@contoso.example"
    kind = rng.random()
    if kind < 0.15:
        return (f"<message from='{frm}' to='{to}' type='chat' id='c{n}'>"
                f"<{rng.choice(STATES[1:])} xmlns='http://jabber.org/protocol/chatstates'/></message>")
    if kind < 0.25:
        return (f"<message from='{frm}' to='{to}' id='r{n}'>"
                f"<received xmlns='urn:xmpp:receipts' id='m{n - 3}'/></message>")
    lang = f" xml:lang='{rng.choice(['en', 'de', 'fr', 'ja'])}'" if rng.random() < 0.3 else ""
    parts = [f"<message from='{frm}' to='{to}' type='chat' id='m{n}'{lang}>",
             f"<body>{sentence(rng, 2, 60)}</body>"]
    if rng.random() < 0.4:
        parts.append(f"<thread>t{rng.randrange(500)}</thread>")
    parts.append("<active xmlns='http://jabber.org/protocol/chatstates'/>")
    if rng.random() < 0.5:
        parts.append("<request xmlns='urn:xmpp:receipts'/>")
    parts.append("</message>")
    return "".join(parts)


def presence(rng, n):
    frm = f"user{rng.randrange(2000)}@fabrikam.example/res{rng.randrange(4)}"
    to = f"user{rng.randrange(2000)}@contoso.example"
    if rng.random() < 0.1:
        return f"<presence from='{frm}' to='{to}' type='unavailable'/>"
    parts = [f"<presence from='{frm}' to='{to}'>"]
    show = rng.choice(SHOWS)
    if show:
        parts.append(f"<show>{show}</show>")
    if rng.random() < 0.6:
        parts.append(f"<status>{sentence(rng, 1, 8)}</status>")
    parts.append(f"<priority>{rng.randrange(-1, 10)}</priority>")
    if show in ("away", "xa"):
        parts.append(f"<idle xmlns='urn:xmpp:idle:1' since='2026-11-24T{rng.randrange(24):02}:{rng.randrange(60):02}:00Z'/>")
    ver = base64.b64encode(rng.getrandbits(160).to_bytes(20, "big")).decode()  # a SHA-1, as XEP-0115 sends it
    parts.append("<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' "
                 f"ver='{ver}'/>")
    parts.append(f"<x xmlns='vcard-temp:x:update'><photo>{rng.getrandbits(160):040x}</photo></x>")
    parts.append("</presence>")
    return "".join(parts)


def write(path, size, presence_share, rng):
    """Writes stanzas until the file reaches `size` bytes; returns (messages, presences)."""
    count = messages = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        written = len(HEADER)
        while written < size:
            if rng.random() < presence_share:
                stanza = presence(rng, count)
            else:
                stanza = message(rng, count)
                messages += 1
            if rng.random() < 0.01:
                stanza = " \n" + stanza  # a whitespace keepalive
            out.write(stanza)
            written += len(stanza.encode("utf-8"))
            count += 1
        out.write("</stream:stream>")
    return messages, count - messages


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "bench-data"
    os.makedirs(directory, exist_ok=True)
    messages, presences = write(os.path.join(directory, "stream.xml"), 50 * 1024 * 1024, 0.3, random.Random(20261124))
    print(f"stream.xml: {messages + presences} stanzas ({messages} messages, {presences} presences)")
    _, presences = write(os.path.join(directory, "presence.xml"), 5 * 1024 * 1024, 1.0, random.Random(7))
    print(f"presence.xml: {presences} presence stanzas")


if __name__ == "__main__":
    main()
