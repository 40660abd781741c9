"""Link layer -> IPv4/IPv6 (extension headers, fragments) -> TCP/UDP/ICMP decoding of single frames.

Input: byte 0 picks the link type, then frames as (2-byte length, bytes); byte 1 bit 0 makes each
frame look snap-length truncated (wire_len larger than captured)."""

from __future__ import annotations

import struct

from _common import captures, frames_of

INSTRUMENT = ("dissect.decode", "dissect.defrag")

LINKTYPES = (1, 0, 108, 113, 276, 12, 14, 101, 228, 229, 9, 50, 147)


def target(data: bytes) -> None:
    from dissect.decode import PacketDecoder
    from dissect.options import Caps
    from dissect.packet import Packet

    if len(data) < 2:
        return
    lt = LINKTYPES[data[0] % len(LINKTYPES)]
    trunc = data[1] & 1
    dec = PacketDecoder(Caps(frag_pending=4, frag_bytes=1 << 16, frag_timeout=5.0), lambda w: None)
    i, n, ts = 2, len(data), 0.0
    while i + 2 <= n:
        size = struct.unpack_from("!H", data, i)[0]
        frame = data[i + 2:i + 2 + size]
        i += 2 + size
        ts += 1.0
        p = dec.decode(ts, lt, frame, len(frame) + (100 if trunc else 0))
        if p is not None:
            assert isinstance(p, Packet)
            assert p.family in (4, 6) and len(p.src) == len(p.dst) == (4 if p.family == 4 else 16)
            assert 0 <= p.sport <= 0xFFFF and 0 <= p.dport <= 0xFFFF
            assert isinstance(p.payload, bytes) and p.payload_len >= 0
    dec.flush(ts)


def seeds() -> list[bytes]:
    out = []
    for p in captures("*/*.pcap", corpus_globs=("*frag*.pcap", "*ipv6*.pcap", "*sll*.pcap", "*vlan*.pcap",
                                                 "*mpls*.pcap", "*pppoe*.pcap")):
        frs = frames_of(p, 16)
        if not frs:
            continue
        lt = frs[0][1]
        if lt not in LINKTYPES:
            continue
        b = bytearray([LINKTYPES.index(lt), 0])
        for _ts, _lt, frame, _wl in frs:
            frame = frame[:2000]
            b += struct.pack("!H", len(frame)) + frame
        out.append(bytes(b))
    return out
