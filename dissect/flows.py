"""The flow table: bidirectional 5-tuple -> flow, TCP reassembly hook-up, analyzer hosting.

One :class:`Flow` per connection (TCP), or per 5-tuple until it goes idle (UDP, ICMP, other IP
protocols). When a flow ends (closed and quiet, idle timeout, eviction, end of capture) its
analyzer gets ``close(ts)``, its :class:`FlowRecord` (the ``flows`` table, modelled on Zeek's
``conn.log``) goes to the run's record sink and the flow is dropped: nothing per packet is kept.

Hot path (:meth:`FlowTable.packet`): one tuple key and one dict lookup per packet (both
directions of a flow are in the dict, each entry says which side sent), a few counters, and for
TCP the reassembler's in-order fast path. Flows no analyzer wants keep no payload at all.

Flow ids are deterministic: ``"C"`` + base62 of a BLAKE2b digest over the normalised 5-tuple and
the flow's first timestamp, so they do not depend on processing order, engines or worker counts.

Originator: the sender of the first SYN without ACK (a SYN-ACK seen first makes its receiver the
originator, history ``^``). Mid-stream TCP, UDP and others: when exactly one side uses a service
port (< 1024, a protocol's registered port or a common registered port), the other side is the
originator; otherwise the first sender.

Timeouts are checked every :data:`SWEEP_INTERVAL` seconds of capture time (not per packet);
closed TCP flows (FIN both ways, or RST) are removed once quiet for :data:`CLOSE_DELAY` seconds.
The live-flow cap evicts the least recently seen flows (``flow_cap_evicted`` weird).

Timeouts are also checked per packet against the flow's own last packet, so a flow's fate never
depends on the other traffic in the same process (the sweep only frees memory): the same capture
split by flow hash over several workers gives the same flows.
"""

from __future__ import annotations

import hashlib
import socket
from typing import Any, Callable

from dissect.analyzer import FlowContext
from dissect.packet import ACK, FIN, ICMP, ICMP6, RST, SYN, TCP, UDP
from dissect.schema import col, record
from dissect.tcp import Reassembler
from dissect.weird import Weird, declare

__all__ = ["FlowRecord", "Flow", "FlowTable", "make_uid", "SWEEP_INTERVAL", "CLOSE_DELAY"]

SWEEP_INTERVAL = 5.0    # seconds of capture time between timeout sweeps
CLOSE_DELAY = 5.0       # a closed TCP flow is removed once quiet this long (Zeek's tcp_close_delay)
STATS_KEYS = 100_000    # hosts / host pairs kept in the talker and conversation stats; the rest
OTHER = "(other)"       # are summed under "(other)" so that a scan cannot grow them without bound

declare("tcp_port_reuse", "A new SYN arrived on a closed connection's 5-tuple; a new flow was started", "info")


@record("flows", "One row per connection (TCP) or per 5-tuple until idle (UDP, ICMP, others), "
                 "modelled on Zeek's conn.log.")
