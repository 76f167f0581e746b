"""Consulate under test: `consulate console`, whose standard input takes internal users' actions
and whose standard output reports their events, both in the fixture notation."""

import asyncio
import os
import signal
import xml.etree.ElementTree as ET

from peers import wait_for_listeners


def federation_toml(domain, address, dns, pki, mode, partners, secret, federation="allowlist", also_serving=()):
    """Consulate's configuration for one s2s security mode. In "sasl" Consulate trusts the test CA
    and requires SASL EXTERNAL of every partner; in "dialback" it trusts an unrelated CA and does
    not offer SASL, so that every key must be verified by dialing back. `partners` are
    (domain, trust) pairs; `federation` is the mode (`open`: any domain, unlisted ones with the
    open default); `also_serving` are more domains of ours, which the certificate names too."""
    domains = [domain, *also_serving]
    domain_list = ", ".join(f'"{name}"' for name in domains)
    certificate, key, _ = pki.leaf("consulate", domains)
    if mode == "sasl":
        ca, auth = pki.ca_certificate, 'sasl = "required"\ndialback = false'
    else:
        ca, auth = pki.unrelated_ca_certificate, 'sasl = "not-supported"\ndialback = true'
    text = f'''
[gateway]
domains = [{domain_list}]

[listen]
address = "{address}"
port = 5269

[tls]
certificate = "{certificate}"
key = "{key}"
ca-bundle = "{ca}"

[dns]
nameservers = ["{dns}"]

[federation]
mode = "{federation}"
dialback-secret = "{secret}"
'''
    for partner, trust in partners:
        text += f'''
[[partner]]
domain = "{partner}"
trust = "{trust}"
tls = "required"
{auth}
'''
    return text


class Event:
    def __init__(self, user, element):
        self.user = user
        self.element = element

    def __repr__(self):
        return f"{self.user} {ET.tostring(self.element, encoding='unicode')}"


class ConsulateConsole:
    def __init__(self, binary, directory, address, domain):
        self.binary = binary
        self.directory = directory
        self.address = address
        self.domain = domain
        self.process = None
        self.events = []
        self.consumed = set()
        self.errors = []
        self._arrived = asyncio.Event()

    async def start(self, config_text, users):
        os.makedirs(self.directory, exist_ok=True)
        self.config = os.path.join(self.directory, "federation.toml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.stderr_path = os.path.join(self.directory, "stderr.log")
        arguments = ["console", "--config", self.config] + [item for user in users for item in ("--user", user)]
        self.process = await asyncio.create_subprocess_exec(
            self.binary, *arguments, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=open(self.stderr_path, "a"))
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), 60)
            if not line:
                raise RuntimeError("consulate exited before it was ready:\n" + open(self.stderr_path).read())
            if line.strip() == b"ready":
                break
        self._reader = asyncio.create_task(self._read())
        await asyncio.to_thread(wait_for_listeners, [(self.address, 5269)])

    async def _read(self):
        while line := await self.process.stdout.readline():
            text = line.decode().rstrip("\n")
            if text.startswith("error: "):
                self.errors.append(text)
            elif " <" in text:
                user, xml = text.split(" ", 1)
                self.events.append(Event(user, ET.fromstring(xml)))
            self._arrived.set()

    def do(self, user, action):
        """One internal action, e.g. do("alice@contoso.test", "<set-presence availability='6500'/>")."""
        self.process.stdin.write(f"{user} {action}\n".encode())

    async def expect(self, user, predicate, what, timeout=20):
        """The first event for `user` not yet consumed that satisfies `predicate`; fails after `timeout`
        seconds with what was seen instead."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for index, event in enumerate(self.events):
                if index not in self.consumed and event.user == user and predicate(event.element):
                    self.consumed.add(index)
                    return event.element
            if self.errors:
                raise AssertionError(f"consulate refused an action: {self.errors}")
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = [repr(e) for i, e in enumerate(self.events) if i not in self.consumed and e.user == user]
                raise AssertionError(f"{user} never received {what}; unconsumed events: {seen}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def unconsumed(self, user, predicate):
        return [e for i, e in enumerate(self.events) if i not in self.consumed and e.user == user and predicate(e.element)]

    async def stop(self):
        if self.process and self.process.returncode is None:
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except asyncio.TimeoutError:
                self.process.send_signal(signal.SIGKILL)
                await self.process.wait()
        self.process = None
