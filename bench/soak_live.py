#!/usr/bin/env python3
"""Soak check of `dissect live` memory over a long synthetic replay (a benchmark, not a test).

The benchmark capture (bench/make_capture.py: the real loopback samples replicated with distinct
addresses, so the number of concurrent flows stays the same all along and only the duration grows)
is written into an OS pipe, exactly as dumpcap's output would be, and consumed by the live code
path: the reader thread, the pipeline in the main thread with idle-flow flushing every second, and
`--stream-tables` (finished rows appended to Parquet row groups instead of kept in memory).
Resident memory (VmRSS) is sampled every 100k frames; flat memory means the last samples are no
higher than the first ones after warm-up.

    python bench/soak_live.py --packets 2000000            # writes bench/soak_results.md
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class PipeSource:
    """A capture file written into an OS pipe by a thread: what the reader sees from dumpcap."""

    def __init__(self, path: Path):
        self.path = path
        self.error = None
        self.infos: list = []
        self.samples: list[tuple[int, float]] = []

    def start(self) -> None:
        r, w = os.pipe()
        self.stream = os.fdopen(r, "rb", buffering=0)

        def writer():
            with open(self.path, "rb") as fh, os.fdopen(w, "wb") as out:
                while True:
                    chunk = fh.read(1 << 16)
                    if not chunk:
                        break
                    out.write(chunk)

        threading.Thread(target=writer, daemon=True).start()

    def frames(self, q, weird) -> None:
        from dissect.io import open_stream

        batch = []
        n = 0
        try:
            for frame in open_stream(self.stream, "soak-pipe", infos=self.infos, on_weird=weird):
                batch.append(frame)
                n += 1
                if len(batch) >= 256:
                    q.put(batch)
                    batch = []
        finally:
            if batch:
                q.put(batch)
            q.put(None)

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=2_000_000)
    ap.add_argument("--capture", type=Path, default=None, help="use this capture instead of generating one")
    ap.add_argument("--hosts", type=int, default=0,
                    help="replicas reuse the addresses of this many (a fixed network seen for longer; "
                         "0: every replica has its own addresses, the network grows with the capture)")
    ap.add_argument("--out", type=Path, default=None,
                    help="default bench/soak_results.md (bench/soak_results-hostsN.md with --hosts N)")
    args = ap.parse_args()
    if args.out is None:
        args.out = HERE / ("soak_results.md" if not args.hosts else f"soak_results-hosts{args.hosts}.md")

    cap = args.capture
    if cap is None:
        cap = HERE / "data" / (f"soak-{args.packets}.pcap" if not args.hosts
                               else f"soak-{args.packets}-h{args.hosts}.pcap")
        if not cap.exists():
            cap.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, str(HERE / "make_capture.py"), "--packets", str(args.packets),
                            "-o", str(cap), "--hosts", str(args.hosts)], check=True)

    from dissect.cli.cmd_live import LiveSession
    from dissect.options import Options

    samples: list[tuple[int, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        session = LiveSession(Options(), export=Path(tmp) / "tables", export_format="parquet",
                              report=None, rotate=None, stream_tables=True)
        src = PipeSource(cap)
        src.start()
        stop = threading.Event()

        def sampler():
            last = -1
            while not stop.is_set():
                n = session.packets
                if n // 100_000 != last // 100_000 if last >= 0 else n >= 100_000:
                    samples.append((n, rss_mb(), getattr(session.pipeline.table, "nflows", 0)))
                    last = n
                time.sleep(0.05)

        t = threading.Thread(target=sampler, daemon=True)
        t.start()
        t0 = time.monotonic()
        analysis = session.run(src, view=False)
        wall = time.monotonic() - t0
        stop.set()
        t.join()
        samples.append((session.packets, rss_mb(), 0))
        counts = dict(session.streamer.counts) if session.streamer else {}
        for name, rows in analysis.records.items():
            counts[name] = counts.get(name, 0) + len(rows)

    import platform

    lines = ["# Live-capture memory soak", "",
             f"`python bench/soak_live.py --packets {args.packets}"
             + (f" --hosts {args.hosts}" if args.hosts else "") + f"` on {platform.node()} "
             f"({os.cpu_count()} cores, Python {platform.python_version()}), {time.strftime('%Y-%m-%d')}.", "",
             ("Addresses: every replica of the sample block has its own (the network grows with the "
              "capture, and so do the per-host aggregates: flows seen, SNMP audit entries per community and "
              "agent)." if not args.hosts else
              f"Addresses: the replicas reuse the addresses of {args.hosts} replicas (a fixed network seen "
              f"for longer)."), "",
             f"Capture: `{cap.name}` ({cap.stat().st_size / 1e6:,.0f} MB), streamed through an OS pipe into the "
             f"live code path (reader thread, idle flushing, `--stream-tables`). {session.packets:,} frames in "
             f"{wall:,.1f} s ({session.packets / wall:,.0f} frames/s).", "",
             "| frames so far | RSS (MB) | live flows |", "|---:|---:|---:|"]
    for n, mb, flows in samples:
        lines.append(f"| {n:,} | {mb:,.0f} | {flows:,} |")
    warm = [mb for n, mb, _ in samples if n >= args.packets * 0.25] or [samples[-1][1]]
    lines += ["", f"Peak after warm-up: {max(warm):,.0f} MB; first sample after warm-up {warm[0]:,.0f} MB, "
              f"last {warm[-1]:,.0f} MB.", "",
              "Rows written: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()) if v), ""]
    text = "\n".join(lines)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
