"""A small authoritative DNS server for the interop tests: A, AAAA and SRV answers from a zone held
in memory, over UDP and TCP, on a loopback address. It never recurses: names under a served suffix
that it does not know get NXDOMAIN, anything else gets REFUSED, so a misconfigured peer fails
loudly instead of reaching the outside world. Every query is logged, which proves who resolved what.
"""

import asyncio
import struct

TYPE_A, TYPE_AAAA, TYPE_SRV = 1, 28, 33
RCODE_NOERROR, RCODE_NXDOMAIN, RCODE_REFUSED, RCODE_FORMERR = 0, 3, 5, 1


class Zone:
    """Records by lower-case name: ("A", "127.0.0.2") or ("SRV", priority, weight, port, target)."""

    def __init__(self, suffixes):
        self.suffixes = [s.lower().strip(".") for s in suffixes]
        self.records = {}
        self.wildcards = {}

    def add_wildcard_a(self, suffix, address):
        """An A record for every host name under `suffix` (not for service names such as
        `_xmpp-server._tcp.…`, which get no data, so that servers fall back to the A record)."""
        self.wildcards[suffix.lower().strip(".")] = address

    def add_a(self, name, address):
        self.records.setdefault(name.lower(), []).append(("A", address))

    def add_srv(self, name, priority, weight, port, target):
        self.records.setdefault(name.lower(), []).append(("SRV", priority, weight, port, target))

    def remove(self, name):
        self.records.pop(name.lower(), None)

    def lookup(self, name):
        """The records of a lower-case name, or None when it does not exist."""
        records = self.records.get(name)
        if records is not None:
            return records
        for suffix, address in self.wildcards.items():
            if name.endswith("." + suffix):
                return [] if name.startswith("_") else [("A", address)]
        return None

    def served(self, name):
        return any(name == s or name.endswith("." + s) for s in self.suffixes)


def _read_name(packet, offset):
    labels = []
    while True:
        length = packet[offset]
        if length == 0:
            return ".".join(labels), offset + 1
        if length & 0xC0:
            raise ValueError("compressed names are not expected in questions")
        labels.append(packet[offset + 1:offset + 1 + length].decode("ascii"))
        offset += 1 + length


def _encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def answer(zone, packet, log):
    """The response to one query packet, or None if it cannot even be read."""
    if len(packet) < 12:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if qdcount != 1:
        return struct.pack("!HHHHHH", ident, 0x8000 | RCODE_FORMERR, 0, 0, 0, 0)
    try:
        name, end = _read_name(packet, 12)
    except (ValueError, IndexError, UnicodeDecodeError):
        return struct.pack("!HHHHHH", ident, 0x8000 | RCODE_FORMERR, 0, 0, 0, 0)
    qtype, qclass = struct.unpack("!HH", packet[end:end + 4])
    question = packet[12:end + 4]
    lower = name.lower()
    records = zone.lookup(lower)
    if not zone.served(lower):
        rcode, answers = RCODE_REFUSED, []
    elif records is None:
        rcode, answers = RCODE_NXDOMAIN, []
    else:
        rcode, answers = RCODE_NOERROR, []
        for record in records:
            if record[0] == "A" and qtype == TYPE_A:
                data = bytes(int(part) for part in record[1].split("."))
                answers.append(struct.pack("!HHHIH", 0xC00C, TYPE_A, 1, 5, 4) + data)
            elif record[0] == "SRV" and qtype == TYPE_SRV:
                _, priority, weight, port, target = record
                data = struct.pack("!HHH", priority, weight, port) + _encode_name(target)
                answers.append(struct.pack("!HHHIH", 0xC00C, TYPE_SRV, 1, 5, len(data)) + data)
    log(f"{name} type={qtype} -> rcode={rcode} answers={len(answers)}")
    rd = flags & 0x0100
    header = struct.pack("!HHHHHH", ident, 0x8400 | rd | rcode, 1, len(answers), 0, 0)
    return header + question + b"".join(answers)


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, zone, log):
        self.zone, self.log = zone, log

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, address):
        response = answer(self.zone, data, self.log)
        if response is not None:
            self.transport.sendto(response, address)


async def serve(zone, host, port, log):
    """Starts the UDP and TCP listeners; returns a function that closes both."""
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(lambda: _UDP(zone, log), local_addr=(host, port))

    async def tcp_client(reader, writer):
        try:
            while True:
                length = struct.unpack("!H", await reader.readexactly(2))[0]
                response = answer(zone, await reader.readexactly(length), log)
                if response is None:
                    break
                writer.write(struct.pack("!H", len(response)) + response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    tcp = await asyncio.start_server(tcp_client, host, port)

    def close():
        udp.close()
        tcp.close()

    return close