class FlowRecord:
    uid: str = col("Flow id: deterministic ('C' + base62 of a hash of the 5-tuple and first timestamp); "
                   "joins every protocol table")
    ts: float = col("Time of the flow's first packet")
    orig_h: str = col("Originator address (sent the first SYN; mid-stream: the client-port side)")
    orig_p: int = col("Originator port (ICMP: type)")
    resp_h: str = col("Responder address")
    resp_p: int = col("Responder port (ICMP: code)")
    proto: str = col("Transport: tcp, udp, icmp, icmp6, or the IP protocol number")
    service: str | None = col("Protocol detected (smtp, http, snmp...) or a port label (smtps); "
                              "empty when unknown")
    duration: float = col("Seconds from the first to the last packet", kind="duration")
    orig_bytes: int = col("Payload bytes the originator sent (TCP: from sequence numbers, so "
                          "includes missed bytes, like Zeek)")
    resp_bytes: int = col("Payload bytes the responder sent (TCP: from sequence numbers)")
    orig_pkts: int = col("Packets from the originator")
    resp_pkts: int = col("Packets from the responder")
    orig_ip_bytes: int = col("IP-level bytes from the originator (sum of IP total lengths)")
    resp_ip_bytes: int = col("IP-level bytes from the responder")
    orig_frame_bytes: int = col("Frame bytes on the wire from the originator (what `tshark -z conv` "
                                "counts as Bytes)")
    resp_frame_bytes: int = col("Frame bytes on the wire from the responder")
    missed_bytes: int = col("TCP payload bytes never captured (content gaps), both directions")
    state: str = col("Connection state as Zeek's conn_state: S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 "
                     "RSTRH SH SHR OTH")
    history: str = col("Zeek history letters, upper case = originator: S syn, H syn-ack, A pure ack, "
                       "D data, F fin, R rst, G content gap, T retransmission, W zero window, "
                       "I fin+rst, Q other multi-flag, ^ direction flipped; T/W repeat at 10, 100...")
    ip_version: int = col("IP version (4 or 6)")
    end_reason: str = col("Why the flow record was written: closed, timeout, evicted, end (of "
                          "capture), reused (a SYN with a new ISN started a new connection on the "
                          "same 5-tuple)")
    truncated: bool = col("Some packets were cut by the capture's snap length")


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62_PAIRS = [a + b for a in _B62 for b in _B62]     # 0..3843 -> two base62 digits
_blake2b = hashlib.blake2b


def make_uid(a: bytes, ap: int, b: bytes, bp: int, proto: int, ts: float) -> str:
    """Deterministic flow id from the 5-tuple (either order) and the first timestamp."""
    if (b, bp) < (a, ap):
        a, ap, b, bp = b, bp, a, ap
    digest = _blake2b(b"%d|%s|%d|%s|%d|%d" % (proto, a.hex().encode(), ap, b.hex().encode(), bp,
                                              round(ts * 1e6)), digest_size=12).digest()
    n = int.from_bytes(digest, "big")
    # base62 without leading zeros, two digits per division
    out = []
    while n >= 3844:
        n, r = divmod(n, 3844)
        out.append(_B62_PAIRS[r])
    if n >= 62:
        out.append(_B62_PAIRS[n])
    elif n:
        out.append(_B62[n])
    out.reverse()
    return "C" + "".join(out)


_ntop = socket.inet_ntop
_AF_INET = int(socket.AF_INET)      # plain ints: the enum members cost a conversion per call
_AF_INET6 = int(socket.AF_INET6)


def ip_text(raw: bytes) -> str:
    n = len(raw)
    if n == 4:
        return _ntop(_AF_INET, raw)
    if n == 16:
        return _ntop(_AF_INET6, raw)
    return raw.hex()


_PROTO_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMP6: "icmp6"}

# ICMP: replies map to the type of their request so that both are one flow
_ICMP_PAIRS = {0: 8, 14: 13, 16: 15, 18: 17}          # reply type -> request type
_ICMP_REQ = {v: k for k, v in _ICMP_PAIRS.items()}     # request type -> reply type
_ICMP6_PAIRS = {129: 128}
_ICMP6_REQ = {128: 129}

# Zeek TCP endpoint states
INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)

# history bits: letter -> bit (orig); resp letter uses bit << 16
_HBIT = {c: 1 << i for i, c in enumerate("SHADFRGTWIQ^")}
_DBIT = (_HBIT["D"], _HBIT["D"] << 16)
_GBIT = _HBIT["G"]
_ABIT = (_HBIT["A"], _HBIT["A"] << 16)
_SCALED = {"T", "W"}
_NONE = (None, 0)
PROBE_PENDING = "pending"   # flow.probe before the first bytes: probing, no state allocated yet


