"""The scale benchmark: one `consulate serve` holding thousands of federation links and watchers,
on loopback inside the interop tests' private network namespace.

    CONSULATE_INTEROP_SCRIPT=bench_scale.py Tests/Interop/run <consulate binary> [options]

Consulate serves contoso.test on 127.0.0.10 with its SQLite store; one wildcard partner,
`*.load.test` (trust federated, STARTTLS required, dialback), stands for thousands of partner
domains. The DNS stub answers every name under load.test with 127.0.0.50, where this process's load
generator is every one of those domains' servers: it opens streams to Consulate as the originating
server (STARTTLS, then `<db:result/>` with a key of its own), answers Consulate's `<db:verify/>`
for those keys as the authoritative server (valid only for the key it sent on that stream), and
accepts Consulate's own links as the receiving server (it answers their `<db:result/>` valid
without dialing back). Each phase starts a fresh `consulate serve` on the same store:

(a) inbound: N streams from N domains authenticate by dialback and are held idle (the load
    generator closes each verification-only connection Consulate opens once it has answered);
    the growth of Consulate's resident memory (VmRSS) over its baseline, per link, and its CPU
    while idle;
(b) outbound: alice@contoso.test sends one message to a user of each of N domains
    (`POST /v1/me/messages`), so Consulate opens N links; the same figures;
(c) fan-out: W external users over D domains subscribe to alice (auto-approved, trust federated);
    then alice changes presence (`PUT /v1/me/presence`) a few times, and each time the time from
    the request until the load generator has read every watcher's view, and Consulate's CPU;
(d) API: 50 clients send `POST /v1/me/messages` as fast as each is acknowledged (stored).
Targets (issue 12) are printed as MET or NOT MET; missing one is reported, not a failure.
"""

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import resource
import secrets
import ssl
import time
import xml.etree.ElementTree as ET

from bench_relay import CPUMeter, api_load, context_switches, percentile, switches_between

LOAD_SUFFIX = "load.test"
LOAD_ADDRESS = "127.0.0.50"
STREAMS = "http://etherx.jabber.org/streams"
DIALBACK = "jabber:server:dialback"
TLS = "urn:ietf:params:xml:ns:xmpp-tls"
SERVER = "jabber:server"


def resident_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def load_domain(number):
    return f"d{number}.{LOAD_SUFFIX}"


