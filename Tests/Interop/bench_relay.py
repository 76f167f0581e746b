"""The federation relay benchmark: the same external load through Prosody→Prosody and through
Prosody→Consulate, in one run, on loopback inside the interop tests' private network namespace.

    CONSULATE_INTEROP_SCRIPT=bench_relay.py Tests/Interop/run <consulate binary> [options]

Topology (all loopback, names resolved only by the DNS stub):
- Prosody A, a.prosody.test on 127.0.0.2, user alice (a slixmpp client, its own process);
- Prosody B, b.prosody.test on 127.0.0.3, user bob (a slixmpp client, its own process);
- Consulate, contoso.test on 127.0.0.10, internal user bob@contoso.test: by default `consulate serve`
  with its store, history and archive, bob's event stream (WebSocket) read by this process, which
  echoes pings through `POST /v1/me/messages` (the path users run); with `--consulate-path console`,
  `consulate console` driven by this process.
s2s is STARTTLS + dialback (the reference's default, §4 of prosody-as-a-test-peer.md): nobody trusts
the others' certificates, so every link is authenticated by dialback inside TLS. `--mode sasl`
makes everyone trust the test CA instead (SASL EXTERNAL).

For each path, alice@a.prosody.test sends to bob@b.prosody.test (path 1) or to bob@contoso.test
(path 2):
1. warm-up: sequential ping-pongs that open the s2s links both ways (dialback included);
2. throughput: N chat messages back to back. The receiver (bob's client, or this process reading
   Consulate's events) checks that all N arrive in order and notes the CLOCK_MONOTONIC time of the
   last one; rate = N / (last arrival − alice's first send). The CPU time (utime + stime from
   /proc/<pid>/stat) of every server during the phase, divided by N, is its CPU per relayed message;
3. latency: sequential ping-pongs; the receiver echoes 'P n' for 'p n' (bob's client; for
   Consulate, this process turns the console's message event into a send-message action). RTT is
   alice's send to alice's receipt of the echo.
Rounds alternate the two paths; figures are medians over rounds, min–max in parentheses. The
receiving hop is what compares (Prosody B vs Consulate); Prosody A is shown for context.
With `consulate serve`, a last phase has 50 API clients (bob's token, each its own kept-alive
connection) send `POST /v1/me/messages` to alice as fast as each is acknowledged, for 10 s:
acknowledged (stored) messages per second and acknowledgement latency p50/p99.
Context switches of every thread of each server are read from /proc/<pid>/task/*/status over the
same phases. The targets (issue 12) are printed as MET or NOT MET; missing one is reported, not a
failure.
"""

import argparse
import asyncio
import inspect
import json
import os
import re
import statistics
import sys
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PASSWORD = "bench-secret"
DOMAIN_A, DOMAIN_B = "a.prosody.test", "b.prosody.test"
ADDRESS_A, ADDRESS_B = "127.0.0.2", "127.0.0.3"
ALICE = f"alice@{DOMAIN_A}"
BOB_PROSODY = f"bob@{DOMAIN_B}"


# --- Process and machine CPU ------------------------------------------------------------------------

def process_cpu(pid):
    """utime + stime of a process, all its threads together, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_tree(pid):
    """The pid and its descendants (a server that forks helpers is measured whole)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in os.listdir(f"/proc/{current}/task"):
            try:
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo += [int(child) for child in f.read().split()]
            except FileNotFoundError:
                pass
    return pids


def tree_cpu(pid):
    return sum(process_cpu(p) for p in process_tree(pid))


