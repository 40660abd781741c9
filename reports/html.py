"""HTML building blocks of the report: escaping, tables, charts, notes.

Everything that came from a capture is hostile: every cell goes through :func:`html.escape`, every
chart's JSON has ``<``, ``>``, ``&`` and the JavaScript line separators escaped as ``\\uXXXX`` so a
``</script>`` inside data can never close the script element it travels in.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

__all__ = ["esc", "safe_json", "Block", "Chart", "Table", "Note", "Stats", "fmt_value",
           "fmt_bytes", "MAX_TABLE_ROWS"]

#: default cap on the rows of any table in the report ("showing N of M")
MAX_TABLE_ROWS = 100
#: longest text shown in one table cell (captured URIs or headers can be 64 KB long)
MAX_CELL_CHARS = 400


_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _ctrl(m: "re.Match[str]") -> str:
    o = ord(m.group())
    return "\\x%02x" % o if o < 256 else "\\u%04x" % o


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included), None -> empty string. Control characters (ANSI
    escapes: a report viewed with ``cat``/``less`` must not drive the terminal) and bidi overrides
    are shown as ``\\xNN``/``\\uNNNN``, as in the terminal."""
    if value is None:
        return ""
    s = str(value)
    if _CTRL.search(s):
        s = _CTRL.sub(_ctrl, s)
    return html.escape(s, quote=True)


_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def safe_json(text: str) -> str:
    """Make a JSON document safe to embed inside a ``<script>`` element.

    ``<`` ``>`` ``&`` are only ever inside JSON strings (never JSON syntax), where ``\\u003c`` means the
    same character: the parsed value is unchanged, but no ``</script>`` or ``<!--`` can appear.
    """
    for ch, rep in _JSON_ESCAPES.items():
        if ch in text:
            text = text.replace(ch, rep)
    return text


def fmt_bytes(n: Any) -> str:
    try:
        n = float(n)
    except (TypeError, ValueError):
        return ""
    if math.isnan(n):
        return ""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"  # pragma: no cover


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return False


def fmt_value(v: Any) -> tuple[str, str | None]:
    """(display text, sort key or None) of one cell; text is NOT yet escaped."""
    if _is_missing(v):
        return "", None
    if isinstance(v, (bool, np.bool_)):
        return ("yes" if v else "no"), ("1" if v else "0")
    if isinstance(v, (int, np.integer)):
        return str(int(v)), str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f)), repr(f)
        return (f"{f:.3f}" if abs(f) < 1e6 else f"{f:.4g}"), repr(f)
    if isinstance(v, pd.Timestamp):
        if v.tzinfo is not None:
            v = v.tz_convert("UTC")
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], repr(v.value / 1e9)
    if isinstance(v, pd.Timedelta):
        return f"{v.total_seconds():.3f} s", repr(v.total_seconds())
    if isinstance(v, (tuple, list, set, frozenset, np.ndarray)):
        return ", ".join(str(x) for x in v), None
    if isinstance(v, bytes):
        return v.hex(), None
    return str(v), None


