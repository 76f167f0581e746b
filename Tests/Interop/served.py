"""Consulate as operators run it: `consulate serve` with its SQLite store and internal HTTP API,
administered with the `consulate users` and `consulate domains` commands, and internal users
acting through the API (HTTP requests and the WebSocket event stream), as the README's quick
start describes. Only the standard library: http.client, and a small RFC 6455 client."""

import asyncio
import base64
import http.client
import json
import os
import signal
import socket
import struct
import sqlite3
import subprocess
import time

from peers import wait_for_listeners

API_PORT = 8080


def served_toml(base_toml, store_path, address):
    """The console's configuration plus a store and the API."""
    return base_toml + f'''
[store]
path = "{store_path}"

[api]
address = "{address}"
port = {API_PORT}
'''


class APIError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class ConsulateServer:
    """`consulate serve` and its admin commands. With `store_bytes`, the store lives on a tmpfs of
    that size mounted in the server's own mount namespace (`unshare --mount`), which the admin
    commands enter too (`nsenter`): a file system that can really fill up, seen by nothing else."""

    def __init__(self, binary, directory, address, store_bytes=None, log_level="debug"):
        self.binary = binary
        self.log_level = log_level
        self.directory = directory
        self.address = address
        self.process = None
        self.store_bytes = store_bytes
        os.makedirs(directory, exist_ok=True)
        self.config = os.path.join(directory, "federation.toml")
        self.log_path = os.path.join(directory, "serve.log")
        self.store_directory = os.path.join(directory, "store") if store_bytes else directory
        os.makedirs(self.store_directory, exist_ok=True)
        self.store_path = os.path.join(self.store_directory, "consulate.sqlite")

    def _launcher(self):
        if not self.store_bytes:
            return []
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                f'mount -t tmpfs -o size={self.store_bytes} consulate-store "$0" && exec "$@"', self.store_directory]

    def _inside(self):
        """What runs a command in the server's mount namespace, while it runs."""
        if not self.store_bytes or not self.process:
            return []
        return ["nsenter", "--target", str(self.process.pid), "--mount"]

    async def fill_store(self, leaving):
        """Fills the store's file system but for `leaving` bytes, with a file of zeros."""
        filler = os.path.join(self.store_directory, "filler")
        await self._run_inside(["sh", "-c", f"dd if=/dev/zero of={filler} bs=65536 2>/dev/null; truncate -s -{leaving} {filler}"])

    async def free_store(self):
        await self._run_inside(["rm", "-f", os.path.join(self.store_directory, "filler")])

    async def _run_inside(self, command):
        done = await asyncio.to_thread(subprocess.run, self._inside() + command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise AssertionError(f"{command} in the server's namespace failed: {done.stderr}")

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    async def start(self):
        """Starts `consulate serve` and waits until the API answers."""
        self.process = await asyncio.create_subprocess_exec(
            *self._launcher(), self.binary, "serve", "--config", self.config, "--log-level", self.log_level,
            stdout=asyncio.subprocess.PIPE, stderr=open(self.log_path, "a"))
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), 60)
            if not line:
                raise RuntimeError("consulate serve exited before it was ready:\n" + open(self.log_path).read()[-4000:])
            if line.startswith(b"consulate: internal API on"):
                break
        self._drain = asyncio.create_task(self._read_rest())
        await asyncio.to_thread(wait_for_listeners, [(self.address, 5269), (self.address, API_PORT)])

    async def _read_rest(self):
        while await self.process.stdout.readline():
            pass

    def kill(self):
        """SIGKILL: no shutdown, no last writes; what survives is what the store already held."""
        self.process.send_signal(signal.SIGKILL)

    async def wait(self):
        await self.process.wait()
        self.process = None

    async def stop(self):
        if self.process and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except asyncio.TimeoutError:
                self.process.send_signal(signal.SIGKILL)
                await self.process.wait()
        self.process = None

    async def command(self, *arguments):
        """A `consulate` admin command on this server's configuration; its standard output."""
        done = await asyncio.to_thread(
            subprocess.run, [*self._inside(), self.binary, *arguments, "--config", self.config], capture_output=True, text=True, timeout=60)
        with open(self.log_path, "a") as log:
            log.write(f"$ consulate {' '.join(arguments)}\n{done.stdout}{done.stderr}")
        if done.returncode != 0:
            raise AssertionError(f"consulate {' '.join(arguments)} failed ({done.returncode}): {done.stderr}")
        return done.stdout, done.stderr

    def request(self, method, path, token, body=None):
        """One API request: the decoded JSON answer (None for 204); APIError for a 4xx/5xx."""
        connection = http.client.HTTPConnection(self.address, API_PORT, timeout=30)
        try:
            headers = {"Authorization": f"Bearer {token}"}
            payload = None
            if body is not None:
                payload = json.dumps(body)
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            if response.status >= 400:
                raise APIError(response.status, text)
            return json.loads(text) if text else None
        finally:
            connection.close()

    async def wait_for_offline(self, user, count, timeout=30):
        """Waits until the store holds `count` offline messages for `user`, read from the SQLite
        file as any other reader would (WAL mode allows it while the server writes)."""
        deadline = time.monotonic() + timeout
        while True:
            with sqlite3.connect(self.store_path) as db:
                stored = db.execute("SELECT count(*) FROM offline_message WHERE user_jid = ?", (user,)).fetchone()[0]
            if stored >= count:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the store holds {stored} offline messages for {user}, not {count}")
            await asyncio.sleep(0.05)

    async def call(self, method, path, token, body=None):
        return await asyncio.to_thread(self.request, method, path, token, body)

    async def events(self, token):
        stream = EventStream(self.address, API_PORT, token)
        await asyncio.to_thread(stream.open)
        return stream


