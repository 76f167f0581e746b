"""Scenarios against `consulate serve` (see served.py): the README's quick start with a real
Prosody as the partner, offline delivery, and SIGKILL of Consulate while an internal user sends.

Like scenarios.py, nothing sleeps and hopes: arrival at an offline external user is proven from
the peer's own log, and absence of duplicates by a later message on the same link."""

import asyncio
import json
import signal
import socket
import subprocess
import threading
import time

from peers import restart
from scenarios import INTERNAL, message_from, presence_from
from served import APIError


def is_event(kind, **fields):
    return lambda event: event.get("type") == kind and all(event.get(k) == v for k, v in fields.items())


async def add_user(ctx, name):
    """`consulate users add` against the running server: the token, usable at once."""
    out, err = await ctx.server.command("users", "add", f"{name}@{INTERNAL}")
    assert "applies the change now" in err, f"the running gateway was not told about the new user: {err}"
    return out.strip()


async def quick_start(ctx):
    """The README's quick start: a user and a partner domain added with the documented commands
    while the gateway runs, then a conversation with a Prosody user through the API."""
    server = ctx.server
    second = await asyncio.to_thread(subprocess.run, [server.binary, "serve", "--config", server.config],
                                     capture_output=True, text=True, timeout=60)
    assert second.returncode == 2 and "another consulate serve (pid" in second.stderr, \
        f"a second server on the store was not refused ({second.returncode}): {second.stderr}"
    _, err = await server.command("domains", "allow", ctx.domain("federated"), "--trust", "federated",
                                  "--tls", "required", "--sasl", "required", "--no-dialback")
    assert "applies the change now" in err, err
    token = await add_user(ctx, "erin")
    client = await ctx.external("greeter")
    external = client.boundjid.bare
    internal = f"erin@{INTERNAL}"

    events = await server.events(token)
    await server.call("PUT", "/v1/me/presence", token, {"availability": "available", "note": "hello partners"})
    await server.call("POST", "/v1/me/contacts", token, {"jid": external, "access": "colleagues"})
    await client.expect(presence_from(internal, "subscribe"), "erin's subscription request")
    client.send_presence(pto=internal, ptype="subscribed")
    client.send_presence(pto=internal, ptype="subscribe")
    await client.expect(presence_from(internal, "available"), "erin's presence")
    await asyncio.to_thread(events.expect, is_event("contact-presence", jid=external), "the external user's presence")

    client.send_message(mto=internal, mbody="hi erin", mtype="chat")
    assert await asyncio.to_thread(events.messages, 1) == ["hi erin"]
    accepted = await server.call("POST", "/v1/me/messages", token, {"to": external, "body": "hi from contoso"})
    assert accepted.get("id"), accepted
    await client.expect(message_from(internal, "hi from contoso"), "erin's reply")
    history = await server.call("GET", f"/v1/me/history?contact={external}", token)
    assert [m["body"] for m in history["messages"]] == ["hi erin", "hi from contoso"], history
    events.close()

    # `consulate links` shows both streams with Prosody: ours carrying erin's reply, and Prosody's.
    admin_token = (await server.command("admin-token"))[0].strip()
    listing = json.loads((await server.command("links", "--json", "--token", admin_token))[0])
    links = {(link["domain"], link["direction"]): link for link in listing["links"]}
    for direction in ("outbound", "inbound"):
        link = links.get((ctx.domain("federated"), direction))
        assert link, f"no {direction} link to {ctx.domain('federated')} in {listing}"
        assert (link["state"], link["authentication"], link["tls"]) == ("established", "sasl-external", "starttls"), link
    table, _ = await server.command("links", "--token", admin_token)
    assert table.startswith("DOMAIN") and ctx.domain("federated") in table, table

    # Removing the partner closes the link at once: erin's next message is refused, not queued.
    await server.command("domains", "remove", ctx.domain("federated"))
    events = await server.events(token)
    await server.call("POST", "/v1/me/messages", token, {"to": external, "body": "after removal", "id": "gone"})
    failure = await asyncio.to_thread(events.expect, is_event("delivery-failed", id="gone"), "the refusal")
    assert failure["error"]["condition"] == "not-allowed", failure
    events.close()
    await server.command("domains", "allow", ctx.domain("federated"), "--trust", "federated",
                         "--tls", "required", "--sasl", "required", "--no-dialback")


