"""Shared fixtures: the corpus path (with a skip helper) and a CLI runner.

Keep this small; add fixtures with targeted edits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (ROOT / ".." / "shared" / "corpus").resolve()
SAMPLES = ROOT / "samples"


def corpus_path(rel: str) -> Path:
    """A file of the shared corpus (``captures/zeek/http/get.pcap``); skips the test when absent."""
    p = CORPUS / rel
    if not p.exists():
        pytest.skip(f"shared corpus file {rel} not found at {CORPUS} (clone the corpus beside the repo)")
    return p


def corpus_captures() -> list[Path]:
    """Every capture of the corpus (empty list when the corpus is absent)."""
    base = CORPUS / "captures"
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*") if p.is_file() and p.name.endswith((".pcap", ".pcapng", ".pcap.gz")))


@pytest.fixture
def corpus():
    """The corpus directory; skips when absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture
def run_cli():
    """run_cli(*args, input=None) -> click Result (stdout, stderr, exit_code) of `dissect ARGS`."""
    from typer.testing import CliRunner

    from dissect.cli.main import app

    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2: stderr is always separate
        runner = CliRunner()

    def run(*args, input=None):
        from dissect.cli.common import UserError

        res = runner.invoke(app, [str(a) for a in args], input=input, standalone_mode=False,
                            catch_exceptions=True)
        return res

    return run
