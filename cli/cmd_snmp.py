"""`dissect snmp CAPTURE...`: list SNMP PDUs (v1/v2c/v3) with their varbinds.

The sub-app ``snmp_app`` is a group whose default command is ``list``: ``dissect snmp x.pcap`` is
``dissect snmp list x.pcap``. Other SNMP commands (``dissect snmp audit``) register on
``snmp_app`` in their own module (``@snmp_app.command("audit")``).

Communities are partly masked unless ``--show-secrets``; every captured string goes through
:func:`safe` before it reaches the terminal.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Optional

import typer
from typer.core import TyperGroup

from dissect.cli.common import (UserError, build_options, cap_option, console, decode_as_option,
                                err_console, run_analysis, safe)

__all__ = ["snmp_app", "register", "load_keys_option"]


class _DefaultListGroup(TyperGroup):
    """A group whose first argument may be a capture: then the command is ``list``."""

    default_command = "list"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        elif not args:
            args = [self.default_command, "--help"]
        return super().parse_args(ctx, args)


snmp_app = typer.Typer(
    name="snmp",
    cls=_DefaultListGroup,
    help="SNMP v1/v2c/v3: list PDUs with their varbinds (default), decrypt v3 with --snmp-keys.",
    no_args_is_help=False,
    add_completion=False,
)


def register(app: typer.Typer) -> None:
    from dissect.cli.cmd_snmp_audit import register_audit  # `dissect snmp audit` (its own module)
    register_audit(snmp_app)
    app.add_typer(snmp_app, name="snmp")


def load_keys_option(snmp_keys: Optional[Path]) -> None:
    """Validate a --snmp-keys file early (one clear line on error) and print its warnings."""
    if snmp_keys is None:
        return
    from dissect.errors import KeysFileError

    try:
        from dissect.snmp.keys import KeyStore
    except ImportError:  # pragma: no cover - the key store is part of the package
        raise UserError("--snmp-keys: SNMPv3 key support is not available") from None
    try:
        ks = KeyStore.from_file(snmp_keys)
    except KeysFileError as e:
        raise UserError(str(e)) from None
    for w in getattr(ks, "warnings", ()):
        err_console.print(f"dissect: warning: {safe(w)}")


def _fmt_ts(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _mask(value: Any, show: bool) -> str:
    from dissect.schema import mask_secret

    if value is None:
        return ""
    return str(value) if show else str(mask_secret(value))


def pdu_line(r, show_secrets: bool) -> str:
    """One PDU as a line of text (already made safe for the terminal)."""
    parts = [_fmt_ts(r.ts), f"{safe(r.src_h)}:{r.src_p} -> {safe(r.dst_h)}:{r.dst_p}",
             f"{r.transport}", f"v{r.version}"]
    if r.version in ("1", "2c"):
        parts.append("community=" + safe(_mask(r.community, show_secrets)))
    else:
        parts.append(f"user={safe(r.user or '')}")
        parts.append(f"{r.security_level or '?'}")
        if r.auth not in (None, "none"):
            parts.append(f"auth={r.auth}" + (f"({r.auth_proto})" if r.auth_proto else ""))
        if r.privacy not in (None, "none"):
            parts.append(f"priv={r.privacy}" + (f"({r.priv_proto})" if r.priv_proto else ""))
    parts.append(safe(r.pdu_type or "?"))
    if r.request_id is not None:
        parts.append(f"id={r.request_id}")
    elif r.msg_id is not None:
        parts.append(f"msgid={r.msg_id}")
    if r.error_status not in (None, "noError"):
        parts.append(f"error={safe(r.error_status)}@{r.error_index}")
    if r.non_repeaters is not None:
        parts.append(f"non-rep={r.non_repeaters} max-rep={r.max_repetitions}")
    if r.trap_oid:
        parts.append(f"trap={safe(r.trap_oid)}")
    if r.enterprise and r.generic_trap:
        parts.append(f"({safe(r.generic_trap)} from {safe(r.agent_addr)})")
    if r.report_reason:
        parts.append(f"report={safe(r.report_reason)}")
    if r.answered is True:
        parts.append(f"answered in {r.response_time * 1000:.1f} ms" if r.response_time is not None else "answered")
    elif r.answered is False:
        parts.append("UNANSWERED")
    return "  ".join(parts)


@snmp_app.command("list", help="List SNMP PDUs with their varbinds (the default command).")
def list_pdus(
    captures: list[str] = typer.Argument(..., help="Capture files (pcap, pcapng, optionally .gz); '-' reads stdin."),
    snmp_keys: Optional[Path] = typer.Option(None, "--snmp-keys", help="SNMPv3 keys file (TOML or Wireshark snmp_users) to authenticate and decrypt v3."),
    agent: Optional[list[str]] = typer.Option(None, "--agent", help="Only PDUs to or from this address, or v1 traps with this agent-addr (repeatable)."),
    community: Optional[list[str]] = typer.Option(None, "--community", help="Only v1/v2c PDUs with this community (repeatable)."),
    user: Optional[list[str]] = typer.Option(None, "--user", help="Only v3 PDUs of this USM user (repeatable)."),
    pdu_type: Optional[list[str]] = typer.Option(None, "--type", help="Only these PDU types: get, getnext, response, set, trap, getbulk, inform, trapv2, report, encrypted."),
    unanswered: bool = typer.Option(False, "--unanswered", help="Only requests that got no response."),
    varbinds: int = typer.Option(8, "--varbinds", help="Varbinds shown per PDU (0: none)."),
    limit: int = typer.Option(0, "--limit", help="Stop after this many PDUs (0: all)."),
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Show communities in full."),
    decode_as: Optional[list[str]] = decode_as_option(),
    cap: Optional[list[str]] = cap_option(),
) -> None:
    if varbinds < 0 or limit < 0:
        raise UserError("--varbinds and --limit must be >= 0")
    types = {t.lower() for t in pdu_type or []}
    load_keys_option(snmp_keys)
    opts = build_options(decode_as=decode_as, caps=cap, snmp_keys=snmp_keys, show_secrets=show_secrets,
                         protocols=("snmp",))
    analysis = run_analysis(captures, opts)
    pdus = list(analysis.records.get("snmp_pdus", []))
    vbs: dict[int, list] = {}
    for v in analysis.records.get("snmp_varbinds", []):
        vbs.setdefault(v.pdu_index, []).append(v)
    pdus.sort(key=lambda r: (r.ts, r.pdu_index))
    agents = set(agent or [])
    comms = set(community or [])
    users = set(user or [])
    shown = 0
    counts = {"pdus": 0, "requests": 0, "answered": 0, "unanswered": 0, "decrypted": 0, "encrypted": 0}
    for r in pdus:
        if agents and r.src_h not in agents and r.dst_h not in agents and r.agent_addr not in agents:
            continue
        if comms and r.community not in comms:
            continue
        if users and r.user not in users:
            continue
        if types and (r.pdu_type or "") not in types:
            continue
        if unanswered and r.answered is not False:
            continue
        counts["pdus"] += 1
        if r.is_request:
            counts["requests"] += 1
            counts["answered" if r.answered else "unanswered"] += 1
        if r.privacy == "decrypted":
            counts["decrypted"] += 1
        elif r.privacy in ("no_key", "decrypt_failed"):
            counts["encrypted"] += 1
        if limit and shown >= limit:
            continue
        shown += 1
        console.print(pdu_line(r, show_secrets), soft_wrap=True)
        if varbinds:
            lst = vbs.get(r.pdu_index, [])
            for v in lst[:varbinds]:
                val = "" if v.value is None else " " + safe(v.value)
                console.print(f"    {safe(v.oid)} = {safe(v.type)}{':' if val else ''}{val}", soft_wrap=True)
            if len(lst) > varbinds:
                console.print(f"    ... {len(lst) - varbinds} more varbinds")
    summary = (f"{counts['pdus']} PDUs, {counts['requests']} requests ({counts['answered']} answered, "
               f"{counts['unanswered']} unanswered)")
    if counts["decrypted"] or counts["encrypted"]:
        summary += f", v3: {counts['decrypted']} decrypted, {counts['encrypted']} still encrypted"
    err_console.print(summary, soft_wrap=True)
