"""Consulate's interop tests: real Prosody and ejabberd servers federating with Consulate, all on
loopback inside a private network namespace (see `run`), names resolved only by our DNS stub.

Prints one line per scenario, each peer × s2s security mode, and exits non-zero if any fails.
"""

import argparse
import asyncio
import os
import sys
import time
import traceback

import dns_stub
from gateway import ConsulateConsole, federation_toml
from peers import EjabberdPeer, ProsodyPeer
from pki import TestPKI
from scenarios import INTERNAL, PASSWORD, SCENARIOS, SECOND, Context, open_federation, two_local_domains
from served import ConsulateServer, served_toml
from served_scenarios import ABUSE_SCENARIOS, FULL_STORE_BYTES, FULL_STORE_SCENARIOS, SERVED_SCENARIOS

DNS_ADDRESS = "127.0.0.153"
CONSULATE_ADDRESS = "127.0.0.10"
TRUSTS = {"federated": "federated", "verified": "public-verified", "unverified": "public-unverified"}
# Each scenario's external users, by the trust label of their domain (see scenarios.py).
ACCOUNTS = [("subscriber", trust) for trust in ("federated", "verified", "unverified")] + \
    [(user, "federated") for user in ("colleague", "outsider", "chatter", "survivor", "greeter", "writer", "keeper", "hoarder", "latecomer", "flooder", "explorer")] + \
    [("mallory", "rogue")]
MODES = ["sasl", "dialback"]


def build_zone(peers):
    zone = dns_stub.Zone(["test"])
    for domain, address in [(INTERNAL, CONSULATE_ADDRESS), (SECOND, CONSULATE_ADDRESS)] + [(d, p.address) for p in peers for d in p.domains]:
        zone.add_a(domain, address)
        zone.add_srv(f"_xmpp-server._tcp.{domain}", 0, 5, 5269, domain)
    return zone


async def run_console_phase(peer, mode, label, binary, work, pki, only, scenarios, users, **toml):
    """One `consulate console` with its configuration and scenarios against `peer` in `mode`: the
    security modes with every partner trust, open federation, two local domains."""
    peer.configure(mode, DNS_ADDRESS)
    peer.start()
    gateway = ConsulateConsole(binary, os.path.join(work, f"consulate-{peer.software}-{label}"), CONSULATE_ADDRESS, INTERNAL)
    config = federation_toml(INTERNAL, CONSULATE_ADDRESS, DNS_ADDRESS, pki, mode, toml.pop("partners", []),
                             "interop-dialback-secret-0123456789", **toml)
    await gateway.start(config, users)
    try:
        results = await run_scenarios(scenarios, lambda: Context(gateway, peer, pki.ca_certificate), peer, label, only)
    finally:
        await gateway.stop()
        peer.stop()
    if not all(results):
        print(f"     logs: {gateway.directory}, {peer.directory}", flush=True)
    return results


async def run_served_phase(peer, binary, work, pki, only, label, scenarios, store_bytes=None):
    """`consulate serve` with its store and API, as the README's quick start runs it; no partner
    in the file: the scenarios allow them with `consulate domains allow`. With `store_bytes`, the
    store is on a tmpfs of that size (see `ConsulateServer`)."""
    peer.configure("sasl", DNS_ADDRESS)
    peer.start()
    directory = os.path.join(work, f"consulate-{peer.software}-{label}")
    server = ConsulateServer(binary, directory, CONSULATE_ADDRESS, store_bytes=store_bytes)
    base = federation_toml(INTERNAL, CONSULATE_ADDRESS, DNS_ADDRESS, pki, "sasl", [], "interop-dialback-secret-0123456789")
    server.write_config(served_toml(base, server.store_path, CONSULATE_ADDRESS))
    await server.start()

    def context():
        ctx = Context(None, peer, pki.ca_certificate)
        ctx.server = server
        return ctx

    try:
        results = await run_scenarios(scenarios, context, peer, label, only)
    finally:
        await server.stop()
        peer.stop()
    if not all(results):
        print(f"     logs: {server.directory}, {peer.directory}", flush=True)
    return results


