"""HTTP: status codes over time, hosts and URIs, latency, largest objects, content types, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dissect.reports import aggregate as agg
from dissect.reports import charts
from dissect.reports.aggregate import col
from dissect.reports.builder import ReportContext, SectionOut
from dissect.reports.html import Stats, Table

TOP = 15


def status_class(codes: pd.Series) -> pd.Series:
    """1xx..5xx, "no response" (no status) or "other" for each status code."""
    c = agg.to_float(codes)
    k = np.floor(c / 100.0)
    out = np.where(np.isnan(c), "no response",
                   np.where((k >= 1) & (k <= 5), np.char.add(np.nan_to_num(k).astype(int).astype(str), "xx"), "other"))
    return pd.Series(out, index=codes.index, dtype="object")


def _bytes(tx: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(col(tx, "response_body_len", 0), errors="coerce").fillna(0)


def status_over_time(ctx: ReportContext, tx: pd.DataFrame) -> list:
    cls = status_class(col(tx, "status_code"))
    t = agg.count_over_time(col(tx, "ts"), cls, top=7)
    if not t["series"]:
        return []
    order = ["1xx", "2xx", "3xx", "4xx", "5xx", "no response", "other"]
    series = {k: t["series"][k] for k in order if k in t["series"]}
    fig = charts.time_bars(series, t["edges"], t["width"], f"transactions per {t['label']}")
    codes = pd.to_numeric(col(tx, "status_code"), errors="coerce").dropna().astype(int).value_counts()
    fig2 = charts.hbar([str(c) for c in codes.index[:TOP]], codes.values[:TOP], "transactions", "status code")
    return [ctx.chart(fig, "Status codes over time", f"by status class, per {t['label']} interval", wide=True),
            ctx.chart(fig2, "Status codes", "final (non-1xx) status of each transaction")]


def top_hosts_uris(ctx: ReportContext, tx: pd.DataFrame) -> list:
    host = col(tx, "host").astype("object").fillna("(no Host)").astype(str)
    d = pd.DataFrame({"host": host.to_numpy(), "uri": col(tx, "uri").astype("object").fillna("").astype(str).to_numpy(),
                      "bytes": _bytes(tx).to_numpy(), "err": (pd.to_numeric(col(tx, "status_code"), errors="coerce")
                                                              .fillna(0) >= 400).to_numpy()})
    g = d.groupby("host").agg(requests=("uri", "size"), response_bytes=("bytes", "sum"), errors=("err", "sum"))
    g = g.sort_values(["requests", "response_bytes"], ascending=False, kind="mergesort").reset_index()
    for c in ("response_bytes", "errors"):
        g[c] = g[c].astype("int64")
    fig = charts.hbar(g["host"].head(TOP), g["requests"].head(TOP), "requests", "Host")
    u = d.groupby(["host", "uri"]).agg(requests=("bytes", "size"), response_bytes=("bytes", "sum"),
                                       errors=("err", "sum"))
    u = u.sort_values(["requests", "response_bytes"], ascending=False, kind="mergesort").reset_index()
    for c in ("response_bytes", "errors"):
        u[c] = u[c].astype("int64")
    return [ctx.chart(fig, "Top hosts by requests", "Host header of each request"),
            Table("Top hosts", g.head(30), total=len(g), byte_cols=("response_bytes",)),
            Table("Top URIs", u.head(30), total=len(u), byte_cols=("response_bytes",), wide=True)]


def latency_blocks(ctx: ReportContext, tx: pd.DataFrame) -> list:
    out = []
    for name, label in (("ttfb", "time to first response byte"), ("duration", "request start to response end")):
        v = pd.to_numeric(col(tx, name), errors="coerce").to_numpy(dtype="float64") * 1000.0
        v = v[np.isfinite(v) & (v >= 0)]
        if len(v) == 0:
            continue
        hi = float(np.percentile(v, 99)) if len(v) >= 20 else float(v.max())
        clipped = int((v > hi).sum())
        edges, counts = agg.histogram(np.minimum(v, hi), bins=40)
        fig = charts.hist_bars(edges, counts, f"{name} (ms)", "transactions", name=name)
        sub = f"{label}; {len(v)} transactions, median {np.median(v):.1f} ms, p95 {np.percentile(v, 95):.1f} ms"
        if clipped:
            sub += f"; {clipped} above the 99th percentile ({hi:.0f} ms) counted in the last bar"
        out.append(ctx.chart(fig, f"Latency: {name} distribution", sub))
    return out


def objects_blocks(ctx: ReportContext, tx: pd.DataFrame) -> list:
    out = []
    ct = col(tx, "response_content_type").astype("object").fillna("(none)").astype(str)
    ct = ct.str.split(";").str[0].str.strip().str.lower().replace("", "(none)")
    d = pd.DataFrame({"type": ct.to_numpy(), "bytes": _bytes(tx).to_numpy()})
    g = d.groupby("type").agg(responses=("bytes", "size"), bytes=("bytes", "sum"))
    g = g.sort_values(["bytes", "responses"], ascending=False, kind="mergesort").reset_index()
    g["bytes"] = g["bytes"].astype("int64")
    fig = charts.hbar(g["type"].head(TOP), g["bytes"].head(TOP), "response body bytes", "content type")
    out.append(ctx.chart(fig, "Content types by bytes", "response Content-Type (parameters dropped); body bytes "
                                                        "after transfer decoding"))
    out.append(Table("Content types", g.head(30), total=len(g), byte_cols=("bytes",)))
    size = _bytes(tx)
    big = tx.assign(_s=size.to_numpy()).sort_values("_s", ascending=False, kind="mergesort")
    big = big[big["_s"] > 0]
    if len(big):
        cols = [c for c in ("ts", "method", "host", "uri", "status_code", "response_content_type",
                            "response_body_len", "response_decoded_len", "content_encoding",
                            "response_body_sha256", "uid") if c in big.columns]
        out.append(Table("Largest objects", big[cols].head(25), total=len(big), wide=True,
                         byte_cols=("response_body_len", "response_decoded_len")))
    return out


def errors_table(ctx: ReportContext, tx: pd.DataFrame) -> Table | None:
    code = pd.to_numeric(col(tx, "status_code"), errors="coerce")
    err = tx[(code >= 400).fillna(False).to_numpy()]
    if err.empty:
        return None
    cols = [c for c in ("ts", "orig_h", "method", "host", "uri", "status_code", "status_msg", "user_agent",
                        "referrer", "uid") if c in err.columns]
    err = err.sort_values("ts", kind="mergesort") if "ts" in err.columns else err
    return Table("Errors (4xx and 5xx responses)", err[cols].head(300), total=len(err), wide=True)


def build(ctx: ReportContext, sec: SectionOut) -> bool:
    tx = ctx.table("http_transactions")
    if not agg.has_rows(tx):
        return False

    def figures() -> Stats:
        code = pd.to_numeric(col(tx, "status_code"), errors="coerce")
        items = [("transactions", f"{len(tx):,}"),
                 ("hosts", f"{col(tx, 'host').nunique():,}"),
                 ("servers", f"{col(tx, 'resp_h').nunique():,}" if "resp_h" in tx.columns else "?"),
                 ("response body bytes", f"{int(_bytes(tx).sum()):,}"),
                 ("4xx", f"{int(((code >= 400) & (code < 500)).sum()):,}"),
                 ("5xx", f"{int((code >= 500).sum()):,}"),
                 ("no response", f"{int(code.isna().sum()):,}")]
        if "incomplete" in tx.columns:
            items.append(("incomplete", f"{int(tx['incomplete'].fillna(False).astype(bool).sum()):,}"))
        return Stats(items)

    sec.run("key figures", figures)
    sec.run("status codes", lambda: status_over_time(ctx, tx))
    sec.run("latency", lambda: latency_blocks(ctx, tx))
    sec.run("hosts and URIs", lambda: top_hosts_uris(ctx, tx))
    sec.run("objects", lambda: objects_blocks(ctx, tx))
    sec.run("errors", lambda: errors_table(ctx, tx))
    return True
