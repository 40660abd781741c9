"""Classic pcap (libpcap) record walker: both byte orders, micro/nanosecond and Kuznetzov's
"modified" format.

Why not ``dpkt.pcap.Reader``: it builds a header object per record (about 5 µs per packet, see
issue 8), reads the file with one small ``read`` per record (slow on files, and on pipes it
cannot tell a cut record from a slow writer), raises on a truncated last record instead of
keeping what came before, and does not know the modified-pcap magic. Here the file is read in
large chunks (16 MB; the partial record at the end of a chunk is carried over) and record
headers are unpacked with one precompiled ``struct.Struct.unpack_from`` each; a frame costs one
unpack, one slice and one tuple.

Run ``python -m dissect.io --bench FILE`` for a quick read-only throughput figure (see
``bench/bench_read.py`` for read + decode).
"""

from __future__ import annotations

import struct
from math import inf

from dissect.io.stream import CaptureInfo, Source, refill

__all__ = ["walk_pcap", "MAX_RECORD"]

#: largest record we accept when the snap length does not say more (Wireshark's limit)
MAX_RECORD = 262144
#: hard upper bound, whatever the header claims (a hostile snaplen cannot make us buffer more)
HARD_MAX_RECORD = 64 << 20

_MAGIC = {
    # first 4 bytes -> (byte order, frac divisor, record header length, nanosecond)
    b"\xd4\xc3\xb2\xa1": ("<", 1000000, 16, False),
    b"\xa1\xb2\xc3\xd4": (">", 1000000, 16, False),
    b"\x4d\x3c\xb2\xa1": ("<", 1000000000, 16, True),
    b"\xa1\xb2\x3c\x4d": (">", 1000000000, 16, True),
    b"\x34\xcd\xb2\xa1": ("<", 1000000, 24, False),
    b"\xa1\xb2\xcd\x34": (">", 1000000, 24, False),
}


def walk_pcap(src: Source, buf: bytes, info: CaptureInfo, weird):
    """Yield ``(ts, linktype, frame, wire_len)`` for each record of a classic pcap stream.

    ``buf`` holds the first bytes already read (at least the 24-byte file header).
    ``weird(ts, name, addl)`` reports capture-level anomalies.
    """
    order, div, hlen, nano = _MAGIC[buf[:4]]
    vmaj, vmin, _zone, _sigfigs, snaplen, ltfield = struct.unpack_from(order + "HHiIII", buf, 4)
    linktype = ltfield & 0xFFFF          # upper bits: FCS information (ignored: IP lengths trim it)
    info.format = "pcap"
    info.version = f"{vmaj}.{vmin}"
    info.snaplen = snaplen
    info.nanosecond = nano
    info.byte_order = "little" if order == "<" else "big"
    info.linktypes.add(linktype)
    maxrec = min(max(snaplen, MAX_RECORD), HARD_MAX_RECORD)
    unpack = struct.Struct(order + "IIII").unpack_from
    if hlen == 24:
        # The modified magic is shared by Kuznetzov's patch (24-byte records) and SuSE 6.3's
        # variant (28 bytes): pick the size with which the first records chain up plausibly.
        if len(buf) < 1 << 16:
            buf += src.read_at_least((1 << 16) - len(buf))
        hlen = max((24, 28), key=lambda h: _plausible(buf, h, unpack, maxrec))
    read = src.read
    chunk = src.chunk
    off = 24
    n = len(buf)
    packets = nbytes = 0
    tmin = inf
    tmax = -inf
    ts = 0.0
    span = hlen + maxrec        # a record is at most this long
    pending = None              # the new chunk, while records straddling its start are decoded
    base = 0                    # ... from a copy of the old tail (this long) + its first bytes
    shift = 0                   # offsets in error messages count from the old tail's start
    try:
        while True:
            need = hlen
            while off + hlen <= n:
                sec, frac, incl, orig = unpack(buf, off)
                if incl > maxrec:
                    info.error = (f"record {info.packets + packets + 1} at offset ~{off + shift}: captured length "
                                  f"{incl} is impossible (limit {maxrec}); reading stopped")
                    info.truncated = True
                    weird(ts, "capture_bad_record", f"{src.name}: {info.error}")
                    return
                start = off + hlen
                end = start + incl
                if end > n:
                    need = end - off
                    break
                ts = sec + frac / div
                if ts < tmin:
                    tmin = ts
                if ts > tmax:
                    tmax = ts
                packets += 1
                nbytes += orig
                yield (ts, linktype, buf[start:end], orig)
                off = end
            if pending is not None:
                # done with the records that straddled the chunk boundary: on in the chunk itself
                off -= base
                shift = base
                buf = pending
                pending = None
                n = len(buf)
                continue
            # The rest of the buffer is a partial record: flush the counters, read on.
            info._add(packets, nbytes, tmin, tmax)
            packets = nbytes = 0
            tmin = inf
            tmax = -inf
            rest = buf[off:]
            base = n - off
            c = read(chunk if need - base < chunk else need - base)
            off = shift = 0
            if len(c) > span:
                # The partial record ends inside the new chunk: decode it (and the next ones) from
                # the tail plus the chunk's first bytes, then go on in the chunk itself (no copy of
                # the whole chunk).
                if base:
                    buf = rest + c[:span]
                    pending = c
                else:
                    buf = c
                n = len(buf)
                continue
            buf, complete = refill(rest + c, 0, need, read, chunk) if c else (rest, False)
            n = len(buf)
            if not complete:           # end of input
                if n:
                    info.truncated = True
                    what = "record header" if n < hlen else "record"
                    why = f" ({src.error})" if src.error else ""
                    info.error = info.error or f"file ends inside a {what} ({n} bytes left){why}"
                    weird(ts, "capture_truncated",
                          f"{src.name}: last {what} cut short ({n} bytes left) after "
                          f"{info.packets} frames{why}")
                elif src.error:
                    info.truncated = True
                    info.error = src.error
                    weird(ts, "capture_truncated", f"{src.name}: {src.error} after {info.packets} frames")
                return
    finally:
        info._add(packets, nbytes, tmin, tmax)


def _plausible(buf: bytes, hlen: int, unpack, maxrec: int, records: int = 8) -> int:
    """How many of the first ``records`` records chain up with header length ``hlen``."""
    off = 24
    good = 0
    while good < records and off + hlen <= len(buf):
        _sec, frac, incl, orig = unpack(buf, off)
        if incl > maxrec or frac >= 1000000 or incl > orig or off + hlen + incl > len(buf):
            break
        good += 1
        off += hlen + incl
    if off == len(buf):
        good += records             # exactly at the end of the data: a perfect chain
    return good
