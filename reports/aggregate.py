"""Aggregations behind the report's charts and tables (pure pandas/numpy, unit-tested).

Everything is reduced before it reaches a chart: time is binned into at most ~200 intervals,
categories are cut to the top N plus "other", tables to the top N rows. A capture of millions of
packets or flows therefore gives a report of the same size as a small one.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import pandas as pd

__all__ = ["col", "has_rows", "pick_interval", "time_bins", "spread_over_bins", "traffic_over_time",
           "flow_bytes", "flow_packets", "top_talkers", "top_conversations", "host_matrix",
           "protocol_mix", "count_over_time", "top_n_other", "histogram", "domain_of",
           "INTERVALS"]

#: candidate bin widths in seconds, with their labels
INTERVALS: list[tuple[float, str]] = [
    (0.001, "1 ms"), (0.01, "10 ms"), (0.1, "100 ms"), (1, "1 s"), (5, "5 s"), (10, "10 s"), (30, "30 s"),
    (60, "1 min"), (300, "5 min"), (600, "10 min"), (1800, "30 min"), (3600, "1 h"), (6 * 3600, "6 h"),
    (86400, "1 day"), (7 * 86400, "1 week"), (30 * 86400, "30 days"), (365 * 86400, "365 days"),
]


def col(df: pd.DataFrame | None, name: str, default: Any = None) -> pd.Series:
    """Column ``name`` of ``df`` or a Series of ``default`` (missing columns never crash a section)."""
    if df is not None and name in df.columns:
        return df[name]
    n = 0 if df is None else len(df)
    return pd.Series([default] * n, index=None if df is None else df.index, dtype="object")


def has_rows(df: pd.DataFrame | None) -> bool:
    return df is not None and isinstance(df, pd.DataFrame) and len(df) > 0


def to_epoch(s: pd.Series) -> np.ndarray:
    """Seconds since the epoch (float64, NaN for missing) from datetimes or numbers."""
    if s is None or len(s) == 0:
        return np.zeros(0, dtype="float64")
    if pd.api.types.is_datetime64_any_dtype(s):
        # any resolution (ns, us, ms...), tz-aware or naive (taken as UTC); NaT -> NaN
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        return ((s - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).astype("float64").to_numpy()
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def to_float(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def pick_interval(span: float, max_bins: int = 200) -> tuple[float, str]:
    """The smallest candidate interval that gives at most ``max_bins`` bins over ``span`` seconds."""
    span = max(float(span), 0.0)
    for width, label in INTERVALS:
        if span / width <= max_bins:
            return width, label
    return INTERVALS[-1]


def time_bins(t0: float, t1: float, max_bins: int = 200) -> tuple[np.ndarray, float, str]:
    """Bin edges (epoch seconds) aligned on the interval, covering [t0, t1]."""
    width, label = pick_interval(t1 - t0, max_bins)
    start = math.floor(t0 / width) * width
    n = max(1, int(math.floor((t1 - start) / width)) + 1)
    edges = start + width * np.arange(n + 1, dtype="float64")
    return edges, width, label


def spread_over_bins(start: np.ndarray, dur: np.ndarray, amount: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Distribute each item's ``amount`` evenly over [start, start+dur] into the bins ``edges``.

    Zero or missing durations put the whole amount in the bin of ``start``. Exact and
    O((N + B) log N): the cumulative amount at an edge E is
    sum(r_i * clip(E - s_i, 0, d_i)) with rates r_i = a_i / d_i, computed from sorted starts and
    ends with prefix sums, never with an N x B matrix.
    """
    start = np.asarray(start, dtype="float64")
    dur = np.nan_to_num(np.asarray(dur, dtype="float64"), nan=0.0)
    amount = np.nan_to_num(np.asarray(amount, dtype="float64"), nan=0.0)
    ok = ~np.isnan(start)
    start, dur, amount = start[ok], np.maximum(dur[ok], 0.0), amount[ok]
    nb = len(edges) - 1
    out = np.zeros(nb, dtype="float64")
    if len(start) == 0 or nb <= 0:
        return out
    point = dur <= 0
    if point.any():
        idx = np.clip(np.searchsorted(edges, start[point], side="right") - 1, 0, nb - 1)
        out += np.bincount(idx, weights=amount[point], minlength=nb)
    s, d, a = start[~point], dur[~point], amount[~point]
    if len(s):
        r = a / d
        e = s + d

        def integral(points: np.ndarray, rates: np.ndarray, at: np.ndarray) -> np.ndarray:
            order = np.argsort(points, kind="mergesort")
            p, rr = points[order], rates[order]
            cr = np.concatenate([[0.0], np.cumsum(rr)])
            crp = np.concatenate([[0.0], np.cumsum(rr * p)])
            k = np.searchsorted(p, at, side="left")
            return cr[k] * at - crp[k]

        cum = integral(s, r, edges) - integral(e, r, edges)
        # items extending past the last edge keep only what falls inside; clamp numeric noise
        out += np.maximum(np.diff(cum), 0.0)
    return out