class Stream:
    """One XML stream of the load generator: writes text, reads the stream header and each
    top-level element in turn (expat through ElementTree's pull parser)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.restart()

    def restart(self):
        """A new parser, for the stream restarted after STARTTLS (RFC 6120 §5.4.3.3)."""
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.root = None
        self.ready = collections.deque()

    def write(self, text):
        self.writer.write(text.encode())

    async def next(self):
        """("header", root), ("element", child), ("end", None) or ("closed", None)."""
        while not self.ready:
            try:
                data = await self.reader.read(65536)
            except (ConnectionError, ssl.SSLError):
                data = b""
            if not data:
                return "closed", None
            self.parser.feed(data)
            for event, element in self.parser.read_events():
                if event == "start":
                    self.depth += 1
                    if self.depth == 1:
                        self.root = element
                        self.ready.append(("header", element))
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.root.remove(element)  # the stream's children are not kept
                        self.ready.append(("element", element))
                    elif self.depth == 0:
                        self.ready.append(("end", None))
        return self.ready.popleft()

    async def expect(self, kind, tag=None):
        got, element = await self.next()
        if got != kind or (tag and element.tag != tag):
            shown = ET.tostring(element, encoding="unicode")[:200] if element is not None else ""
            raise RuntimeError(f"expected {kind} {tag or ''}, got {got} {shown}")
        return element

    def close(self):
        if self.writer.is_closing():
            return
        try:
            self.write("</stream:stream>")
        except (ConnectionError, RuntimeError, AttributeError):
            pass  # asyncio's TLS transport may already be gone when the peer closed first
        self.writer.close()


def header(sender, receiver, stream_id=None):
    identity = f" id='{stream_id}'" if stream_id else ""
    return (f"<?xml version='1.0'?><stream:stream xmlns='{SERVER}' xmlns:stream='{STREAMS}' xmlns:db='{DIALBACK}' "
            f"from='{sender}' to='{receiver}'{identity} version='1.0'>")


class Counter:
    """A count that can be waited for; notes the monotonic time each target was reached."""

    def __init__(self):
        self.value = 0
        self.waiters = []

    def add(self, amount=1):
        self.value += amount
        if self.waiters:
            now = time.monotonic()
            for waiter in [w for w in self.waiters if self.value >= w[0]]:
                self.waiters.remove(waiter)
                if not waiter[1].done():
                    waiter[1].set_result(now)

    async def reach(self, target, timeout, what):
        """The monotonic time at which the count reached `target`."""
        if self.value >= target:
            return time.monotonic()
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((target, future))
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise RuntimeError(f"{what}: {self.value} of {target} after {timeout} s") from None


class LoadGenerator:
    """Every load.test domain's server, as seen by Consulate (see the module's description)."""

    def __init__(self, gateway_domain, gateway_address, server_context, client_context):
        self.gateway_domain, self.gateway_address = gateway_domain, gateway_address
        self.server_context, self.client_context = server_context, client_context
        self.keys = {}  # (our domain, stream id) → the dialback key we sent on that stream
        self.links = []  # Consulate's authenticated links to us
        self.inbound = []  # our authenticated streams to Consulate
        self.readers = set()
        self.counts = collections.defaultdict(Counter)

    async def start(self):
        self.server = await asyncio.start_server(self._accepted, LOAD_ADDRESS, 5269, backlog=4096)

    # -- Consulate's connections to us: authoritative server and receiving server --

    async def _accepted(self, reader, writer):
        stream = Stream(reader, writer)
        try:
            await self._serve(stream)
        except (RuntimeError, ConnectionError, ssl.SSLError, ET.ParseError) as error:
            self.counts["served-failures"].add()
            print(f"bench: load generator: a connection from Consulate failed: {error}", flush=True)
        finally:
            stream.writer.close()

    async def _serve(self, stream):
        opened = await stream.expect("header")
        ours = opened.get("to")
        stream.write(header(ours, self.gateway_domain, secrets.token_hex(8)) +
                     f"<stream:features><starttls xmlns='{TLS}'><required/></starttls></stream:features>")
        await stream.expect("element", f"{{{TLS}}}starttls")
        stream.write(f"<proceed xmlns='{TLS}'/>")
        await stream.writer.start_tls(self.server_context)
        stream.restart()
        await stream.expect("header")
        stream.write(header(ours, self.gateway_domain, secrets.token_hex(8)) +
                     "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>")
        verifier = True
        while True:
            kind, element = await stream.next()
            if kind != "element":
                break
            tag = element.tag
            if tag == f"{{{DIALBACK}}}verify":
                valid = self.keys.get((element.get("to"), element.get("id"))) == (element.text or "")
                stream.write(f"<db:verify from='{element.get('to')}' to='{element.get('from')}' id='{element.get('id')}' "
                             f"type='{'valid' if valid else 'invalid'}'/>")
                self.counts["verified" if valid else "refused"].add()
                if verifier:
                    # One verification per connection here (one stream per domain): closing it at
                    # once keeps this process and Consulate within their descriptor limits.
                    stream.close()
                    return
            elif tag == f"{{{DIALBACK}}}result":
                stream.write(f"<db:result from='{element.get('to')}' to='{element.get('from')}' type='valid'/>")
                self.links.append(stream)
                verifier = False
                self.counts["links"].add()
            elif tag == f"{{{SERVER}}}presence":
                self.counts[f"presence:{element.get('type', 'available')}"].add()
            elif tag == f"{{{SERVER}}}message":
                self.counts["message"].add()
            elif tag == f"{{{SERVER}}}iq":
                self.counts["iq"].add()
        if kind == "end":
            stream.close()

    # -- our streams to Consulate: originating server --

    async def authenticate(self, domain):
        """Opens a stream from `domain` to Consulate and authenticates it by dialback."""
        reader, writer = await asyncio.open_connection(self.gateway_address, 5269)
        stream = Stream(reader, writer)
        stream.write(header(domain, self.gateway_domain))
        await stream.expect("header")
        features = await stream.expect("element", f"{{{STREAMS}}}features")
        if features.find(f"{{{TLS}}}starttls") is None:
            raise RuntimeError("Consulate offered no STARTTLS")
        stream.write(f"<starttls xmlns='{TLS}'/>")
        await stream.expect("element", f"{{{TLS}}}proceed")
        await writer.start_tls(self.client_context, server_hostname=self.gateway_domain)
        stream.restart()
        stream.write(header(domain, self.gateway_domain))
        opened = await stream.expect("header")
        await stream.expect("element", f"{{{STREAMS}}}features")
        key = secrets.token_hex(16)
        self.keys[(domain, opened.get("id"))] = key
        stream.write(f"<db:result from='{domain}' to='{self.gateway_domain}'>{key}</db:result>")
        answer = await stream.expect("element", f"{{{DIALBACK}}}result")
        if answer.get("type") != "valid":
            raise RuntimeError(f"{domain}: dialback answered {answer.get('type')}")
        self.inbound.append(stream)
        task = asyncio.create_task(self._drain(stream))
        self.readers.add(task)
        task.add_done_callback(self.readers.discard)
        return stream

    async def _drain(self, stream):
        while (await stream.next())[0] == "element":
            pass
        stream.writer.close()

    async def authenticate_all(self, domains, concurrency):
        """A stream from each domain, `concurrency` negotiating at once: {domain: stream}."""
        pending = iter(domains)
        streams = {}

        async def opener():
            for domain in pending:
                streams[domain] = await self.authenticate(domain)

        await asyncio.gather(*(opener() for _ in range(concurrency)))
        return streams

    def close_links(self):
        """Closes Consulate's links to us (not our streams to it)."""
        for stream in self.links:
            stream.close()
        self.links = []

    def close_all(self):
        for stream in self.inbound + self.links:
            stream.close()
        self.inbound, self.links = [], []
        self.keys = {}
        self.counts = collections.defaultdict(Counter)


