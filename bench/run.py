"""`make bench`: throughput and peak memory of pcap-dissect next to tshark and dpkt.

    python bench/run.py [--sizes 1M,2M] [--skip-2m-peers] [--profile] [--out bench/results.md]

1. makes (or reuses) the benchmark captures ``bench/data/bench-1M.pcap`` and ``bench-2M.pcap``
   (:mod:`bench.make_capture`: the loopback samples replicated with distinct addresses);
2. runs every contender as its own subprocess, one after the other, on each capture (the file is
   read once before, so every run starts from the page cache), and measures the wall time and the
   child's peak RSS (``os.wait4`` rusage; for ``--jobs`` runs the parent's and the largest
   worker's). Contenders:

   * ``dissect full``: ``dissect.analyze`` with every analyzer (SMTP+MIME, HTTP with bodies
     decoded and hashed, SNMP with the sample keys for v3 decryption and the audit), then every
     table built as a DataFrame;
   * ``dissect full, tables streamed to Parquet``: the same analysis with the finished rows
     written to Parquet row groups during the pass (``dissect export --stream -f parquet``), the
     flat-memory mode;
   * ``dissect full, streamed, 400-host-pair network``: the same on a capture whose replicas reuse
     400 host pairs' addresses (``make_capture --hosts 400``): a fixed network seen for longer, where
     the per-host aggregates (the SNMP audit's entries per community and agent) stop growing;
   * ``dissect full --jobs 2``;
   * ``dissect flows-only``: ``protocols=()`` (decode, defrag, flows, TCP reassembly bookkeeping);
   * ``tshark http fields``: ``tshark -r F -Y http -T fields -e http.request.method -e http.host
     -e http.request.uri -e http.response.code``;
   * ``tshark conv``: ``tshark -r F -q -z conv,tcp -z conv,udp``;
   * ``dpkt reader``: a ``dpkt.pcap.Reader`` loop only; ``dpkt objects``: Ethernet/IP/TCP objects
     per packet and a flow dict;
   * ``python floor``: a plain ``struct`` loop over the pcap record headers.
3. writes ``bench/results.md`` (table + machine) and prints it.

Benchmarks are not tests: nothing in ``make test`` runs this or asserts a timing.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
KEYS = os.path.join(ROOT, "samples", "snmp", "keys.toml")

import make_capture  # noqa: E402

# -- children ---------------------------------------------------------------------------------


def _child(mode: str, path: str, jobs: int) -> dict:
    """Runs inside the measured subprocess; returns counts for the table."""
    if mode in ("full", "flows"):
        if jobs > 1:
            from dissect.parallel import analyze_parallel as run
            kw = {"jobs": jobs}
        else:
            from dissect import analyze as run
            kw = {}
        if mode == "full":
            a = run(path, snmp_keys=KEYS, **kw)
        else:
            a = run(path, protocols=(), **kw)
        rows = sum(len(a.tables[n]) for n in a.tables)        # every DataFrame built
        return {"packets": a.stats.packets, "flows": len(a.records.get("flows", ())), "rows": rows}
    if mode == "full-stream":
        # what `dissect export --stream -f parquet` does: finished rows leave for Parquet row groups
        # during the pass, the SNMP audit aggregates them as they go (flat memory)
        import tempfile
        from dissect import analyze
        with tempfile.TemporaryDirectory(prefix="bench-stream-") as d:
            a = analyze(path, snmp_keys=KEYS, stream_dir=d, stream_format="parquet")
            counts = dict(a.stream_counts)
        return {"packets": a.stats.packets, "flows": counts.get("flows", 0), "rows": sum(counts.values())}
    if mode == "dpkt-reader":
        import dpkt
        n = 0
        with open(path, "rb") as f:
            for _ts, _buf in dpkt.pcap.Reader(f):
                n += 1
        return {"packets": n}
    if mode == "dpkt-objects":
        import dpkt
        n = 0
        flows: dict = {}
        with open(path, "rb") as f:
            for _ts, buf in dpkt.pcap.Reader(f):
                n += 1
                eth = dpkt.ethernet.Ethernet(buf)
                ip = eth.data
                if not isinstance(ip, dpkt.ip.IP):
                    continue
                l4 = ip.data
                if isinstance(l4, (dpkt.tcp.TCP, dpkt.udp.UDP)):
                    a, b = (ip.src, l4.sport), (ip.dst, l4.dport)
                    k = (a, b, ip.p) if a <= b else (b, a, ip.p)
                    c = flows.get(k)
                    if c is None:
                        flows[k] = [1, len(buf)]
                    else:
                        c[0] += 1
                        c[1] += len(buf)
        return {"packets": n, "flows": len(flows)}
    if mode == "python-floor":
        import struct
        unpack = struct.Struct("<IIII").unpack_from
        n = 0
        with open(path, "rb") as f:
            buf = f.read(24)
            carry = b""
            while True:
                chunk = f.read(16 << 20)
                if not chunk:
                    break
                buf = carry + chunk
                off = 0
                end = len(buf)
                while off + 16 <= end:
                    _s, _u, incl, _o = unpack(buf, off)
                    if off + 16 + incl > end:
                        break
                    n += 1
                    off += 16 + incl
                carry = buf[off:]
        return {"packets": n}
    raise SystemExit(f"unknown mode {mode}")


# -- the parent -------------------------------------------------------------------------------


def _measure(cmd: list[str], stdout=subprocess.DEVNULL) -> dict:
    """Run ``cmd``; wall seconds, peak RSS (MB) of the child and, for dissect children, the
    largest RSS of the child's own children (--jobs workers)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE if stdout is None else stdout,
                         stderr=subprocess.PIPE, cwd=ROOT)
    out = b""
    if stdout is None:
        out = p.stdout.read()
    err = p.stderr.read()
    _pid, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    res = {"seconds": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024, "exit": code}
    if code != 0:
        res["error"] = err.decode("utf-8", "replace")[-500:]
    if out:
        try:
            res.update(json.loads(out.decode().strip().splitlines()[-1]))
        except (ValueError, IndexError):
            pass
    return res