async def run_scenarios(scenarios, make_context, peer, mode, only):
    results = []
    for title, scenario, *timeout in scenarios:
        if only and only not in title:
            continue
        ctx = make_context()
        started = time.monotonic()
        try:
            await asyncio.wait_for(scenario(ctx), timeout[0] if timeout else 180)
            outcome = None
        except Exception as error:
            outcome = "".join(traceback.format_exception_only(type(error), error)).strip()
            if not isinstance(error, AssertionError):
                outcome += "\n" + traceback.format_exc()
        finally:
            await ctx.close()
        label = f"{peer.software:8} {mode:8} {title}"
        elapsed = f"({time.monotonic() - started:.1f} s)"
        print(("ok   " if outcome is None else "FAIL ") + label + " " + elapsed, flush=True)
        if outcome:
            print("     " + outcome.replace("\n", "\n     "), flush=True)
        results.append(outcome is None)
    return results


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consulate", required=True, help="the consulate binary")
    parser.add_argument("--work", required=True, help="a fresh directory for this run")
    parser.add_argument("--peer", action="append", help="prosody or ejabberd (default: both)")
    parser.add_argument("--mode", action="append",
                        help="sasl, dialback, open (open federation), domains (two local domains), or served (consulate serve "
                             "with its store and API); the last three Prosody only; default: all")
    parser.add_argument("--only", help="run only scenarios whose title contains this")
    arguments = parser.parse_args()

    os.chmod(arguments.work, 0o755)
    pki = TestPKI(os.path.join(arguments.work, "pki"))
    peers = []
    for kind in arguments.peer or ["prosody", "ejabberd"]:
        software = {"prosody": ProsodyPeer, "ejabberd": EjabberdPeer}[kind]
        peers.append(software(os.path.join(arguments.work, kind), pki,
                              [f"{label}.{kind}.test" for label in list(TRUSTS) + ["rogue"]],
                              [(user, f"{label}.{kind}.test") for user, label in ACCOUNTS], PASSWORD))
    dns_log = open(os.path.join(arguments.work, "dns.log"), "a")
    close_dns = await dns_stub.serve(build_zone(peers), DNS_ADDRESS, 53, lambda line: print(line, file=dns_log, flush=True))
    results = []
    try:
        for peer in peers:
            for mode in [mode for mode in arguments.mode or MODES if mode in MODES]:
                results += await run_console_phase(
                    peer, mode, mode, arguments.consulate, arguments.work, pki, arguments.only, SCENARIOS,
                    [f"{name}@{INTERNAL}" for name in ("alice", "bob", "carol", "dave")],
                    partners=[(f"{label}.{peer.software}.test", trust) for label, trust in TRUSTS.items()])
            if peer.software == "prosody" and "open" in (arguments.mode or MODES + ["open"]):
                results += await run_console_phase(
                    peer, "sasl", "open", arguments.consulate, arguments.work, pki, arguments.only,
                    [("an unlisted domain is PublicUnverified, end to end", open_federation)], [f"alice@{INTERNAL}"],
                    federation="open")
            if peer.software == "prosody" and "domains" in (arguments.mode or MODES + ["domains"]):
                results += await run_console_phase(
                    peer, "sasl", "domains", arguments.consulate, arguments.work, pki, arguments.only,
                    [("users of two local domains, each on its own stream", two_local_domains)],
                    [f"alice@{INTERNAL}", f"carol@{SECOND}"],
                    partners=[(f"federated.{peer.software}.test", "federated")], also_serving=[SECOND])
            if peer.software == "prosody" and "served" in (arguments.mode or MODES + ["served"]):
                results += await run_served_phase(peer, arguments.consulate, arguments.work, pki, arguments.only, "served", SERVED_SCENARIOS)
                results += await run_served_phase(peer, arguments.consulate, arguments.work, pki, arguments.only, "full", FULL_STORE_SCENARIOS,
                                                  store_bytes=FULL_STORE_BYTES)
                results += await run_served_phase(peer, arguments.consulate, arguments.work, pki, arguments.only, "abuse", ABUSE_SCENARIOS)
    finally:
        close_dns()
    print(f"{results.count(True)} passed, {results.count(False)} failed", flush=True)
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
