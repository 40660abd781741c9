"""`dissect snmp audit CAPTURE...`: the SNMP security audit (communities, write access, scanning,
SNMPv3 levels, wrong digests, user enumeration, offline weak-password check, hashcat export).

Registered on the ``snmp`` sub-app by :func:`register_audit` (called from ``cmd_snmp``).
Communities, user names and passwords are partly masked unless ``--show-secrets``; every captured
string goes through :func:`safe`.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Optional

import typer

from dissect.cli.common import (UserError, build_options, cap_option, console, decode_as_option,
                                err_console, run_analysis, safe)

__all__ = ["register_audit", "format_finding"]

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _fmt_ts(ts: Optional[float]) -> str:
    if ts is None:
        return "?"
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _mask(value, show: bool) -> str:
    from dissect.schema import mask_secret

    if value is None or value == "":
        return ""
    return str(value) if show else str(mask_secret(value))


def _hosts(hosts, limit: int = 4) -> str:
    hosts = list(hosts or ())
    s = ",".join(safe(h) for h in hosts[:limit])
    if len(hosts) > limit:
        s += f" (+{len(hosts) - limit})"
    return s or "-"


def format_finding(f, show_secrets: bool) -> list[str]:
    """A finding as terminal lines (safe text, no markup)."""
    head = [f.kind]
    if f.subject == "" and f.kind in ("cleartext_community", "default_community", "write_access",
                                      "write_refused"):
        head.append("(empty community)")
    elif f.subject:
        head.append(safe(_mask(f.subject, show_secrets)))
    if f.verdict:
        head.append(f"[{f.verdict}]".replace("[", "\\["))
    if f.password:
        head.append("password=" + safe(_mask(f.password, show_secrets)))
    lines = ["  ".join(head)]
    if f.agents or f.managers:
        lines.append(f"    agents {_hosts(f.agents)}  managers {_hosts(f.managers)}  "
                     f"{f.count} msgs  {_fmt_ts(f.first_seen)} .. {_fmt_ts(f.last_seen)}")
    if f.evidence:
        lines.append("    " + safe(f.evidence))
    return lines


def _check_readable(path: Optional[Path], what: str) -> None:
    if path is None:
        return
    if not path.exists():
        raise UserError(f"{what} {path}: no such file")
    if path.is_dir():
        raise UserError(f"{what} {path}: is a directory")
    if not os.access(path, os.R_OK):
        raise UserError(f"{what} {path}: permission denied")


def _check_writable(path: Optional[Path], what: str) -> None:
    if path is None:
        return
    if path.is_dir():
        raise UserError(f"{what} {path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{what} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"{what} {path}: permission denied")


def register_audit(snmp_app: typer.Typer) -> None:
    @snmp_app.command("audit", help="Audit SNMP: cleartext/default communities with verdicts, write access, "
                                    "scanning, auth failures, weak SNMPv3 settings and passwords.")
    def audit(
        captures: list[str] = typer.Argument(..., help="Capture files (pcap, pcapng, optionally .gz); '-' reads stdin."),
        snmp_keys: Optional[Path] = typer.Option(None, "--snmp-keys", help="SNMPv3 keys file (TOML or Wireshark snmp_users)."),
        wordlist: Optional[Path] = typer.Option(None, "--wordlist", help="Extra words (one per line) for guessable communities and the offline SNMPv3 password check."),
        hashcat: Optional[Path] = typer.Option(None, "--hashcat", help="Write the authenticated SNMPv3 messages in hashcat's formats (modes 25000-27300) to this file."),
        min_severity: str = typer.Option("info", "--min-severity", help="Show findings of this severity and above: critical, high, medium, low, info."),
        show_secrets: bool = typer.Option(False, "--show-secrets", help="Show communities, user names and passwords in full."),
        decode_as: Optional[list[str]] = decode_as_option(),
        cap: Optional[list[str]] = cap_option(),
    ) -> None:
        from dissect.snmp.audit import SEVERITIES

        sev = min_severity.lower()
        if sev not in SEVERITIES:
            raise UserError(f"--min-severity must be one of {', '.join(SEVERITIES)}, got {min_severity!r}")
        from dissect.cli.cmd_snmp import load_keys_option

        load_keys_option(snmp_keys)
        _check_readable(wordlist, "--wordlist")
        _check_writable(hashcat, "--hashcat")
        opts = build_options(decode_as=decode_as, caps=cap, snmp_keys=snmp_keys, snmp_wordlist=wordlist,
                             snmp_hashcat=hashcat, show_secrets=show_secrets, protocols=("snmp",))
        analysis = run_analysis(captures, opts)
        findings = list(analysis.records.get("snmp_findings", []))
        for w in analysis.records.get("weirds", []):
            if w.name in ("snmp_wordlist_unreadable", "snmp_wordlist_cap", "snmp_hashcat_write_failed"):  # keys: printed above
                err_console.print(f"dissect: warning: {safe(w.name)}: {safe(w.addl)}", soft_wrap=True)
        limit = SEVERITIES.index(sev)
        shown = 0
        by_sev: dict[str, list] = {s: [] for s in SEVERITIES}
        for f in findings:
            by_sev.setdefault(f.severity, []).append(f)
        for s in SEVERITIES[:limit + 1]:
            lst = by_sev.get(s) or []
            if not lst:
                continue
            console.print(f"[{_STYLE[s]}]{s.upper()} ({len(lst)})[/]")
            for f in lst:
                lines = format_finding(f, show_secrets)
                console.print(f"  [{_STYLE[s]}]{lines[0]}[/]", soft_wrap=True)
                for ln in lines[1:]:
                    console.print(ln, soft_wrap=True)
                shown += 1
        counts = ", ".join(f"{len(by_sev[s])} {s}" for s in SEVERITIES if by_sev.get(s))
        pdus = len(analysis.records.get("snmp_pdus", []))
        err_console.print(f"{len(findings)} findings ({counts or 'none'}) from {pdus} SNMP PDUs"
                          + ("" if show_secrets else "; secrets masked (--show-secrets to reveal)"),
                          soft_wrap=True)
