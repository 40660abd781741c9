"""`dissect summary CAPTURE...` (what is in these captures) and `dissect caps` (resource caps).

Also home of :func:`analyse_for_cli`, the option handling shared by the foundation commands
(summary, flows, follow, export): validates ``--decode-as`` and ``--cap`` into one clear line,
runs the analysis through :func:`dissect.cli.common.run_analysis` and prints a warning line for
truncated captures (the results before the damage are still shown).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Optional

import typer
from rich.table import Table

from dissect.cli.common import (CAPTURES, UserError, build_options, cap_option, console,
                                decode_as_option, err_console, run_analysis, safe)

__all__ = ["register", "analyse_for_cli", "out_console", "make_cli_options", "warn_truncated", "fmt_ts",
           "fmt_bytes"]


def out_console():
    """The console for tables: the terminal's width, or wide rows when piped or captured."""
    if console.is_terminal:
        return console
    from rich.console import Console
    return Console(width=max(console.width, 200), highlight=False, soft_wrap=False)


def make_cli_options(decode_as: Optional[list[str]], caps: Optional[list[str]], **kw: Any):
    """Options from the common CLI flags; a bad --decode-as/--cap is one UserError line."""
    from dissect.detect import validate_decode_as

    options = build_options(decode_as=decode_as, caps=caps, **kw)
    try:
        validate_decode_as(options.decode_as)
    except ValueError as e:
        raise UserError(str(e)) from None
    return options


def warn_truncated(analysis) -> None:
    for c in analysis.captures:
        if getattr(c, "truncated", False):
            why = getattr(c, "error", None) or "the file ends inside a record"
            err_console.print(f"dissect: warning: {safe(c.path)}: capture truncated ({safe(why)}); "
                              f"analysed the {c.packets} packets before the damage",
                              markup=False, highlight=False)


def analyse_for_cli(captures: list[str], decode_as=None, caps=None, **kw: Any):
    options = make_cli_options(decode_as, caps, **kw)
    analysis = run_analysis(captures, options)
    warn_truncated(analysis)
    return analysis


def fmt_ts(ts: Optional[float]) -> str:
    if ts is None:
        return "-"
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def fmt_bytes(n: Optional[int]) -> str:
    if n is None:
        return "-"
    x = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if x < 1000 or unit == "GB":
            return f"{int(x)} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1000
    return str(n)  # pragma: no cover


def _linktype_names(lts) -> str:
    from dissect.pipeline import LINKTYPE_NAMES

    if not lts:
        return "-"
    parts = []
    for lt in sorted(lts):
        cnt = lts[lt] if isinstance(lts, dict) else None
        name = f"{LINKTYPE_NAMES.get(lt, 'DLT')} ({lt})"
        parts.append(f"{name}: {cnt:,}" if cnt else name)
    return ", ".join(parts)