class Flow:
    """One live flow. Counters per direction are indexed 0 = originator, 1 = responder."""

    __slots__ = ("uid", "key", "rkey", "ts", "last", "proto", "family", "orig", "resp", "orig_p", "resp_p",
                 "c", "seen", "timeout", "hist", "hbits", "scaled", "st", "rs",
                 "analyzer", "ctx", "service", "probe", "done", "truncated", "dirty", "flipped")

    def __init__(self, uid, key, ts, proto, family, orig, orig_p, resp, resp_p):
        self.uid = uid
        self.key = key            # the (src, dst, sport, dport, proto) key as sent by the originator
        self.rkey = key           # ... and as sent by the responder (set by the table)
        self.ts = ts
        self.last = ts            # last packet until the connection closed (duration, like Zeek)
        self.seen = ts            # last packet of all (idle timeouts)
        self.timeout = 0.0        # idle seconds after which the flow ends (set by the table)
        self.proto = proto
        self.family = family
        self.orig = orig
        self.resp = resp
        self.orig_p = orig_p
        self.resp_p = resp_p
        # counters by direction d: packets [d], IP bytes [2 + d], frame bytes [4 + d],
        # payload bytes of UDP/ICMP/others [6 + d] (TCP payload bytes come from sequence numbers)
        self.c = [0, 0, 0, 0, 0, 0, 0, 0]
        self.hist: list[str] = []
        self.hbits = 0
        self.scaled: dict[str, int] | None = None
        self.st = [INACTIVE, INACTIVE]
        self.rs = None            # (Reassembler, Reassembler) for TCP
        self.analyzer = None
        self.ctx = None
        self.service = None
        self.probe = None
        self.done = False         # TCP: closed (FIN both ways or RST)
        self.truncated = False
        self.flipped = False

    def add_hist(self, letter: str, d: int) -> None:
        bit = _HBIT[letter] << (16 * d)
        if not self.hbits & bit:
            self.hbits |= bit
            self.hist.append(letter if d == 0 else letter.lower())

    def add_scaled(self, letter: str, d: int) -> None:
        """T/W: recorded at the 1st, 10th, 100th... occurrence (like Zeek)."""
        k = letter if d == 0 else letter.lower()
        if self.scaled is None:
            self.scaled = {}
        n = self.scaled.get(k, 0) + 1
        self.scaled[k] = n
        if n in (1, 10, 100, 1000, 10000, 100000, 1000000):
            self.hist.append(k)

    def state(self) -> str:
        if self.proto == TCP:
            return _tcp_state(self)
        o, r = self.c[0], self.c[1]
        if o:
            return "SF" if r else "S0"
        return "SHR" if r else "OTH"


def _tcp_state(f: Flow) -> str:
    """Zeek's conn_state for TCP from the two endpoint states."""
    os_, rs_ = f.st
    o_inactive = os_ in (INACTIVE, PARTIAL)
    r_inactive = rs_ in (INACTIVE, PARTIAL)
    if rs_ == RESET:
        osz = f.rs[0].max_end if f.rs else 0
        rsz = f.rs[1].max_end if f.rs else 0
        if os_ in (SYN_SENT, SYN_ACK_SENT) or (os_ == RESET and osz == 0 and rsz == 0):
            return "REJ"
        return "RSTRH" if o_inactive else "RSTR"
    if os_ == RESET:
        if r_inactive:
            h = "".join(f.hist)
            # Zeek: /^?S[^HAFGIQ]*R.*/ - orig sent a SYN then a RST, nothing else in between
            i = 1 if h.startswith("^") else 0
            if h[i:i + 1] == "S":
                j = i + 1
                while j < len(h) and h[j] not in "HAFGIQ":
                    if h[j] == "R":
                        return "RSTOS0"
                    j += 1
            return "OTH"
        return "RSTO"
    if os_ == CLOSED and rs_ == CLOSED:
        return "SF"
    if os_ == CLOSED:
        return "SH" if r_inactive else "S2"
    if rs_ == CLOSED:
        return "SHR" if o_inactive else "S3"
    if os_ == SYN_SENT and rs_ == INACTIVE:
        return "S0"
    if os_ == ESTABLISHED and rs_ == ESTABLISHED:
        return "S1"
    return "OTH"


def _stats_entry(table: dict, key, other, width: int) -> list:
    """A new counter row for ``key``, or the shared ``other`` row once the table holds
    :data:`STATS_KEYS` keys (a scan cannot grow the stats without bound)."""
    if len(table) >= STATS_KEYS:
        key = other
        row = table.get(key)
        if row is not None:
            return row
    row = table[key] = [0] * width
    return row


