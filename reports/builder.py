"""Assemble the self-contained HTML report from an Analysis.

One file: the page CSS and script inline, plotly.js inlined once, every chart as escaped JSON
drawn with ``Plotly.newPlot``. No network fetch, no external font. Each section and each block of a
section is built under its own guard: a block that raises shows "section failed: <reason>" and
the rest of the report is still written (the tests require that no block fails on real captures).
"""

from __future__ import annotations

import datetime as _dt
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from dissect.reports.html import Block, Chart, Note, esc

__all__ = ["build_report", "render_report", "Report", "ReportContext", "SectionOut", "SECTIONS"]

_ASSETS = Path(__file__).resolve().parent


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


def getv(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or mapping item ``name`` of ``obj`` (the Analysis parts may be either)."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


class ReportContext:
    """What a section sees: the tables (secrets masked), options and a chart id counter."""

    def __init__(self, analysis: Any, show_secrets: bool = False):
        self.analysis = analysis
        self.show_secrets = show_secrets
        self._n = 0
        self._cache: dict[str, pd.DataFrame | None] = {}

    def next_id(self, prefix: str = "chart") -> str:
        self._n += 1
        return f"{prefix}-{self._n}"

    def chart(self, fig: Any, title: str, subtitle: str | None = None, wide: bool = False) -> Chart:
        return Chart(fig=fig, title=title, subtitle=subtitle, wide=wide, chart_id=self.next_id())

    def table(self, name: str) -> pd.DataFrame | None:
        """The table ``name`` (None when the analysis has no such table), secrets masked."""
        if name in self._cache:
            return self._cache[name]
        df = None
        tables = getv(self.analysis, "tables")
        try:
            if tables is not None:
                df = tables[name] if name in tables else None
        except (KeyError, TypeError):
            df = None
        if df is None:
            df = getv(self.analysis, name)
        if df is not None and not isinstance(df, pd.DataFrame):
            df = None
        if df is not None and not self.show_secrets:
            df = mask_frame(name, df)
        self._cache[name] = df
        return df


def secret_columns(table: str) -> set[str]:
    """Columns declared ``secret=True`` for ``table`` (plus known secret names as a safety net)."""
    out = {"community", "password", "auth_password", "priv_password", "auth_key", "priv_key", "secret"}
    try:
        from dissect import schema

        cls = schema.table_types().get(table)
        if cls is None:
            try:
                from dissect import analyzer

                analyzer.load_protocols()
            except Exception:  # noqa: BLE001 - a protocol package failing to import must not stop the report
                pass
            cls = schema.table_types().get(table)
        if cls is not None:
            out |= {c[0] for c in schema.columns(cls) if c[3]}
    except Exception:  # noqa: BLE001
        pass
    return out


def mask_frame(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with secret columns partly masked (``pu***c``)."""
    from dissect.schema import mask_secret

    cols = [c for c in df.columns if c in secret_columns(table)]
    # audit findings name the community in `subject`: mask it when the finding is about a community
    extra = table == "snmp_findings" and "subject" in df.columns
    if not cols and not extra:
        return df
    df = df.copy()
    for c in cols:
        df[c] = _mask_series(df[c], mask_secret)
    if extra:
        kind = df["kind"].astype("object").fillna("").astype(str).str.lower() if "kind" in df.columns else None
        subj_kind = (df["subject_kind"].astype("object").fillna("").astype(str).str.lower()
                     if "subject_kind" in df.columns else None)
        if subj_kind is not None:
            is_secret = subj_kind.str.contains("community|password")
        elif kind is not None:
            is_secret = kind.str.contains("communit|password")
        else:
            is_secret = pd.Series(False, index=df.index)
        if is_secret.any():
            df["subject"] = df["subject"].astype("object")
            df.loc[is_secret, "subject"] = _mask_series(df.loc[is_secret, "subject"], mask_secret)
    return df


def _mask_series(s: pd.Series, mask: Callable[[Any], Any]) -> pd.Series:
    def one(v: Any) -> Any:
        if isinstance(v, (tuple, list)):
            return tuple(mask(x) for x in v)
        return mask(v)

    return s.astype("object").map(one, na_action="ignore")


@dataclass
class SectionOut:
    """The rendered blocks of one section, and the failures of its guarded blocks."""

    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    intro: str | None = None
    tracebacks: list[str] = field(default_factory=list)    # for debugging a failed block

    def add(self, *blocks: Block | None) -> None:
        for b in blocks:
            if b is not None:
                self.blocks.append(b)

    def run(self, what: str, fn: Callable[[], Block | Iterable[Block] | None]) -> None:
        """Build one block under a guard: an exception becomes a short "section failed" note."""
        try:
            got = fn()
        except Exception as e:  # noqa: BLE001 - a section must never crash the report
            self.fail(what, e)
            return
        if got is None:
            return
        if isinstance(got, Block):
            self.blocks.append(got)
        else:
            self.blocks.extend(b for b in got if b is not None)

    def fail(self, what: str, e: BaseException) -> None:
        reason = f"{what}: {type(e).__name__}: {e}"[:300]
        self.failures.append(reason)
        self.blocks.append(Note(f"section failed: {reason}", kind="failed"))
        self.tracebacks.append(traceback.format_exc())


def _sections() -> list[tuple[str, str, Callable[[ReportContext, SectionOut], bool]]]:
    from dissect.reports import anomalies, http, mail, overview, snmp

    return [
        ("overview", "Overview", overview.build),
        ("mail", "Mail (SMTP)", mail.build),
        ("http", "HTTP", http.build),
        ("snmp", "SNMP", snmp.build),
        ("anomalies", "Anomalies", anomalies.build),
    ]


SECTIONS = ("overview", "mail", "http", "snmp", "anomalies")


@dataclass
class Report:
    """A rendered report: the HTML text and what went into it."""

    html: str
    sections: list[str]                      # keys of the sections present, in order
    charts: int
    tables: int
    failures: list[str]                      # "section: block: reason" for every guarded failure
    title: str

    @property
    def size(self) -> int:
        return len(self.html.encode("utf-8"))


def _capture_names(analysis: Any) -> list[str]:
    caps = getv(analysis, "captures") or []
    out = []
    try:
        for c in caps:
            p = getv(c, "path")
            if p:
                out.append(Path(str(p)).name)
    except TypeError:
        pass
    return out


def render_report(analysis: Any, *, show_secrets: bool = False, title: str | None = None) -> Report:
    """Render the whole report to a :class:`Report` (no file written)."""
    import plotly.offline

    ctx = ReportContext(analysis, show_secrets=show_secrets)
    names = _capture_names(analysis)
    if title is None:
        if len(names) == 1:
            title = f"Traffic report: {names[0]}"
        elif names:
            title = f"Traffic report: {len(names)} capture files"
        else:
            title = "Traffic report"
    outs: list[SectionOut] = []
    for key, stitle, fn in _sections():
        sec = SectionOut(key=key, title=stitle)
        try:
            shown = fn(ctx, sec)
        except Exception as e:  # noqa: BLE001 - never crash the report
            sec.fail("section", e)
            shown = True
        if shown:
            outs.append(sec)

    from dissect.reports import aggregate as _agg

    _agg._HOST_FRAME_CACHE.clear()
    nav = "".join(f'<a href="#sec-{esc(s.key)}">{esc(s.title)}</a>' for s in outs)
    body = []
    charts = tables = 0
    from dissect.reports.html import Table

    for s in outs:
        inner = []
        for b in s.blocks:
            try:
                inner.append(b.render())
            except Exception as e:  # noqa: BLE001
                s.failures.append(f"render {type(b).__name__}: {type(e).__name__}: {e}"[:300])
                inner.append(Note(f"section failed: render: {type(e).__name__}: {e}", kind="failed").render())
                continue
            charts += isinstance(b, Chart)
            tables += isinstance(b, Table)
        intro = f'<p class="intro">{esc(s.intro)}</p>' if s.intro else ""
        body.append(f'<section id="sec-{esc(s.key)}" class="section" data-section="{esc(s.key)}">'
                    f'<h2>{esc(s.title)}</h2>{intro}<div class="grid">{"".join(inner)}</div></section>')

    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    from dissect import __version__

    sub = " · ".join(names[:5]) + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")
    secrets = ("secrets shown (--show-secrets)" if show_secrets
               else "secrets (communities, passwords) masked")
    doc = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
        "font-src data:; connect-src 'none'\">"
        f"<title>{esc(title)}</title><style>{_asset('report.css')}</style></head><body>"
        f"<header><div class=\"hwrap\"><h1>{esc(title)}</h1>"
        f"<div class=\"meta\">{esc(sub)}{' · ' if sub else ''}generated {esc(generated)} by pcap-dissect "
        f"{esc(__version__)} · {esc(secrets)}</div><nav>{nav}</nav></div></header><main>"
        + "".join(body) +
        "</main><footer>All times are UTC. Charts are aggregated (binned by time, top N); tables are "
        "capped and say so. Click a column header to sort, type in a table's filter box to filter.</footer>"
        f"<script>{plotly.offline.get_plotlyjs()}</script>"
        f"<script>{_asset('report.js')}</script></body></html>\n"
    )
    failures = [f"{s.key}: {f}" for s in outs for f in s.failures]
    return Report(html=doc, sections=[s.key for s in outs], charts=charts, tables=tables,
                  failures=failures, title=title)


def build_report(analysis: Any, out_path: str | Path, *, show_secrets: bool = False,
                 title: str | None = None) -> Path:
    """Write the HTML report of ``analysis`` to ``out_path`` (parent folders created); returns the path.

    :func:`render_report` gives the same HTML with what went into it (sections, charts, failures).
    """
    rep = render_report(analysis, show_secrets=show_secrets, title=title)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(rep.html, encoding="utf-8")
    tmp.replace(out)
    return out
