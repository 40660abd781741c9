"""Fuzzing regressions: every crasher found (``fuzz/crashers/<target>/*``) and every committed seed
goes through its target without an exception, and a short coverage-guided run of each atheris
target (a few seconds, in a subprocess) finds nothing new.

The long runs are ``make fuzz`` (``fuzz/run.py``); see fuzz/README.md for the table of results.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
sys.path.insert(0, str(FUZZ))

import run as fuzz_run  # noqa: E402  (fuzz/run.py)

NAMES = fuzz_run.target_names()
CRASHERS = sorted(p for p in (FUZZ / "crashers").glob("*/*") if p.is_file() and not p.name.startswith("."))

_MODS: dict = {}


def _target(name: str):
    if name not in _MODS:
        _MODS[name] = fuzz_run.load(name)
    return _MODS[name].target


def test_every_parser_has_a_target():
    want = {"capture", "decode", "defrag", "tcp", "smtp", "mime", "http", "ber", "snmp", "usm", "keys", "pipeline"}
    assert want <= set(NAMES)


def test_crashers_are_filed_under_a_target():
    assert {p.parent.name for p in CRASHERS} <= set(NAMES)


@pytest.mark.parametrize("path", CRASHERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_crasher_no_longer_crashes(path):
    _target(path.parent.name)(path.read_bytes())


@pytest.mark.parametrize("name", NAMES)
def test_committed_seeds_pass(name):
    seeds = sorted((FUZZ / "seeds" / name).glob("*"))
    assert seeds, f"no committed seeds for {name}: run fuzz/run.py --seeds"
    assert sum(p.stat().st_size for p in seeds) < 256 * 1024
    t = _target(name)
    for p in seeds:
        t(p.read_bytes())


def test_committed_seeds_stay_small():
    total = sum(p.stat().st_size for p in (FUZZ / "seeds").rglob("*") if p.is_file())
    assert total < 2 * 1024 * 1024, total


def _atheris_missing() -> bool:
    try:
        import atheris  # noqa: F401
        return False
    except ImportError:
        return True


@pytest.mark.slow
@pytest.mark.skipif(_atheris_missing(), reason="atheris is not installed (pip install -e '.[fuzz]' or '.[test]')")
def test_short_atheris_run_of_every_target(tmp_path):
    """Each target: up to 2 s / 2000 executions of real coverage-guided fuzzing, two at a time."""
    procs = []
    pending = list(NAMES)
    failures = []

    def start(name):
        corpus = tmp_path / name
        corpus.mkdir()
        log = open(tmp_path / f"{name}.log", "w")
        cmd = [sys.executable, str(FUZZ / "run.py"), "--one", name, "-max_total_time=2", "-runs=2000",
               "-timeout=20", "-rss_limit_mb=2048", f"-artifact_prefix={tmp_path}/{name}-", str(corpus),
               str(FUZZ / "seeds" / name)]
        return name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                      env={**os.environ, "PYTHONHASHSEED": "0"}), log

    while pending or procs:
        while pending and len(procs) < 2:
            procs.append(start(pending.pop(0)))
        name, p, log = procs.pop(0)
        try:
            rc = p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "timeout"
        log.close()
        text = (tmp_path / f"{name}.log").read_text(errors="replace")
        if rc != 0 or "Done" not in text:
            failures.append(f"{name}: exit {rc}\n" + text[-3000:])
    assert not failures, "\n\n".join(failures)
