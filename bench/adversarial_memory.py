#!/usr/bin/env python3
"""Peak memory of a full analysis of an adversarial capture, against a stated budget (issue 9).

    python bench/adversarial_memory.py [--size 1G] [--budget-mb 2048] [--command summary] [--jobs 1]

Generates ``bench/data/adversarial-SIZE.pcap`` with :mod:`make_adversarial` when it is missing
(many flows, many fragments, deep MIME, decompression bombs, long lines, out-of-order TCP: see that
module), runs ``dissect COMMAND CAPTURE --jobs N`` in a subprocess (the whole pipeline: reader,
decoder, defrag, flow table, every analyzer, the tables) and samples the resident memory of that
process and all its children every 50 ms (``/proc``; the peak of the sum), plus the kernel's
``ru_maxrss`` of the largest child. Prints one result line (and ``--json``) and exits 1 when the
peak is over the budget. Not a test: a 1 GB run takes minutes.

The budget (default 2 GiB for a 1 GB capture; measured: 825 MiB at 210 MB, 1,694 MiB at 1.07 GB,
see fuzz/README.md) covers the live state the caps bound (flow table at
``max_flows``, out-of-order buffers, fragments, one message's MIME state), the output records
(one ``flows`` row per flow: the SYN flood alone gives ~700k flows per GB, and they are the
result, so they are kept), and building the pandas tables at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import make_adversarial  # noqa: E402


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    todo, total, seen = [pid], 0, set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _rss_kb(p)
        todo += _children(p)
    return total


def run(capture: str, command: str, jobs: int, out_dir: str) -> dict:
    args = [command, capture, "--jobs", str(jobs)]
    if command == "report":
        args += ["-o", os.path.join(out_dir, "adversarial-report.html")]
    elif command in ("export", "export-stream"):
        args[0] = "export"
        args += ["-o", os.path.join(out_dir, "adversarial-tables"), "--format", "parquet"]
        if command == "export-stream":
            args.append("--stream")     # finished rows written during the pass (flat memory)
    code = "import sys; from dissect.cli.main import main; sys.argv = ['dissect'] + sys.argv[1:]; main()"
    t0 = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "160"})
    peak = 0
    import threading
    outs: dict = {}

    def drain(name, stream):
        outs[name] = stream.read()

    threads = [threading.Thread(target=drain, args=(n, s)) for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    while proc.poll() is None:
        peak = max(peak, tree_rss_kb(proc.pid))
        time.sleep(0.05)
    for t in threads:
        t.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "command": command, "jobs": jobs, "exit": proc.returncode,
        "wall_s": round(time.time() - t0, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "peak_rss_mb": round(peak / 1024, 1),
        "max_child_rss_mb": round(after.ru_maxrss / 1024, 1),
        "stdout_tail": outs.get("out", b"").decode("utf-8", "replace")[-3000:],
        "stderr_tail": outs.get("err", b"").decode("utf-8", "replace")[-2000:],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="1G", help="adversarial capture size (default 1G)")
    ap.add_argument("--budget-mb", type=float, default=2048, help="peak RSS budget in MiB (default 2048)")
    ap.add_argument("--command", default="summary", choices=("summary", "flows", "export", "export-stream", "report"))
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (the peak is summed over them)")
    ap.add_argument("--capture", default=None, help="use this capture instead of generating one")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    a = ap.parse_args()
    cap = a.capture or os.path.join(HERE, "data", f"adversarial-{a.size}.pcap")
    gen = None
    if not os.path.exists(cap):
        gen = make_adversarial.generate(cap, make_adversarial.parse_size(a.size))
    res = run(cap, a.command, a.jobs, os.path.join(HERE, "data"))
    res["capture"] = cap
    res["capture_mb"] = round(os.path.getsize(cap) / 1e6, 1)
    res["budget_mb"] = a.budget_mb
    res["within_budget"] = res["exit"] == 0 and res["peak_rss_mb"] <= a.budget_mb
    if gen:
        res["generated_s"] = gen["seconds"]
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        print(res["stdout_tail"][-1500:])
        if res["exit"]:
            print(res["stderr_tail"], file=sys.stderr)
        print(f"adversarial {res['capture_mb']} MB, dissect {a.command} --jobs {a.jobs}: exit {res['exit']}, "
              f"{res['wall_s']} s wall, {res['cpu_s']} s CPU, peak RSS {res['peak_rss_mb']} MiB "
              f"(largest process {res['max_child_rss_mb']} MiB), budget {a.budget_mb:g} MiB: "
              f"{'OK' if res['within_budget'] else 'OVER BUDGET'}")
    return 0 if res["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
