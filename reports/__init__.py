"""The self-contained HTML traffic report (plotly), built from an Analysis.

    >>> from dissect.reports import build_report
    >>> build_report(dissect.analyze(["capture.pcap"]), "report.html")

:func:`render_report` gives the HTML text with what went into it (sections, charts, failures).
"""

from __future__ import annotations

__all__ = ["build_report", "render_report"]


def build_report(analysis, out_path, *, show_secrets: bool = False, title: str | None = None):
    """Write the report of ``analysis`` (a :class:`dissect.pipeline.Analysis`) to ``out_path``; returns the Path."""
    from dissect.reports.builder import build_report as _build

    return _build(analysis, out_path, show_secrets=show_secrets, title=title)


def render_report(analysis, *, show_secrets: bool = False, title: str | None = None):
    """The :class:`dissect.reports.builder.Report` (HTML text, sections, charts, failures)."""
    from dissect.reports.builder import render_report as _render

    return _render(analysis, show_secrets=show_secrets, title=title)
