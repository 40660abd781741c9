"""Test helper for the SNMP tests: run the SNMP analyzer over a capture.

Uses ``dissect.pipeline.analyze`` when it exists; otherwise (early in the project) reads the
capture with dpkt and feeds UDP datagrams / in-order TCP payloads to one analyzer per flow.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
SAMPLES = REPO / "samples" / "snmp"


def _ip_of(buf: bytes, linktype: int):
    import dpkt

    if linktype == 1:
        pkt = dpkt.ethernet.Ethernet(buf).data
    elif linktype == 113:
        pkt = dpkt.sll.SLL(buf).data
    elif linktype == 276:
        pkt = dpkt.sll2.SLL2(buf).data
    elif linktype in (0, 108):
        pkt = dpkt.loopback.Loopback(buf).data
    elif linktype in (101, 12, 14):
        pkt = dpkt.ip.IP(buf) if buf[0] >> 4 == 4 else dpkt.ip6.IP6(buf)
    else:
        return None
    if isinstance(pkt, (dpkt.ip.IP, dpkt.ip6.IP6)):
        return pkt
    return None


def read_packets(path):
    """[(ts, src, sport, dst, dport, proto, payload)] of the UDP/TCP packets of a capture."""
    import dpkt

    out = []
    with open(path, "rb") as f:
        try:
            rd = dpkt.pcap.Reader(f)
        except ValueError:
            f.seek(0)
            rd = dpkt.pcapng.Reader(f)
        lt = rd.datalink()
        for ts, buf in rd:
            try:
                ip = _ip_of(buf, lt)
            except Exception:
                continue
            if ip is None:
                continue
            t = ip.data
            fam = socket.AF_INET if isinstance(ip, dpkt.ip.IP) else socket.AF_INET6
            src = socket.inet_ntop(fam, ip.src)
            dst = socket.inet_ntop(fam, ip.dst)
            if isinstance(t, dpkt.udp.UDP):
                out.append((float(ts), src, t.sport, dst, t.dport, "udp", bytes(t.data), None))
            elif isinstance(t, dpkt.tcp.TCP):
                out.append((float(ts), src, t.sport, dst, t.dport, "tcp", bytes(t.data), (t.seq, t.flags)))
    return out


def run_dpkt(path, options=None, shared=None):
    """Records (dict table -> list) and the shared state after running the SNMP analyzer."""
    from dissect.analyzer import FlowContext
    from dissect.options import Options
    from dissect.snmp.analyzer import SnmpAnalyzer, SnmpShared

    options = options or Options(strict=True)
    shared = shared or SnmpShared(options)
    sink: list = []
    flows = {}
    n = 0
    for ts, src, sp, dst, dp, proto, payload, tcpinfo in read_packets(path):
        k1, k2 = (proto, src, sp, dst, dp), (proto, dst, dp, src, sp)
        if k1 in flows:
            an, direction, st = flows[k1][0], 0, flows[k1][1]
        elif k2 in flows:
            an, direction, st = flows[k2][0], 1, flows[k2][1]
        else:
            if proto == "udp" and not payload:
                continue
            n += 1
            ctx = FlowContext(f"F{n}", src, sp, dst, dp, proto, sink.append, options, shared)
            an = SnmpAnalyzer(ctx)
            st = {0: None, 1: None}
            flows[k1] = (an, st)
            direction = 0
        if proto == "udp":
            an.feed(direction, payload, ts)
            continue
        seq, flags = tcpinfo
        nxt = st[direction]
        if flags & 0x02:  # SYN
            st[direction] = (seq + 1) & 0xFFFFFFFF
            continue
        if not payload:
            continue
        if nxt is None:
            nxt = seq
        if seq != nxt:  # retransmission (loopback captures have no loss)
            continue
        st[direction] = (seq + len(payload)) & 0xFFFFFFFF
        an.feed(direction, payload, ts)
    last = 0.0
    for an, _st in {id(v[0]): v for v in flows.values()}.values():
        an.close(last)
    tables: dict[str, list] = {}
    for r in sink:
        tables.setdefault(r.__table__, []).append(r)
    return tables, shared


def run(path, options=None):
    return run_dpkt(path, options)[0]
