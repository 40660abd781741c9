"""Every anomaly name is declared (documented) and docs/weirds.md matches the registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dissect
from dissect.weird import WEIRDS, load_all, weirds_markdown

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "captures"


def test_weirds_md_is_up_to_date():
    load_all()
    current = (ROOT / "docs" / "weirds.md").read_text()
    assert current == weirds_markdown(), "regenerate: python -m dissect.weird > docs/weirds.md"


def test_literal_weird_names_in_code_are_declared():
    load_all()
    used = set()
    for f in (ROOT / "dissect").rglob("*.py"):
        used |= set(re.findall(r'\bweird\(\s*"([a-z0-9_]+)"', f.read_text()))
    missing = sorted(used - set(WEIRDS))
    assert not missing, f"declare these with dissect.weird.declare(): {missing}"


def _captures():
    caps = sorted(ROOT.glob("samples/*/*.pcap"))
    if CORPUS.exists():
        caps += sorted(CORPUS.rglob("*.pcap"))
    return caps


def test_every_emitted_weird_is_declared():
    caps = _captures()
    if not caps:
        pytest.skip("no captures (samples/ and ../shared/corpus absent)")
    load_all()
    seen = set()
    for c in caps:
        a = dissect.analyze([c], snmp_keys=ROOT / "samples" / "snmp" / "keys.toml")
        seen |= {w.name for w in a.records.get("weirds", ())}
    assert seen, "the corpus and samples hold malformed traffic: some weird must be reported"
    assert not (seen - set(WEIRDS)), sorted(seen - set(WEIRDS))
