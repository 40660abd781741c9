"""Shared fixtures: the corpus path (with a skip helper) and a CLI runner.

Keep this small; add fixtures with targeted edits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (ROOT / ".." / "shared" / "corpus").resolve()
SAMPLES = ROOT / "samples"

# A git checkout leaves the sample SNMP keys file group/world-readable (git keeps no 0600), and a
# loose keys file is reported as a weird (snmp_keys_file_readable). The samples' file holds only
# documented test passwords: make it private, as a user would, so that runs on it stay clean.
_KEYS = SAMPLES / "snmp" / "keys.toml"
if _KEYS.exists() and _KEYS.stat().st_mode & 0o077:
    try:
        _KEYS.chmod(0o600)
    except OSError:
        pass


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


class CliResult:
    """stdout, stderr, output (both), exit_code, stdout_bytes, exception (the UserError or click
    error that ended the command, else None)."""

    def __init__(self, stdout: str, stderr: str, exit_code: int, stdout_bytes: bytes, exception=None):
        self.stdout = stdout
        self.stderr = stderr
        self.output = stdout + stderr
        self.exit_code = exit_code
        self.stdout_bytes = stdout_bytes
        self.exception = exception

    def __repr__(self):
        return f"<CliResult exit={self.exit_code} stderr={self.stderr[-300:]!r}>"


@pytest.fixture
def run_cli():
    """run_cli(*args, input=None) -> CliResult.

    Runs `dissect ARGS` the way the console script does (``run_app``: a user error becomes one
    line on stderr and an exit code) inside typer's CliRunner isolation. An unexpected exception
    propagates, so a traceback fails the test.
    """
    import sys

    import click
    from typer.testing import CliRunner

    from dissect.cli import common
    from dissect.cli.main import app

    runner = CliRunner()

    def run(*args, input=None, env=None):
        exc = None
        with runner.isolation(input=input, env=env) as streams:
            old = sys.argv
            sys.argv = ["dissect", *[str(a) for a in args]]

            def catching(*a, **k):
                nonlocal exc
                try:
                    return app(*a, **k)
                except (common.UserError, click.exceptions.ClickException) as e:
                    exc = e
                    raise

            try:
                code = common.run_app(catching)
            except SystemExit as e:  # pragma: no cover - run_app handles typer's exits
                code = int(e.code or 0)
            finally:
                sys.argv = old
            out, err = streams[0].getvalue(), streams[1].getvalue()
        return CliResult(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), code, out, exc)

    return run