async def until(what, condition, timeout=20):
    """Polls `condition` (async) until it holds; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.05)


async def typed_admin_changes(ctx):
    """An admin command tells the running server what it changed and nothing else: an edit of
    federation.toml made meanwhile is applied only by SIGHUP."""
    server = ctx.server
    admin = (await server.command("admin-token"))[0].strip()
    pattern = "edited.example"
    original = open(server.config).read()

    async def file_lists_it():
        listing = await server.call("GET", "/v1/admin/domains", admin)
        return pattern in [domain["pattern"] for domain in listing["domains"]]

    async def user_known(token):
        try:
            await server.call("GET", "/v1/me/contacts", token)
            return True
        except APIError:
            return False

    with open(server.config, "a") as f:
        f.write(f'\n[[partner]]\ndomain = "{pattern}"\n')
    try:
        token = await add_user(ctx, "hanna")
        await until("the running server knowing hanna", lambda: user_known(token))
        assert not await file_lists_it(), "the users change applied an unrelated edit of federation.toml"
        server.process.send_signal(signal.SIGHUP)
        await until("the reload applying the edited file", file_lists_it)
    finally:
        server.write_config(original)
        server.process.send_signal(signal.SIGHUP)
    await until("the reload applying the restored file", lambda: _not(file_lists_it))


async def _not(condition):
    return not await condition()


async def offline_delivery(ctx):
    """An external user writes to an internal user with no event stream open: the messages wait in
    Consulate's store and arrive, in order, when the user connects."""
    server = ctx.server
    token = await add_user(ctx, "frank")
    internal = f"frank@{INTERNAL}"
    client = await ctx.external("writer")
    for number in range(1, 4):
        client.send_message(mto=internal, mbody=f"while you were out {number}", mtype="chat")
    # Proof that they are stored, from the store itself (Consulate's own SQLite file).
    await ctx.server.wait_for_offline(internal, 3)
    # The peer sends in order on one link, so a fourth message sent after the event stream is open
    # can only arrive after the three before it.
    events = await server.events(token)
    client.send_message(mto=internal, mbody="welcome back", mtype="chat")
    bodies = await asyncio.to_thread(events.messages, 4)
    assert bodies == [f"while you were out {n}" for n in range(1, 4)] + ["welcome back"], bodies
    events.close()


async def killed_while_sending(ctx):
    """Consulate is killed with SIGKILL while an internal user sends a stream of messages to an
    external user whose server is down; after both come back, every message the API acknowledged
    reaches the external user exactly once, in order."""
    server, peer = ctx.server, ctx.peer
    token = await add_user(ctx, "grace")
    internal = f"grace@{INTERNAL}"
    client = await ctx.external("keeper")
    external = client.boundjid.bare
    await server.call("POST", "/v1/me/messages", token, {"to": external, "body": "warm-up"})
    await client.expect(message_from(internal, "warm-up"), "the warm-up message")
    peer.kill()
    await client.offline()

    acknowledged = []
    killed = threading.Event()

    def send_stream():
        number = 0
        while True:
            number += 1
            try:
                server.request("POST", "/v1/me/messages", token, {"to": external, "body": f"durable {number}", "id": f"d{number}"})
            except (APIError, OSError):
                if killed.is_set():
                    return
                raise
            acknowledged.append(number)
            if number == 12:
                server.kill()
                killed.set()

    await asyncio.to_thread(send_stream)
    await server.wait()
    assert len(acknowledged) >= 12, acknowledged
    await restart(peer)
    await server.start()
    last = acknowledged[-1]
    await peer.wait_for_log(rf"""id=['"]d{last}['"]""", f"acknowledged message {last} reaching the peer", timeout=90)
    client = await ctx.external("keeper")
    for number in acknowledged:
        await client.expect(message_from(internal, f"durable {number}"), f"acknowledged message {number}")
    await server.call("POST", "/v1/me/messages", token, {"to": external, "body": "end"})
    await client.expect(message_from(internal, "end"), "the message sent after the queue drained")
    bodies = [s["body"] for s in client.stanzas if message_from(internal)(s) and s["body"].startswith("durable")]
    expected = [f"durable {n}" for n in acknowledged]
    # A message whose request was cut by the kill may or may not have been stored; if it was, it
    # comes once, after the others.
    assert bodies[:len(expected)] == expected and len(bodies) - len(expected) <= 1, \
        f"acknowledged messages lost, duplicated or reordered: {bodies}"