def context_switches(pid):
    """Voluntary and involuntary context switches of each thread of a process, by thread id."""
    counts = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                counts[task] = sum(int(line.split()[1]) for line in f
                                   if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")))
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return counts


def switches_between(before, after):
    """Context switches between two `context_switches` samples: those of the threads alive at the
    second (a thread started meanwhile counts whole). A thread that ended meanwhile is not counted."""
    return sum(count - before.get(task, 0) for task, count in after.items())


def machine_busy():
    """Busy CPU-seconds of the whole machine since boot (every core, every process)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def command_name(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


class CPUMeter:
    """CPU seconds of named processes and of everything else on the machine over a window."""

    def __init__(self, pids, trees):
        self.pids = pids
        self.trees = trees  # names measured with their descendants (servers; not this harness)

    def sample(self):
        return ({name: tree_cpu(pid) if name in self.trees else process_cpu(pid) for name, pid in self.pids.items()},
                machine_busy(), {name: context_switches(pid) for name, pid in self.pids.items() if name in self.trees})

    def since(self, start):
        before, busy_before, switches_before = start
        after, busy_after, switches_after = self.sample()
        used = {name: after[name] - before[name] for name in after}
        used["non-test"] = max(0.0, (busy_after - busy_before) - sum(used.values()))
        used["switches"] = {name: switches_between(switches_before[name], switches_after[name]) for name in switches_after}
        return used


async def quiet_machine(meter, limit, wait):
    """Waits (at most `wait` seconds) until non-test processes use less than `limit` CPU-s per
    second; returns what they used in the last second."""
    deadline = time.monotonic() + wait
    while True:
        start = meter.sample()
        await asyncio.sleep(1)
        other = meter.since(start)["non-test"]
        if other < limit or time.monotonic() > deadline:
            return other


# --- Receivers: count a burst in order, echo pings ---------------------------------------------------

class Burst:
    """One throughput phase seen from the receiver: bodies 'm 0' … 'm N-1', expected in order."""

    def __init__(self, expected):
        self.expected = expected
        self.count = 0
        self.next = 0
        self.disorder = 0
        self.first = self.last = None
        self.done = asyncio.get_running_loop().create_future()

    def arrived(self, number, now):
        if self.first is None:
            self.first = now
        self.last = now
        self.count += 1
        if number != self.next:
            self.disorder += 1
        self.next = number + 1
        if self.count >= self.expected and not self.done.done():
            self.done.set_result(None)

    async def wait(self, stall):
        """Until all arrived, or `stall` seconds passed without progress."""
        while not self.done.done():
            seen = self.count
            try:
                await asyncio.wait_for(asyncio.shield(self.done), stall)
            except asyncio.TimeoutError:
                if self.count == seen:
                    break
        return {"count": self.count, "disorder": self.disorder, "first": self.first, "last": self.last,
                "complete": self.count == self.expected and self.disorder == 0}


# --- Worker: one slixmpp user in its own process -----------------------------------------------------

async def worker(arguments):
    """alice or bob: a lean slixmpp client on its own server, driven by JSON lines on stdin."""
    import logging
    import slixmpp
    logging.getLogger("slixmpp").setLevel(logging.CRITICAL)

    class User(slixmpp.ClientXMPP):
        def __init__(self):
            super().__init__(arguments.jid + "/bench", PASSWORD)
            self.ca_certs = arguments.ca
            self.online = asyncio.Event()
            self.burst = None
            self.waiting = None  # (body, future) of the ping in flight
            self.add_event_handler("session_start", self.started)
            self.add_event_handler("message", self.message)

        async def get_dns_records(self, domain, port=None):
            # No DNS at all: straight to the server's loopback address.
            return [(domain, arguments.address, 5222)]

        async def started(self, _):
            self.send_presence()
            self.online.set()

        def message(self, stanza):
            body = stanza["body"]
            if body.startswith("m "):
                if self.burst is not None:
                    self.burst.arrived(int(body[2:]), time.monotonic())
            elif body.startswith("p "):
                self.send_message(mto=stanza["from"], mbody="P " + body[2:], mtype="chat")
            elif self.waiting is not None and body == self.waiting[0] and not self.waiting[1].done():
                self.waiting[1].set_result(time.monotonic())

    user = User()
    user.connect()
    await asyncio.wait_for(user.online.wait(), 30)

    def answer(value):
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    answer({"ready": True})
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := await commands.readline():
        command = json.loads(line)
        op = command["op"]
        if op == "burst":
            # Back to back, yielding now and then so that slixmpp's send queue writes while we build.
            start = time.monotonic()
            for number in range(command["count"]):
                user.send_message(mto=command["to"], mbody=f"m {number}", mtype="chat")
                if number % 50 == 49:
                    await asyncio.sleep(0)
            answer({"start": start, "built": time.monotonic()})
        elif op == "expect":
            user.burst = Burst(command["count"])
            answer({"ok": True})
            result = await user.burst.wait(command["stall"])
            user.burst = None
            answer(result)
        elif op == "ping":
            rtts = []
            for number in range(command["count"]):
                user.waiting = (f"P {number}", loop.create_future())
                sent = time.monotonic()
                user.send_message(mto=command["to"], mbody=f"p {number}", mtype="chat")
                try:
                    received = await asyncio.wait_for(user.waiting[1], command["ping_timeout"])
                except asyncio.TimeoutError:
                    answer({"error": f"ping {number} to {command['to']} timed out after {command['ping_timeout']} s"})
                    break
                rtts.append(received - sent)
            else:
                answer({"rtts": rtts})
            user.waiting = None
        elif op == "quit":
            break
    user.disconnect()
    await asyncio.wait_for(user.disconnected, 10)


class Worker:
    """The orchestrator's handle on a worker process."""

    def __init__(self, name):
        self.name = name

    async def start(self, jid, address, ca, log_directory):
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-u", os.path.abspath(__file__), "--worker", "--jid", jid, "--address", address, "--ca", ca,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 24,
            stderr=open(os.path.join(log_directory, f"{self.name}.stderr.log"), "a"))
        await self.read(60)

    async def read(self, timeout):
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            await self.process.wait()
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}); see {self.name}.stderr.log")
        value = json.loads(line)
        if "error" in value:
            raise RuntimeError(f"{self.name}: {value['error']}")
        return value

    def send(self, **command):
        self.process.stdin.write((json.dumps(command) + "\n").encode())

    async def ask(self, timeout=600, **command):
        self.send(**command)
        return await self.read(timeout)

    async def stop(self):
        if self.process.returncode is None:
            self.send(op="quit")
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()


