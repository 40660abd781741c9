"""Helpers for the SMTP tests (no tests here): a tiny stand-alone TCP stream extractor used to
feed the analyzer directly (independent of the flow table), and a runner."""

from __future__ import annotations

from pathlib import Path

import dpkt

from dissect.analyzer import ORIG, RESP, FlowContext
from dissect.options import Options

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
SAMPLES = REPO / "samples" / "smtp"


def _ip_tcp(buf: bytes, linktype: int):
    try:
        if linktype == 1:
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
        elif linktype == 0 or linktype == 108:  # null/loopback
            ip = dpkt.ip.IP(buf[4:]) if buf[4] >> 4 == 4 else dpkt.ip6.IP6(buf[4:])
        elif linktype == 113:
            sll = dpkt.sll.SLL(buf)
            ip = sll.data
        elif linktype in (101, 12, 14):
            ip = dpkt.ip.IP(buf) if buf[0] >> 4 == 4 else dpkt.ip6.IP6(buf)
        else:
            return None
    except Exception:
        return None
    if not isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
        return None
    tcp = ip.data
    if not isinstance(tcp, dpkt.tcp.TCP):
        return None
    import socket
    fam = socket.AF_INET if isinstance(ip, dpkt.ip.IP) else socket.AF_INET6
    return socket.inet_ntop(fam, ip.src), socket.inet_ntop(fam, ip.dst), tcp


def _safe_iter(rd):
    it = iter(rd)
    while True:
        try:
            yield next(it)
        except StopIteration:
            return
        except Exception:  # truncated capture: keep what was read
            return


def tcp_events(path) -> dict:
    """{(client, cport, server, sport): [(direction, bytes | int (gap), ts), ...]} in capture order.

    The originator is the SYN sender, or else the sender of the first packet.
    """
    flows: dict = {}
    with open(path, "rb") as f:
        try:
            rd = dpkt.pcap.Reader(f)
        except ValueError:
            f.seek(0)
            rd = dpkt.pcapng.Reader(f)
        lt = rd.datalink()
        for ts, buf in _safe_iter(rd):
            got = _ip_tcp(buf, lt)
            if got is None:
                continue
            src, dst, tcp = got
            a, b = (src, tcp.sport), (dst, tcp.dport)
            key = (a, b) if (a, b) in flows else ((b, a) if (b, a) in flows else None)
            if key is None:
                if tcp.flags & dpkt.tcp.TH_SYN and tcp.flags & dpkt.tcp.TH_ACK:
                    key = (b, a)
                else:
                    key = (a, b)
                flows[key] = {"next": [None, None], "ooo": [{}, {}], "ev": []}
            st = flows[key]
            d = ORIG if (a, b) == key else RESP
            seq = tcp.seq
            if tcp.flags & dpkt.tcp.TH_SYN:
                st["next"][d] = (seq + 1) & 0xFFFFFFFF
                continue
            data = bytes(tcp.data)
            if not data:
                continue
            nxt = st["next"][d]
            if nxt is None:
                nxt = seq
            off = (seq - nxt) & 0xFFFFFFFF
            if off >= 1 << 31:  # old data
                skip = (nxt - seq) & 0xFFFFFFFF
                if skip >= len(data):
                    continue
                data, seq, off = data[skip:], nxt, 0
            if off > 0:
                st["ooo"][d][seq] = data
                st["next"][d] = nxt
                continue
            st["ev"].append((d, data, ts))
            nxt = (seq + len(data)) & 0xFFFFFFFF
            ooo = st["ooo"][d]
            while nxt in ooo:
                more = ooo.pop(nxt)
                st["ev"].append((d, more, ts))
                nxt = (nxt + len(more)) & 0xFFFFFFFF
            st["next"][d] = nxt
        for key, st in flows.items():
            for d in (ORIG, RESP):
                ooo = st["ooo"][d]
                nxt = st["next"][d]
                for seq in sorted(ooo, key=lambda s: (s - nxt) & 0xFFFFFFFF):
                    data = ooo[seq]
                    off = (seq - nxt) & 0xFFFFFFFF
                    if off >= 1 << 31:
                        continue
                    if off:
                        st["ev"].append((d, off, st["ev"][-1][2] if st["ev"] else 0.0))
                    st["ev"].append((d, data, st["ev"][-1][2] if st["ev"] else 0.0))
                    nxt = (seq + len(data)) & 0xFFFFFFFF
    return {(k[0][0], k[0][1], k[1][0], k[1][1]): v["ev"] for k, v in flows.items()}


def run_events(events, *, uid="Ctest", orig=("10.0.0.1", 40000), resp=("10.0.0.2", 25),
               options: Options | None = None) -> list:
    from dissect.smtp import SmtpAnalyzer

    sink: list = []
    ctx = FlowContext.for_test(sink, uid=uid, orig=orig, resp=resp,
                               options=options or Options(strict=True, credentials=True))
    an = SmtpAnalyzer(ctx)
    last = 0.0
    for d, data, ts in events:
        last = ts
        if isinstance(data, int):
            an.gap(d, data, ts)
        else:
            an.feed(d, data, ts)
    an.close(last)
    return sink


def run_pcap(path, *, options: Options | None = None, ports=None) -> list:
    """All records of all TCP flows of a capture (flows on ``ports`` if given), uids C0, C1..."""
    out: list = []
    for i, (k, ev) in enumerate(tcp_events(path).items()):
        if ports is not None and k[3] not in ports:
            continue
        out += run_events(ev, uid="C%d" % i, orig=(k[0], k[1]), resp=(k[2], k[3]), options=options)
    return out


def by_table(records) -> dict:
    out: dict = {}
    for r in records:
        out.setdefault(r.__table__, []).append(r)
    return out