SERVED_SCENARIOS = [
    ("quick start: users and domains by command, chat through the API", quick_start),
    ("offline delivery to an internal user", offline_delivery),
    ("an admin command applies its own change, not an edit of federation.toml", typed_admin_changes),
    ("consulate killed while sending: acknowledged messages arrive once, in order", killed_while_sending),
]


async def store_fills_up(ctx):
    """The store's file system fills up (a small tmpfs in the server's own mount namespace) while an
    internal user sends to an external user whose server is down: the API answers 503
    store-unavailable once nothing more can be stored; after space is freed and the peer is back,
    every message it acknowledged reaches the external user once, in order, and none it refused."""
    server, peer = ctx.server, ctx.peer
    await server.command("domains", "allow", ctx.domain("federated"), "--trust", "federated",
                         "--tls", "required", "--sasl", "required", "--no-dialback")
    token = await add_user(ctx, "ivan")
    internal = f"ivan@{INTERNAL}"
    client = await ctx.external("hoarder")
    external = client.boundjid.bare
    await server.call("POST", "/v1/me/messages", token, {"to": external, "body": "warm-up"})
    await client.expect(message_from(internal, "warm-up"), "the warm-up message")
    peer.kill()
    await client.offline()

    await server.fill_store(leaving=256 * 1024)
    acknowledged, refused = [], []
    padding = "x" * 16000
    number = 0
    while len(refused) < 3:
        number += 1
        assert number <= 400, f"the store never filled up: {len(acknowledged)} messages stored"
        try:
            await server.call("POST", "/v1/me/messages", token, {"to": external, "body": f"full {number} {padding}", "id": f"full{number}"})
            acknowledged.append(number)
        except APIError as error:
            assert error.status == 503 and "store-unavailable" in error.body, error
            refused.append(number)
    assert acknowledged, "not one message was stored before the file system filled up"
    assert "could not write to the store" in open(server.log_path).read(), "the failure is not in the log"

    await server.free_store()
    await server.call("POST", "/v1/me/messages", token, {"to": external, "body": "after", "id": "after"})
    await restart(peer)
    await peer.wait_for_log(r"""id=['"]after['"]""", "the message sent once space was freed", timeout=90)
    client = await ctx.external("hoarder")
    await client.expect(message_from(internal, "after"), "the message sent once space was freed")
    bodies = [s["body"].split(" ")[1] if s["body"].startswith("full ") else s["body"]
              for s in client.stanzas if message_from(internal)(s) and s["body"] != "warm-up"]
    assert bodies == [str(n) for n in acknowledged] + ["after"], \
        f"acknowledged {acknowledged}, refused {refused}; the external user got {bodies}"


# Small enough to fill in a few dozen messages, large enough for the store's schema and a start-up.
FULL_STORE_BYTES = 4 * 1024 * 1024

FULL_STORE_SCENARIOS = [
    ("the store's file system fills up: 503, and nothing acknowledged is lost", store_fills_up),
]


# --- Abuse at the default limits, against a fresh `consulate serve` ------------------------------

ATTACKER_ADDRESS = "127.0.0.66"
SILENT_CONNECTIONS = 20_000
# What the README promises for a flood and for an event stream on as many offline messages: the
# most the process's resident memory may grow above what it held before.
FLOOD_MESSAGES = 100_000
FLOOD_MEMORY_BOUND_MB = 32
# What one connection that sent its stream header and waits may cost consulate at most.
IDLE_CONNECTION_BOUND_KB = 64

