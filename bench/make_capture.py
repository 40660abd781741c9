"""Benchmark captures: the real loopback samples replicated to N packets with distinct addresses.

Recipe (``python bench/make_capture.py --packets 1000000 -o bench/data/bench-1M.pcap``):

1. The *block* is every capture in ``samples/smtp``, ``samples/http``, ``samples/snmp`` and
   ``samples/snmp-audit`` (made by real programs on loopback: swaks, smtplib, curl against nginx and
   http.server, net-snmp and pysnmp; see each directory's README), one after the other in time
   (each file's own timing is kept, 10 ms between files): about 1200 frames, ~20 s. The
   decompression bomb sample (``http-bomb.pcap``) is left out: see ``EXCLUDE``.
2. Replica ``r`` of the block starts ``r * STEP`` seconds (0.25 s) after the first, so about 70
   replicas overlap in time (a few thousand live flows at any moment, the same all along: the
   concurrency does not grow with the capture's length, only the duration does).
3. In replica ``r`` every IPv4 address is rewritten: the client side of each packet (the side with
   the higher port) becomes ``10.H.L.a`` and the server side ``10.H.L.(128+a)``, where ``H.L`` is
   ``r`` and ``a`` the original last octet (127.0.0.1 -> .1/.129). Every replica therefore has its
   own host pair and its own flows (distinct 5-tuples and flow ids). IPv6 packets (::1) become
   ``fd00::ff:HHLL:a`` / ``fd00::ff:HHLL:(128+a)`` the same way. The IPv4 header checksum is
   recomputed; TCP/UDP checksums are left as they were (they covered the loopback addresses:
   neither we nor tshark verify them by default).
4. All replicas are merged by timestamp (integer microseconds, ties broken by replica and frame
   order) and the first N frames are written as a classic little-endian microsecond pcap.

Deterministic: the same N gives the same bytes. 1M frames take ~10 s to write (struct + bytes
joins, no per-packet parsing beyond the block).
"""

from __future__ import annotations

import argparse
import glob
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SAMPLE_DIRS = ("samples/smtp", "samples/http", "samples/snmp", "samples/snmp-audit")
# Left out of the block: a decompression bomb is hostile input, not traffic. tshark inflates its
# 64 MiB of brotli in every replica (that alone made tshark ~15x slower per packet), while we stop
# at the bomb cap: keeping it would flatter our ratios.
EXCLUDE = ("http-bomb.pcap",)
STEP_US = 250_000            # replica r starts r * STEP_US microseconds after replica 0
GAP_US = 10_000              # between the sample files inside the block
T0_US = 1_700_000_000 * 1_000_000
V6_PREFIX = bytes.fromhex("fd00000000000000000000ff")    # IPv6 replicas: fd00::ff:HHLL:a