class Block:
    """One piece of a section's body."""

    def render(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class Note(Block):
    text: str
    kind: str = "note"          # note | failed | empty

    def render(self) -> str:
        cls = {"failed": "section-failed", "empty": "empty-note"}.get(self.kind, "note")
        return f'<p class="{cls}">{esc(self.text)}</p>'


@dataclass
class Stats(Block):
    """A row of key figures (label -> value)."""

    items: list[tuple[str, Any]]

    def render(self) -> str:
        cells = "".join(
            f'<div class="stat"><div class="stat-v">{esc(fmt_value(v)[0] if not isinstance(v, str) else v)}'
            f'</div><div class="stat-k">{esc(k)}</div></div>' for k, v in self.items)
        return f'<div class="stats">{cells}</div>'


@dataclass
class Table(Block):
    """A sortable, filterable table. ``df`` is rendered as is (cap applied here)."""

    title: str
    df: pd.DataFrame
    total: int | None = None           # rows before the caller's own top-N cut (for "showing N of M")
    max_rows: int = MAX_TABLE_ROWS
    note: str | None = None
    headers: dict[str, str] = field(default_factory=dict)   # column -> display header
    byte_cols: tuple[str, ...] = ()    # columns shown as human sizes (sorted by the raw number)
    wide: bool = False

    def render(self) -> str:
        df = self.df
        total = self.total if self.total is not None else len(df)
        shown = df.head(self.max_rows)
        cols = list(shown.columns)
        head = "".join(f'<th title="click to sort">{esc(self.headers.get(c, c))}</th>' for c in cols)
        body_rows = []
        # column-wise formatting (fast), then row-wise assembly
        formatted = []
        for c in cols:
            vals = shown[c].tolist()
            fc = []
            for v in vals:
                text, key = fmt_value(v)
                if c in self.byte_cols and key is not None:
                    text = fmt_bytes(v)
                elif len(text) > MAX_CELL_CHARS:
                    text = f"{text[:MAX_CELL_CHARS]}… (+{len(text) - MAX_CELL_CHARS} characters)"
                fc.append((text, key))
            formatted.append(fc)
        for i in range(len(shown)):
            tds = []
            for fc in formatted:
                text, key = fc[i]
                if key is not None:
                    tds.append(f'<td data-v="{esc(key)}" class="num">{esc(text)}</td>')
                else:
                    tds.append(f"<td>{esc(text)}</td>")
            body_rows.append("<tr>" + "".join(tds) + "</tr>")
        caption = esc(self.title)
        count = (f"showing {len(shown)} of {total}" if len(shown) < total
                 else f"{total} row{'s' if total != 1 else ''}")
        note = f'<div class="tnote">{esc(self.note)}</div>' if self.note else ""
        cls = "tblock wide" if self.wide else "tblock"
        return (f'<div class="{cls}"><div class="thead"><h3>{caption}</h3>'
                f'<span class="tcount">{esc(count)}</span>'
                f'<input class="tfilter" type="search" placeholder="filter rows" aria-label="filter {caption}"></div>'
                f'{note}<div class="tscroll"><table class="dtable"><thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(body_rows)}</tbody></table></div></div>')


@dataclass
class Chart(Block):
    """A plotly figure, embedded as escaped JSON and drawn by the page script."""

    fig: Any                      # plotly.graph_objects.Figure
    title: str
    subtitle: str | None = None
    wide: bool = False
    chart_id: str = ""

    def render(self) -> str:
        fig = self.fig
        if hasattr(fig, "to_plotly_json"):          # a plotly.graph_objects figure works too
            fig = fig.to_plotly_json()
        lines = wrap_words(self.subtitle, 100 if self.wide else 85) if self.subtitle else []
        sub = "".join(f"<br><sup>{esc(x)}</sup>" for x in lines)
        layout = _merge_layout(THEME, fig.get("layout") or {})
        layout["title"] = {"text": esc(self.title) + sub, "x": 0.02, "xanchor": "left"}
        layout["margin"] = {"l": 60, "r": 20, "t": 50 + 16 * len(lines), "b": 60}
        spec = json.dumps(_clean({"data": fig.get("data") or [], "layout": layout}), default=_json_default,
                          separators=(",", ":"), allow_nan=False)
        cls = "chart wide" if self.wide else "chart"
        return (f'<div class="{cls}"><div class="plot" id="{esc(self.chart_id)}" '
                f'data-title="{esc(self.title)}"></div>'
                f'<script type="application/json" class="figdata" data-target="{esc(self.chart_id)}">'
                f'{safe_json(spec)}</script></div>')


_AXIS = {"gridcolor": "#e5ecf6", "zerolinecolor": "#d0d7e2", "linecolor": "#c8d0da", "automargin": True,
         "title": {"standoff": 8}}
#: the look of plotly's "plotly_white" template, spelled out (no template object per chart)
THEME = {
    "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "hovermode": "closest",
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
             "size": 12, "color": "#2a3f5f"},
    "colorway": ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6",
                 "#9d755d", "#bab0ac"],
    "xaxis": _AXIS, "yaxis": _AXIS, "hoverlabel": {"align": "left"},
}


def _merge_layout(base: dict, over: dict) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge_layout(out[k], v)
        else:
            out[k] = v
    return out


def _clean(o: Any) -> Any:
    """NaN/inf -> None (JSON has no NaN; plotly treats null as a gap), recursively."""
    if isinstance(o, float):
        return None if (o != o or o in (math.inf, -math.inf)) else o
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        f = float(o)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, (pd.Timestamp,)):
        return o.isoformat()
    if o is pd.NA or o is pd.NaT:
        return None
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def wrap_words(text: str, width: int) -> list[str]:
    """Split ``text`` into lines of at most ``width`` characters at spaces."""
    out: list[str] = []
    cur = ""
    for w in str(text).split():
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    if cur:
        out.append(cur)
    return out


def escape_labels(values: Iterable[Any]) -> list[str]:
    """Category labels for plotly: plotly renders some HTML in labels, so escape them."""
    return [esc(v) for v in values]
