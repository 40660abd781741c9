"""The distribution installs `dissect`, `dissect.cli` and `dissect.reports`, and nothing generic at top level."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _declared_packages() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(data["tool"]["setuptools"]["packages"])


def _package_dirs() -> set[str]:
    found = set()
    for top, name in (("dissect", "dissect"), ("cli", "dissect.cli"), ("reports", "dissect.reports")):
        base = ROOT / top
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            if "__pycache__" in rel.parts:
                continue
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    return found


def test_every_package_is_declared():
    missing = _package_dirs() - _declared_packages()
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_declared_packages_exist():
    stale = _declared_packages() - _package_dirs()
    assert not stale, f"declared but missing on disk: {sorted(stale)}"


def test_cli_and_reports_live_under_dissect():
    import dissect.cli.main
    import dissect.reports

    assert Path(dissect.cli.main.__file__).parent == ROOT / "cli"
    assert Path(dissect.reports.__file__).parent == ROOT / "reports"


def test_no_generic_top_level_modules(tmp_path):
    # Outside the checkout (cwd not on sys.path) only the installed layout counts.
    code = ("import importlib.util, dissect.cli, dissect.reports;"
            "print(importlib.util.find_spec('cli'), importlib.util.find_spec('reports'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "None"]


def test_console_script_runs():
    exe = Path(sys.executable).parent / "dissect"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "summary" in out.stdout and "flows" in out.stdout
