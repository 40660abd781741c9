#!/usr/bin/env python3
"""Run the coverage-guided fuzz targets (atheris / libFuzzer), time-bounded: ``make fuzz``.

    fuzz/run.py [--seconds 60] [--jobs 1] [--only tcp,http] [--runs N]
    fuzz/run.py --seeds                  # (re)write fuzz/seeds/<target>/ from samples + corpus
    fuzz/run.py --reproduce NAME FILE... # run inputs through one target, no fuzzing
    fuzz/run.py --one NAME [libFuzzer args...]   # the child process of one target

Every ``fuzz/targets/<name>.py`` (names starting with ``_`` excepted) defines ``target(data)``,
``seeds()`` and ``INSTRUMENT``. Each target runs in its own process with the committed seeds
(``fuzz/seeds/<name>/``, read-only) and a working corpus (``fuzz/artifacts/corpus/<name>/``,
gitignored, grows across runs). A crash (any exception) stops that child; its input is copied to
``fuzz/crashers/<name>/`` (a regression input run by ``tests/test_fuzz_regressions.py``) and
the target is restarted for the rest of its time. The summary table (executions, crashes) is
printed and written to ``fuzz/artifacts/last-run.json``. Exit status 1 when a crash was found.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
TARGETS = FUZZ / "targets"
SEEDS = FUZZ / "seeds"
CRASHERS = FUZZ / "crashers"
WORK = FUZZ / "artifacts"

#: keep each committed seed small; the seed set of all targets stays well under 2 MB
SEED_MAX = 8 * 1024
#: largest fuzz input (a target may set MAX_LEN): short inputs keep instrumented executions fast
MAX_LEN = 8192
SEEDS_PER_TARGET = 24


def target_names() -> list[str]:
    return sorted(p.stem for p in TARGETS.glob("*.py") if not p.stem.startswith("_"))


def load(name: str):
    """Import ``fuzz/targets/<name>.py`` as module ``fuzz_target_<name>``."""
    if str(TARGETS) not in sys.path:
        # appended, never first: target names such as ``http`` must not shadow the stdlib's
        sys.path.append(str(TARGETS))
    spec = importlib.util.spec_from_file_location(f"fuzz_target_{name}", TARGETS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_seeds(names: list[str]) -> None:
    for name in names:
        mod = load(name)
        d = SEEDS / name
        d.mkdir(parents=True, exist_ok=True)
        for old in d.iterdir():
            old.unlink()
        got = [s[:SEED_MAX] for s in mod.seeds()]
        # keep a spread of seeds: the distinct ones, smallest first within the budget per target
        uniq = sorted({hashlib.sha1(s).hexdigest(): s for s in got}.items(), key=lambda kv: len(kv[1]))
        step = max(1, len(uniq) // SEEDS_PER_TARGET)
        for h, s in uniq[::step][:SEEDS_PER_TARGET]:
            (d / h[:16]).write_bytes(s)
        total = sum(p.stat().st_size for p in d.iterdir())
        print(f"{name:10s} {len(list(d.iterdir())):4d} seeds {total / 1024:8.1f} KiB")


def child(name: str, args: list[str]) -> None:
    """One target under atheris (the process that libFuzzer drives)."""
    import atheris

    mod = load(name)
    with atheris.instrument_imports(include=["dissect"]):
        for m in getattr(mod, "INSTRUMENT", ()):
            importlib.import_module(m)
        # targets import lazily: a few seeds import (and so instrument) what they use
        sd = SEEDS / name
        for p in (sorted(sd.iterdir()) if sd.is_dir() else [])[:8]:
            mod.target(p.read_bytes())
    atheris.Setup([sys.argv[0], *args], mod.target)
    atheris.Fuzz()


def reproduce(name: str, files: list[str]) -> int:
    mod = load(name)
    bad = 0
    for f in files:
        try:
            mod.target(Path(f).read_bytes())
            print(f"ok    {f}")
        except Exception as e:  # report, then go on with the next input
            bad += 1
            print(f"FAIL  {f}: {type(e).__name__}: {e}")
    return 1 if bad else 0


def _spawn(name: str, seconds: float, runs: int | None):
    corpus = WORK / "corpus" / name
    corpus.mkdir(parents=True, exist_ok=True)
    crash_dir = WORK / "crash"
    crash_dir.mkdir(parents=True, exist_ok=True)
    dirs = [str(corpus)]
    if (SEEDS / name).is_dir():
        dirs.append(str(SEEDS / name))
    else:   # no committed seeds: start from the target's own
        mod = load(name)
        for s in mod.seeds():
            (corpus / hashlib.sha1(s).hexdigest()).write_bytes(s)
    lf = [f"-max_total_time={max(1, int(seconds))}", "-timeout=20", "-rss_limit_mb=3072",
          f"-max_len={getattr(load(name), 'MAX_LEN', MAX_LEN)}", "-print_final_stats=1", f"-artifact_prefix={crash_dir}/{name}-"]
    if runs:
        lf.append(f"-runs={runs}")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", name, *lf, *dirs]
    log = open(WORK / f"{name}.log", "a")
    log.write(f"\n=== {time.strftime('%F %T')} {' '.join(cmd)}\n")
    log.flush()
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT), log


def _stats(name: str, since: int) -> dict:
    text = (WORK / f"{name}.log").read_text(errors="replace")[since:]
    execs = sum(int(x) for x in re.findall(r"stat::number_of_executed_units:\s*(\d+)", text))
    if not execs:   # killed before the final stats: the last status line
        m = re.findall(r"#(\d+)\s+(?:pulse|NEW|REDUCE|INITED|DONE)", text)
        execs = int(m[-1]) if m else 0
    cov = re.findall(r"cov: (\d+)", text)
    return {"execs": execs, "cov": int(cov[-1]) if cov else 0}


def fuzz(names: list[str], seconds: float, jobs: int, runs: int | None) -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {n: {"execs": 0, "seconds": 0.0, "crashes": [], "cov": 0} for n in names}
    queue = list(names)
    running: dict[str, tuple] = {}     # name -> (proc, log, started, deadline, log offset)
    deadline = {n: None for n in names}
    while queue or running:
        while queue and len(running) < jobs:
            n = queue.pop(0)
            now = time.time()
            if deadline[n] is None:
                deadline[n] = now + seconds
            left = deadline[n] - now
            logp = WORK / f"{n}.log"
            off = len(logp.read_text(errors="replace")) if logp.exists() else 0
            before = set((WORK / "crash").glob(f"{n}-*")) if (WORK / "crash").is_dir() else set()
            proc, log = _spawn(n, left, runs)
            running[n] = (proc, log, now, off, before)
        time.sleep(0.5)
        for n, (proc, log, started, off, before) in list(running.items()):
            if proc.poll() is None:
                if time.time() > deadline[n] + 300:     # a hang libFuzzer did not catch
                    proc.kill()
                continue
            log.close()
            del running[n]
            r = results[n]
            st = _stats(n, off)
            r["execs"] += st["execs"]
            r["cov"] = max(r["cov"], st["cov"])
            r["seconds"] += time.time() - started
            new = sorted(set((WORK / "crash").glob(f"{n}-*")) - before)
            slow = [c for c in new if "slow-unit" in c.name]
            if slow:    # an input slower than -report_slow_units: reported, not a crash (often load)
                print(f"[{n}] slow input(s) kept in {WORK / 'crash'}: {', '.join(c.name for c in slow)} "
                      f"(time them with --reproduce)", flush=True)
            new = [c for c in new if c not in slow]
            for c in new:
                data = c.read_bytes()
                dst = CRASHERS / n / hashlib.sha1(data).hexdigest()[:16]
                dst.parent.mkdir(parents=True, exist_ok=True)
                if not dst.exists():
                    shutil.copyfile(c, dst)
                r["crashes"].append(str(dst.relative_to(ROOT)))
                print(f"[{n}] CRASH -> {dst.relative_to(ROOT)} (log: {(WORK / (n + '.log')).relative_to(ROOT)})",
                      flush=True)
            if new and time.time() < deadline[n] - 20 and len(r["crashes"]) < 5 and not runs:
                queue.append(n)        # go on fuzzing for the rest of this target's time
            elif proc.returncode not in (0, None) and not new:
                print(f"[{n}] exited {proc.returncode} without a crash input (see its log)", flush=True)
                r["crashes"].append(f"exit {proc.returncode}")
            else:
                print(f"[{n}] done: {r['execs']} executions in {r['seconds']:.0f} s", flush=True)
    print()
    print(f"| {'target':10s} | {'seconds':>7s} | {'executions':>10s} | {'exec/s':>7s} | {'cov':>6s} | crashes |")
    print(f"|{'-' * 12}|{'-' * 9}|{'-' * 12}|{'-' * 9}|{'-' * 8}|---------|")
    for n in names:
        r = results[n]
        rate = r["execs"] / r["seconds"] if r["seconds"] else 0
        print(f"| {n:10s} | {r['seconds']:7.0f} | {r['execs']:10d} | {rate:7.0f} | {r['cov']:6d} | {len(r['crashes']):7d} |")
    (WORK / "last-run.json").write_text(json.dumps(results, indent=1))
    return 1 if any(r["crashes"] for r in results.values()) else 0


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        child(sys.argv[2], sys.argv[3:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60, help="fuzzing time per target (default 60)")
    ap.add_argument("--jobs", type=int, default=1, help="targets fuzzed at the same time (default 1)")
    ap.add_argument("--only", default="", help="comma-separated target names (default: all)")
    ap.add_argument("--runs", type=int, default=None, help="stop each target after this many executions")
    ap.add_argument("--seeds", action="store_true", help="rewrite fuzz/seeds/ from samples and corpus")
    ap.add_argument("--reproduce", nargs="+", metavar=("NAME", "FILE"), help="run inputs through a target")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    names = target_names()
    if a.only:
        want = [x.strip() for x in a.only.split(",") if x.strip()]
        unknown = [x for x in want if x not in names]
        if unknown:
            ap.error(f"unknown target(s) {', '.join(unknown)} (known: {', '.join(names)})")
        names = want
    if a.list:
        print("\n".join(names))
        return 0
    if a.reproduce:
        if len(a.reproduce) < 2:
            ap.error("--reproduce NAME FILE...")
        return reproduce(a.reproduce[0], a.reproduce[1:])
    if a.seeds:
        write_seeds(names)
        return 0
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install -e '.[fuzz]'", file=sys.stderr)
        return 2
    return fuzz(names, a.seconds, max(1, a.jobs), a.runs)


if __name__ == "__main__":
    sys.exit(main())
