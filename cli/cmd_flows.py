"""`dissect flows CAPTURE...`: the flow table (one row per connection, like Zeek's conn.log)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from dissect.cli.cmd_summary import analyse_for_cli, fmt_ts, out_console
from dissect.cli.common import CAPTURES, UserError, cap_option, console, decode_as_option, safe

__all__ = ["register", "filter_flows"]


def filter_flows(records, proto: Optional[str] = None, service: Optional[str] = None,
                 host: Optional[str] = None, state: Optional[str] = None) -> list:
    out = []
    for r in records:
        if proto and r.proto != proto:
            continue
        if service and (r.service or "") != service:
            continue
        if host and host not in (r.orig_h, r.resp_h):
            continue
        if state and r.state != state:
            continue
        out.append(r)
    return out


def flows(
    captures: list[str] = CAPTURES,
    proto: Optional[str] = typer.Option(None, "--proto", help="Only this transport: tcp, udp, icmp..."),
    service: Optional[str] = typer.Option(None, "--service", help="Only this service (smtp, http, snmp...)."),
    host: Optional[str] = typer.Option(None, "--host", help="Only flows with this address at either end."),
    state: Optional[str] = typer.Option(None, "--state", help="Only this connection state (SF, S0, REJ...)."),
    limit: int = typer.Option(100, "--limit", help="Rows to show (0 = all)."),
    decode_as: Optional[list[str]] = decode_as_option(),
    cap: Optional[list[str]] = cap_option(),
) -> None:
    """The flow table: uid, endpoints, service, duration, bytes, packets, state and history."""
    if limit < 0:
        raise UserError("--limit must be 0 (all) or a positive number")
    if host is not None:
        import ipaddress
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            raise UserError(f"--host expects an IP address, got {host!r}") from None
    a = analyse_for_cli(captures, decode_as, cap)
    rows = sorted(a.records.get("flows", ()), key=lambda r: (r.ts, r.uid))
    rows = filter_flows(rows, proto and proto.lower(), service and service.lower(), host, state)
    total = len(rows)
    if limit:
        rows = rows[:limit]
    out = out_console()
    if out.width >= 170:
        t = Table(title=f"Flows ({total:,})", title_justify="left")
        for c in ("uid", "start (UTC)", "originator", "responder", "proto", "service", "duration",
                  "orig bytes", "resp bytes", "pkts", "missed", "state", "history"):
            t.add_column(c, justify="right" if c in ("duration", "orig bytes", "resp bytes", "pkts",
                                                      "missed") else "left", no_wrap=c == "uid")
        for r in rows:
            t.add_row(r.uid, fmt_ts(r.ts), safe(_ep(r.orig_h, r.orig_p)), safe(_ep(r.resp_h, r.resp_p)),
                      r.proto, safe(r.service or "-"), f"{r.duration:.3f}", f"{r.orig_bytes:,}",
                      f"{r.resp_bytes:,}", f"{r.orig_pkts + r.resp_pkts:,}",
                      f"{r.missed_bytes:,}" if r.missed_bytes else "", r.state, safe(r.history))
    else:
        # a narrow terminal: fewer, denser columns without borders
        from rich import box
        t = Table(title=f"Flows ({total:,})", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, padding=(0, 1))
        t.add_column("uid", no_wrap=True)
        t.add_column("originator / responder", no_wrap=True)
        t.add_column("service", overflow="fold")
        t.add_column("bytes", justify="right", no_wrap=True)
        t.add_column("state", no_wrap=True)
        t.add_column("history", overflow="fold")
        for r in rows:
            svc = r.service or r.proto
            t.add_row(r.uid, safe(f"{_ep(r.orig_h, r.orig_p)}\n{_ep(r.resp_h, r.resp_p)}"), safe(svc),
                      f"{r.orig_bytes:,}\n{r.resp_bytes:,}", r.state, safe(r.history))
    out.print(t)
    if limit and total > limit:
        out.print(f"... {total - limit:,} more flows (use --limit 0 for all)")


def _ep(h: str, p: int) -> str:
    return f"[{h}]:{p}" if ":" in h else f"{h}:{p}"


def register(app: typer.Typer) -> None:
    app.command("flows")(flows)
