"""External users, driven with slixmpp (the Debian package) over c2s to their own server. Name
resolution is replaced by the server's loopback address, so the clients make no DNS queries."""

import asyncio
import logging

import slixmpp

logging.getLogger("slixmpp").setLevel(logging.CRITICAL)


class ExternalUser(slixmpp.ClientXMPP):
    def __init__(self, jid, password, server_address, ca_certificate):
        super().__init__(jid, password)
        self.server_address = server_address
        self.ca_certs = ca_certificate
        # None means "ask": slixmpp's False would refuse every request on our behalf.
        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False
        self.register_plugin("xep_0085")
        self.register_plugin("xep_0184")
        self.stanzas = []
        self._arrived = asyncio.Event()
        self._online = asyncio.Event()
        self.add_event_handler("session_start", self._session_start)
        for kind in ("message", "message_error", "receipt_received", "presence"):
            self.add_event_handler(kind, self._record)
        self.consumed = set()

    async def get_dns_records(self, domain, port=None):
        return [(domain, self.server_address, 5222)]

    async def _session_start(self, _):
        await self.get_roster()
        # Initial presence: only an available resource is sent its contacts' presence.
        self.send_presence()
        self._online.set()

    def _record(self, stanza):
        self.stanzas.append(stanza)
        self._arrived.set()

    async def online(self, timeout=20):
        self._online.clear()
        self.connect()
        await asyncio.wait_for(self._online.wait(), timeout)

    async def offline(self):
        """Leaves for good: a polite close when connected; otherwise (the server died) any
        connection attempt still under way is cancelled, so this user never comes back on its own."""
        if self.is_connected():
            self.disconnect()
            await self.disconnected
        else:
            self.cancel_connection_attempt()
            self.abort()
        # slixmpp leaves its output filter task running after a disconnect; end it with the client.
        if self._run_out_filters is not None and not self._run_out_filters.done():
            self._run_out_filters.cancel()

    async def expect(self, predicate, what, timeout=20):
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for index, stanza in enumerate(self.stanzas):
                if index not in self.consumed and predicate(stanza):
                    self.consumed.add(index)
                    return stanza
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = [str(s) for i, s in enumerate(self.stanzas) if i not in self.consumed]
                raise AssertionError(f"{self.boundjid.bare} never received {what}; unconsumed stanzas: {seen}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def unconsumed(self, predicate):
        return [s for i, s in enumerate(self.stanzas) if i not in self.consumed and predicate(s)]