class EventStream:
    """`GET /v1/me/events` as a WebSocket client: the JSON events, in order."""

    def __init__(self, host, port, token):
        self.host, self.port, self.token = host, port, token
        self.socket = None
        # What was received and not yet read, from `offset` on: consumed without copying the
        # rest, so that reading a hundred thousand events stays linear.
        self.buffer = bytearray()
        self.offset = 0
        self.events = []

    def open(self):
        self.socket = socket.create_connection((self.host, self.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.socket.sendall((
            f"GET /v1/me/events HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {self.token}\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.socket.recv(4096)
            if not chunk:
                raise AssertionError("the event stream closed during the upgrade")
            self.buffer += chunk
        end = self.buffer.index(b"\r\n\r\n") + 4
        head, self.offset = bytes(self.buffer[:end]), end
        if not head.startswith(b"HTTP/1.1 101"):
            raise AssertionError(f"the event stream was refused: {head.decode(errors='replace')}")
        ready = self._next_event()
        if ready.get("type") != "ready":
            raise AssertionError(f"the event stream did not start with ready: {ready}")

    def _read(self, count):
        while len(self.buffer) - self.offset < count:
            chunk = self.socket.recv(1 << 20)
            if not chunk:
                raise AssertionError("the event stream closed")
            del self.buffer[:self.offset]
            self.offset = 0
            self.buffer += chunk
        data = bytes(self.buffer[self.offset:self.offset + count])
        self.offset += count
        return data

    def _next_event(self):
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(length)
            if opcode == 0x1:
                return json.loads(payload)
            if opcode == 0x9:
                self.pong(payload)
            if opcode == 0x8:
                raise AssertionError(f"the event stream was closed by the server: {payload[:2].hex()} {payload[2:]!r}")

    def pong(self, payload):
        """Answers the server's ping (RFC 6455 §5.5.2), as every client must: the server closes a
        stream whose pings go unanswered."""
        mask = os.urandom(4)
        self.socket.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def expect(self, predicate, what, timeout=20):
        """The first event (seen before or read now) that satisfies `predicate`."""
        for index, event in enumerate(self.events):
            if predicate(event):
                return self.events.pop(index)
        self.socket.settimeout(timeout)
        try:
            while True:
                event = self._next_event()
                if predicate(event):
                    return event
                self.events.append(event)
        except socket.timeout:
            raise AssertionError(f"no {what} on the event stream; other events: {self.events}")

    def messages(self, count, timeout=20):
        """The bodies of the next `count` message events, in order."""
        bodies = []
        while len(bodies) < count:
            bodies.append(self.expect(lambda e: e.get("type") == "message" and e["message"].get("body"), "message", timeout)["message"]["body"])
        return bodies

    def close(self):
        if self.socket:
            self.socket.close()
            self.socket = None
