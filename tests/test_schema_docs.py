"""docs/tables.md is generated from the record classes: fail when it is stale."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_tables_md_is_up_to_date():
    got = subprocess.run([sys.executable, "-m", "dissect.schema"], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    have = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    assert have == got, ("docs/tables.md is out of date: regenerate it with "
                         "`python -m dissect.schema > docs/tables.md` and review the diff")


def test_every_table_documented():
    from dissect.pipeline import load_tables
    from dissect.schema import columns

    tables = load_tables()
    assert {"flows", "weirds"} <= set(tables)
    text = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    for name, cls in tables.items():
        assert f"## `{name}`" in text
        for col, _kind, doc, _secret in columns(cls):
            assert doc.strip(), f"{name}.{col} has no documentation"
