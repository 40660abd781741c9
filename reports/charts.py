"""Plotly figure builders used by the sections (always from aggregated data).

Figures are plain ``{"data": [...], "layout": {...}}`` dicts in plotly.js's own schema (the
report only needs the JSON; building ``plotly.graph_objects`` figures validated and deep-copied
the template per chart and made a report ten times slower to build).

Category labels that come from the capture are HTML-escaped before they reach plotly (plotly
renders a subset of HTML in labels); plotly shows the entities as the original characters.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from dissect.reports.aggregate import bin_centers_iso
from dissect.reports.html import esc

__all__ = ["Fig", "time_bars", "hbar", "stacked_bars", "heatmap", "hist_bars"]


class Fig(dict):
    """A plotly.js figure as a dict, with the two plotly.graph_objects methods the sections use."""

    def __init__(self, data: list | dict | None = None):
        if isinstance(data, dict):
            data = [data]
        super().__init__(data=list(data or []), layout={})

    def add_trace(self, trace: dict) -> "Fig":
        self["data"].append(trace)
        return self

    def update_layout(self, **kw: Any) -> "Fig":
        _merge(self["layout"], kw)
        return self


def _merge(dst: dict, src: dict) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v

PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6",
           "#9d755d", "#bab0ac"]
COLORS = {"accepted": "#54a24b", "bounced": "#a61c3c", "rejected": "#e45756", "tempfail": "#f58518", "unanswered": "#bab0ac",
          "aborted": "#9d755d", "incomplete": "#b279a2", "2xx": "#54a24b", "3xx": "#4c78a8", "4xx": "#f58518",
          "5xx": "#e45756", "1xx": "#72b7b2", "no response": "#bab0ac", "critical": "#8b0000", "high": "#e45756",
          "medium": "#f58518", "low": "#eeca3b", "info": "#4c78a8", "error": "#e45756", "warning": "#f58518",
          "other": "#bab0ac"}


def _color(name: str, i: int) -> str:
    return COLORS.get(name, PALETTE[i % len(PALETTE)])


MAX_LABEL = 60


def _labels(values: Sequence[Any]) -> list[str]:
    """Escaped category labels, long ones shortened (kept distinct: plotly merges equal categories)."""
    out: list[str] = []
    seen: set[str] = set()
    for v in values:
        t = "" if v is None else str(v)
        if len(t) > MAX_LABEL:
            t = t[:MAX_LABEL - 1] + "…"
            base, i = t, 2
            while t in seen:
                t = f"{base} ({i})"
                i += 1
        seen.add(t)
        out.append(esc(t))
    return out


def time_bars(series: dict[str, np.ndarray], edges: np.ndarray, width: float, ytitle: str,
              xtitle: str = "time (UTC)", line: tuple[str, np.ndarray] | None = None) -> Fig:
    """Stacked bars per time bin, one trace per label; ``line`` = (name, values) drawn as a step line."""
    x = bin_centers_iso(edges)
    fig = Fig()
    if line is not None:
        name, ys = line
        fig.add_trace(dict(type="scatter", mode="lines", x=x, y=[float(v) for v in ys], name=esc(name),
                           line={"shape": "hv", "color": "#333333", "width": 1.2},
                           hovertemplate="%{x}<br>" + esc(name) + ": %{y:,.0f}<extra></extra>"))
    for i, (name, ys) in enumerate(series.items()):
        fig.add_trace(dict(type="bar", x=x, y=[float(v) for v in ys], name=esc(name), marker={"color": _color(name, i)},
                             offset=0, width=width * 1000.0 * 0.95,
                             hovertemplate="%{x}<br>" + esc(name) + ": %{y:,.0f}<extra></extra>"))
    fig.update_layout(barmode="stack", bargap=0, legend={"orientation": "h", "y": -0.2, "traceorder": "normal"},
                      xaxis={"title": {"text": xtitle}, "type": "date"},
                      yaxis={"title": {"text": ytitle}, "rangemode": "tozero"})
    return fig


def hbar(labels: Sequence[Any], values: Sequence[float], xtitle: str, ytitle: str,
         color: str = "#4c78a8", hover_fmt: str = ",.0f") -> Fig:
    """Horizontal bars, largest on top."""
    labs = _labels(labels)
    vals = [float(v) for v in values]
    fig = Fig(dict(type="bar", x=vals[::-1], y=labs[::-1], orientation="h", marker={"color": color},
                           hovertemplate="%{y}: %{x:" + hover_fmt + "}<extra></extra>"))
    n = max(len(labs), 1)
    fig.update_layout(xaxis={"title": {"text": xtitle}}, yaxis={"title": {"text": ytitle}, "automargin": True,
                                                               "type": "category"},
                      height=max(320, min(900, 80 + 22 * n)))
    return fig


def stacked_bars(categories: Sequence[Any], stacks: dict[str, Sequence[float]], xtitle: str, ytitle: str,
                 horizontal: bool = True) -> Fig:
    """Bars per category, stacked by ``stacks`` keys (e.g. outcome per server)."""
    cats = _labels(categories)
    fig = Fig()
    for i, (name, vals) in enumerate(stacks.items()):
        v = [float(x) for x in vals]
        if horizontal:
            fig.add_trace(dict(type="bar", y=cats[::-1], x=v[::-1], name=esc(name), orientation="h",
                                 marker={"color": _color(name, i)}))
        else:
            fig.add_trace(dict(type="bar", x=cats, y=v, name=esc(name), marker={"color": _color(name, i)}))
    n = max(len(cats), 1)
    if horizontal:
        fig.update_layout(barmode="stack", xaxis={"title": {"text": xtitle}},
                          yaxis={"title": {"text": ytitle}, "automargin": True, "type": "category"},
                          height=max(320, min(900, 100 + 24 * n)), legend={"orientation": "h", "y": -0.25, "traceorder": "normal"})
    else:
        fig.update_layout(barmode="stack", xaxis={"title": {"text": xtitle}, "type": "category"},
                          yaxis={"title": {"text": ytitle}}, legend={"orientation": "h", "y": -0.25, "traceorder": "normal"})
    return fig


def heatmap(z: np.ndarray, rows: Sequence[Any], cols: Sequence[Any], xtitle: str, ytitle: str,
            ztitle: str) -> Fig:
    r, c = _labels(rows), _labels(cols)
    zz = np.asarray(z, dtype="float64")
    text = [[f"{v:,.0f}" for v in row] for row in zz]
    fig = Fig(dict(type="heatmap", z=[[None if v == 0 else float(v) for v in row] for row in zz], x=c, y=r,
                               colorscale="Blues", colorbar={"title": {"text": ztitle}},
                               text=text, hovertemplate="%{y} → %{x}<br>%{text} " + esc(ztitle) + "<extra></extra>"))
    n = max(len(r), 1)
    fig.update_layout(xaxis={"title": {"text": xtitle}, "type": "category", "automargin": True, "tickangle": -45},
                      yaxis={"title": {"text": ytitle}, "type": "category", "automargin": True,
                             "autorange": "reversed"},
                      height=max(380, min(900, 200 + 24 * n)))
    return fig


def hist_bars(edges: np.ndarray, counts: np.ndarray, xtitle: str, ytitle: str, name: str = "",
              log_x: bool = False, color: str = "#4c78a8") -> Fig:
    """A histogram already computed (edges, counts), drawn as bars."""
    edges = np.asarray(edges, dtype="float64")
    mids = ((edges[:-1] + edges[1:]) / 2.0).tolist()
    widths = np.diff(edges).tolist()
    labels = [f"{a:.3g}–{b:.3g}" for a, b in zip(edges[:-1], edges[1:])]
    fig = Fig(dict(type="bar", x=mids, y=[int(c) for c in counts], width=widths, name=esc(name),
                           marker={"color": color}, customdata=labels,
                           hovertemplate="%{customdata}: %{y}<extra></extra>"))
    fig.update_layout(bargap=0.02, xaxis={"title": {"text": xtitle}, "type": "log" if log_x else "linear"},
                      yaxis={"title": {"text": ytitle}})
    return fig