def summary(
    captures: list[str] = CAPTURES,
    decode_as: Optional[list[str]] = decode_as_option(),
    cap: Optional[list[str]] = cap_option(),
    top: int = typer.Option(10, "--top", help="Rows in the top talkers / conversations tables."),
) -> None:
    """Packets, bytes, duration, link types, protocol mix, top talkers and conversations, anomalies."""
    from dissect.weird import WEIRDS

    a = analyse_for_cli(captures, decode_as, cap)
    st = a.stats
    console = out_console()

    t = Table(title="Captures", title_justify="left")
    for c in ("file", "format", "link types", "packets", "bytes", "first", "last", "note"):
        t.add_column(c, justify="right" if c in ("packets", "bytes") else "left")
    for c in a.captures:
        fmt = (c.format or "?") + (f"+{c.compression}" if getattr(c, "compression", None) else "")
        t.add_row(safe(c.path), fmt, _linktype_names(sorted(c.linktypes or ())), f"{c.packets:,}",
                  fmt_bytes(c.bytes), fmt_ts(c.first_ts), fmt_ts(c.last_ts),
                  "truncated" if c.truncated else "")
    console.print(t)

    t = Table(title="Overview", show_header=False, title_justify="left")
    t.add_column("what")
    t.add_column("value")
    t.add_row("packets", f"{st.packets:,}")
    t.add_row("bytes", f"{st.bytes:,} ({fmt_bytes(st.bytes)})")
    t.add_row("time span", f"{fmt_ts(st.first_ts)} .. {fmt_ts(st.last_ts)} UTC")
    t.add_row("duration", f"{st.duration:.3f} s")
    t.add_row("link types", _linktype_names(st.linktypes))
    if st.unknown_linktypes:
        t.add_row("unknown link types", _linktype_names(st.unknown_linktypes))
    t.add_row("flows", f"{st.flows:,} (at most {st.peak_flows:,} at once)")
    if st.non_ip:
        t.add_row("non-IP frames", f"{st.non_ip:,}")
    if st.truncated:
        t.add_row("truncated packets", f"{st.truncated:,}")
    if st.fragments:
        t.add_row("IP fragments", f"{st.fragments:,} ({st.reassembled:,} datagrams reassembled)")
    records = {k: len(v) for k, v in sorted(a.records.items()) if k not in ("flows", "weirds") and v}
    if records:
        t.add_row("protocol records", ", ".join(f"{k}: {v:,}" for k, v in records.items()))
    console.print(t)

    total = st.bytes or 1
    t = Table(title="Protocol mix (by service)", title_justify="left")
    for c in ("service", "flows", "packets", "bytes", "% bytes"):
        t.add_column(c, justify="left" if c == "service" else "right")
    for name, v in st.services.items():
        t.add_row(safe(name), f"{v['flows']:,}", f"{v['packets']:,}", fmt_bytes(v["bytes"]),
                  f"{100 * v['bytes'] / total:.1f}")
    console.print(t)

    t = Table(title="Protocol mix (by IP protocol)", title_justify="left")
    for c in ("protocol", "packets"):
        t.add_column(c, justify="left" if c == "protocol" else "right")
    for name, n in sorted(st.ip_protos.items(), key=lambda kv: -kv[1]):
        t.add_row(safe(name), f"{n:,}")
    if st.non_ip:
        t.add_row("(not IP)", f"{st.non_ip:,}")
    console.print(t)

    t = Table(title=f"Top talkers (top {top})", title_justify="left")
    for c in ("host", "sent pkts", "sent bytes", "recv pkts", "recv bytes"):
        t.add_column(c, justify="left" if c == "host" else "right")
    for h, v in list(st.talkers.items())[:top]:
        t.add_row(safe(h), f"{v['sent_packets']:,}", fmt_bytes(v["sent_bytes"]),
                  f"{v['recv_packets']:,}", fmt_bytes(v["recv_bytes"]))
    console.print(t)

    t = Table(title=f"Top conversations (top {top})", title_justify="left")
    for c in ("host A", "host B", "flows", "packets", "bytes"):
        t.add_column(c, justify="left" if c.startswith("host") else "right")
    for c in st.conversations[:top]:
        t.add_row(safe(c["a"]), safe(c["b"]), f"{c['flows']:,}", f"{c['packets']:,}",
                  fmt_bytes(c["bytes"]))
    console.print(t)

    t = Table(title="Anomalies (weirds)", title_justify="left")
    for c in ("name", "count", "severity", "meaning"):
        t.add_column(c, justify="right" if c == "count" else "left")
    for name, n in st.weirds.items():
        sev, desc = WEIRDS.get(name, ("?", ""))
        t.add_row(safe(name), f"{n:,}", sev, safe(desc))
    if not st.weirds:
        t.add_row("(none)", "0", "", "")
    console.print(t)


def _caps_docs() -> dict[str, str]:
    """The comment after each Caps field in dissect/options.py is its documentation."""
    import inspect
    import re

    from dissect.options import Caps

    docs = {}
    try:
        src = inspect.getsource(Caps)
    except (OSError, TypeError):  # pragma: no cover - no source (zipapp)
        return docs
    for m in re.finditer(r"^\s+(\w+)\s*:\s*[\w\[\], |]+=\s*[^#\n]+#\s*(.+)$", src, re.M):
        docs[m.group(1)] = m.group(2).strip()
    return docs


#: meanings of caps whose declaration in dissect/options.py has no comment
_CAP_FALLBACK = {
    "udp_idle_timeout": "seconds without packets before a UDP/ICMP flow is flushed",
    "smtp_pending_commands": "SMTP commands waiting for their replies (pipelining) per session",
    "mime_depth": "MIME nesting depth",
    "mime_parts": "MIME parts per message",
    "ber_depth": "BER nesting depth (SNMP)",
    "ber_length": "largest BER element length in bytes (SNMP)",
    "ber_elements": "BER elements per message (SNMP)",
    "oid_arcs": "arcs per OID (SNMP)",
    "snmp_pending_requests": "SNMP requests waiting for their responses",
}


def caps() -> None:
    """List the resource caps (set one with --cap NAME=VALUE); hitting any cap is a weird."""
    from dataclasses import fields

    from dissect.options import Caps

    docs = _caps_docs()
    defaults = Caps()
    console = out_console()
    t = Table(title="Resource caps (--cap NAME=VALUE)", title_justify="left")
    t.add_column("name")
    t.add_column("default", justify="right")
    t.add_column("meaning")
    for f in fields(Caps):
        v = getattr(defaults, f.name)
        t.add_row(f.name, f"{v:,}" if isinstance(v, int) else f"{v:g}",
                  docs.get(f.name) or _CAP_FALLBACK.get(f.name, ""))
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("summary")(summary)
    app.command("caps")(caps)