async def http(address, port, method, path, token, body=None):
    """One API request on its own connection: (status, decoded JSON or None)."""
    reader, writer = await asyncio.open_connection(address, port)
    payload = json.dumps(body).encode() if body is not None else b""
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
    response = await reader.read()
    writer.close()
    head, _, text = response.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, (json.loads(text) if text.strip() else None)


async def send_messages(address, port, token, recipients, clients):
    """`POST /v1/me/messages` to each recipient, over `clients` kept-alive connections."""
    pending = iter(recipients)

    async def client():
        reader, writer = await asyncio.open_connection(address, port)
        try:
            for to in pending:
                payload = json.dumps({"to": to, "body": "hello", "type": "chat"}).encode()
                writer.write(f"POST /v1/me/messages HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n"
                             f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 202"):
                    raise RuntimeError(f"POST /v1/me/messages to {to}: {head.splitlines()[0].decode()} {body[:200]}")
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))


def scale_toml(domain, address, dns, certificate, key, ca, store, api_port, links):
    room = 4 * links + 1000
    return f'''
[gateway]
domains = ["{domain}"]
contact-limit = {min(100000, 2 * links + 100)}

[listen]
address = "{address}"
port = 5269

[tls]
certificate = "{certificate}"
key = "{key}"
ca-bundle = "{ca}"

[dns]
nameservers = ["{dns}"]

[store]
path = "{store}"
write-queue-limit = 100000

[api]
address = "{address}"
port = {api_port}

[federation]
mode = "allowlist"
dialback-secret = "bench-scale-dialback-secret-0123456789"
connection-limit = {room}
source-connection-limit = 1000
source-dialback-limit = 1000
subscription-request-rate = 1000000

[[partner]]
domain = "*.{LOAD_SUFFIX}"
trust = "federated"
tls = "required"
sasl = "not-supported"
dialback = true
connection-limit = {room}
'''


class Measured:
    """Consulate's memory, descriptors, CPU and context switches at one moment."""

    def __init__(self, pid):
        self.pid = pid
        self.rss = resident_kib(pid)
        self.fds = descriptors(pid)
        self.cpu = CPUMeter({"Consulate": pid}, ("Consulate",)).sample()
        self.switches = context_switches(pid)
        self.at = time.monotonic()


async def settled(pid, expected_fds, timeout=60):
    """Waits until Consulate holds at most `expected_fds` descriptors (the connections we closed
    are closed on its side too)."""
    deadline = time.monotonic() + timeout
    while descriptors(pid) > expected_fds:
        if time.monotonic() > deadline:
            raise RuntimeError(f"Consulate still holds {descriptors(pid)} descriptors, expected at most {expected_fds}")
        await asyncio.sleep(0.1)


