"""The SNMP fuzz target (fuzz/fuzz_snmp.py) stays runnable: every seed and a few thousand
deterministic mutations of them go through it without an exception (strict mode)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fuzz"))

import fuzz_snmp  # noqa: E402


def test_seeds_and_mutations():
    seeds = fuzz_snmp.seeds()
    assert len(seeds) >= 10
    for s in seeds:
        fuzz_snmp.target(s)
    rnd = random.Random(5)
    for _ in range(1500):
        x = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 6)):
            if not x:
                break
            op = rnd.random()
            p = rnd.randrange(len(x))
            if op < 0.6:
                x[p] = rnd.randrange(256)
            elif op < 0.8:
                del x[p]
            else:
                x.insert(p, rnd.randrange(256))
        fuzz_snmp.target(bytes(x))


def test_encode_decode_roundtrip():
    script = [(0, b"\x30\x00"), (1, b"abc")]
    assert fuzz_snmp.decode(fuzz_snmp.encode(3, script)) == (3, script)
