"""TCP reassembly from a packet sequence decoded from the fuzz bytes.

Byte 0: mode. Even: one direction's :class:`dissect.tcp.Reassembler` alone, with invariants checked
after every segment (delivered bytes are contiguous, delivered + gaps == next offset, buffers under
the caps, and, unless a segment carried different bytes for the same sequence numbers, every
delivered byte is the byte first sent for it). Odd: whole packets through the flow table
(``Pipeline.feed_packet``, strict) on the SMTP/HTTP/SNMP ports, so analyzers get the reassembled
stream, gaps and closes.

Then records of 5 bytes: flags byte (bit 0 direction, bits 1-3 SYN/FIN/RST, bit 4 corrupt/ack,
bit 5 truncated), 2-byte signed sequence delta (from the end of the last segment of that
direction), 1-byte payload length, 1-byte ack delta.
"""

from __future__ import annotations

import struct

INSTRUMENT = ("dissect.tcp", "dissect.flows", "dissect.pipeline", "dissect.detect")

L = 1 << 16
PAT = bytes((i * 131 + (i >> 8) * 7) & 0xFF for i in range(L)) * 2


class _Caps:
    tcp_ooo_bytes = 2048
    tcp_ooo_segments = 8


def _records(data: bytes):
    i, n = 1, len(data)
    while i + 5 <= n:
        f, delta, size, ackd = struct.unpack_from("!BhBB", data, i)
        i += 5
        yield f, delta, size, ackd


def _reassembler(data: bytes) -> None:
    from dissect.packet import FIN, RST, SYN
    from dissect.tcp import Reassembler

    got: list = []
    state = {"pos": 0, "gaps": 0, "corrupt": False}

    def out(flow, d, chunk, ts):
        assert chunk, "empty delivery"
        got.append((state["pos"], bytes(chunk)))
        state["pos"] += len(chunk)

    def gap_out(flow, d, n, ts):
        assert n > 0, n
        state["pos"] += n
        state["gaps"] += n

    r = Reassembler(None, 0, _Caps, True, out, gap_out, lambda *a: None)
    seq = 1000 + (data[0] << 24 if data else 0)       # lets the fuzzer place wraparound
    for f, delta, size, ackd in _records(data):
        flags = (SYN if f & 2 else 0) | (FIN if f & 4 else 0) | (RST if f & 8 else 0)
        s = (seq + delta) & 0xFFFFFFFF
        o = (s + 1) % L if flags & SYN else s % L      # a SYN's data starts after the SYN
        payload = PAT[o:o + size]
        if f & 16 and size:
            payload = bytes(b ^ 0x55 for b in payload)
            state["corrupt"] = True
        plen = size
        if f & 32 and size:
            payload = payload[:size // 2]           # snaplen cut
        r.segment(flags, s, payload, plen, 1.0)
        seq = (s + size + (1 if flags & SYN else 0)) & 0xFFFFFFFF
        if f & 1:
            r.acked((seq - ackd * 8) & 0xFFFFFFFF, 1.0)
        assert state["pos"] == r.next, (state["pos"], r.next)
        assert r.seg_bytes == sum(e - s0 for s0, e, _ in r.segs)
        assert r.seg_bytes <= _Caps.tcp_ooo_bytes and len(r.segs) <= _Caps.tcp_ooo_segments
        assert all(a[1] <= b[0] for a, b in zip(r.segs, r.segs[1:])), "overlapping buffer"
    r.flush(2.0)
    assert state["pos"] == r.next and not r.segs
    assert r.missed == state["gaps"]
    if not state["corrupt"] and r.base >= 0:
        for off, chunk in got:
            s = (r.base + off) % L
            assert chunk == PAT[s:s + len(chunk)], ("wrong bytes delivered at", off)


def _flows(data: bytes) -> None:
    from dissect.options import Caps, Options
    from dissect.packet import ACK, FIN, RST, SYN, Packet
    from dissect.pipeline import Pipeline

    port = (25, 80, 161, 8080)[(data[0] >> 1) & 3]
    opts = Options(strict=True, caps=Caps(tcp_ooo_bytes=4096, tcp_ooo_segments=16, line_length=256,
                                          header_bytes=2048, mime_parts=50))
    pl = Pipeline(opts)
    a, b = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"
    seqs = [5000, 90000]
    payload_src = data[1:]
    k = 0
    ts = 100.0
    for f, delta, size, ackd in _records(data):
        d = f & 1
        flags = (SYN if f & 2 else 0) | (FIN if f & 4 else 0) | (RST if f & 8 else 0) | (ACK if f & 16 else 0)
        s = (seqs[d] + delta) & 0xFFFFFFFF
        payload = payload_src[k:k + size]
        k = (k + size) % max(1, len(payload_src))
        plen = size if f & 32 else len(payload)
        seqs[d] = (s + plen + (1 if flags & SYN else 0)) & 0xFFFFFFFF
        src, dst, sp, dp = (a, b, 40000, port) if d == 0 else (b, a, port, 40000)
        ts += 0.001 * ackd
        pl.feed_packet(Packet(ts, 4, src, dst, 6, sp, dp, flags, s, (seqs[1 - d] - ackd) & 0xFFFFFFFF, 1000,
                              payload, plen, 40 + plen, 54 + plen, plen != len(payload)))
    an = pl.finish()
    for r in an.records.get("flows", []):
        assert r.orig_bytes is None or r.orig_bytes >= 0


def target(data: bytes) -> None:
    if not data:
        return
    if data[0] & 1:
        _flows(data)
    else:
        _reassembler(data)


def seeds() -> list[bytes]:
    def rec(f, delta, size, ackd=0):
        return struct.pack("!BhBB", f, delta, size, ackd)
    inorder = b"".join(rec(0, 0, 100) for _ in range(5))
    ooo = rec(0, 0, 10) + rec(0, 50, 20) + rec(0, -80, 50) + rec(1, 0, 10, 3) + rec(4, 0, 5)
    syn = rec(2, 0, 0) + rec(3, 0, 0) + rec(0, 0, 30) + rec(1, 0, 0) + rec(16, -30, 30) + rec(32, 0, 60)
    return [b"\x00" + inorder, b"\x00" + ooo, b"\xff" + syn, b"\x01" + syn + ooo, b"\x03" + inorder + ooo]
