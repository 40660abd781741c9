"""Protocol detection: which analyzer (if any) gets a flow.

Order, as in Wireshark's dissector tables followed by its heuristic dissectors:

1. ``Options.decode_as`` (port -> protocol name): the user's word wins, on either port;
2. well-known ports (``Protocol.tcp_ports`` / ``udp_ports``), responder port first; ports that
   are known but not parsed (``Protocol.labels``, e.g. smtps on 465) only name the service;
   other well-known ports (dns, ssl, ssh...: :data:`PORT_LABELS_TCP`) give a label too, but
   the probes still run and an analyzer that recognises the flow replaces the label;
3. content probes on the first bytes of each direction: the flow's bytes are buffered (up to
   :data:`PROBE_BYTES` per direction, :data:`PROBE_EVENTS` chunks) until a probe answers, then
   replayed to the chosen analyzer in their original order. A probe that raises counts as "no".

The choice sticks for the flow; the ``service`` column is the protocol's name or label.
"""

from __future__ import annotations

from typing import Any

from dissect.analyzer import Protocol, protocols

__all__ = ["Detector", "ProbeState", "PROBE_BYTES", "PROBE_EVENTS", "validate_decode_as",
           "SERVICE_PORTS", "PORT_LABELS_TCP", "PORT_LABELS_UDP"]

#: bytes per direction buffered while probing; a probe that has not answered by then is "no"
PROBE_BYTES = 4096
#: chunks (segments or datagrams) buffered while probing
PROBE_EVENTS = 64
#: bytes of chunks held for the replay while probing
PROBE_MAX_BUFFER = 64 * 1024

#: ports that identify the responder of a mid-stream flow (besides every port < 1024 and every
#: port a protocol registers): common registered service ports.
SERVICE_PORTS = frozenset({
    1080, 1194, 1433, 1521, 1723, 1812, 1813, 1883, 2049, 2375, 2376, 2525, 3128, 3268, 3306, 3389,
    3478, 4369, 4500, 5000, 5060, 5061, 5222, 5353, 5355, 5432, 5601, 5671, 5672, 5900, 5984,
    6379, 6443, 6667, 8000, 8008, 8080, 8081, 8443, 8888, 9000, 9042, 9092, 9200, 9300, 9418,
    11211, 27017,
})


#: service labels of well-known ports we do not parse (Zeek/IANA names). Only a guess from the
#: port: they never stop a content probe, and an analyzer that recognises the flow wins.
PORT_LABELS_TCP = {
    21: "ftp", 22: "ssh", 23: "telnet", 53: "dns", 110: "pop3", 135: "dce_rpc", 139: "netbios-ssn",
    143: "imap", 179: "bgp", 389: "ldap", 443: "ssl", 445: "smb", 636: "ldaps", 853: "dns-over-tls",
    990: "ftps", 993: "imaps", 995: "pop3s", 1433: "mssql", 1521: "oracle", 1883: "mqtt",
    3306: "mysql", 3389: "rdp", 5222: "xmpp", 5432: "postgresql", 5900: "vnc", 6379: "redis",
    6443: "ssl", 8443: "ssl", 9200: "elasticsearch", 27017: "mongodb",
}
PORT_LABELS_UDP = {
    53: "dns", 67: "dhcp", 68: "dhcp", 69: "tftp", 123: "ntp", 137: "netbios-ns", 138: "netbios-dgm",
    443: "quic", 500: "ike", 514: "syslog", 1812: "radius", 1813: "radius", 1900: "ssdp",
    3478: "stun", 4500: "ike", 5353: "mdns", 5355: "llmnr",
}


def validate_decode_as(decode_as: dict[int, str], known: dict[str, Protocol] | None = None) -> None:
    """Raise ValueError naming the bad entry when a --decode-as protocol is unknown."""
    known = protocols() if known is None else known
    for port, name in (decode_as or {}).items():
        if name not in known:
            names = ", ".join(sorted(known)) or "none available"
            raise ValueError(f"--decode-as {name}:{port}: unknown protocol {name!r} (known: {names})")