def _py_child(mode: str, path: str, jobs: int = 1) -> list[str]:
    return [sys.executable, os.path.join(HERE, "run.py"), "--child", mode, path, "--jobs", str(jobs)]


FIXED_HOSTS = 400     # x 0.25 s between replicas = 100 s before an address comes back (> UDP timeout)


def contenders(path: str, peers: bool = True, jobs: bool = True,
               fixed_net: str | None = None) -> list[tuple[str, list[str], bool]]:
    """(label, command, json output) in run order."""
    tshark = shutil.which("tshark")
    c = [("dissect full (1 process)", _py_child("full", path), True),
         ("dissect full, tables streamed to Parquet", _py_child("full-stream", path), True)]
    if fixed_net:
        # the same traffic on a fixed network (replicas reuse 400 host pairs' addresses): what a
        # long capture of one site looks like; the per-host aggregates stop growing
        c.append((f"dissect full, streamed, {FIXED_HOSTS}-host-pair network",
                  _py_child("full-stream", fixed_net), True))
    if jobs:
        c.append(("dissect full --jobs 2", _py_child("full", path, 2), True))
    c.append(("dissect flows-only", _py_child("flows", path), True))
    if peers:
        if tshark:
            c += [
                ("tshark HTTP fields", [tshark, "-r", path, "-Y", "http", "-T", "fields", "-e",
                                        "http.request.method", "-e", "http.host", "-e", "http.request.uri",
                                        "-e", "http.response.code"], False),
                ("tshark -z conv,tcp -z conv,udp", [tshark, "-r", path, "-q", "-z", "conv,tcp", "-z",
                                                   "conv,udp"], False),
            ]
        c += [
            ("dpkt pcap.Reader loop", _py_child("dpkt-reader", path), True),
            ("dpkt Ethernet/IP/TCP + flow dict", _py_child("dpkt-objects", path), True),
            ("python struct floor", _py_child("python-floor", path), True),
        ]
    return c


def _warm(path: str) -> float:
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass
    return time.perf_counter() - t0


def machine() -> dict:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    ram = int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        tv = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        tv = "tshark not found"
    try:
        import dpkt
        dv = dpkt.__version__
    except ImportError:
        dv = "?"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_mb": ram, "python": platform.python_version(),
            "os": platform.platform(), "tshark": tv, "dpkt": dv,
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "load_before": round(load, 2)}