# One attacker process: opens `count` TCP connections from `source` and sends nothing; prints
# "connected" once they are all open, then how many the server closed and how long those it held
# (more than 5 s) lived.
SILENT_WORKER = r'''
import json, select, socket, sys, time
count, source, host, port, deadline = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
poller, opened, lifetimes = select.epoll(), {}, []

def reap(timeout):
    for fd, _ in poller.poll(timeout):
        s, since = opened[fd]
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            data = b""
        if data == b"":
            lifetimes.append(time.monotonic() - since)
            poller.unregister(fd)
            s.close()
            del opened[fd]

for number in range(1, count + 1):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(30)
    s.connect((host, port))
    s.setblocking(False)
    opened[s.fileno()] = (s, time.monotonic())
    poller.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
    reap(0)
    if number == 1000:
        print("started", flush=True)
print("connected", flush=True)
end = time.monotonic() + deadline
while opened and time.monotonic() < end:
    reap(1)
print(json.dumps({"open": len(opened), "closed": len(lifetimes), "held": [t for t in lifetimes if t > 5]}), flush=True)
'''


def resident_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


async def allow_federated(ctx):
    await ctx.server.command("domains", "allow", ctx.domain("federated"), "--trust", "federated",
                             "--tls", "required", "--sasl", "required", "--no-dialback")


