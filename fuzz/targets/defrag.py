"""IP fragment reassembly: any fragment sequence (overlaps, duplicates, beyond-the-end data,
too-big datagrams) completes or drops datagrams with weirds; buffered bytes stay under the cap.

Input: records of (1 byte: key index 0-3 / more flag / timestamp step, 2 bytes offset in 8-octet
units, 1 byte length, data)."""

from __future__ import annotations

import struct

INSTRUMENT = ("dissect.defrag",)


class _Caps:
    frag_timeout = 10.0
    frag_pending = 3
    frag_bytes = 70_000


def target(data: bytes) -> None:
    from dissect.defrag import MAX_DATAGRAM, Defragmenter

    weirds: list = []
    d = Defragmenter(_Caps, lambda ts, name, addl, key: weirds.append(name))
    i, n, ts = 0, len(data), 0.0
    while i + 4 <= n:
        h, off8, size = struct.unpack_from("!BHB", data, i)
        i += 4
        chunk = data[i:i + size] * (1 + (h >> 6))     # cheap way to reach big datagrams
        i += size
        ts += (h >> 3) & 7
        key = (4, b"\x01\x02\x03\x04", b"\x05\x06\x07\x08", 17, h & 3)
        got = d.add(ts, key, off8 * 8, bool(h & 4), chunk, MAX_DATAGRAM - 8, meta=h)
        if got is not None:
            payload, _meta = got
            assert isinstance(payload, bytes) and len(payload) <= MAX_DATAGRAM - 8
        assert d.pending <= _Caps.frag_pending
        assert d._bytes <= max(MAX_DATAGRAM, _Caps.frag_bytes)
        assert d._bytes == sum(x.size for x in d._pending.values())
        for x in d._pending.values():
            assert sum(map(len, x.pieces)) == x.have == x.size
            assert x.starts == sorted(x.starts)
    d.expire(ts + 5)
    d.flush(ts + 100)
    assert d.pending == 0 and d._bytes == 0


def seeds() -> list[bytes]:
    def rec(key, off, more, data, step=0):
        return struct.pack("!BHB", key | (4 if more else 0) | (step << 3), off // 8, len(data)) + data
    a = bytes(range(64))
    return [
        rec(0, 0, True, a[:16]) + rec(0, 16, True, a[16:32]) + rec(0, 32, False, a[32:]),
        rec(1, 32, False, a[:8]) + rec(1, 0, True, a[:32]) + rec(1, 8, True, b"x" * 16) + rec(1, 24, True, a[:16]),
        rec(2, 0, True, a) + rec(3, 0, True, a, 7) + rec(2, 64, False, a) + rec(3, 8, False, a[:8]),
    ]