async def idle(pid, seconds):
    """Consulate's CPU (seconds per second) and context switches per second over `seconds` idle."""
    start = Measured(pid)
    await asyncio.sleep(seconds)
    meter = CPUMeter({"Consulate": pid}, ("Consulate",))
    used = meter.since(start.cpu)["Consulate"]
    return used / seconds, switches_between(start.switches, context_switches(pid)) / seconds


def held_links(label, count, base, held, established, idle_cpu, idle_switches, base_idle):
    per_link = (held.rss - base.rss) * 1024 / count
    result = {"links": count, "seconds": established, "per_second": count / established,
              "rss_base_kib": base.rss, "rss_kib": held.rss, "bytes_per_link": per_link,
              "fds": held.fds - base.fds, "idle_cpu": idle_cpu, "idle_switches": idle_switches,
              "idle_cpu_without_links": base_idle[0], "idle_switches_without_links": base_idle[1]}
    print(f"scale: ({label}) {count:,} links established in {established:.1f} s ({count / established:,.0f}/s); "
          f"{held.fds - base.fds:,} more descriptors; resident memory {base.rss / 1024:.1f} → {held.rss / 1024:.1f} MiB: "
          f"{per_link / 1024:.1f} KiB per link (target ≤ 16 KiB: {'MET' if per_link <= 16384 else 'NOT MET'}); "
          f"idle {idle_cpu * 1000:.2f} ms CPU/s, {idle_switches:.1f} context switches/s "
          f"(without links: {base_idle[0] * 1000:.2f} ms CPU/s, {base_idle[1]:.1f}/s)", flush=True)
    return result


