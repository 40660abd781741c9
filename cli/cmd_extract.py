"""`dissect extract CAPTURE... -o DIR`: write mail messages (.eml), attachments and HTTP objects.

The names of the written files are built from ids (flow uid, transaction number, MIME part id)
plus a sanitised form of the captured file name (see :mod:`dissect.extract`): nothing in the
capture chooses a path, nothing is written outside DIR and existing files are never overwritten.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from dissect.cli.common import (CAPTURES, UserError, build_options, cap_option, console,
                                decode_as_option, err_console, run_analysis, safe)

__all__ = ["register", "prepare_out_dir", "written_files"]


def prepare_out_dir(out: Path) -> Path:
    """Create the output folder if missing; one clear line when it cannot be used."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot create the output folder ({e.strerror or e})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"{out}: permission denied (output folder not writable)")
    return out.resolve()


def _listing(out: Path) -> set[str]:
    try:
        return {e.name for e in os.scandir(out) if e.is_file(follow_symlinks=False)}
    except OSError:
        return set()


def written_files(analysis, out: Path, before: set[str]) -> list[dict]:
    """Files this run wrote (new in ``out``), joined with the records that name them."""
    origin: dict[str, dict] = {}
    for table, recs in getattr(analysis, "records", {}).items():
        for r in recs:
            path = getattr(r, "extracted", None) or getattr(r, "extracted_path", None)
            if not path:
                continue
            name = Path(str(path)).name
            origin.setdefault(name, {
                "table": table, "uid": getattr(r, "uid", None),
                "trans_depth": getattr(r, "trans_depth", None),
                "part_id": getattr(r, "part_id", None),
                "original": getattr(r, "filename", None),
                "content_type": getattr(r, "content_type", None)})
    rows = []
    for name in sorted(_listing(out) - before):
        p = out / name
        h = hashlib.sha256()
        size = 0
        try:
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                    size += len(chunk)
        except OSError:
            continue
        info = origin.get(name, {})
        kind = "message" if name.endswith(".eml") and info.get("table") == "mime_messages" else (
            "mime part" if info.get("table") == "mime_parts" else ("http object" if not info else info["table"]))
        rows.append({"file": name, "size": size, "sha256": h.hexdigest(), "kind": kind, **info})
    return rows


def register(app: typer.Typer) -> None:
    @app.command("extract")
    def extract(
        captures: list[str] = CAPTURES,
        out: Path = typer.Option(..., "-o", "--out", help="Output folder (created if missing). Existing files are never overwritten."),
        decode_as: Optional[list[str]] = decode_as_option(),
        cap: Optional[list[str]] = cap_option(),
    ) -> None:
        """Write every mail message (.eml), attachment and HTTP object of the captures to a folder."""
        out_dir = prepare_out_dir(out)
        before = _listing(out_dir)
        options = build_options(decode_as=decode_as, caps=cap, extract_dir=out_dir)
        try:
            from dissect.detect import validate_decode_as
            validate_decode_as(options.decode_as)
        except ImportError:
            pass
        except ValueError as e:
            raise UserError(str(e)) from None
        analysis = run_analysis(captures, options)
        try:
            from dissect.cli.cmd_summary import warn_truncated
            warn_truncated(analysis)
        except ImportError:
            pass
        rows = written_files(analysis, out_dir, before)
        table = Table(title=f"{len(rows)} files written to {safe(out_dir)}", title_justify="left")
        table.add_column("file", overflow="fold", ratio=3)
        table.add_column("size", justify="right", no_wrap=True)
        table.add_column("from", overflow="fold", ratio=2)
        table.add_column("sha256", no_wrap=True)
        for r in rows:
            src = r["kind"]
            if r.get("uid"):
                src += f" {r['uid']}"
                if r.get("trans_depth") is not None:
                    src += f" #{r['trans_depth']}"
                if r.get("part_id"):
                    src += f" part {r['part_id']}"
            table.add_row(safe(r["file"]), str(r["size"]), safe(src), r["sha256"][:16])
        console.print(table)
        fails = [w for w in analysis.records.get("weirds", ()) if w.name == "extract_failed"]
        if fails:
            err_console.print(f"dissect: warning: {len(fails)} objects could not be written "
                              f"({safe(fails[0].addl)})", markup=False, highlight=False)