class Detector:
    """Port tables and probes of one run (built once from the options)."""

    def __init__(self, options: Any):
        allp = protocols()
        wanted = getattr(options, "protocols", None)
        self.protos: dict[str, Protocol] = {
            n: p for n, p in allp.items() if wanted is None or n in wanted}
        validate_decode_as(options.decode_as, allp)
        self.decode_as: dict[int, Protocol] = {
            port: allp[name] for port, name in (options.decode_as or {}).items() if name in self.protos}
        self.tcp: dict[int, Protocol] = {}
        self.udp: dict[int, Protocol] = {}
        self.labels: dict[int, str] = {}
        for p in self.protos.values():
            for port in p.tcp_ports:
                self.tcp.setdefault(port, p)
            for port in p.udp_ports:
                self.udp.setdefault(port, p)
            for port, label in (p.labels or {}).items():
                self.labels.setdefault(port, label)
        self.probers = [p for p in self.protos.values() if p.probe is not None]
        self.service_ports = frozenset(SERVICE_PORTS | set(self.tcp) | set(self.udp) |
                                       set(self.labels) | set(self.decode_as))

    def is_service_port(self, port: int) -> bool:
        return port < 1024 or port in self.service_ports

    def by_port(self, transport: str, orig_p: int, resp_p: int) -> tuple[Protocol | None, str | None]:
        """(protocol, label) from the decode-as table and the port tables."""
        da = self.decode_as
        if da:
            p = da.get(resp_p) or da.get(orig_p)
            if p is not None:
                return p, p.name
        table = self.tcp if transport == "tcp" else self.udp
        p = table.get(resp_p) or table.get(orig_p)
        if p is not None:
            return p, p.name
        label = self.labels.get(resp_p) or self.labels.get(orig_p)
        return None, label

    def port_label(self, transport: str, orig_p: int, resp_p: int) -> str | None:
        """A label for a well-known port we do not parse (responder port first)."""
        table = PORT_LABELS_TCP if transport == "tcp" else PORT_LABELS_UDP
        return table.get(resp_p) or table.get(orig_p)

    def probe_state(self, transport: str) -> "ProbeState | None":
        if not self.probers:
            return None
        return ProbeState(self.probers, transport)


class ProbeState:
    """Bytes of a flow buffered until a probe decides (then replayed to the analyzer)."""

    __slots__ = ("candidates", "transport", "bufs", "events", "nbytes", "frozen")

    def __init__(self, probers: list[Protocol], transport: str):
        self.candidates = list(probers)
        self.transport = transport
        self.bufs = [b"", b""]
        # a direction's probe buffer stops at its first gap: later bytes are not contiguous with it
        self.frozen = [False, False]
        self.events: list[tuple[int, int, Any, float]] = []   # (kind 0=data 1=gap, dir, data|n, ts)
        self.nbytes = 0

    def add(self, direction: int, data: bytes, ts: float) -> Protocol | None | bool:
        """Buffer a chunk and ask the probes. Returns the chosen protocol, None (undecided) or
        False (nobody wants the flow: stop probing)."""
        self.events.append((0, direction, data, ts))
        self.nbytes += len(data)
        if self.nbytes > PROBE_MAX_BUFFER:
            return False
        buf = self.bufs[direction]
        if len(buf) < PROBE_BYTES and not self.frozen[direction]:
            buf = (buf + data)[:PROBE_BYTES]
            self.bufs[direction] = buf
        chosen = None
        keep = []
        for p in self.candidates:
            try:
                ans = p.probe(direction, buf, self.transport)
            except Exception:  # probes never raise; one that does says "no"
                ans = False
            if ans is True:
                chosen = p
                break
            if ans is None:
                keep.append(p)
        if chosen is not None:
            return chosen
        self.candidates = keep
        if not keep:
            return False
        if len(keep) == 1 and self.frozen[0] and self.frozen[1]:
            # both buffers ended at a gap (e.g. a small snap length): no more bytes can decide, and the
            # one protocol whose probe still accepts both prefixes takes the flow
            return keep[0]
        if len(self.events) >= PROBE_EVENTS or (
                len(self.bufs[0]) >= PROBE_BYTES and len(self.bufs[1]) >= PROBE_BYTES):
            return False
        if self.transport == "udp" and len(self.events) >= 4:
            return False
        return None

    def add_gap(self, direction: int, n: int, ts: float) -> None:
        self.events.append((1, direction, n, ts))
        self.frozen[direction] = True
