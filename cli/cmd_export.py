"""`dissect export CAPTURE... -o DIR [--format csv|parquet|json]`: one file per table.

Every registered table is written (``flows``, ``weirds`` and every protocol table, empty ones
with their columns), with the column names documented in docs/tables.md. Secrets are masked
unless ``--show-secrets``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from dissect.cli.cmd_summary import analyse_for_cli, out_console
from dissect.cli.common import CAPTURES, UserError, cap_option, console, decode_as_option, safe, scale_settings

__all__ = ["register"]


def export_cmd(
    captures: list[str] = CAPTURES,
    out: Path = typer.Option(..., "-o", "--out", help="Output directory (created if needed)."),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, parquet or json (JSON lines)."),
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Write secrets (communities, passwords) unmasked."),
    snmp_keys: Optional[Path] = typer.Option(None, "--snmp-keys", help="SNMPv3 keys file (TOML or Wireshark snmp_users)."),
    credentials: bool = typer.Option(False, "--credentials", help="Also fill the credentials table (masked unless --show-secrets)."),
    http_headers: bool = typer.Option(False, "--http-headers", help="Also fill the http_headers child table (every header line)."),
    stream: bool = typer.Option(False, "--stream", help="Write rows while the capture is read (row groups / appended "
                                "lines) instead of holding every table in memory: flat memory for long captures. "
                                "One process; rows in the order they were produced."),
    decode_as: Optional[list[str]] = decode_as_option(),
    cap: Optional[list[str]] = cap_option(),
) -> None:
    """Write every table (flows, weirds, protocol tables) to DIR, one file per table."""
    from dissect.export import FORMATS, export

    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise UserError(f"--format expects one of {', '.join(FORMATS)}, got {fmt!r}")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory")
    scale = scale_settings()
    if fmt == "parquet" and (scale.get("engine") == "dask" or scale.get("scheduler")):
        scale["parquet_dir"] = out      # the Dask engine writes a directory of partitions per table
    if snmp_keys is not None:
        if not snmp_keys.is_file():
            raise UserError(f"{snmp_keys}: no such keys file")
        from dissect.cli.cmd_snmp import load_keys_option
        load_keys_option(snmp_keys)
    stream_kw = {}
    if stream:
        if scale.get("engine") == "dask" or scale.get("scheduler"):
            raise UserError("--stream runs in one process: leave out --engine dask / --scheduler")
        scale["jobs"] = 1
        stream_kw = {"stream_dir": out, "stream_format": fmt}
    try:
        a = analyse_for_cli(captures, decode_as, cap, show_secrets=show_secrets, snmp_keys=snmp_keys,
                            credentials=credentials, http_headers=http_headers, **stream_kw)
        files = (getattr(a, "stream_files", None) or getattr(a, "parquet_dirs", None)
                 or export(a, out, fmt, show_secrets=show_secrets))
    except PermissionError as e:
        raise UserError(f"{e.filename or out}: permission denied") from None
    except OSError as e:
        raise UserError(f"{e.filename or out}: {e.strerror or e}") from None
    t = Table(title=f"Exported to {safe(out)} ({fmt})", title_justify="left")
    t.add_column("table")
    t.add_column("rows", justify="right")
    t.add_column("file")
    for f in files:
        name = f.name.split(".")[0]
        n = a.stream_counts.get(name, 0) if getattr(a, "stream_counts", None) is not None else len(a.records.get(name, ()))
        t.add_row(name, f"{n:,}", safe(f))
    out_console().print(t)


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