#: per-direction byte counters of a flow, best first: frame bytes as captured (what the capture totals
#: count), IP bytes (Zeek's orig_ip_bytes), payload bytes
BYTE_COLUMNS = (("orig_frame_bytes", "resp_frame_bytes"), ("orig_ip_bytes", "resp_ip_bytes"),
                ("orig_bytes", "resp_bytes"))


def _dir_bytes(flows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(originator bytes, responder bytes) per flow from the best counter present."""
    for o, r in BYTE_COLUMNS:
        if flows is not None and o in flows.columns and r in flows.columns:
            ob, rb = to_float(flows[o]), to_float(flows[r])
            if not (np.isnan(ob).all() and np.isnan(rb).all()):
                return np.nan_to_num(ob, nan=0.0), np.nan_to_num(rb, nan=0.0)
    n = 0 if flows is None else len(flows)
    return np.zeros(n), np.zeros(n)


def flow_bytes(flows: pd.DataFrame) -> np.ndarray:
    """Bytes of each flow, both directions (frame bytes; IP or payload bytes when those are absent)."""
    ob, rb = _dir_bytes(flows)
    return ob + rb


def flow_packets(flows: pd.DataFrame) -> np.ndarray:
    p = to_float(col(flows, "orig_pkts", np.nan)) + to_float(col(flows, "resp_pkts", np.nan))
    return np.nan_to_num(p, nan=0.0)


def flow_service(flows: pd.DataFrame) -> pd.Series:
    """service, else proto (``tcp``/``udp``/``icmp``), as a plain string label."""
    svc = col(flows, "service").astype("object")
    proto = col(flows, "proto").astype("object")
    lab = svc.where(svc.notna() & (svc.astype(str) != ""), proto)
    return lab.fillna("other").astype(str)


def top_n_other(labels: pd.Series, weights: np.ndarray, n: int = 8, other: str = "other") -> pd.Series:
    """Keep the ``n`` heaviest labels, fold the rest into ``other``."""
    if len(labels) == 0:
        return labels
    tot = pd.Series(weights, index=labels.index).groupby(labels.values).sum().sort_values(ascending=False)
    keep = set(tot.index[:n])
    if len(tot) <= n + 1:
        keep = set(tot.index)
    return labels.where(labels.isin(keep), other)


def traffic_over_time(flows: pd.DataFrame, max_bins: int = 200, top: int = 8,
                      timeline: dict | None = None) -> dict[str, Any]:
    """Packets and bytes per interval by service (each flow spread evenly over its duration).

    ``timeline`` (the pipeline's exact per-second counters ``{epoch second: [packets, bytes]}``) adds
    ``"exact": {"packets": arr, "bytes": arr}`` re-binned to the same intervals, when the interval is at
    least one second. Returns ``{"edges", "width", "label", "series": {service: {"bytes", "packets"}},
    "exact"}``.
    """
    ts = to_epoch(col(flows, "ts"))
    dur = np.nan_to_num(to_float(col(flows, "duration", np.nan)), nan=0.0)
    ok = ~np.isnan(ts)
    if not ok.any():
        return {"edges": np.zeros(0), "width": 0.0, "label": "", "series": {}, "exact": None}
    t0 = float(np.nanmin(ts))
    t1 = float(np.nanmax(ts[ok] + dur[ok]))
    tl_s = tl_v = None
    if isinstance(timeline, dict) and timeline:
        try:
            tl_s = np.fromiter((float(k) for k in timeline.keys()), dtype="float64", count=len(timeline))
            tl_v = np.array([list(v)[:2] for v in timeline.values()], dtype="float64").reshape(-1, 2)
            t0, t1 = min(t0, float(tl_s.min())), max(t1, float(tl_s.max()) + 1.0)
        except (TypeError, ValueError):
            tl_s = tl_v = None
    edges, width, label = time_bins(t0, t1, max_bins)
    exact = None
    if tl_s is not None and width >= 1:
        nb = len(edges) - 1
        bi = np.clip(np.searchsorted(edges, tl_s, side="right") - 1, 0, nb - 1)
        exact = {"packets": np.bincount(bi, weights=tl_v[:, 0], minlength=nb),
                 "bytes": np.bincount(bi, weights=tl_v[:, 1], minlength=nb)}
    b = flow_bytes(flows)
    p = flow_packets(flows)
    labels = top_n_other(flow_service(flows), b, top)
    series: dict[str, dict[str, np.ndarray]] = {}
    for name, idx in labels.groupby(labels.values).indices.items():
        series[str(name)] = {
            "bytes": spread_over_bins(ts[idx], dur[idx], b[idx], edges),
            "packets": spread_over_bins(ts[idx], dur[idx], p[idx], edges),
        }
    order = sorted(series, key=lambda k: (k == "other", -series[k]["bytes"].sum()))
    return {"edges": edges, "width": width, "label": label, "series": {k: series[k] for k in order},
            "exact": exact}


_HOST_FRAME_CACHE: list = []   # [(flows object, frame)]: talkers, conversations and the matrix share it


def _host_frame(flows: pd.DataFrame) -> pd.DataFrame:
    if _HOST_FRAME_CACHE and _HOST_FRAME_CACHE[0][0] is flows:
        return _HOST_FRAME_CACHE[0][1]
    hf = _build_host_frame(flows)
    _HOST_FRAME_CACHE[:] = [(flows, hf)]
    return hf


def _build_host_frame(flows: pd.DataFrame) -> pd.DataFrame:
    ob, rb = _dir_bytes(flows)
    return pd.DataFrame({
        "orig_h": col(flows, "orig_h").astype("object").fillna("?").astype(str).to_numpy(),
        "resp_h": col(flows, "resp_h").astype("object").fillna("?").astype(str).to_numpy(),
        "ob": np.nan_to_num(ob, nan=0.0), "rb": np.nan_to_num(rb, nan=0.0),
        "op": np.nan_to_num(to_float(col(flows, "orig_pkts", np.nan)), nan=0.0),
        "rp": np.nan_to_num(to_float(col(flows, "resp_pkts", np.nan)), nan=0.0),
    })


def top_talkers(flows: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    """Per host: bytes sent, received, total, packets and flows (as originator or responder).

    A host's ``bytes`` is the sum of the bytes of every flow it takes part in (both directions).
    """
    h = _host_frame(flows)
    if h.empty:
        return pd.DataFrame(columns=["host", "bytes", "bytes_sent", "bytes_received", "packets", "flows",
                                     "flows_originated"])
    a = pd.DataFrame({"host": h["orig_h"], "sent": h["ob"], "recv": h["rb"], "pk": h["op"] + h["rp"],
                      "orig": 1})
    b = pd.DataFrame({"host": h["resp_h"], "sent": h["rb"], "recv": h["ob"], "pk": h["op"] + h["rp"],
                      "orig": 0})
    # a flow from a host to itself counts once for that host
    same = (h["orig_h"] == h["resp_h"]).to_numpy()
    both = pd.concat([a, b[~same]], ignore_index=True)
    g = both.groupby("host", sort=False).agg(bytes_sent=("sent", "sum"), bytes_received=("recv", "sum"),
                                               packets=("pk", "sum"), flows=("orig", "size"),
                                               flows_originated=("orig", "sum"))
    g["bytes"] = g["bytes_sent"] + g["bytes_received"]
    g = g.reset_index()[["host", "bytes", "bytes_sent", "bytes_received", "packets", "flows", "flows_originated"]]
    for c in ("bytes", "bytes_sent", "bytes_received", "packets", "flows", "flows_originated"):
        g[c] = g[c].round().astype("int64")
    g = g.sort_values(["bytes", "host"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    return g.head(n) if n else g


def top_conversations(flows: pd.DataFrame, n: int | None = None, services_for: int = 1000) -> pd.DataFrame:
    """Per unordered host pair: flows, packets, bytes (both ways) and the services seen.

    Sums are vectorised; the services list (a string join per pair) is built only for the first
    ``services_for`` pairs by bytes (or the first ``n``), so millions of pairs stay fast.
    """
    h = _host_frame(flows)
    cols = ["host_a", "host_b", "bytes", "bytes_a_to_b", "bytes_b_to_a", "packets", "flows", "services"]
    if h.empty:
        return pd.DataFrame(columns=cols)
    swap = (h["orig_h"] > h["resp_h"]).to_numpy()
    a = np.where(swap, h["resp_h"], h["orig_h"])
    b = np.where(swap, h["orig_h"], h["resp_h"])
    ab = np.where(swap, h["rb"], h["ob"])
    ba = np.where(swap, h["ob"], h["rb"])
    svc = flow_service(flows).to_numpy()
    d = pd.DataFrame({"host_a": a, "host_b": b, "ab": ab, "ba": ba, "pk": (h["op"] + h["rp"]).to_numpy(),
                      "svc": svc})
    g = d.groupby(["host_a", "host_b"], sort=False).agg(
        bytes_a_to_b=("ab", "sum"), bytes_b_to_a=("ba", "sum"), packets=("pk", "sum"), flows=("pk", "size"))
    g["bytes"] = g["bytes_a_to_b"] + g["bytes_b_to_a"]
    g = g.reset_index()
    for c in ("bytes", "bytes_a_to_b", "bytes_b_to_a", "packets", "flows"):
        g[c] = g[c].round().astype("int64")
    g = g.sort_values(["bytes", "host_a", "host_b"], ascending=[False, True, True], kind="mergesort")
    g = g.reset_index(drop=True)
    if n:
        g = g.head(n)
    keep = g.head(min(len(g), max(n or 0, services_for)))[["host_a", "host_b"]]
    sv = d[["host_a", "host_b", "svc"]].drop_duplicates().merge(keep, on=["host_a", "host_b"])
    sv = sv.sort_values(["host_a", "host_b", "svc"], kind="mergesort")
    joined = sv.groupby(["host_a", "host_b"], sort=False)["svc"].agg(lambda x: ", ".join(list(x)[:6]))
    idx = pd.MultiIndex.from_frame(g[["host_a", "host_b"]])
    g["services"] = joined.reindex(idx).fillna("").to_numpy()
    return g[cols]


def host_matrix(flows: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """Bytes from originator (rows) to responder (columns) for the top ``n`` talkers (both ways of each flow)."""
    talkers = top_talkers(flows, n)
    hosts = list(talkers["host"])
    h = _host_frame(flows)
    if not hosts or h.empty:
        return pd.DataFrame()
    m = h[h["orig_h"].isin(hosts) & h["resp_h"].isin(hosts)]
    piv = (m.assign(b=m["ob"] + m["rb"]).pivot_table(index="orig_h", columns="resp_h", values="b",
                                                      aggfunc="sum", fill_value=0.0))
    return piv.reindex(index=hosts, columns=hosts, fill_value=0.0)


def protocol_mix(flows: pd.DataFrame) -> pd.DataFrame:
    """Per service (or transport protocol when unidentified): flows, packets, bytes, share of bytes."""
    if not has_rows(flows):
        return pd.DataFrame(columns=["service", "proto", "flows", "packets", "bytes", "share"])
    d = pd.DataFrame({"service": flow_service(flows).to_numpy(),
                      "proto": col(flows, "proto").astype("object").fillna("").astype(str).to_numpy(),
                      "b": flow_bytes(flows), "p": flow_packets(flows)})
    g = d.groupby(["service", "proto"], sort=False).agg(flows=("b", "size"), packets=("p", "sum"),
                                                        bytes=("b", "sum")).reset_index()
    tot = g["bytes"].sum()
    g["share"] = (g["bytes"] / tot * 100.0).round(2) if tot else 0.0
    for c in ("packets", "bytes"):
        g[c] = g[c].round().astype("int64")
    return g.sort_values(["bytes", "flows"], ascending=False, kind="mergesort").reset_index(drop=True)


def count_over_time(ts: pd.Series, labels: pd.Series | None = None, max_bins: int = 120,
                    top: int = 8) -> dict[str, Any]:
    """Counts per interval, per label (top N + other)."""
    t = to_epoch(ts)
    ok = ~np.isnan(t)
    if not ok.any():
        return {"edges": np.zeros(0), "width": 0.0, "label": "", "series": {}}
    edges, width, label = time_bins(float(t[ok].min()), float(t[ok].max()), max_bins)
    if labels is None:
        labels = pd.Series(["all"] * len(t))
    labels = pd.Series(labels.astype("object").fillna("(none)").astype(str).to_numpy())
    labels = top_n_other(labels, np.ones(len(labels)), top)
    nb = len(edges) - 1
    series = {}
    for name, idx in labels.groupby(labels.values).indices.items():
        tt = t[idx]
        tt = tt[~np.isnan(tt)]
        bi = np.clip(np.searchsorted(edges, tt, side="right") - 1, 0, nb - 1)
        series[str(name)] = np.bincount(bi, minlength=nb).astype("int64")
    order = sorted(series, key=lambda k: (k == "other", -series[k].sum(), k))
    return {"edges": edges, "width": width, "label": label, "series": {k: series[k] for k in order}}


def histogram(values: Iterable[float], bins: int = 40, log: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(edges, counts) of the finite values; log-spaced edges when ``log`` and values span decades."""
    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype="float64")
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.zeros(0), np.zeros(0, dtype="int64")
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        hi = lo + 1.0
    if log and lo > 0 and hi / lo > 100:
        edges = np.logspace(math.log10(lo), math.log10(hi), bins + 1)
    else:
        edges = np.linspace(lo, hi, bins + 1)
    counts, edges = np.histogram(v, bins=edges)
    return edges, counts.astype("int64")


def domain_of(addresses: pd.Series) -> pd.Series:
    """Lower-case domain part of e-mail addresses ('' when there is none)."""
    s = addresses.astype("object").fillna("").astype(str)
    dom = s.str.rpartition("@")[2].str.strip().str.strip(">").str.lower()
    return dom.where(s.str.contains("@"), "(no domain)")


def bin_centers_iso(edges: np.ndarray) -> list[str]:
    """ISO timestamps (UTC) of the bin starts, for plotly date axes."""
    if len(edges) < 2:
        return []
    st = pd.to_datetime(edges[:-1], unit="s", utc=True)
    return [x.strftime("%Y-%m-%d %H:%M:%S.%f") for x in st]