# --- The orchestrator ---------------------------------------------------------------------------------

def make_console_class():
    from gateway import ConsulateConsole

    message = re.compile(r"""^(\S+) <message\b[^>]*?\bfrom=(['"])([^'"]*)\2.*?<body[^>]*>([^<]*)</body>""")

    class BenchConsole(ConsulateConsole):
        """Consulate's console with a lean event reader: bursts are counted from the text of each
        line, pings are echoed at once; other lines are kept as the tests' reader keeps them."""

        burst = None
        echoes = 0

        async def _read(self):
            while line := await self.process.stdout.readline():
                now = time.monotonic()
                text = line.decode().rstrip("\n")
                found = message.match(text)
                if found:
                    user, sender, body = found.group(1), found.group(3), found.group(4)
                    if body.startswith("m ") and self.burst is not None:
                        self.burst.arrived(int(body[2:]), now)
                        continue
                    if body.startswith("p "):
                        self.do(user, f"<send-message to='{sender}' type='chat'><body>P {body[2:]}</body></send-message>")
                        self.echoes += 1
                        continue
                if text.startswith("error: "):
                    self.errors.append(text)
                    print(f"bench: consulate: {text}", flush=True)

    return BenchConsole


class ServedReceiver:
    """bob@contoso.test on `consulate serve`: his event stream (a WebSocket) read in this process,
    bursts counted from each message event, pings echoed through `POST /v1/me/messages` on one
    kept-alive connection, as an internal user's client would."""

    def __init__(self, address, port, token, to):
        self.address, self.port, self.token, self.to = address, port, token, to
        self.burst = None
        self.echoes = 0
        self.errors = []

    async def start(self):
        import base64
        self.events_reader, self.events_writer = await asyncio.open_connection(self.address, self.port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.events_writer.write((
            f"GET /v1/me/events HTTP/1.1\r\nHost: {self.address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {self.token}\r\n\r\n").encode())
        head = await self.events_reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"the event stream was refused: {head.decode(errors='replace')}")
        self.api_reader, self.api_writer = await asyncio.open_connection(self.address, self.port)
        self.echo_queue = asyncio.Queue()
        self.tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._echo())]

    async def _read(self):
        reader = self.events_reader
        while True:
            first, second = await reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(await reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await reader.readexactly(8), "big")
            payload = await reader.readexactly(length)
            opcode = first & 0x0F
            if opcode == 0x9:
                mask = os.urandom(4)
                self.events_writer.write(bytes([0x8A, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
                continue
            if opcode == 0x8:
                self.errors.append(f"the event stream was closed: {payload[:2].hex()} {payload[2:]}")
                return
            if opcode != 0x1:
                continue
            now = time.monotonic()
            event = json.loads(payload)
            if event.get("type") != "message":
                continue
            body = event["message"].get("body") or ""
            if body.startswith("m ") and self.burst is not None:
                self.burst.arrived(int(body[2:]), now)
            elif body.startswith("p "):
                self.echo_queue.put_nowait("P " + body[2:])

    async def _echo(self):
        while True:
            body = await self.echo_queue.get()
            payload = json.dumps({"to": self.to, "body": body, "type": "chat"}).encode()
            self.api_writer.write(
                f"POST /v1/me/messages HTTP/1.1\r\nHost: {self.address}\r\nAuthorization: Bearer {self.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
            head = await self.api_reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode().split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            answer = await self.api_reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 202"):
                self.errors.append(f"POST /v1/me/messages: {head.splitlines()[0].decode()} {answer[:200]}")
            self.echoes += 1

    async def stop(self):
        for task in self.tasks:
            task.cancel()
        for writer in (self.events_writer, self.api_writer):
            writer.close()


async def api_load(address, port, token, to, clients, seconds, meter):
    """`clients` internal-user clients, each on its own kept-alive connection, sending
    `POST /v1/me/messages` to `to` as fast as each is acknowledged (202: stored) for `seconds`:
    acknowledged messages per second and acknowledgement latency."""
    latencies = []
    failures = []
    deadline = time.monotonic() + seconds

    async def client(number):
        reader, writer = await asyncio.open_connection(address, port)
        sequence = 0
        try:
            while time.monotonic() < deadline:
                sequence += 1
                payload = json.dumps({"to": to, "body": f"a {number} {sequence}", "type": "chat"}).encode()
                sent = time.monotonic()
                writer.write(
                    f"POST /v1/me/messages HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length)
                if head.startswith(b"HTTP/1.1 202"):
                    latencies.append(time.monotonic() - sent)
                else:
                    failures.append(f"{head.splitlines()[0].decode()} {body[:120]}")
                    return
        finally:
            writer.close()

    start = meter.sample()
    began = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - began
    cpu = meter.since(start)
    if failures:
        raise RuntimeError(f"API load: {len(failures)} refused, first: {failures[0]}")
    return {"rate": len(latencies) / elapsed, "count": len(latencies), "p50": percentile(latencies, 0.5) * 1000,
            "p99": percentile(latencies, 0.99) * 1000, "cpu": cpu["Consulate"] / max(1, len(latencies)) * 1e6}


def make_prosody_class():
    from peers import ProsodyPeer

    class BenchProsody(ProsodyPeer):
        """The interop tests' Prosody on an address of its own, logging at info: debug logging
        would be most of what a benchmark measures (reference §3)."""

        def __init__(self, directory, pki, domain, user, password, address):
            # peers.py takes (user, domain) accounts; before that, users registered on every domain.
            if "accounts" in inspect.signature(ProsodyPeer.__init__).parameters:
                super().__init__(directory, pki, [domain], [(user, domain)], password)
            else:
                super().__init__(directory, pki, [domain], [user], password)
            self.address = address

        def configure(self, mode, dns):
            super().configure(mode, dns)
            with open(self.config) as f:
                text = f.read()
            quiet = re.sub(r'levels = \{ min = "debug" \}', 'levels = { min = "info" }', text)
            if quiet == text:
                raise RuntimeError(f"could not set the log level to info in {self.config}")
            with open(self.config, "w") as f:
                f.write(quiet)

    return BenchProsody


class Path:
    def __init__(self, name, receiver_name, to, receiver):
        self.name = name
        self.receiver_name = receiver_name
        self.to = to
        self.receiver = receiver  # bob's Worker, the console, or the served receiver
        self.rounds = []


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def throughput(path, alice, meter, count, stall):
    start = meter.sample()
    if not isinstance(path.receiver, Worker):
        path.receiver.burst = burst = Burst(count)
        sent = await alice.ask(op="burst", to=path.to, count=count)
        result = await burst.wait(stall)
        path.receiver.burst = None
    else:
        await path.receiver.ask(op="expect", count=count, stall=stall)
        sent = await alice.ask(op="burst", to=path.to, count=count)
        result = await path.receiver.read(count + 600)
    cpu = meter.since(start)
    if not result["complete"]:
        raise RuntimeError(f"{path.name}: {result['count']}/{count} delivered, {result['disorder']} out of order")
    elapsed = result["last"] - sent["start"]
    return {"rate": count / elapsed, "elapsed": elapsed, "count": result["count"], "disorder": result["disorder"],
            "cpu": cpu, "built": sent["built"] - sent["start"]}


async def latency(path, alice, meter, pings):
    start = meter.sample()
    rtts = (await alice.ask(pings * 10 + 60, op="ping", to=path.to, count=pings, ping_timeout=10))["rtts"]
    cpu = meter.since(start)
    return {"p50": percentile(rtts, 0.50) * 1000, "p99": percentile(rtts, 0.99) * 1000,
            "max": max(rtts) * 1000, "cpu": cpu}


def summary(values, fmt):
    values = list(values)
    middle = statistics.median(values)
    if len(values) == 1:
        return fmt.format(middle)
    return f"{fmt.format(middle)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def report(paths, arguments, names):
    prosody_path, consulate_path = paths
    count = arguments.messages
    us = lambda seconds: seconds / count * 1e6

    def column(path, key):
        return [r[key] for r in path.rounds]

    def cpu(path, process):
        return [us(r["throughput"]["cpu"][process]) for r in path.rounds]

    mode = "STARTTLS + dialback" if arguments.mode == "dialback" else "STARTTLS + SASL EXTERNAL"
    rows = []
    rows.append(("messages/s", summary((r["throughput"]["rate"] for r in prosody_path.rounds), "{:,.0f}"),
                 summary((r["throughput"]["rate"] for r in consulate_path.rounds), "{:,.0f}")))
    rows.append((f"{count} delivered in (s)", summary((r["throughput"]["elapsed"] for r in prosody_path.rounds), "{:.2f}"),
                 summary((r["throughput"]["elapsed"] for r in consulate_path.rounds), "{:.2f}")))
    rows.append(("delivered / out of order",
                 f"{min(r['throughput']['count'] for r in prosody_path.rounds)}/{count}, "
                 f"{max(r['throughput']['disorder'] for r in prosody_path.rounds)}",
                 f"{min(r['throughput']['count'] for r in consulate_path.rounds)}/{count}, "
                 f"{max(r['throughput']['disorder'] for r in consulate_path.rounds)}"))
    rows.append(("CPU µs/msg, receiving hop", "Prosody B " + summary(cpu(prosody_path, "Prosody B"), "{:.1f}"),
                 "Consulate " + summary(cpu(consulate_path, "Consulate"), "{:.1f}")))
    rows.append(("CPU µs/msg, Prosody A (sender's server)", summary(cpu(prosody_path, "Prosody A"), "{:.1f}"),
                 summary(cpu(consulate_path, "Prosody A"), "{:.1f}")))
    rows.append(("CPU µs/msg, alice's client", summary(cpu(prosody_path, "alice"), "{:.1f}"),
                 summary(cpu(consulate_path, "alice"), "{:.1f}")))
    rows.append(("CPU µs/msg, receiver (bob's client / harness)", summary(cpu(prosody_path, "bob"), "{:.1f}"),
                 summary(cpu(consulate_path, "harness"), "{:.1f}")))
    rows.append(("non-test CPU-s during the burst", summary((r["throughput"]["cpu"]["non-test"] for r in prosody_path.rounds), "{:.2f}"),
                 summary((r["throughput"]["cpu"]["non-test"] for r in consulate_path.rounds), "{:.2f}")))
    rows.append((f"message RTT p50 (ms), {arguments.pings} ping-pongs", summary(column_latency(prosody_path, "p50"), "{:.2f}"),
                 summary(column_latency(consulate_path, "p50"), "{:.2f}")))
    rows.append(("message RTT p99 (ms)", summary(column_latency(prosody_path, "p99"), "{:.2f}"),
                 summary(column_latency(consulate_path, "p99"), "{:.2f}")))
    rows.append(("message RTT max (ms)", summary(column_latency(prosody_path, "max"), "{:.2f}"),
                 summary(column_latency(consulate_path, "max"), "{:.2f}")))
    switches = lambda path, phase, process, per: [r[phase]["cpu"]["switches"][process] / per for r in path.rounds]
    rows.append(("context switches per message, receiving hop", "Prosody B " + summary(switches(prosody_path, "throughput", "Prosody B", count), "{:.2f}"),
                 "Consulate " + summary(switches(consulate_path, "throughput", "Consulate", count), "{:.2f}")))
    rows.append(("context switches per ping-pong, receiving hop", "Prosody B " + summary(switches(prosody_path, "latency", "Prosody B", arguments.pings), "{:.1f}"),
                 "Consulate " + summary(switches(consulate_path, "latency", "Consulate", arguments.pings), "{:.1f}")))
    ping_cpu = lambda path, process: [r["latency"]["cpu"][process] / arguments.pings * 1e6 for r in path.rounds]
    rows.append(("CPU µs per ping-pong, receiving hop", "Prosody B " + summary(ping_cpu(prosody_path, "Prosody B"), "{:.0f}"),
                 "Consulate " + summary(ping_cpu(consulate_path, "Consulate"), "{:.0f}")))

    rounds = len(prosody_path.rounds)
    print()
    print(f"Relay benchmark: {count} messages back to back, then {arguments.pings} sequential ping-pongs; "
          f"s2s {mode}; {rounds} round{'s' if rounds != 1 else ''}, median (min–max).")
    if arguments.consulate_path == "serve":
        print("Consulate runs `consulate serve` (store, history, archive); bob reads his event stream (WebSocket) "
              "and echoes pings through POST /v1/me/messages; Prosody B's bob is a slixmpp c2s client.")
    else:
        print("Consulate runs `consulate console` (no store, history or archive; bob is the console).")
    width = max(len(r[0]) for r in rows)
    widths = [max(len(r[1]) for r in rows + [("", prosody_path.name, "")]),
              max(len(r[2]) for r in rows + [("", "", consulate_path.name)])]
    print(f"{'':{width}}  {prosody_path.name:{widths[0]}}  {consulate_path.name:{widths[1]}}")
    for label, left, right in rows:
        print(f"{label:{width}}  {left:{widths[0]}}  {right:{widths[1]}}")

    cpu_ratio = statistics.median(cpu(consulate_path, "Consulate")) / statistics.median(cpu(prosody_path, "Prosody B"))
    rate_ratio = (statistics.median(r["throughput"]["rate"] for r in consulate_path.rounds)
                  / statistics.median(r["throughput"]["rate"] for r in prosody_path.rounds))
    p50_ratio = (statistics.median(column_latency(consulate_path, "p50"))
                 / statistics.median(column_latency(prosody_path, "p50")))
    print()
    print(f"Consulate ÷ Prosody B, CPU per relayed message: {cpu_ratio:.2f}")
    print(f"Prosody→Consulate ÷ Prosody→Prosody, messages/s: {rate_ratio:.2f}; RTT p50: {p50_ratio:.2f}")
    ping_ratio = (statistics.median(ping_cpu(consulate_path, "Consulate"))
                  / statistics.median(ping_cpu(prosody_path, "Prosody B")))
    ping_switches = statistics.median(switches(consulate_path, "latency", "Consulate", arguments.pings))
    p99_ratio = (statistics.median(column_latency(consulate_path, "p99"))
                 / statistics.median(column_latency(prosody_path, "p99")))
    targets = [
        ("Consulate CPU per relayed message ≤ 0.2 of Prosody B's", cpu_ratio <= 0.2, f"{cpu_ratio:.2f}"),
        ("messages/s at least Prosody→Prosody's", rate_ratio >= 1, f"{rate_ratio:.2f}"),
        ("RTT p99 ≤ Prosody's", p99_ratio <= 1, f"{p99_ratio:.2f}"),
        ("CPU per ping-pong ≤ 0.5 of Prosody B's", ping_ratio <= 0.5, f"{ping_ratio:.2f}"),
        # A ping-pong is two messages through the receiving hop.
        ("at most 3 context switches per message one at a time", ping_switches / 2 <= 3, f"{ping_switches / 2:.1f}"),
    ]
    for label, met, figure in targets:
        print(f"Target ({label}): {'MET' if met else 'NOT MET'} ({figure})")
    print(f"Measured processes: {names}")
    return {"cpu_ratio": cpu_ratio, "rate_ratio": rate_ratio, "p50_ratio": p50_ratio, "p99_ratio": p99_ratio,
            "ping_ratio": ping_ratio, "targets_met": all(met for _, met, _ in targets)}


def column_latency(path, key):
    return [r["latency"][key] for r in path.rounds]


async def orchestrate(arguments):
    import dns_stub
    from gateway import federation_toml
    from interop import CONSULATE_ADDRESS, DNS_ADDRESS, build_zone
    from pki import TestPKI
    from scenarios import INTERNAL
    from served import API_PORT, ConsulateServer, served_toml

    BenchConsole = make_console_class()
    BenchProsody = make_prosody_class()
    bob_consulate = f"bob@{INTERNAL}"
    work = arguments.work
    os.chmod(work, 0o755)
    pki = TestPKI(os.path.join(work, "pki"))
    prosody_a = BenchProsody(os.path.join(work, "prosody-a"), pki, DOMAIN_A, "alice", PASSWORD, ADDRESS_A)
    prosody_b = BenchProsody(os.path.join(work, "prosody-b"), pki, DOMAIN_B, "bob", PASSWORD, ADDRESS_B)
    dns_log = open(os.path.join(work, "dns.log"), "a")
    close_dns = await dns_stub.serve(build_zone([prosody_a, prosody_b]), DNS_ADDRESS, 53,
                                     lambda line: print(line, file=dns_log, flush=True))
    served = arguments.consulate_path == "serve"
    console = server = receiver = None
    if served:
        server = ConsulateServer(arguments.consulate, os.path.join(work, "consulate-serve"), CONSULATE_ADDRESS, log_level="info")
    else:
        console = BenchConsole(arguments.consulate, os.path.join(work, "consulate"), CONSULATE_ADDRESS, INTERNAL)
    alice, bob = Worker("alice"), Worker("bob")
    try:
        for peer in (prosody_a, prosody_b):
            peer.configure(arguments.mode, DNS_ADDRESS)
            peer.start()
        config = federation_toml(INTERNAL, CONSULATE_ADDRESS, DNS_ADDRESS, pki, arguments.mode,
                                 [(DOMAIN_A, "federated")], "bench-dialback-secret-0123456789")
        if served:
            server.write_config(served_toml(config, server.store_path, CONSULATE_ADDRESS))
            await server.start()
            token = (await server.command("users", "add", bob_consulate))[0].strip()
            await server.call("PUT", "/v1/me/presence", token, {"availability": "available"})
            receiver = ServedReceiver(CONSULATE_ADDRESS, API_PORT, token, ALICE)
            await receiver.start()
            consulate_pid = server.process.pid
        else:
            await console.start(config, [bob_consulate])
            console.do(bob_consulate, "<set-presence availability='3500'/>")
            receiver = console
            consulate_pid = console.process.pid
        await alice.start(ALICE, ADDRESS_A, pki.ca_certificate, work)
        await bob.start(BOB_PROSODY, ADDRESS_B, pki.ca_certificate, work)

        pids = {"Prosody A": prosody_a.process.pid, "Prosody B": prosody_b.process.pid,
                "Consulate": consulate_pid, "alice": alice.process.pid, "bob": bob.process.pid,
                "harness": os.getpid()}
        names = ", ".join(f"{name} pid {pid} ({'+'.join(command_name(p) for p in process_tree(pid))})"
                          for name, pid in pids.items() if name != "harness")
        for name in ("Prosody A", "Prosody B"):
            if "prosody" not in command_name(pids[name]) and "lua" not in command_name(pids[name]):
                raise RuntimeError(f"{name}'s pid {pids[name]} is {command_name(pids[name])}, not Prosody")
        servers = ("Prosody A", "Prosody B", "Consulate")
        meter = CPUMeter(pids, servers)

        paths = [Path("Prosody→Prosody", "Prosody B", BOB_PROSODY, bob),
                 Path("Prosody→Consulate", "Consulate", bob_consulate, receiver)]
        for path in paths:
            await alice.ask(arguments.warmup * 30 + 60, op="ping", to=path.to, count=arguments.warmup, ping_timeout=30)
        print(f"bench: warm-up done ({arguments.warmup} ping-pongs per path; the s2s links are open)", flush=True)

        for number in range(1, arguments.rounds + 1):
            other = await quiet_machine(meter, 0.1, arguments.quiet_wait)
            if other >= 0.1:
                print(f"bench: warning: the machine is not quiet ({other:.2f} CPU-s/s used by other processes)", flush=True)
            for path in paths:
                result = {"throughput": await throughput(path, alice, meter, arguments.messages, arguments.stall)}
                result["latency"] = await latency(path, alice, meter, arguments.pings)
                path.rounds.append(result)
                t, l = result["throughput"], result["latency"]
                print(f"bench: round {number} {path.name:18} {t['rate']:8,.0f} msg/s  "
                      f"{path.receiver_name} {t['cpu'][path.receiver_name] / arguments.messages * 1e6:5.1f} µs/msg  "
                      f"Prosody A {t['cpu']['Prosody A'] / arguments.messages * 1e6:5.1f} µs/msg  "
                      f"RTT p50 {l['p50']:.2f} ms p99 {l['p99']:.2f} ms  non-test {t['cpu']['non-test']:.2f} CPU-s",
                      flush=True)
        outcome = report(paths, arguments, names)
        if served and arguments.api_clients:
            load = await api_load(CONSULATE_ADDRESS, API_PORT, token, ALICE, arguments.api_clients, arguments.api_seconds, meter)
            print()
            print(f"API: {arguments.api_clients} clients sending POST /v1/me/messages to {ALICE} as fast as acknowledged, "
                  f"{arguments.api_seconds:.0f} s: {load['rate']:,.0f} acknowledged (stored) messages/s, "
                  f"latency p50 {load['p50']:.2f} ms p99 {load['p99']:.2f} ms, Consulate {load['cpu']:.0f} µs CPU per message")
            met = load["rate"] >= 10000 and load["p99"] <= 10
            print(f"Target (≥ 10,000 acknowledged messages/s, p99 ≤ 10 ms): {'MET' if met else 'NOT MET'}")
            outcome["api"] = load
        if arguments.json:
            with open(arguments.json, "w") as f:
                json.dump({"messages": arguments.messages, "pings": arguments.pings, "mode": arguments.mode,
                           "paths": {p.name: p.rounds for p in paths}, **outcome}, f, indent=1)
        if receiver.errors:
            raise RuntimeError(f"consulate refused actions: {receiver.errors[:3]}")
        return 0
    finally:
        for w in (alice, bob):
            if getattr(w, "process", None):
                await w.stop()
        if served:
            if receiver:
                await receiver.stop()
            await server.stop()
        else:
            await console.stop()
        for peer in (prosody_b, prosody_a):
            peer.stop()
        close_dns()
        print(f"bench: logs in {work}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--consulate", help="the consulate binary (a release build)")
    parser.add_argument("--work", help="a fresh directory for this run")
    parser.add_argument("--messages", type=int, default=20000, help="messages per throughput phase (default 20000)")
    parser.add_argument("--pings", type=int, default=1000, help="sequential ping-pongs per latency phase (default 1000)")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up ping-pongs per path (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each path once per round (default 3)")
    parser.add_argument("--mode", choices=["dialback", "sasl"], default="dialback", help="s2s authentication")
    parser.add_argument("--stall", type=float, default=20, help="seconds without progress that end a burst")
    parser.add_argument("--quiet-wait", type=float, default=60,
                        help="seconds to wait for other processes to go quiet before each round")
    parser.add_argument("--consulate-path", choices=["serve", "console"], default="serve",
                        help="serve: `consulate serve` with its store, history and archive, bob reading his WebSocket and "
                             "echoing through POST /v1/me/messages (the path users run; default); console: `consulate console`")
    parser.add_argument("--api-clients", type=int, default=50,
                        help="with --consulate-path serve: API clients of the acknowledgement benchmark (0: none; default 50)")
    parser.add_argument("--api-seconds", type=float, default=10, help="how long the API clients send (default 10)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--jid", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        asyncio.run(worker(arguments))
        return 0
    if not arguments.consulate or not arguments.work:
        parser.error("--consulate and --work are required (Tests/Interop/run passes them)")
    if not os.environ.get("CONSULATE_INTEROP_NAMESPACE"):
        parser.error("run me through Tests/Interop/run, inside the private network namespace")
    return asyncio.run(orchestrate(arguments))


if __name__ == "__main__":
    sys.exit(main())