class FlowTable:
    """The live flows of one run, and the analyzers attached to them."""

    def __init__(self, options: Any, emit: Callable[[Any], None], detector=None,
                 shared: dict[str, Any] | None = None, extractor: Any = None,
                 taps: dict[str, Callable[[FlowContext], Any]] | None = None):
        self.options = options
        caps = options.caps
        self.caps = caps
        self.emit = emit
        self.detector = detector
        self._tunnel_depth: dict[str, int] = {}   # uid -> trans_depth of the CONNECT (see _tunnel)
        self.shared = shared or {}
        self.extractor = extractor
        self.taps = taps or {}          # uid -> factory(ctx): analyzers that replace detection
        self.strict = bool(getattr(options, "strict", False))
        self.table: dict[tuple, tuple[Flow, int]] = {}
        self.nflows = 0
        self.max_flows = int(caps.max_flows)
        self.tcp_timeout = float(caps.flow_idle_timeout)
        self.udp_timeout = float(caps.udp_idle_timeout)
        self.next_sweep = None
        self.evict_candidates: list[Flow] = []
        self.evicted = 0
        self.flows_total = 0
        self.peak_flows = 0
        self.services: dict[str, list[int]] = {}    # service -> [flows, packets, bytes]
        self.transports: dict[str, list[int]] = {}  # tcp/udp/... -> [flows, packets, bytes]
        self.talkers: dict[str, list[int]] = {}     # host -> [packets, bytes]
        self.conversations: dict[tuple, list] = {}  # (a, b) -> [flows, packets, bytes]
        self._callbacks = (self._deliver, self._gap, self._weird)   # bound once, shared by all

    # -- the hot path ------------------------------------------------------------------------
    def packet(self, p, TCP=TCP, UDP=UDP, ACK=ACK, SYN=SYN, PARTIAL=PARTIAL,
               _DBIT=_DBIT, _ABIT=_ABIT) -> None:
        """One decoded packet (the hot path: constants are bound as default arguments)."""
        ts = p.ts
        proto = p.proto
        ent = self.table.get((p.src, p.dst, p.sport, p.dport, proto))
        if ent is None:
            flow, d = self._new(p)
        else:
            flow, d = ent
            if ts - flow.seen >= flow.timeout:
                # idle too long: decided per packet, so that results never depend on when the
                # periodic sweep ran (or on which other flows share this process)
                self._end(flow, flow.last, "closed" if flow.done else "timeout")
                flow, d = self._new(p)
        if proto == TCP:
            flags = p.flags
            rs = flow.rs
            if flags & 0x12 == SYN and 0 <= rs[d].first_seq != p.seq:
                # a SYN (without ACK) whose ISN is not the one this side started with: a new
                # connection on the same 5-tuple (Zeek's and Wireshark's rule; a retransmitted
                # SYN keeps its ISN)
                self._end(flow, flow.last, "reused")
                flow, d = self._new(p)
                rs = flow.rs
            flow.seen = ts
            if ts > flow.last and not flow.done:
                flow.last = ts
            c = flow.c
            c[d] += 1
            c[2 + d] += p.ip_len
            c[4 + d] += p.frame_len
            if p.truncated:
                flow.truncated = True
            plen = p.payload_len
            if flags & 7 or flow.st[d] < PARTIAL:
                self._tcp_flags(flow, d, flags, plen)
            elif plen:
                if not flow.hbits & _DBIT[d]:
                    flow.add_hist("D", d)
            elif flags & ACK and not flow.hbits & _ABIT[d]:
                flow.add_hist("A", d)
            if rs[d].segment(flags, p.seq, p.payload, plen, ts) and plen:
                flow.add_scaled("T", d)
            if flags & ACK:
                peer = rs[1 - d]
                if peer.segs:
                    peer.acked(p.ack, ts)
            if not p.win and not flags & 6:       # zero window (not on SYN or RST)
                flow.add_scaled("W", d)
            return
        flow.seen = ts
        if ts > flow.last:
            flow.last = ts
        c = flow.c
        c[d] += 1
        c[2 + d] += p.ip_len
        c[4 + d] += p.frame_len
        c[6 + d] += p.payload_len
        if p.truncated:
            flow.truncated = True
        if proto == UDP:
            if not flow.hbits & _DBIT[d]:
                flow.add_hist("D", d)
            a = flow.analyzer
            if a is not None:
                try:
                    a.feed(d, p.payload, ts)
                except Exception as e:
                    self._fail(flow, e, ts)
            elif flow.probe is not None:
                self._probe_data(flow, d, p.payload, ts)

    # -- flow creation -----------------------------------------------------------------------
    def _new(self, p) -> tuple[Flow, int]:
        if self.nflows >= self.max_flows:
            self._evict_one(p.ts)
        proto = p.proto
        src, dst, sport, dport = p.src, p.dst, p.sport, p.dport
        flip = False
        if proto == TCP:
            flags = p.flags
            if flags & SYN:
                flip = bool(flags & ACK)
            else:
                flip = self._flip_by_port(sport, dport)
        elif proto == UDP:
            flip = self._flip_by_port(sport, dport)
        elif proto in (ICMP, ICMP6):
            pairs = _ICMP_PAIRS if proto == ICMP else _ICMP6_PAIRS
            flip = sport in pairs
        if flip:
            o, op, r, rp = dst, dport, src, sport
        else:
            o, op, r, rp = src, sport, dst, dport
        ts = p.ts
        uid = make_uid(src, sport, dst, dport, proto, ts)
        if proto in (ICMP, ICMP6):
            # ICMP "ports" are type and code; a request and its reply are one flow
            pairs, reqs = (_ICMP_PAIRS, _ICMP_REQ) if proto == ICMP else (_ICMP6_PAIRS, _ICMP6_REQ)
            t = sport
            if t in pairs:
                req, rep = pairs[t], t
            elif t in reqs:
                req, rep = t, reqs[t]
            else:
                req = rep = t
            op, rp = req, dport
            fwd = (o, r, req, dport, proto)
            rev = (r, o, rep, dport, proto)
        else:
            fwd = (o, r, op, rp, proto)
            rev = (r, o, rp, op, proto)
        flow = Flow(uid, fwd, ts, proto, p.family, o, op, r, rp)
        flow.rkey = rev
        flow.timeout = self.tcp_timeout if proto == TCP else self.udp_timeout
        if flip:
            flow.flipped = True
            flow.hist.append("^")
        table = self.table
        if fwd == rev:      # same address and port both ways (e.g. a host talking to itself)
            table[fwd] = (flow, 0)
        else:
            table[fwd] = (flow, 0)
            table[rev] = (flow, 1)
        self.nflows += 1
        self.flows_total += 1
        if self.nflows > self.peak_flows:
            self.peak_flows = self.nflows
        want = self._attach(flow)
        if proto == TCP:
            cb = self._callbacks
            flow.rs = (Reassembler(flow, 0, self.caps, want, *cb), Reassembler(flow, 1, self.caps, want, *cb))
        if self.next_sweep is None:
            self.next_sweep = ts + SWEEP_INTERVAL
        return table[(src, dst, sport, dport, proto)]

    def _flip_by_port(self, sport: int, dport: int) -> bool:
        det = self.detector
        if det is None:
            s_srv, d_srv = sport < 1024, dport < 1024
        else:
            s_srv, d_srv = det.is_service_port(sport), det.is_service_port(dport)
        return s_srv and not d_srv

    def _attach(self, flow: Flow) -> bool:
        """Choose the analyzer (or start probing). Returns True when the bytes are wanted."""
        transport = _PROTO_NAMES.get(flow.proto)
        if transport not in ("tcp", "udp"):
            return False
        tap = self.taps.get(flow.uid) if self.taps else None
        if tap is not None:
            flow.analyzer = tap(self._ctx(flow, None))
            if self.detector is not None:
                flow.service = self.detector.by_port(transport, flow.orig_p, flow.resp_p)[1]
            return True
        det = self.detector
        if det is None:
            return False
        proto, label = det.by_port(transport, flow.orig_p, flow.resp_p)
        if proto is not None:
            flow.service = proto.name
            return self._start(flow, proto, flow.ts)
        if label is not None:
            flow.service = label
            return False
        flow.service = det.port_label(transport, flow.orig_p, flow.resp_p)
        if not det.probers:
            return False
        flow.probe = PROBE_PENDING     # the probe state is made when the first bytes arrive
        return True

    def _ctx(self, flow: Flow, proto) -> FlowContext:
        return FlowContext(flow.uid, ip_text(flow.orig), flow.orig_p, ip_text(flow.resp), flow.resp_p,
                           _PROTO_NAMES.get(flow.proto, str(flow.proto)), self.emit, self.options,
                           self.shared.get(proto.name) if proto is not None else None,
                           self.extractor)

    def _start(self, flow: Flow, proto, ts: float) -> bool:
        ctx = self._ctx(flow, proto)
        flow.ctx = ctx
        try:
            flow.analyzer = proto.factory(ctx)
        except Exception as e:
            self._fail(flow, e, ts)
            return False
        return True

    # -- analyzer plumbing (called by the reassemblers) -----------------------------------------
    def _deliver(self, flow: Flow, d: int, data: bytes, ts: float) -> None:
        a = flow.analyzer
        if a is not None:
            try:
                a.feed(d, data, ts)
            except Exception as e:
                self._fail(flow, e, ts)
                return
            if getattr(a, "tunnel_rest", None) is not None:
                self._tunnel(flow, a, ts)
        elif flow.probe is not None:
            self._probe_data(flow, d, data, ts)

    def _gap(self, flow: Flow, d: int, n: int, ts: float) -> None:
        if not flow.hbits & (_GBIT << (16 * d)):   # first gap of this direction: one weird
            self._weird(flow, "tcp_content_gap", ts, f"{'originator' if d == 0 else 'responder'} stream: "
                        f"{n} bytes missing at offset {flow.rs[d].next - n if flow.rs else 0}")
        flow.add_hist("G", d)
        a = flow.analyzer
        if a is not None:
            try:
                a.gap(d, n, ts)
            except Exception as e:
                self._fail(flow, e, ts)
        elif flow.probe is not None and flow.probe is not PROBE_PENDING:
            flow.probe.add_gap(d, n, ts)

    def _weird(self, flow: Flow, name: str, ts: float, addl: str = "", source: str = "tcp") -> None:
        self.emit(Weird(ts=ts, uid=flow.uid, name=name, source=source, addl=addl,
                        orig_h=ip_text(flow.orig), orig_p=flow.orig_p, resp_h=ip_text(flow.resp),
                        resp_p=flow.resp_p))

    def _fail(self, flow: Flow, exc: Exception, ts: float) -> None:
        if self.strict:
            raise exc
        self._weird(flow, "analyzer_exception", ts, f"{flow.service}: {type(exc).__name__}: {exc}"[:200],
                    source=flow.service or "analyzer")
        flow.analyzer = None
        flow.probe = None
        if flow.rs is not None:
            flow.rs[0].set_want(False)
            flow.rs[1].set_want(False)

    def _tunnel(self, flow: Flow, a, ts: float) -> None:
        """An HTTP CONNECT succeeded: the rest of the flow is another protocol (Zeek does the same).
        The HTTP analyzer is closed and the bytes after the exchange go to the content probes, HTTP
        excluded (its trans_depth numbering would restart on the same uid); the service becomes
        e.g. 'http,smtp'."""
        rest = a.tunnel_rest
        a.tunnel_rest = None
        try:
            a.close(ts)
        except Exception as e:
            self._fail(flow, e, ts)
            return
        flow.analyzer = None
        det = self.detector
        ps = det.probe_state(_PROTO_NAMES[flow.proto]) if det is not None else None
        if ps is not None and flow.service != "http":
            ps.candidates = [p for p in ps.candidates if p.name != flow.service]
        elif getattr(a, "depth", None) is not None:
            # plain HTTP through the tunnel (curl -p -x http://..., tshark and Zeek parse it too): a new
            # HTTP analyzer whose trans_depth continues the CONNECT's numbering on the same uid
            self._tunnel_depth[flow.uid] = a.depth
        if not ps or not ps.candidates:
            if flow.rs is not None:
                flow.rs[0].set_want(False)
                flow.rs[1].set_want(False)
            return
        flow.probe = ps
        for d in (0, 1):
            if rest[d] and flow.probe is not None and flow.analyzer is None:
                self._probe_data(flow, d, rest[d], ts)

    def _probe_data(self, flow: Flow, d: int, data: bytes, ts: float) -> None:
        ps = flow.probe
        if ps is PROBE_PENDING:
            ps = flow.probe = self.detector.probe_state(_PROTO_NAMES[flow.proto])
        got = ps.add(d, data, ts)
        if got is None:
            return
        flow.probe = None
        if got is False:
            if flow.rs is not None:
                flow.rs[0].set_want(False)
                flow.rs[1].set_want(False)
            return
        if got.name != flow.service:
            flow.service = f"{flow.service},{got.name}" if flow.service == "http" else got.name
        if not self._start(flow, got, ts):
            return
        if self._tunnel_depth:
            depth = self._tunnel_depth.pop(flow.uid, None)
            if depth is not None and got.name == "http" and hasattr(flow.analyzer, "depth"):
                flow.analyzer.depth = depth
        for kind, dd, x, t in ps.events:
            a = flow.analyzer
            if a is None:
                break
            try:
                if kind == 0:
                    a.feed(dd, x, t)
                else:
                    a.gap(dd, x, t)
            except Exception as e:
                self._fail(flow, e, t)

    def _tcp_flags(self, flow: Flow, d: int, flags: int, plen: int) -> None:
        """History letters and Zeek's endpoint state machine for packets that can change state."""
        nflags = (flags & SYN and 1) + (flags & FIN and 1) + (flags & RST and 1)
        if nflags > 1:
            flow.add_hist("I" if flags & FIN and flags & RST else "Q", d)
        elif nflags == 1:
            if flags & SYN:
                flow.add_hist("H" if flags & ACK else "S", d)
            elif flags & FIN:
                flow.add_hist("F", d)
            else:
                flow.add_hist("R", d)
        elif plen:
            flow.add_hist("D", d)
        elif flags & ACK:
            flow.add_hist("A", d)
        st = flow.st
        me = st[d]
        peer = st[1 - d]
        if flags & RST:
            st[d] = RESET
        elif flags & FIN:
            if me != RESET:
                st[d] = CLOSED
        elif flags & SYN:
            if me == INACTIVE:
                st[d] = SYN_ACK_SENT if flags & ACK else SYN_SENT
            elif me == SYN_SENT and flags & ACK:
                st[d] = SYN_ACK_SENT
        elif me == INACTIVE:
            st[d] = PARTIAL
        elif me in (SYN_SENT, SYN_ACK_SENT) and flags & ACK:
            st[d] = ESTABLISHED
            if peer in (SYN_SENT, SYN_ACK_SENT):
                st[1 - d] = ESTABLISHED
        a, b = st
        if (a == CLOSED and b == CLOSED) or a == RESET or b == RESET:
            flow.done = True
            if flow.timeout > CLOSE_DELAY:
                flow.timeout = CLOSE_DELAY

    # -- ending flows ------------------------------------------------------------------------
    def _end(self, flow: Flow, ts: float, reason: str) -> None:
        """Flush, close the analyzer, write the record, drop the flow."""
        table = self.table
        for k in (flow.key, flow.rkey):
            if table.get(k, _NONE)[0] is flow:
                del table[k]
        self.nflows -= 1
        end_ts = flow.last
        if flow.rs is not None:
            flow.rs[0].flush(end_ts)
            flow.rs[1].flush(end_ts)
        if flow.probe is not None:
            flow.probe = None
        a = flow.analyzer
        if a is not None:
            try:
                a.close(end_ts)
            except Exception as e:
                self._fail(flow, e, end_ts)
            flow.analyzer = None
        self.emit(self.record(flow, reason))
        # Reassembler.flow -> flow -> rs is a reference cycle: break it so an ended flow is freed by
        # reference counting at once (with ~100k flows the cyclic GC's passes cost ~30% of a run)
        flow.rs = None

    def record(self, flow: Flow, reason: str) -> FlowRecord:
        c = flow.c
        rs = flow.rs
        if rs is not None:
            r0, r1 = rs
            ob, rb = r0.max_end, r1.max_end
            missed = r0.missed + r1.missed
        else:
            ob, rb = c[6], c[7]
            missed = 0
        transport = _PROTO_NAMES.get(flow.proto) or str(flow.proto)
        opk, rpk, ofr, rfr = c[0], c[1], c[4], c[5]
        npk = opk + rpk
        nfr = ofr + rfr
        service = flow.service
        for stats, k in ((self.services, service or "-"), (self.transports, transport)):
            s = stats.get(k)
            if s is None:
                s = stats[k] = [0, 0, 0]
            s[0] += 1
            s[1] += npk
            s[2] += nfr
        oh, rh = ip_text(flow.orig), ip_text(flow.resp)
        talkers = self.talkers
        for h, spk, sfr, rpk_, rfr_ in ((oh, opk, ofr, rpk, rfr), (rh, rpk, rfr, opk, ofr)):
            t = talkers.get(h) or _stats_entry(talkers, h, OTHER, 4)
            t[0] += spk
            t[1] += sfr
            t[2] += rpk_
            t[3] += rfr_
        ck = (oh, rh) if oh <= rh else (rh, oh)
        convs = self.conversations
        cv = convs.get(ck) or _stats_entry(convs, ck, (OTHER, OTHER), 3)
        cv[0] += 1
        cv[1] += npk
        cv[2] += nfr
        return FlowRecord(
            uid=flow.uid, ts=flow.ts, orig_h=oh, orig_p=flow.orig_p, resp_h=rh, resp_p=flow.resp_p,
            proto=transport, service=service, duration=flow.last - flow.ts,
            orig_bytes=ob, resp_bytes=rb, orig_pkts=opk, resp_pkts=rpk,
            orig_ip_bytes=c[2], resp_ip_bytes=c[3], orig_frame_bytes=ofr,
            resp_frame_bytes=rfr, missed_bytes=missed, state=flow.state(),
            history="".join(flow.hist), ip_version=flow.family, end_reason=reason,
            truncated=flow.truncated)

    def live_flows(self) -> list[Flow]:
        # every flow has exactly one entry of direction 0 (its originator's key)
        return [f for f, d in self.table.values() if d == 0]

    def sweep(self, now: float) -> None:
        """End idle flows and quiet closed TCP flows (called every few seconds of capture time)."""
        self.next_sweep = now + SWEEP_INTERVAL
        ended = []
        for f in self.live_flows():
            if now - f.seen >= f.timeout:
                ended.append((f, "closed" if f.done else "timeout"))
        ended.sort(key=lambda x: (x[0].ts, x[0].uid))
        for f, why in ended:
            self._end(f, f.last, why)

    def _evict_one(self, now: float) -> None:
        """The flow cap is hit: end the least recently seen flow (candidates found in batches)."""
        cands = self.evict_candidates
        while True:
            while cands:
                f, last = cands.pop()
                if f.seen == last and self.table.get(f.key, _NONE)[0] is f:
                    self._weird(f, "flow_cap_evicted", now, f"{self.nflows} live flows (cap {self.max_flows})",
                                source="flows")
                    self.evicted += 1
                    self._end(f, now, "evicted")
                    return
            flows = self.live_flows()
            if not flows:
                return
            k = max(16, len(flows) // 64)
            flows.sort(key=lambda f: f.seen)
            cands.extend((f, f.seen) for f in reversed(flows[:k]))

    def finish(self, now: float | None = None) -> None:
        """End of input at capture time ``now``: every live flow is ended (in order of first
        packet); those idle for their timeout at ``now`` count as timed out."""
        flows = self.live_flows()
        flows.sort(key=lambda f: (f.ts, f.uid))
        for f in flows:
            if f.done:
                why = "closed"
            elif now is not None and now - f.seen >= f.timeout:
                why = "timeout"
            else:
                why = "end"
            self._end(f, f.last, why)
