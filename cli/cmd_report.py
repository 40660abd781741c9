"""`dissect report CAPTURE... -o report.html`: the self-contained HTML traffic report."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dissect.cli.common import (CAPTURES, UserError, build_options, cap_option, console, decode_as_option,
                                run_analysis, safe)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        captures: list[str] = CAPTURES,
        output: Path = typer.Option(Path("report.html"), "-o", "--output",
                                    help="HTML file to write (one self-contained file, opens offline)."),
        show_secrets: bool = typer.Option(False, "--show-secrets",
                                          help="Show communities and passwords in full (masked by default)."),
        snmp_keys: Optional[Path] = typer.Option(None, "--snmp-keys",
                                                 help="SNMPv3 keys file (TOML or Wireshark snmp_users)."),
        decode_as: Optional[list[str]] = decode_as_option(),
        cap: Optional[list[str]] = cap_option(),
        title: Optional[str] = typer.Option(None, "--title", help="Report title (default: from the file names)."),
    ) -> None:
        """Write the HTML traffic report: overview, mail, HTTP, SNMP and anomalies, with charts and tables."""
        from dissect.reports.builder import render_report

        if snmp_keys is not None:
            if not snmp_keys.is_file():
                raise UserError(f"{snmp_keys}: no such keys file")
            from dissect.cli.cmd_snmp import load_keys_option
            load_keys_option(snmp_keys)     # a bad file: one line; loose permissions: a warning
        if output.exists() and output.is_dir():
            raise UserError(f"{output}: is a directory; give a file name such as {output / 'report.html'}")
        parent = output.parent if str(output.parent) else Path(".")
        if not parent.exists():
            raise UserError(f"{parent}: no such directory")
        options = build_options(decode_as=decode_as, caps=cap, snmp_keys=snmp_keys, show_secrets=show_secrets)
        analysis = run_analysis(captures, options)
        rep = render_report(analysis, show_secrets=show_secrets, title=title)
        tmp = output.with_name(output.name + ".tmp")
        try:
            tmp.write_text(rep.html, encoding="utf-8")
            tmp.replace(output)
        except OSError as e:
            raise UserError(f"{output}: cannot write: {e.strerror or e}") from None
        stats = getattr(analysis, "stats", None)
        packets = getattr(stats, "packets", None)
        flows = len(analysis.tables["flows"]) if "flows" in analysis.tables else 0
        parts = [f"{len(rep.sections)} sections ({', '.join(rep.sections)})", f"{rep.charts} charts",
                 f"{rep.tables} tables", _size(rep.size)]
        if packets is not None:
            parts.append(f"{packets:,} packets")
        parts.append(f"{flows:,} flows")
        if rep.failures:
            parts.append(f"{len(rep.failures)} block(s) failed")
        console.print(safe(str(output)), markup=False, highlight=False, soft_wrap=True)
        console.print(safe("report: " + ", ".join(parts)), markup=False, highlight=False, soft_wrap=True)
        for f in rep.failures:
            console.print(safe(f"warning: section failed: {f}"), markup=False, highlight=False, soft_wrap=True)