async def silent_connections(ctx):
    """20,000 connections from one address that send nothing, at the default limits: while they
    are opened, the API keeps answering and a partner's server connects and delivers; the few the
    gateway accepts at a time (source-connection-limit) are closed at stream-establishment-timeout
    (60 s), the rest are refused at once."""
    server = ctx.server
    await allow_federated(ctx)
    token = await add_user(ctx, "paula")
    internal = f"paula@{INTERNAL}"
    workers = [await asyncio.create_subprocess_exec(
        "python3", "-c", SILENT_WORKER, str(SILENT_CONNECTIONS // 2), ATTACKER_ADDRESS, server.address, "5269", "90",
        stdout=asyncio.subprocess.PIPE) for _ in range(2)]
    for worker in workers:
        line = await asyncio.wait_for(worker.stdout.readline(), 60)
        assert line.strip() == b"started", f"an attacker could not open its connections: {line}"

    # While the attackers keep connecting:
    presence = await server.call("GET", "/v1/me/presence", token)
    assert presence is not None, "the API did not answer"
    events = await server.events(token)
    client = await ctx.external("latecomer")
    client.send_message(mto=internal, mbody="through the crowd", mtype="chat")
    bodies = await asyncio.to_thread(events.messages, 1, 30)
    assert bodies == ["through the crowd"], bodies
    events.close()

    for worker in workers:
        line = await asyncio.wait_for(worker.stdout.readline(), 300)
        assert line.strip() == b"connected", f"an attacker could not open its connections: {line}"
    reports = [json.loads((await asyncio.wait_for(worker.stdout.readline(), 120)).decode()) for worker in workers]
    for worker in workers:
        await worker.wait()
    assert all(report["open"] == 0 for report in reports), \
        f"connections still open 90 s after the last was opened: {[report['open'] for report in reports]}"
    closed = sum(report["closed"] for report in reports)
    kept = sorted(lifetime for report in reports for lifetime in report["held"])
    assert kept, "no silent connection was accepted at all: source-connection-limit lets 8 wait"
    assert all(60 <= lifetime < 70 for lifetime in kept), f"held connections were closed after {kept} s, not at 60 s"
    print(f"     {closed} silent connections: {closed - len(kept)} refused at once, "
          f"{len(kept)} closed after {min(kept):.1f}–{max(kept):.1f} s; consulate's VmHWM {resident_mb(server.process.pid, 'VmHWM'):.0f} MB",
          flush=True)


class MemoryWatch:
    """The highest resident memory of a process, sampled every 100 ms while it runs."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = resident_mb(pid)
        self._task = asyncio.create_task(self._sample())

    async def _sample(self):
        while True:
            self.peak = max(self.peak, resident_mb(self.pid))
            await asyncio.sleep(0.1)

    def stop(self):
        self._task.cancel()
        self.peak = max(self.peak, resident_mb(self.pid))
        return self.peak


async def flood(ctx):
    """100,000 messages from one partner's user to an internal user with no event stream open:
    every one is stored, in order, while consulate's memory grows by less than the README's bound;
    an event stream then opened on the 100,000 offline messages gets them all, in order, within the
    same bound."""
    server = ctx.server
    await allow_federated(ctx)
    token = await add_user(ctx, "quentin")
    internal = f"quentin@{INTERNAL}"
    client = await ctx.external("flooder")
    client.send_message(mto=internal, mbody="flood 0", mtype="chat")
    await server.wait_for_offline(internal, 1)
    pid = server.process.pid
    before = resident_mb(pid)
    watch = MemoryWatch(pid)
    started = time.monotonic()
    batch = 1000
    for first in range(1, FLOOD_MESSAGES + 1, batch):
        client.send_raw("".join(f"<message to='{internal}' type='chat' id='f{n}'><body>flood {n}</body></message>"
                                for n in range(first, first + batch)))
        await asyncio.sleep(0)
    await server.wait_for_offline(internal, FLOOD_MESSAGES + 1, timeout=400)
    stored_after = time.monotonic() - started
    flood_peak = watch.stop()

    watch = MemoryWatch(pid)
    events = await server.events(token)
    bodies = await asyncio.to_thread(events.messages, FLOOD_MESSAGES + 1, 120)
    stream_peak = watch.stop()
    events.close()
    assert bodies == [f"flood {n}" for n in range(FLOOD_MESSAGES + 1)], "offline messages lost, duplicated or reordered"
    print(f"     {FLOOD_MESSAGES} messages stored in {stored_after:.1f} s; resident memory {before:.0f} MB before, "
          f"peak {flood_peak:.0f} MB during the flood (+{flood_peak - before:.0f}), {stream_peak:.0f} MB while the stream read them "
          f"(+{stream_peak - before:.0f})", flush=True)
    assert flood_peak - before <= FLOOD_MEMORY_BOUND_MB, f"the flood grew memory by {flood_peak - before:.0f} MB"
    assert stream_peak - before <= FLOOD_MEMORY_BOUND_MB, f"the event stream grew memory by {stream_peak - before:.0f} MB"


async def idle_connection_cost(ctx):
    """What an idle inbound connection costs: 800 connections (8 from each of 100 addresses, within
    source-connection-limit and connection-limit) that sent a stream header and got our features,
    then wait; consulate's resident memory grows by at most IDLE_CONNECTION_BOUND_KB each."""
    server = ctx.server
    pid = server.process.pid
    header = ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
              f"xmlns:db='jabber:server:dialback' to='{INTERNAL}' version='1.0'>").encode()

    def open_idle(count_per_address, addresses):
        sockets = []
        for host in range(1, addresses + 1):
            for _ in range(count_per_address):
                s = socket.socket()
                s.bind((f"127.0.1.{host}", 0))
                s.settimeout(30)
                s.connect((server.address, 5269))
                s.sendall(header)
                sockets.append(s)
        for s in sockets:
            received = b""
            while b"</stream:features>" not in received:
                chunk = s.recv(65536)
                assert chunk, f"an idle connection was closed before its features: {received[:200]}"
                received += chunk
        return sockets

    before = resident_mb(pid)
    sockets = await asyncio.to_thread(open_idle, 8, 100)
    after = resident_mb(pid)
    for s in sockets:
        s.close()
    per_connection = (after - before) * 1024 / len(sockets)
    print(f"     {len(sockets)} idle connections (stream header sent, features received): "
          f"{before:.1f} → {after:.1f} MB resident, {per_connection:.1f} KB each", flush=True)
    assert per_connection <= IDLE_CONNECTION_BOUND_KB, f"an idle connection costs {per_connection:.1f} KB"


ABUSE_SCENARIOS = [
    ("the cost of an idle inbound connection", idle_connection_cost),
    ("20,000 silent connections from one address, at the default limits", silent_connections, 500),
    ("a 100,000-message flood from one partner, then an event stream on all of them", flood, 600),
]
