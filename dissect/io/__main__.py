"""``python -m dissect.io --bench FILE...``: read-only throughput of the capture reader (not a test).

``bench/bench_read.py`` measures read + decode and makes 1M-packet benchmark captures.
"""

from __future__ import annotations

import argparse
import time

from dissect.io import read_frames


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m dissect.io", description="capture reader throughput")
    ap.add_argument("--bench", required=True, metavar="FILE", nargs="+")
    a = ap.parse_args(argv)
    infos: list = []
    t = time.perf_counter()
    n = b = 0
    for _ts, _lt, data, _wl in read_frames(a.bench, infos):
        n += 1
        b += len(data)
    dt = time.perf_counter() - t
    print(f"{n} frames, {b / 1e6:.1f} MB captured in {dt:.3f} s: {n / dt / 1e6:.2f} M frames/s, "
          f"{b / dt / 1e6:.0f} MB/s")
    for i in infos:
        print(f"  {i.path}: {i.format}{' (' + i.compression + ')' if i.compression else ''}, "
              f"{i.packets} packets, link types {sorted(i.linktypes)}{', TRUNCATED' if i.truncated else ''}")


if __name__ == "__main__":
    main()
