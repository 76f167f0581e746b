"""The federation peers of the interop tests: real Prosody and ejabberd processes serving partner
domains on their own loopback addresses, configured from scratch (never from the system's files)
for one s2s security mode at a time:

- "sasl": STARTTLS required, both sides trust the test CA, so SASL EXTERNAL authenticates (XEP-0178);
- "dialback": STARTTLS required, the peer does not trust the test CA, so dialback (XEP-0220)
  authenticates inside TLS.
"""

import asyncio
import os
import re
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

    def __init__(self, directory, pki, domains, accounts, password):
        self.directory = directory
        self.domains = domains
        self.accounts = accounts
        self.password = password
        self.pki = pki
        self.process = None
        self.mode = None

    @property
    def endpoints(self):
        return [(self.address, 5222), (self.address, 5269)]

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    async def wait_for_log(self, pattern, what, timeout=30):
        """Waits until the peer's own log shows `pattern` (a regular expression): how a test learns
        that the peer has received something while none of its users is online to see it."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.log_text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the {self.software} log never showed {what} ({pattern!r})")
            await asyncio.sleep(0.05)

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
        for user, domain in self.accounts:
            subprocess.run(["prosodyctl", "--config", self.config, "register", user, domain, self.password],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        """Starts (or restarts, keeping its data) the instance as user prosody, which it insists on."""
        self.process = subprocess.Popen(
            ["setpriv", "--reuid=prosody", "--regid=prosody", "--init-groups", "--inh-caps=-all",
             "prosody", "-F", "--config", self.config],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.directory, "stderr.log"), "a"))
        wait_for_listeners(self.endpoints, process=self.process, log=self.log)

    def authentication_evidence(self, mode):
        """Log patterns (regular expressions) that must appear, and must not, if s2s authenticated as
        `mode` says, both ways. Prosody logs attributes in no fixed order."""
        if mode == "sasl":
            return ([("Prosody authenticated to Consulate with SASL EXTERNAL", "SASL EXTERNAL with contoso.test succeeded"),
                     ("Consulate authenticated to Prosody with SASL EXTERNAL", "mechanism='EXTERNAL'")],
                    [("dialback", "<db:result")])
        return ([("Consulate accepted Prosody's dialback key", r"Received\[s2sout_unauthed\]: <result [^>]*type='valid'"),
                 ("Consulate dialled back to verify Prosody's key", r"verified dialback key\.\.\. it is valid"),
                 ("Prosody verified Consulate's key with Consulate", r"Received\[s2sout\]: <verify [^>]*type='valid'")],
                [("SASL EXTERNAL", "mechanism='EXTERNAL'")])


class EjabberdPeer(Peer):
    """ejabberd 23.01. It resolves SRV with Erlang's resolver (pointed at the stub by `inetrc`) and
    target addresses with glibc's getaddrinfo, which the namespace's /etc/resolv.conf sends to the
    stub on port 53. Its users are registered through the running node after the first start; the
    instance is rebuilt for every mode, so that no roster from an earlier mode is left over."""

    software = "ejabberd"
    address = "127.0.0.3"

    def configure(self, mode, dns):
        self.mode = mode
        self.config_dir = os.path.join(self.directory, "config")
        self.spool = os.path.join(self.directory, "spool")
        self.logs = os.path.join(self.directory, "logs")
        self.log = os.path.join(self.logs, "ejabberd.log")
        if os.path.exists(self.directory):
            shutil.rmtree(self.directory)
        for folder in (self.config_dir, self.spool, self.logs):
            os.makedirs(folder)
        self.registered = False
        _, _, combined = self.pki.leaf("ejabberd", ["ejabberd.test", "*.ejabberd.test"])
        certificate = shutil.copy(combined, os.path.join(self.config_dir, "ejabberd.pem"))
        trusted = self.pki.ca_certificate if mode == "sasl" else self.pki.unrelated_ca_certificate
        hosts = "\n".join(f"  - {domain}" for domain in self.domains)
        with open(os.path.join(self.config_dir, "ejabberd.yml"), "w") as f:
            f.write(f"""
hosts:
{hosts}
loglevel: debug
log_rotate_count: 0
certfiles:
  - {certificate}
s2s_cafile: {trusted}
c2s_cafile: {self.pki.ca_certificate}
s2s_use_starttls: required
s2s_dns_timeout: 5
s2s_dns_retries: 1
s2s_max_retry_delay: 5
outgoing_s2s_families: [ipv4]
auth_method: internal
listen:
  - port: 5222
    ip: "{self.address}"
    module: ejabberd_c2s
    starttls_required: true
  - port: 5269
    ip: "{self.address}"
    module: ejabberd_s2s_in
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  s2s:
    allow: all
shaper_rules:
  max_user_offline_messages: 1000
modules:
  mod_roster: {{}}
  mod_disco: {{}}
  mod_ping: {{}}
  mod_offline: {{}}
  mod_s2s_dialback: {{}}
""")
        address = ",".join(dns.split("."))
        with open(os.path.join(self.config_dir, "inetrc"), "w") as f:
            f.write(f"""{{resolv_conf, ""}}.
{{hosts_file, ""}}.
{{nameserver, {{{address}}}, 53}}.
{{host, {{127,0,0,1}}, ["localhost"]}}.
{{lookup, [file, dns]}}.
""")
        with open(os.path.join(self.config_dir, "ejabberdctl.cfg"), "w") as f:
            f.write('ERLANG_NODE=ejabberd@localhost\n')
        subprocess.run(["chown", "-R", "ejabberd:ejabberd", self.directory], check=True)
        os.chmod(certificate, 0o600)

    def _ctl(self, *arguments):
        # The node's Erlang cookie lives in $HOME, which must be ejabberd's own: this instance's directory.
        return ["env", f"HOME={self.directory}", "setpriv", "--reuid=ejabberd", "--regid=ejabberd", "--init-groups", "--inh-caps=-all",
                "ejabberdctl", "--config-dir", self.config_dir, "--logs", self.logs, "--spool", self.spool,
                *arguments]

    def start(self):
        self.process = subprocess.Popen(self._ctl("foreground"), cwd=self.spool, start_new_session=True,
                                        stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(self.directory, "stderr.log"), "a"))
        wait_for_listeners(self.endpoints, timeout=60, process=self.process, log=self.log)
        if not self.registered:
            for user, domain in self.accounts:
                subprocess.run(self._ctl("register", user, domain, self.password), cwd=self.spool, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.registered = True

    def stop(self):
        if self.process and self.process.poll() is None:
            subprocess.run(self._ctl("stop"), cwd=self.spool, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def authentication_evidence(self, mode):
        method, other = ("EXTERNAL", "dialback") if mode == "sasl" else ("dialback", "EXTERNAL")
        return ([(f"ejabberd authenticated to Consulate with {method}", rf"Accepted outbound s2s {method} authentication federated\.ejabberd\.test -> contoso\.test"),
                 (f"Consulate authenticated to ejabberd with {method}", f"Accepted inbound s2s {method} authentication contoso.test -> federated.ejabberd.test")],
                [(other, f"Accepted inbound s2s {other} authentication")])

    def kill(self):
        """SIGKILL to the whole node (the shell and the Erlang VM it started)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


async def restart(peer):
    """Starts a stopped or killed peer again with the same data, without blocking the event loop."""
    await asyncio.to_thread(peer.start)
