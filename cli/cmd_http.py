"""`dissect http CAPTURE...`: list HTTP/1.x transactions; `--har out.har` writes an HTTP Archive.

Filters: ``--host`` (case-insensitive; a glob with ``*``/``?``, otherwise a substring),
``--status`` (``404``, ``4xx``; repeatable), ``--method`` (repeatable). Every captured string is
printed through :func:`safe`.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from dissect.cli.common import (UserError, build_options, cap_option, console, decode_as_option,
                                run_analysis, safe)

__all__ = ["register", "filter_transactions"]


def _status_matcher(values: list[str]):
    exact: set[int] = set()
    classes: set[int] = set()
    for v in values:
        s = v.strip().lower()
        if len(s) == 3 and s[0].isdigit() and s[1:] == "xx":
            classes.add(int(s[0]))
        elif s.isdigit() and len(s) <= 3:
            exact.add(int(s))
        else:
            raise UserError(f"--status expects a code (404) or a class (4xx), got {v!r}")
    return lambda code: code is not None and (code in exact or code // 100 in classes)


def _url(t) -> str:
    """Host + origin-form target; the target alone when it is absolute/authority/asterisk form
    (OPTIONS * was shown as 'www.google.com*')."""
    uri = t.uri or ""
    if uri and (t.method == "CONNECT" or not uri.startswith("/")):
        return f"{t.host} {uri}" if uri == "*" and t.host else uri
    return (t.host or "") + uri


def filter_transactions(rows: list[Any], host: Optional[list[str]] = None, status: Optional[list[str]] = None,
                        method: Optional[list[str]] = None) -> list[Any]:
    if host:
        pats = [h.lower() for h in host]

        def host_ok(h: Optional[str]) -> bool:
            h = (h or "").lower()
            return any(fnmatch.fnmatchcase(h, p) if any(c in p for c in "*?[") else p in h for p in pats)

        rows = [r for r in rows if host_ok(r.host)]
    if status:
        m = _status_matcher(status)
        rows = [r for r in rows if m(r.status_code)]
    if method:
        ms = {x.upper() for x in method}
        rows = [r for r in rows if (r.method or "").upper() in ms]
    return rows


def _fmt_ts(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _size(n: Optional[int]) -> str:
    if n is None:
        return ""
    if n < 10_000:
        return str(n)
    if n < 10_000_000:
        return f"{n / 1024:.0f}K"
    return f"{n / 1048576:.1f}M"


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def register(app: typer.Typer) -> None:
    @app.command("http", help="List HTTP/1.x transactions (request/response pairs); --har writes an HTTP Archive.")
    def http_cmd(
        captures: list[str] = typer.Argument(..., help="Capture files (pcap, pcapng, optionally .gz); '-' reads stdin."),
        host: Optional[list[str]] = typer.Option(None, "--host", help="Only this host (substring, or a glob like '*.example.com'). Repeatable."),
        status: Optional[list[str]] = typer.Option(None, "--status", help="Only this status code (404) or class (4xx). Repeatable."),
        method: Optional[list[str]] = typer.Option(None, "--method", help="Only this request method. Repeatable."),
        har: Optional[Path] = typer.Option(None, "--har", help="Write the (filtered) transactions as HAR 1.2 to this file."),
        headers: bool = typer.Option(False, "--headers", help="Also print every request and response header."),
        limit: int = typer.Option(0, "--limit", help="Print at most this many transactions (0: all)."),
        decode_as: Optional[list[str]] = decode_as_option(),
        cap: Optional[list[str]] = cap_option(),
    ) -> None:
        if limit < 0:
            raise UserError("--limit must be >= 0")
        if status:
            _status_matcher(status)  # validate early
        if har is not None:
            if har.exists() and har.is_dir():
                raise UserError(f"--har {har}: is a directory")
            if not har.parent.exists():
                raise UserError(f"--har {har}: folder {har.parent} does not exist")
        want_headers = headers or har is not None
        opts = build_options(decode_as=decode_as, caps=cap, protocols=("http",), http_headers=want_headers,
                             http_body_bytes=_har_body_bytes() if har is not None else 0)
        analysis = run_analysis(captures, opts)
        recs = analysis.records
        txns = sorted(recs.get("http_transactions", []), key=lambda r: (r.ts, r.uid, r.trans_depth))
        total = len(txns)
        txns = filter_transactions(txns, host, status, method)
        if har is not None:
            from dissect import __version__ as ver
            from dissect.http.har import build_har

            keys = {(t.uid, t.trans_depth) for t in txns}
            doc = build_har(txns,
                            [h for h in recs.get("http_headers", []) if (h.uid, h.trans_depth) in keys],
                            [b for b in recs.get("http_bodies", []) if (b.uid, b.trans_depth) in keys],
                            creator_version=str(ver))
            try:
                with open(har, "w", encoding="utf-8") as fh:
                    json.dump(doc, fh, indent=1, ensure_ascii=False)
            except OSError as e:
                raise UserError(f"--har {har}: {e.strerror or e}") from None
        shown = txns[:limit] if limit else txns
        day = _fmt_ts(shown[0].ts)[:10] if shown else ""
        table = Table(title=f"HTTP transactions ({len(txns)} of {total}){' ' + day if day else ''}",
                      show_lines=False, expand=False)
        wide = console.width >= 140
        mid = console.width >= 100
        table.add_column("time (UTC)", no_wrap=True)
        if wide:
            table.add_column("server", no_wrap=True)
        table.add_column("method", no_wrap=True)
        table.add_column("url", overflow="fold", ratio=3, min_width=16)
        table.add_column("status", no_wrap=True)
        table.add_column("size", justify="right", no_wrap=True)
        if wide:
            table.add_column("type", overflow="fold", max_width=24)
        if mid:
            table.add_column("ttfb ms", justify="right", no_wrap=True)
        table.add_column("notes", overflow="fold", ratio=1)
        hdr_map: dict[tuple[str, int], list[Any]] = {}
        if headers:
            for h in recs.get("http_headers", []):
                hdr_map.setdefault((h.uid, h.trans_depth), []).append(h)
        for t in shown:
            notes = list(t.tags or ())
            if t.incomplete:
                notes.insert(0, "incomplete")
            if t.info_code:
                notes.append(str(t.info_code))
            if t.username:
                notes.append(f"user={t.username}")
            if t.content_encoding:
                notes.append(t.content_encoding)
            if t.range and wide:
                notes.append("range " + t.range)
            status_s = "" if t.status_code is None else str(t.status_code)
            size = t.response_decoded_len if t.response_decoded_len is not None else t.response_body_len
            row = [_fmt_ts(t.ts)[11:], safe(f"{t.resp_h}:{t.resp_p}"), safe(t.method or ""),
                   safe(_clip(_url(t), 200)), safe(status_s), _size(size),
                   safe(_clip((t.response_content_type or "").split(";")[0], 30)),
                   "" if t.ttfb is None else f"{t.ttfb * 1000:.1f}", safe(_clip(", ".join(notes), 120))]
            if not mid:
                del row[7]
            if not wide:
                del row[6], row[1]
            table.add_row(*row)
        console.print(table)
        if headers:
            for t in shown:
                hs = hdr_map.get((t.uid, t.trans_depth), [])
                if not hs:
                    continue
                console.print(f"\n{safe(t.uid)} #{t.trans_depth} {safe(t.method or '')} {safe(t.uri or '')}", markup=False)
                for h in hs:
                    console.print(f"  {h.direction:>9} {safe(h.name)}: {safe(h.value)}", markup=False)
        weirds = [w for w in recs.get("weirds", []) if getattr(w, "source", "") == "http"]
        console.print(f"{len(txns)} transaction(s) shown of {total}; {len(weirds)} HTTP anomalies"
                      + (f"; HAR written to {safe(str(har))}" if har is not None else ""), markup=False)


def _har_body_bytes() -> int:
    from dissect.http.har import HAR_BODY_BYTES

    return HAR_BODY_BYTES