async def orchestrate(arguments):
    import dns_stub
    from interop import CONSULATE_ADDRESS, DNS_ADDRESS
    from pki import TestPKI
    from scenarios import INTERNAL
    from peers import wait_for_listeners
    from served import API_PORT, ConsulateServer

    # This process and Consulate each hold every link, and the connections still negotiating.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(arguments.links, arguments.domains) + 4 * arguments.concurrency + 1000
    if hard < wanted:
        raise RuntimeError(f"{max(arguments.links, arguments.domains)} links need {wanted} file descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = arguments.work
    os.chmod(work, 0o755)
    pki = TestPKI(os.path.join(work, "pki"))
    certificate, key, _ = pki.leaf("consulate", [INTERNAL])
    load_certificate, load_key, _ = pki.leaf("load", [f"*.{LOAD_SUFFIX}"])
    zone = dns_stub.Zone(["test"])
    zone.add_a(INTERNAL, CONSULATE_ADDRESS)
    zone.add_wildcard_a(LOAD_SUFFIX, LOAD_ADDRESS)
    # The DNS stub answers from a process of its own: Consulate looks up thousands of domains at
    # once while this process is busy with their TLS handshakes, and a starved stub would time out.
    dns = multiprocessing.Process(target=serve_dns, args=(zone, DNS_ADDRESS, os.path.join(work, "dns.log")), daemon=True)
    dns.start()
    await asyncio.to_thread(wait_for_listeners, [(DNS_ADDRESS, 53)])

    # Nobody trusts the others' certificates: every stream is authenticated by dialback inside TLS.
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(load_certificate, load_key)
    client_context = ssl.create_default_context()
    client_context.check_hostname = False
    client_context.verify_mode = ssl.CERT_NONE
    generator = LoadGenerator(INTERNAL, CONSULATE_ADDRESS, server_context, client_context)
    await generator.start()

    server = ConsulateServer(arguments.consulate, os.path.join(work, "consulate-serve"), CONSULATE_ADDRESS, log_level="notice")
    server.write_config(scale_toml(INTERNAL, CONSULATE_ADDRESS, DNS_ADDRESS, certificate, key, pki.unrelated_ca_certificate,
                                   server.store_path, API_PORT, max(arguments.links, arguments.watchers)))
    alice = f"alice@{INTERNAL}"
    outcome = {"links": arguments.links, "watchers": arguments.watchers, "domains": arguments.domains}
    try:
        await server.start()
        token = (await server.command("users", "add", alice))[0].strip()
        await server.call("PUT", "/v1/me/presence", token, {"availability": "available"})
        await server.stop()

        async def fresh():
            await server.start()
            await asyncio.sleep(arguments.settle)
            return server.process.pid, Measured(server.process.pid)

        async def held_phase(label, establish):
            """A fresh gateway, its idle baseline, `establish()` making the links, then what the
            links cost it held idle."""
            pid, base = await fresh()
            base_idle = await idle(pid, arguments.idle_seconds)
            began = time.monotonic()
            await establish()
            established = time.monotonic() - began
            await settled(pid, base.fds + arguments.links + 16)
            await asyncio.sleep(arguments.settle)
            held = Measured(pid)
            cpu, switches = await idle(pid, arguments.idle_seconds)
            result = held_links(label, arguments.links, base, held, established, cpu, switches, base_idle)
            generator.close_all()
            await server.stop()
            return result

        # (a) inbound links
        if "a" in arguments.phases:
            outcome["inbound"] = await held_phase("a, inbound", lambda: generator.authenticate_all(
                [load_domain(n) for n in range(arguments.links)], arguments.concurrency))

        # (b) outbound links
        async def message_every_domain():
            await send_messages(CONSULATE_ADDRESS, API_PORT, token, [f"u@{load_domain(n)}" for n in range(arguments.links)], 20)
            await generator.counts["message"].reach(arguments.links, arguments.timeout, "messages over the new links")

        if "b" in arguments.phases:
            outcome["outbound"] = await held_phase("b, outbound", message_every_domain)

        # (c) presence fan-out
        # (d) runs on the same gateway, sending to one of the domains (c) linked.
        if "c" in arguments.phases:
            pid, base = await fresh()
            domains = [load_domain(n) for n in range(arguments.domains)]
            streams = await generator.authenticate_all(domains, min(arguments.concurrency, len(domains)))
            for number in range(arguments.watchers):
                domain = domains[number % len(domains)]
                streams[domain].write(f"<presence xmlns='{SERVER}' type='subscribe' from='w{number}@{domain}' to='{alice}'/>")
            await generator.counts["presence:subscribed"].reach(arguments.watchers, arguments.timeout, "subscriptions approved")
            await generator.counts["presence:available"].reach(arguments.watchers, arguments.timeout, "alice's presence after approval")
            await asyncio.sleep(arguments.settle)
            print(f"scale: (c) {arguments.watchers:,} watchers subscribed; alice changes presence", flush=True)
            changes = []
            for number in range(arguments.changes):
                views = generator.counts["presence:available"]
                target = views.value + arguments.watchers
                before = Measured(pid)
                status, _ = await http(CONSULATE_ADDRESS, API_PORT, "PUT", "/v1/me/presence", token,
                                       {"availability": "busy" if number % 2 == 0 else "available"})
                if status != 204 and status != 200:
                    raise RuntimeError(f"PUT /v1/me/presence answered {status}")
                reached = await views.reach(target, arguments.timeout, f"views of presence change {number + 1}")
                await asyncio.sleep(0.2)  # let Consulate finish what it does after the last write
                cpu = CPUMeter({"Consulate": pid}, ("Consulate",)).since(before.cpu)["Consulate"]
                changes.append({"seconds": reached - before.at, "cpu": cpu})
            wall = statistics_median([c["seconds"] for c in changes])
            cpu = statistics_median([c["cpu"] for c in changes])
            outcome["fanout"] = {"changes": changes, "seconds": wall, "cpu": cpu,
                                 "views_per_second": arguments.watchers / wall,
                                 "views_per_cpu_second": arguments.watchers / cpu if cpu else None}
            rate = arguments.watchers / wall
            print(f"scale: (c) alice's presence to {arguments.watchers:,} watchers over {arguments.domains:,} domains: "
                  f"every view read after {wall * 1000:.0f} ms (median of {arguments.changes}): {rate:,.0f} views/s end to end; "
                  + (f"Consulate {cpu * 1000:.0f} ms CPU, {cpu / arguments.watchers * 1e6:.1f} µs per view "
                     f"({arguments.watchers / cpu:,.0f} views per CPU-second)" if cpu else
                     "Consulate's CPU below /proc's 10 ms resolution (use more watchers)")
                  + f" (target ≥ 300,000 views/s: "
                  f"{'MET' if rate >= 300000 else 'NOT MET'})", flush=True)

            # Every link to the watchers' domains lost at once (their server restarts, say): how
            # long until Consulate has let go of them all, and what marking every watcher's
            # domain down costs it.
            before = Measured(pid)
            lost = len(generator.links)
            generator.close_links()
            await settled(pid, before.fds - lost + 8, timeout=arguments.timeout)
            # The core handles inputs in order: once it answers a request that came after the
            # links closed, it has handled their loss.
            await http(CONSULATE_ADDRESS, API_PORT, "PUT", "/v1/me/presence", token, {"availability": "busy"})
            settled_at = time.monotonic()
            await asyncio.sleep(0.2)
            cpu = CPUMeter({"Consulate": pid}, ("Consulate",)).since(before.cpu)["Consulate"]
            outcome["links_lost"] = {"links": lost, "seconds": settled_at - before.at, "cpu": cpu}
            print(f"scale: (c) its {lost:,} links lost at once: all let go after {settled_at - before.at:.2f} s, "
                  f"and handled, Consulate {cpu * 1000:.0f} ms CPU", flush=True)

            # (d) the API
            if arguments.api_seconds > 0:
                meter = CPUMeter({"Consulate": pid}, ("Consulate",))
                load = await api_load(CONSULATE_ADDRESS, API_PORT, token, f"w0@{domains[0]}", arguments.api_clients,
                                      arguments.api_seconds, meter)
                outcome["api"] = load
                met = load["rate"] >= 10000 and load["p99"] <= 10
                print(f"scale: (d) {arguments.api_clients} API clients: {load['rate']:,.0f} acknowledged (stored) messages/s, "
                      f"latency p50 {load['p50']:.2f} ms p99 {load['p99']:.2f} ms, {load['cpu']:.0f} µs CPU per message "
                      f"(target ≥ 10,000/s, p99 ≤ 10 ms: {'MET' if met else 'NOT MET'})", flush=True)
        generator.close_all()
        failures = generator.counts["served-failures"].value
        if failures:
            raise RuntimeError(f"{failures} of Consulate's connections to the load generator failed")
        if arguments.json:
            with open(arguments.json, "w") as f:
                json.dump(outcome, f, indent=1)
        return 0
    finally:
        generator.close_all()
        await server.stop()
        dns.terminate()
        print(f"scale: logs in {work}", flush=True)


def serve_dns(zone, address, log_path):
    import dns_stub
    log = open(log_path, "a")

    async def serve():
        await dns_stub.serve(zone, address, 53, lambda line: print(line, file=log))
        await asyncio.Event().wait()

    asyncio.run(serve())


def statistics_median(values):
    return percentile(values, 0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--consulate", help="the consulate binary (a release build)")
    parser.add_argument("--work", help="a fresh directory for this run")
    parser.add_argument("--links", type=int, default=10000, help="inbound links in (a), outbound links in (b) (default 10000)")
    parser.add_argument("--watchers", type=int, default=10000, help="alice's external watchers in (c) (default 10000)")
    parser.add_argument("--domains", type=int, default=1000, help="the watchers' domains in (c) (default 1000)")
    parser.add_argument("--changes", type=int, default=5, help="presence changes in (c) (default 5)")
    parser.add_argument("--concurrency", type=int, default=100, help="streams the load generator opens at once (default 100)")
    parser.add_argument("--idle-seconds", type=float, default=30, help="how long idle CPU is measured (default 30)")
    parser.add_argument("--settle", type=float, default=2, help="seconds between a phase's steps and its measurement (default 2)")
    parser.add_argument("--api-clients", type=int, default=50, help="API clients in (d) (default 50)")
    parser.add_argument("--api-seconds", type=float, default=10, help="how long the API clients send; 0: no (d) (default 10)")
    parser.add_argument("--phases", default="abc", help="which of (a), (b) and (c) to run, (d) with (c) (default abc)")
    parser.add_argument("--timeout", type=float, default=300, help="longest wait for any one step (default 300 s)")
    parser.add_argument("--json", help="also write the results here")
    arguments = parser.parse_args()
    return asyncio.run(orchestrate(arguments))


if __name__ == "__main__":
    raise SystemExit(main())
