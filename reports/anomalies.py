"""Anomalies: weirds by name (with severity and meaning) and by flow."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dissect.reports import aggregate as agg
from dissect.reports import charts
from dissect.reports.aggregate import col
from dissect.reports.builder import ReportContext, SectionOut
from dissect.reports.html import Note, Table

TOP = 20


def weird_registry() -> dict[str, tuple[str, str]]:
    try:
        from dissect import analyzer, weird

        try:
            analyzer.load_protocols()
        except Exception:  # noqa: BLE001 - a broken protocol package must not stop the report
            pass
        return dict(weird.WEIRDS)
    except Exception:  # noqa: BLE001
        return {}


def by_name(w: pd.DataFrame) -> pd.DataFrame:
    reg = weird_registry()
    d = pd.DataFrame({"name": col(w, "name").astype("object").fillna("?").astype(str).to_numpy(),
                      "source": col(w, "source").astype("object").fillna("").astype(str).to_numpy(),
                      "uid": col(w, "uid").astype("object").to_numpy(), "ts": col(w, "ts").to_numpy()})
    g = d.groupby("name").agg(count=("ts", "size"), flows=("uid", lambda s: s.dropna().nunique()),
                              source=("source", lambda s: ", ".join(sorted(set(x for x in s if x)))),
                              first_seen=("ts", "min"), last_seen=("ts", "max")).reset_index()
    g["severity"] = g["name"].map(lambda n: reg.get(n, ("", ""))[0])
    g["meaning"] = g["name"].map(lambda n: reg.get(n, ("", ""))[1])
    g = g.sort_values(["count", "name"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    return g[["name", "severity", "count", "flows", "source", "meaning", "first_seen", "last_seen"]]


def by_flow(w: pd.DataFrame, limit: int = 100) -> pd.DataFrame:
    uid = col(w, "uid").astype("object")
    w = w[(uid.notna() & (uid.astype(str) != "")).to_numpy()]
    if w.empty:
        return pd.DataFrame()
    d = pd.DataFrame({"uid": w["uid"].astype(str).to_numpy(),
                      "name": col(w, "name").astype("object").fillna("?").astype(str).to_numpy(),
                      "orig_h": col(w, "orig_h").astype("object").to_numpy(),
                      "orig_p": col(w, "orig_p").to_numpy(), "resp_h": col(w, "resp_h").astype("object").to_numpy(),
                      "resp_p": col(w, "resp_p").to_numpy(), "ts": col(w, "ts").to_numpy()})

    g = d.groupby("uid").agg(orig_h=("orig_h", "first"), orig_p=("orig_p", "first"), resp_h=("resp_h", "first"),
                             resp_p=("resp_p", "first"), weirds=("name", "size"),
                             first_seen=("ts", "min")).reset_index()
    g = g.sort_values(["weirds", "uid"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    # the per-flow list of names only for the flows shown (a string join per flow is the slow part)
    top = g.head(limit)
    cnt = d[d["uid"].isin(set(top["uid"]))].groupby(["uid", "name"]).size().reset_index(name="n")
    cnt = cnt.sort_values(["uid", "n", "name"], ascending=[True, False, True], kind="mergesort")
    cnt["label"] = np.where(cnt["n"] > 1, cnt["name"] + " ×" + cnt["n"].astype(str), cnt["name"])
    names = cnt.groupby("uid", sort=False)["label"].agg(lambda x: ", ".join(list(x)[:6]) +
                                                        (f" (+{len(x) - 6} more)" if len(x) > 6 else ""))
    g["names"] = g["uid"].map(names).fillna("")
    return g[["uid", "orig_h", "orig_p", "resp_h", "resp_p", "weirds", "names", "first_seen"]]


def build(ctx: ReportContext, sec: SectionOut) -> bool:
    w = ctx.table("weirds")
    if not agg.has_rows(w):
        return False
    sec.intro = ("Malformed input, protocol violations and resource caps that were hit (Zeek's \"weirds\"); "
                 "see docs/weirds.md for every name.")

    def names_blocks():
        g = by_name(w)
        top = g.head(TOP)
        sev = top["severity"].replace("", "undeclared")
        order = [s for s in ("error", "warning", "info", "undeclared") if (sev == s).any()]
        fig = charts.stacked_bars(list(top["name"]), {s: top["count"].where(sev == s, 0).tolist() for s in order},
                                  "occurrences", "anomaly")
        return [ctx.chart(fig, "Anomalies by name", f"{len(w):,} anomalies, {len(g)} distinct names; colour = declared severity"),
                Table("Anomalies by name", g, total=len(g))]

    def flow_blocks():
        g = by_flow(w)
        if g.empty:
            return Note("No anomaly is tied to a flow (all are capture-level).")
        return Table("Anomalies by flow", g.head(100), total=len(g), wide=True)

    def over_time():
        t = agg.count_over_time(col(w, "ts"), col(w, "name"))
        if not t["series"]:
            return None
        fig = charts.time_bars(t["series"], t["edges"], t["width"], f"anomalies per {t['label']}")
        return ctx.chart(fig, "Anomalies over time", f"per {t['label']} interval, by name", wide=True)

    def details():
        cols = [c for c in ("ts", "name", "source", "uid", "orig_h", "orig_p", "resp_h", "resp_p", "addl")
                if c in w.columns]
        t = w.sort_values("ts", kind="mergesort") if "ts" in w.columns else w
        return Table("Anomaly details", t[cols].head(200), total=len(t), wide=True)

    sec.run("by name", names_blocks)
    sec.run("over time", over_time)
    sec.run("by flow", flow_blocks)
    sec.run("details", details)
    return True