def _read_pcap(path: str) -> list[tuple[int, bytes, int]]:
    """(ts_us, frame, wire_len) of a classic pcap (the samples are little-endian, microsecond)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        order, div = "<", 1
    elif magic == b"\xa1\xb2\xc3\xd4":
        order, div = ">", 1
    elif magic == b"\x4d\x3c\xb2\xa1":
        order, div = "<", 1000
    elif magic == b"\xa1\xb2\x3c\x4d":
        order, div = ">", 1000
    else:
        raise SystemExit(f"{path}: not a classic pcap")
    lt = struct.unpack_from(order + "I", data, 20)[0] & 0xFFFF
    if lt != 1:
        raise SystemExit(f"{path}: link type {lt}, the block needs Ethernet")
    hdr = struct.Struct(order + "IIII")
    off = 24
    out = []
    while off + 16 <= len(data):
        sec, frac, incl, orig = hdr.unpack_from(data, off)
        frame = data[off + 16: off + 16 + incl]
        if len(frame) < incl:
            break
        out.append((sec * 1_000_000 + frac // div, frame, orig))
        off += 16 + incl
    return out


def block(root: str = ROOT) -> list[tuple[int, bytes, int]]:
    """The sample block: (offset_us from the block start, frame, wire_len), in time order."""
    files = []
    for d in SAMPLE_DIRS:
        files += sorted(f for f in glob.glob(os.path.join(root, d, "*.pcap"))
                        if os.path.basename(f) not in EXCLUDE)
    if not files:
        raise SystemExit(f"no samples under {root}/samples")
    out = []
    base = 0
    for f in files:
        frames = _read_pcap(f)
        if not frames:
            continue
        t0 = frames[0][0]
        last = 0
        for ts, fr, wl in frames:
            rel = max(0, ts - t0)
            out.append((base + rel, fr, wl))
            last = max(last, rel)
        base += last + GAP_US
    out.sort(key=lambda x: x[0])
    return out


def _sum16(b: bytes) -> int:
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


class _Template:
    """One block frame split around its IPv4 addresses; the rest is copied verbatim."""

    __slots__ = ("off", "head", "tail", "base", "client_is_src", "a_src", "a_dst", "frame", "wl", "v6")

    def __init__(self, off: int, frame: bytes, wl: int):
        self.off = off
        self.frame = frame
        self.wl = wl
        self.head = None
        self.v6 = False
        if len(frame) >= 58 and frame[12:14] == b"\x86\xdd" and frame[14] >> 4 == 6:
            sport = dport = 0
            if frame[20] in (6, 17):
                sport, dport = struct.unpack_from("!HH", frame, 54)
            self.v6 = True
            self.client_is_src = sport > dport
            self.a_src = frame[37] & 127
            self.a_dst = frame[53] & 127
            self.head = frame[:22]
            self.tail = frame[54:]
            self.base = 0
        elif len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[14] >> 4 == 4:
            ihl = (frame[14] & 15) * 4
            if len(frame) >= 14 + ihl and ihl >= 20:
                proto = frame[23]
                sport = dport = 0
                if proto in (6, 17) and len(frame) >= 14 + ihl + 4:
                    sport, dport = struct.unpack_from("!HH", frame, 14 + ihl)
                self.client_is_src = sport > dport   # the higher port is the client's
                self.a_src = frame[29] & 127
                self.a_dst = frame[33] & 127
                self.head = frame[:24]
                self.tail = frame[34:]
                # header sum without checksum and addresses
                hdr = bytearray(frame[14:14 + ihl])
                hdr[10:12] = b"\0\0"
                hdr[12:20] = b"\0" * 8
                self.base = _sum16(bytes(hdr))


def write_capture(path: str, packets: int, root: str = ROOT, verbose: bool = True, hosts: int = 0) -> dict:
    """Write the benchmark capture of ``packets`` frames to ``path``; returns its description.

    ``hosts``: 0 gives every replica its own addresses (the network grows with the capture);
    N > 0 reuses the addresses of replica ``r % N`` (a network of N host pairs seen for longer:
    what a long capture of one site looks like). Keep ``N * 0.25 s`` above the UDP idle timeout
    (60 s: N >= 240) so a 5-tuple comes back only after its flow ended."""
    t_start = time.monotonic()
    blk = [_Template(o, fr, wl) for o, fr, wl in block(root)]
    nb = len(blk)
    replicas = -(-packets // nb)
    # global order: integer key = ts_us << 32 | replica << 11 | index (block < 2048 frames)
    if nb >= 2048 or replicas >= 1 << 21:
        raise SystemExit("block or replica count too large for the sort key")
    offs = [t.off for t in blk]
    keys = []
    ext = keys.extend
    for r in range(replicas):
        base = r * STEP_US
        rk = r << 11
        ext([((base + o) << 32) | rk | i for i, o in enumerate(offs)])
    keys.sort()
    del keys[packets:]
    pack_rec = struct.Struct("<IIII").pack
    pack_h = struct.Struct("!H").pack
    addr_cache: dict[int, tuple] = {}

    def addrs(r: int):
        if hosts:
            r %= hosts
        got = addr_cache.get(r)
        if got is None:
            hi, lo = (r >> 8) & 255, r & 255
            if len(addr_cache) > 4096:
                addr_cache.clear()
            got = addr_cache[r] = (hi, lo, (10 << 8 | hi) + (lo << 8))
        return got

    tmp = path + ".part"
    nbytes = 0
    with open(tmp, "wb", buffering=1 << 22) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        out = []
        for k in keys:
            i = k & 2047
            r = (k >> 11) & 0x1FFFFF
            ts = T0_US + (k >> 32)
            t = blk[i]
            if t.head is None:
                fr = t.frame
            elif t.v6:
                hi, lo, _w = addrs(r)
                ca, sa = t.a_src, t.a_dst
                if not t.client_is_src:
                    ca, sa = sa, ca
                cl = V6_PREFIX + bytes((hi, lo, 0, ca))
                sv = V6_PREFIX + bytes((hi, lo, 0, 128 | sa))
                fr = b"".join((t.head, cl, sv, t.tail) if t.client_is_src else (t.head, sv, cl, t.tail))
            else:
                hi, lo, w = addrs(r)
                ca, sa = t.a_src, t.a_dst
                if not t.client_is_src:
                    ca, sa = sa, ca
                cl = bytes((10, hi, lo, ca))
                sv = bytes((10, hi, lo, 128 | sa))
                s = t.base + 2 * w + ca + (128 | sa)
                s = (s & 0xFFFF) + (s >> 16)
                s = (s & 0xFFFF) + (s >> 16)
                if t.client_is_src:
                    fr = b"".join((t.head, pack_h(~s & 0xFFFF), cl, sv, t.tail))
                else:
                    fr = b"".join((t.head, pack_h(~s & 0xFFFF), sv, cl, t.tail))
            out.append(pack_rec(ts // 1_000_000, ts % 1_000_000, len(fr), t.wl))
            out.append(fr)
            nbytes += len(fr)
            if len(out) >= 8192:
                f.write(b"".join(out))
                out.clear()
        f.write(b"".join(out))
    os.replace(tmp, path)
    desc = {"path": path, "packets": len(keys), "replicas": replicas, "block_frames": nb,
            "bytes": os.path.getsize(path), "frame_bytes": nbytes,
            "seconds": round(time.monotonic() - t_start, 1)}
    if verbose:
        print(f"wrote {path}: {desc['packets']:,} frames, {desc['bytes'] / 1e6:,.0f} MB, "
              f"{replicas} replicas of {nb} frames, in {desc['seconds']} s", file=sys.stderr)
    return desc


def ensure(packets: int, directory: str | None = None, hosts: int = 0) -> str:
    """The benchmark capture of ``packets`` frames in bench/data/ (generated when absent);
    ``hosts``: see :func:`write_capture`."""
    directory = directory or os.path.join(HERE, "data")
    os.makedirs(directory, exist_ok=True)
    label = f"{packets // 1_000_000}M" if packets % 1_000_000 == 0 else f"{packets // 1000}k" \
        if packets % 1000 == 0 else str(packets)
    path = os.path.join(directory, f"bench-{label}.pcap" if not hosts else f"bench-{label}-h{hosts}.pcap")
    if not os.path.exists(path):
        write_capture(path, packets, hosts=hosts)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("-o", "--output", help="output file (default bench/data/bench-<N>.pcap)")
    ap.add_argument("--hosts", type=int, default=0,
                    help="reuse the addresses of this many replicas (0: distinct addresses per replica)")
    args = ap.parse_args(argv)
    if args.output or args.hosts:
        write_capture(args.output or os.path.join(HERE, "data", f"bench-{args.packets}-h{args.hosts}.pcap"),
                      args.packets, hosts=args.hosts)
    else:
        print(ensure(args.packets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
