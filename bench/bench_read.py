"""Micro-benchmark of the capture reader and the packet decoder (not a test).

    python bench/bench_read.py FILE [FILE...]          # read_frames, then read + decode
    python bench/bench_read.py --make OUT.pcap [-n 1000000] [--seed CAPTURE]

``--make`` writes a classic pcap of N packets by replaying the frames of a real capture (default:
the shared corpus' 1000-requests HTTP capture) with the IPv4/IPv6 addresses rewritten per copy, so
that the copies are distinct flows. Reports frames/s and MB/s for: the raw reader
(``read_frames``), read + ``PacketDecoder.decode``, and, for reference, dpkt's
``pcap.Reader`` loop.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dissect.decode import PacketDecoder  # noqa: E402
from dissect.io import read_frames  # noqa: E402

DEFAULT_SEED = (Path(__file__).resolve().parents[2] / "shared" / "corpus" / "captures" / "zeek" / "http"
                / "1000-requests-one-dropped-response.pcap")


def make(out: str, n: int, seed: str) -> None:
    frames = [(ts, data, wl) for ts, lt, data, wl in read_frames([seed]) if lt == 1]
    t0 = frames[0][0]
    rec = struct.Struct("<IIII")
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        written = 0
        copy = 0
        span = frames[-1][0] - t0 + 0.001
        while written < n:
            # distinct addresses per copy: rewrite the third and fourth octet of both IPv4 addresses
            a, b = (copy >> 8) & 0xFF, copy & 0xFF
            for ts, data, wl in frames:
                if written >= n:
                    break
                ab = bytes((a, b))
                if len(data) >= 34 and data[12:14] == b"\x08\x00":
                    data = data[:28] + ab + data[30:32] + ab + data[34:]
                elif len(data) >= 54 and data[12:14] == b"\x86\xdd":
                    data = data[:36] + ab + data[38:52] + ab + data[54:]
                t = ts + copy * span
                sec = int(t)
                usec = int(round((t - sec) * 1e6))
                if usec >= 1000000:
                    sec, usec = sec + 1, usec - 1000000
                f.write(rec.pack(sec, usec, len(data), wl))
                f.write(data)
                written += 1
            copy += 1
    print(f"wrote {out}: {n} packets")


def _head(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(4)


def bench(paths: list[str]) -> None:
    size = sum(Path(p).stat().st_size for p in paths if p != "-")
    # 1. reader only
    t = time.perf_counter()
    c = time.process_time()
    n = 0
    for _fr in read_frames(paths):
        n += 1
    dt = time.perf_counter() - t
    dc = time.process_time() - c
    print(f"read_frames          {n:>9} frames {dt:7.3f} s  {n / dt / 1e3:8.0f} kframes/s  {size / dt / 1e6:6.0f} MB/s"
          f"  (CPU {dc:.3f} s)")
    # 2. read + decode
    dec = PacketDecoder()
    decode = dec.decode
    t = time.perf_counter()
    c = time.process_time()
    n = k = 0
    for ts, lt, data, wl in read_frames(paths):
        n += 1
        if decode(ts, lt, data, wl) is not None:
            k += 1
    dt = time.perf_counter() - t
    dc = time.process_time() - c
    print(f"read+decode          {n:>9} frames {dt:7.3f} s  {n / dt / 1e3:8.0f} kframes/s  {size / dt / 1e6:6.0f} MB/s"
          f"  (CPU {dc:.3f} s; {k} packets)")
    t_decode = dt
    # 3. dpkt's reader, for reference
    try:
        import dpkt
    except ImportError:  # pragma: no cover
        return
    if len(paths) == 1 and _head(paths[0]) in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):
        with open(paths[0], "rb") as f:
            try:
                r = dpkt.pcap.Reader(f)
            except ValueError:
                return
            t = time.perf_counter()
            c = time.process_time()
            n = 0
            for _ts, _buf in r:
                n += 1
            dt = time.perf_counter() - t
            dc = time.process_time() - c
        print(f"dpkt pcap.Reader     {n:>9} frames {dt:7.3f} s  {n / dt / 1e3:8.0f} kframes/s"
              f"  (CPU {dc:.3f} s; our read+decode / dpkt's bare reader loop = {t_decode / dt:.2f})")
    import resource
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--make", metavar="OUT")
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--seed", default=str(DEFAULT_SEED))
    a = ap.parse_args(argv)
    if a.make:
        make(a.make, a.n, a.seed)
    if a.files:
        bench(a.files)


if __name__ == "__main__":
    main()
