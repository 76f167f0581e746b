"""The federation peers of the interop tests: real Prosody and ejabberd processes serving partner
domains on their own loopback addresses, configured from scratch (never from the system's files)
for one s2s security mode at a time:

- "sasl": STARTTLS required, both sides trust the test CA, so SASL EXTERNAL authenticates (XEP-0178);
- "dialback": STARTTLS required, the peer does not trust the test CA, so dialback (XEP-0220)
  authenticates inside TLS.
"""

import os
import shutil
import signal
import subprocess
import time


def wait_for_listeners(endpoints, timeout=30, process=None, log=None):
    """Polls the kernel's socket table (not test connections, which would show up in peer logs)
    until every (address, port) listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
        listening = {line.split()[3] for line in table.splitlines() if len(line.split()) > 3}
        if all(f"{address}:{port}" in listening for address, port in endpoints):
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process exited with {process.returncode} before listening" + _tail(log))
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {endpoints} after {timeout} s" + _tail(log))


def _tail(path, lines=30):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return "\n--- " + path + " ---\n" + "".join(f.readlines()[-lines:])


class Peer:
    """What scenarios need from a peer server: its domains, users, address, and start/stop/kill."""

    software = "?"
    address = "?"

    def __init__(self, directory, pki, domains, users, password):
        self.directory = directory
        self.domains = domains
        self.users = users
        self.password = password
        self.pki = pki
        self.process = None
        self.mode = None

    @property
    def endpoints(self):
        return [(self.address, 5222), (self.address, 5269)]

    def stop(self):
        """SIGTERM, as an operator would: the peer closes its streams politely."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self):
        """SIGKILL: the peer vanishes without closing anything."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


class ProsodyPeer(Peer):
    software = "prosody"
    address = "127.0.0.2"

    def configure(self, mode, dns):
        """Writes a fresh instance for `mode` and registers the users (offline, before start)."""
        self.mode = mode
        if os.path.exists(self.directory):
            shutil.rmtree(self.directory)
        os.makedirs(os.path.join(self.directory, "data"))
        issued, issued_key, _ = self.pki.leaf("prosody", ["prosody.test", "*.prosody.test"])
        os.makedirs(os.path.join(self.directory, "certs"))
        certificate = shutil.copy(issued, os.path.join(self.directory, "certs", "prosody.crt"))
        key = shutil.copy(issued_key, os.path.join(self.directory, "certs", "prosody.key"))
        cafile = f'cafile = "{self.pki.ca_certificate}";' if mode == "sasl" else ""
        hosts = "\n".join(f'VirtualHost "{domain}"' for domain in self.domains)
        self.config = os.path.join(self.directory, "prosody.cfg.lua")
        self.log = os.path.join(self.directory, "prosody.log")
        with open(self.config, "w") as f:
            f.write(f'''
pidfile = "{self.directory}/prosody.pid"
data_path = "{self.directory}/data"
daemonize = false
interfaces = {{ "{self.address}" }}
c2s_ports = {{ 5222 }}
s2s_ports = {{ 5269 }}
c2s_direct_tls_ports = {{ }}
s2s_direct_tls_ports = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping"; "posix"; "offline" }}
authentication = "internal_hashed"
storage = "internal"
allow_registration = false
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = {"true" if mode == "sasl" else "false"}
s2s_timeout = 30
ssl = {{ certificate = "{certificate}"; key = "{key}"; {cafile} }}
unbound = {{
    resolvconf = false;
    hoststxt = false;
    forward = "{dns}@53";
    options = {{ ["local-zone"] = "test. transparent" }};
}}
log = {{ {{ levels = {{ min = "debug" }}, to = "file", filename = "{self.log}" }} }}
{hosts}
''')
        subprocess.run(["chown", "-R", "prosody:prosody", self.directory], check=True)
        os.chmod(key, 0o600)
        for domain in self.domains:
            for user in self.users:
                subprocess.run(["prosodyctl", "--config", self.config, "register", user, domain, self.password],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        """Starts (or restarts, keeping its data) the instance as user prosody, which it insists on."""
        self.process = subprocess.Popen(
            ["setpriv", "--reuid=prosody", "--regid=prosody", "--init-groups", "--inh-caps=-all",
             "prosody", "-F", "--config", self.config],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.directory, "stderr.log"), "a"))
        wait_for_listeners(self.endpoints, process=self.process, log=self.log)

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


async def restart(peer):
    """Starts a stopped or killed peer again with the same data, without blocking the event loop."""
    import asyncio
    await asyncio.to_thread(peer.start)