def render(results: dict, mach: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {mach['cpu']}, {mach['cores']} cores, {mach['ram_mb'] / 1024:.1f} GB RAM; Python "
        f"{mach['python']}; {mach['tshark']}; dpkt {mach['dpkt']}; {mach['os']}. Run {mach['date']} "
        f"(1-min load average before the run: {mach['load_before']}).",
        "",
        "Captures: `bench/make_capture.py` (the loopback samples of samples/smtp, samples/http, "
        "samples/snmp* replicated with distinct 10.x addresses). Every contender is a separate process "
        "reading from the page cache; peak RSS is the process's `ru_maxrss` (for `--jobs`: parent + "
        "largest worker). \"x tshark HTTP\" is tshark's HTTP field extraction time divided by the "
        "contender's (above 1 = faster than tshark), on CPU time (user+sys of the process and its workers: "
        "robust when the machine is shared) and on wall time. packets/s and MB/s are per CPU second.",
        "",
    ]
    for label, r in results.items():
        cap = r["capture"]
        lines += [f"## {label}: {cap['packets']:,} packets, {cap['bytes'] / 1e6:,.0f} MB "
                  f"(reading the file: {cap['read_seconds']:.2f} s)", "",
                  "| contender | wall s | CPU s | packets/s (CPU) | MB/s (CPU) | peak RSS MB | x tshark HTTP "
                  "(CPU; wall) | x tshark conv (CPU; wall) | notes |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        th = r["runs"].get("tshark HTTP fields", {})
        tc = r["runs"].get("tshark -z conv,tcp -z conv,udp", {})
        for name, m in r["runs"].items():
            if m.get("exit", 0) != 0:
                lines.append(f"| {name} | failed | | | | | | {m.get('error', '')[-120:].splitlines()[-1:]} |")
                continue
            s = m["seconds"]
            cpu = m.get("cpu") or s
            pps = cap["packets"] / cpu
            mbs = cap["bytes"] / 1e6 / cpu
            rss = f"{m['rss_mb']:,.0f}"
            if m.get("workers_rss_mb"):
                rss += f" + {m['workers_rss_mb']:,.0f}"
            notes = []
            if "flows" in m:
                notes.append(f"{m['flows']:,} flows")
            if "rows" in m:
                notes.append(f"{m['rows']:,} table rows")
            rh = f"{th['cpu'] / cpu:.2f}; {th['seconds'] / s:.2f}" if th.get("cpu") else "-"
            rc = f"{tc['cpu'] / cpu:.2f}; {tc['seconds'] / s:.2f}" if tc.get("cpu") else "-"
            lines.append(f"| {name} | {s:,.1f} | {cpu:,.1f} | {pps:,.0f} | {mbs:,.1f} | {rss} | {rh} | {rc} | "
                         f"{', '.join(notes)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="pcap-dissect benchmarks (see the module docstring)")
    ap.add_argument("--sizes", default="1M,2M", help="capture sizes, e.g. 1M,2M or 200k")
    ap.add_argument("--peers-on", default="all", help="sizes on which tshark/dpkt also run (all: every size)")
    ap.add_argument("--jobs-on", default="all", help="sizes on which --jobs 2 also runs (all: every size)")
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--only", help="comma-separated substrings of contender names to run")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    ap.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        got = _child(args.child[0], args.child[1], args.jobs)
        import resource
        got["workers_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(json.dumps(got))
        return 0
    mach = machine()
    results: dict = {}
    for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        n = int(float(size[:-1]) * (1_000_000 if size[-1] in "Mm" else 1000)) if size[-1] in "MmKk" \
            else int(size)
        path = make_capture.ensure(n)
        read_s = _warm(path)
        read_s = min(read_s, _warm(path))
        cap = {"path": os.path.relpath(path, ROOT), "packets": n, "bytes": os.path.getsize(path),
               "read_seconds": read_s}
        peers = args.peers_on == "all" or size in args.peers_on.split(",")
        runs: dict = {}
        jobs = args.jobs_on == "all" or size in args.jobs_on.split(",")
        fixed = None
        if not args.only or any(x in f"dissect full, streamed, {FIXED_HOSTS}-host-pair network"
                                for x in args.only.split(",")):
            fixed = make_capture.ensure(n, hosts=FIXED_HOSTS)
            _warm(fixed)
        for label, cmd, js in contenders(path, peers, jobs, fixed):
            if args.only and not any(x in label for x in args.only.split(",")):
                continue
            print(f"[{size}] {label} ...", file=sys.stderr, flush=True)
            m = _measure(cmd, stdout=None if js else subprocess.DEVNULL)
            if not m.get("workers_rss_mb") or "--jobs" not in label:
                m.pop("workers_rss_mb", None)
            runs[label] = m
            print(f"[{size}] {label}: {m['seconds']:.1f} s wall, {m['cpu']:.1f} s CPU, {m['rss_mb']:.0f} MB"
                  + (f" (exit {m['exit']}: {m.get('error', '')[-200:]})" if m.get("exit") else ""),
                  file=sys.stderr, flush=True)
        results[size] = {"capture": cap, "runs": runs}
        text = render(results, mach)
        with open(args.out, "w") as f:
            f.write(text)
        with open(args.json, "w") as f:
            json.dump({"machine": mach, "results": results}, f, indent=1)
    print(render(results, mach))
    return 0


if __name__ == "__main__":
    sys.exit(main())
