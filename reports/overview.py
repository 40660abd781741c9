"""Overview: capture files, key figures, traffic over time, protocol mix, talkers, conversations."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dissect.reports import aggregate as agg
from dissect.reports import charts
from dissect.reports.builder import ReportContext, SectionOut, getv
from dissect.reports.html import Note, Stats, Table, fmt_bytes

TOP_HOSTS = 20
MATRIX_HOSTS = 20


def _captures_frame(analysis: Any) -> pd.DataFrame:
    caps = getv(analysis, "captures")
    if caps is None:
        return pd.DataFrame()
    if isinstance(caps, pd.DataFrame):
        return caps
    rows = []
    for c in caps:
        if dataclasses.is_dataclass(c):
            d = dataclasses.asdict(c)
        elif isinstance(c, dict):
            d = dict(c)
        else:
            d = {k: getattr(c, k) for k in dir(c) if not k.startswith("_") and not callable(getattr(c, k))}
        rows.append(d)
    df = pd.DataFrame(rows)
    if "path" in df.columns:
        df["file"] = df["path"].map(lambda p: Path(str(p)).name if p is not None else "")
    for c in ("first_ts", "last_ts"):
        if c in df.columns and not pd.api.types.is_datetime64_any_dtype(df[c]):
            try:
                df[c] = pd.to_datetime(pd.to_numeric(df[c], errors="coerce"), unit="s", utc=True)
            except (TypeError, ValueError):
                pass
    if "linktypes" in df.columns:
        df["linktypes"] = df["linktypes"].map(lambda v: ", ".join(link_name(x) for x in v)
                                              if isinstance(v, (list, tuple, set)) else link_name(v))
    order = [c for c in ("file", "format", "compressed", "linktypes", "packets", "bytes", "first_ts", "last_ts",
                         "duration", "truncated", "error") if c in df.columns]
    return df[order]


#: pcap LINKTYPE_ values -> names (the common ones)
LINKTYPES = {0: "BSD loopback", 1: "Ethernet", 101: "raw IP", 105: "802.11", 108: "OpenBSD loopback",
             113: "Linux cooked (SLL)", 127: "802.11 radiotap", 228: "raw IPv4", 229: "raw IPv6",
             276: "Linux cooked v2 (SLL2)", 12: "raw IP", 14: "raw IP"}


def link_name(v: Any) -> str:
    try:
        n = int(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{LINKTYPES[n]} ({n})" if n in LINKTYPES else f"link type {n}"


def _ts_value(v: Any) -> pd.Timestamp | None:
    if v is None:
        return None
    try:
        if isinstance(v, (int, float, np.floating, np.integer)):
            if v != v:
                return None
            return pd.Timestamp(float(v), unit="s", tz="UTC")
        t = pd.Timestamp(v)
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    except (TypeError, ValueError):
        return None


def key_figures(ctx: ReportContext) -> Stats:
    a = ctx.analysis
    stats = getv(a, "stats")
    caps = _captures_frame(a)
    flows = ctx.table("flows")
    packets = getv(stats, "packets")
    nbytes = getv(stats, "bytes")
    if packets is None and "packets" in caps.columns:
        packets = int(pd.to_numeric(caps["packets"], errors="coerce").fillna(0).sum())
    if nbytes is None and "bytes" in caps.columns:
        nbytes = int(pd.to_numeric(caps["bytes"], errors="coerce").fillna(0).sum())
    first = _ts_value(getv(stats, "first_ts"))
    last = _ts_value(getv(stats, "last_ts"))
    if first is None and "first_ts" in caps.columns and caps["first_ts"].notna().any():
        first = caps["first_ts"].min()
    if last is None and "last_ts" in caps.columns and caps["last_ts"].notna().any():
        last = caps["last_ts"].max()
    links = getv(stats, "link_types") or getv(stats, "linktypes")
    if not links and "linktypes" in caps.columns:
        links = sorted({str(x) for v in caps["linktypes"] for x in (v if isinstance(v, (list, tuple, set)) else [v])
                        if x is not None})
    if isinstance(links, dict):
        links = [f"{link_name(k)}: {int(v):,} packets" if isinstance(v, (int, np.integer)) else link_name(k)
                 for k, v in links.items()]
    elif links:
        links = [link_name(x) for x in links]
    items: list[tuple[str, Any]] = [("capture files", str(len(caps)) if len(caps) else "?")]
    items.append(("packets", f"{int(packets):,}" if packets is not None else "?"))
    items.append(("bytes", fmt_bytes(nbytes) if nbytes is not None else "?"))
    items.append(("flows", f"{len(flows):,}" if flows is not None else "?"))
    if first is not None and last is not None:
        span = (last - first).total_seconds()
        items.append(("first packet (UTC)", first.strftime("%Y-%m-%d %H:%M:%S")))
        items.append(("last packet (UTC)", last.strftime("%Y-%m-%d %H:%M:%S")))
        items.append(("time span", _span(span)))
    if links:
        items.append(("link types", ", ".join(str(x) for x in links)))
    weirds = ctx.table("weirds")
    if weirds is not None:
        items.append(("anomalies", f"{len(weirds):,}"))
    return Stats(items)


def _span(sec: float) -> str:
    if sec < 1:
        return f"{sec * 1000:.0f} ms"
    if sec < 120:
        return f"{sec:.1f} s"
    if sec < 7200:
        return f"{sec / 60:.1f} min"
    if sec < 172800:
        return f"{sec / 3600:.1f} h"
    return f"{sec / 86400:.1f} days"


def traffic_charts(ctx: ReportContext, flows: pd.DataFrame) -> list:
    timeline = getv(getv(ctx.analysis, "stats"), "timeline")
    t = agg.traffic_over_time(flows, timeline=timeline if isinstance(timeline, dict) else None)
    if not t["series"]:
        return []
    sub = (f"per {t['label']} interval; bars: by service, each flow's packets and bytes spread evenly over its "
           "duration (flow table)")
    exact = t.get("exact")
    if exact is not None:
        sub += "; line: exact totals from the packet timestamps"
    out = []
    for what in ("bytes", "packets"):
        fig = charts.time_bars({k: v[what] for k, v in t["series"].items()}, t["edges"], t["width"],
                               f"{what} per {t['label']}",
                               line=("all traffic (exact)", exact[what]) if exact is not None else None)
        out.append(ctx.chart(fig, f"Traffic over time: {what}", sub, wide=True))
    return out


def mix_blocks(ctx: ReportContext, flows: pd.DataFrame) -> list:
    mix = agg.protocol_mix(flows)
    if mix.empty:
        return []
    lab = [f"{s} ({p})" if p and p != s else s for s, p in zip(mix["service"], mix["proto"])]
    top = mix.head(15)
    fig = charts.hbar(lab[:15], top["bytes"], "bytes (frames, both directions)", "service (transport)")
    tbl = Table("Protocol mix", mix.rename(columns={"share": "share of bytes (%)"}), byte_cols=("bytes",))
    return [ctx.chart(fig, "Protocol mix by bytes", "services identified by the analyzers; "
                      "unidentified flows by transport protocol"), tbl]


def talker_blocks(ctx: ReportContext, flows: pd.DataFrame) -> list:
    tt = agg.top_talkers(flows)
    if tt.empty:
        return []
    top = tt.head(TOP_HOSTS)
    fig = charts.hbar(top["host"].head(15), top["bytes"].head(15), "bytes (sent + received)", "host")
    return [ctx.chart(fig, "Top talkers by bytes", "bytes of every flow the host takes part in"),
            Table("Top talkers", top, total=len(tt), byte_cols=("bytes", "bytes_sent", "bytes_received"))]


def conversation_blocks(ctx: ReportContext, flows: pd.DataFrame) -> list:
    cv = agg.top_conversations(flows)
    if cv.empty:
        return []
    top = cv.head(TOP_HOSTS)
    labels = [f"{a} ↔ {b}" for a, b in zip(top["host_a"].head(15), top["host_b"].head(15))]
    fig = charts.hbar(labels, top["bytes"].head(15), "bytes (both directions)", "host pair")
    return [ctx.chart(fig, "Top conversations by bytes", "unordered host pairs, all flows between them"),
            Table("Top conversations", top, total=len(cv), byte_cols=("bytes", "bytes_a_to_b", "bytes_b_to_a"))]


def matrix_block(ctx: ReportContext, flows: pd.DataFrame) -> list:
    m = agg.host_matrix(flows, MATRIX_HOSTS)
    if m.empty or m.to_numpy().sum() == 0:
        return []
    fig = charts.heatmap(m.to_numpy(), list(m.index), list(m.columns), "responder", "originator", "bytes")
    n = len(m)
    return [ctx.chart(fig, "Host-to-host matrix (bytes)",
                      f"top {n} hosts by bytes; cell = bytes of flows from the row host (originator) to the "
                      "column host (responder), both directions", wide=n > 8)]


def build(ctx: ReportContext, sec: SectionOut) -> bool:
    a = ctx.analysis
    sec.run("key figures", lambda: key_figures(ctx))
    caps = None
    try:
        caps = _captures_frame(a)
    except Exception as e:  # noqa: BLE001
        sec.fail("capture files", e)
    if caps is not None and len(caps):
        sec.add(Table("Capture files", caps, byte_cols=("bytes",), wide=True))
    flows = ctx.table("flows")
    if not agg.has_rows(flows):
        sec.add(Note("No flows were found in the capture.", kind="empty"))
        return True
    sec.run("traffic over time", lambda: traffic_charts(ctx, flows))
    sec.run("protocol mix", lambda: mix_blocks(ctx, flows))
    sec.run("top talkers", lambda: talker_blocks(ctx, flows))
    sec.run("top conversations", lambda: conversation_blocks(ctx, flows))
    sec.run("host matrix", lambda: matrix_block(ctx, flows))
    return True
