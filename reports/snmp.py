"""SNMP: audit findings by severity, communities and verdicts, v3 users, agents and managers, PDU types."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dissect.reports import aggregate as agg
from dissect.reports import charts
from dissect.reports.aggregate import col
from dissect.reports.builder import ReportContext, SectionOut
from dissect.reports.html import Stats, Table

SEVERITY_ORDER = ["critical", "high", "medium", "warning", "low", "info"]
TOP = 15


def pdu_role(pdu_type: pd.Series, is_request: pd.Series | None = None) -> pd.Series:
    """request / response / notification for each PDU (``is_request`` wins where known, e.g. encrypted v3)."""
    t = pdu_type.astype("object").fillna("").astype(str).str.lower()
    role = pd.Series("request", index=t.index, dtype="object")
    role[t.str.contains("response|report", regex=True).to_numpy()] = "response"
    unknown = np.array((t == "").to_numpy(), dtype=bool)
    if is_request is not None:
        known = is_request.astype("boolean")
        role[(known == False).fillna(False).to_numpy()] = "response"  # noqa: E712
        role[(known == True).fillna(False).to_numpy()] = "request"  # noqa: E712
        unknown &= known.isna().to_numpy()
    role[t.str.contains("trap|inform", regex=True).to_numpy()] = "notification"
    role[unknown] = "unknown"
    return role


def _version(s: pd.Series) -> pd.Series:
    v = s.astype("object").map(lambda x: "" if x is None or (isinstance(x, float) and x != x) else str(x))
    return v.replace({"0": "1", "1.0": "1", "2": "2c", "v1": "1", "v2c": "2c", "v3": "3", "3.0": "3"})


def endpoints(pdus: pd.DataFrame) -> pd.DataFrame:
    """agent and manager address of every PDU (requests go manager -> agent, the rest agent -> manager)."""
    role = pdu_role(col(pdus, "pdu_type"), pdus["is_request"] if "is_request" in pdus.columns else None)
    src = col(pdus, "src_h").astype("object")
    dst = col(pdus, "dst_h").astype("object")
    is_req = (role == "request").to_numpy()
    return pd.DataFrame({"role": role.to_numpy(),
                         "agent": np.where(is_req, dst, src), "manager": np.where(is_req, src, dst)},
                        index=pdus.index)


def findings_blocks(ctx: ReportContext, f: pd.DataFrame) -> list:
    sev = col(f, "severity").astype("object").fillna("info").astype(str).str.lower()
    rank = sev.map({s: i for i, s in enumerate(SEVERITY_ORDER)}).fillna(len(SEVERITY_ORDER))
    f = f.assign(_r=rank.to_numpy()).sort_values(["_r"], kind="mergesort").drop(columns="_r")
    kind = col(f, "kind").astype("object").fillna("?").astype(str)
    ct = pd.crosstab(kind, sev.loc[f.index])
    ct = ct[[s for s in SEVERITY_ORDER if s in ct.columns] + [s for s in ct.columns if s not in SEVERITY_ORDER]]
    ct = ct.loc[ct.sum(axis=1).sort_values(ascending=False, kind="mergesort").index]
    fig = charts.stacked_bars(list(ct.index), {c: ct[c].tolist() for c in ct.columns}, "findings", "kind")
    cols = [c for c in ("severity", "kind", "subject", "agents", "managers", "count", "first_seen", "last_seen",
                        "evidence") if c in f.columns]
    cols += [c for c in f.columns if c not in cols]
    return [Table("Audit findings (most severe first)", f[cols].head(300), total=len(f), wide=True,
                  note="communities and passwords are partly masked unless the report was made with --show-secrets"),
            ctx.chart(fig, "Audit findings by kind and severity", "from the community-leak and v3 audit")]


def community_table(ctx: ReportContext, pdus: pd.DataFrame, findings: pd.DataFrame | None) -> Table | None:
    comm = col(pdus, "community").astype("object")
    has = comm.notna() & (comm.astype(str) != "")
    p = pdus[has.to_numpy()]
    if p.empty:
        return None
    ep = endpoints(p)
    answered = col(p, "answered").astype("boolean").fillna(False).astype(bool)
    err = pd.to_numeric(col(p, "error_status"), errors="coerce").fillna(0)
    d = pd.DataFrame({"community": comm[has].astype(str).to_numpy(), "version": _version(col(p, "version")).to_numpy(),
                      "role": ep["role"].to_numpy(), "agent": ep["agent"].astype(str).to_numpy(),
                      "manager": ep["manager"].astype(str).to_numpy(),
                      "answered": answered.to_numpy() & (ep["role"] == "request").to_numpy(),
                      "ok_response": ((ep["role"] == "response").to_numpy() & (err == 0).to_numpy()),
                      "ts": col(p, "ts").to_numpy()})

    def uniq(s: pd.Series) -> str:
        vals = sorted(set(s))
        return ", ".join(vals[:6]) + (f" (+{len(vals) - 6})" if len(vals) > 6 else "")

    for r in ("request", "response", "notification"):
        d[r] = (d["role"] == r).astype("int64")
    g = d.groupby("community").agg(
        pdus=("role", "size"), requests=("request", "sum"), answered_requests=("answered", "sum"),
        responses=("response", "sum"), notifications=("notification", "sum"), agents=("agent", "nunique"),
        managers=("manager", "nunique"), first_seen=("ts", "min"), last_seen=("ts", "max"))
    g["answered_requests"] = g["answered_requests"].astype("int64")
    g = g.sort_values("pdus", ascending=False, kind="mergesort")
    total = len(g)
    g = g.head(100)
    # string lists only for the communities shown (a scan can try thousands)
    shown = d[d["community"].isin(set(g.index))]
    g["versions"] = shown.groupby("community")["version"].agg(uniq).reindex(g.index)
    g["agent_list"] = shown.groupby("community")["agent"].agg(uniq).reindex(g.index)

    def verdict(r: pd.Series) -> str:
        if r["responses"] > 0 or r["answered_requests"] > 0:
            return "accepted"
        if r["requests"] > 0:
            return "no response"
        return "notifications only"

    g["verdict"] = g.apply(verdict, axis=1)
    if agg.has_rows(findings) and "verdict" in findings.columns and "subject" in findings.columns:
        fv = findings.dropna(subset=["subject"]).drop_duplicates("subject").set_index("subject")["verdict"]
        g["audit_verdict"] = g.index.map(lambda c: fv.get(c))
    g = g.reset_index()
    cols = ["community", "verdict"] + (["audit_verdict"] if "audit_verdict" in g.columns else []) + \
        ["versions", "pdus", "requests", "answered_requests", "responses", "notifications", "agents", "managers",
         "agent_list", "first_seen", "last_seen"]
    return Table("Communities and their verdicts", g[cols], total=total, wide=True,
                 note="verdict from the traffic: accepted = a response came back with the community; no response = "
                      "requests were never answered (rejected or dropped); audit_verdict = the audit's own verdict "
                      "(authenticationFailure traps included). Communities masked unless --show-secrets")


def v3_table(ctx: ReportContext, pdus: pd.DataFrame) -> Table | None:
    v = _version(col(pdus, "version"))
    p = pdus[(v == "3").to_numpy()]
    if p.empty:
        return None
    d = pd.DataFrame({k: col(p, k).astype("object").fillna("").astype(str).to_numpy()
                      for k in ("user", "security_level", "auth", "privacy", "engine_id")})
    d["ts"] = col(p, "ts").to_numpy()
    g = d.groupby(["user", "security_level", "auth", "privacy", "engine_id"]).agg(
        pdus=("ts", "size"), first_seen=("ts", "min"), last_seen=("ts", "max")).reset_index()
    g["user"] = g["user"].replace("", "(empty: discovery)")
    g = g.sort_values(["pdus"], ascending=False, kind="mergesort")
    return Table("SNMPv3 users and security levels", g.head(100), total=len(g), wide=True,
                 note="auth: ok / bad (wrong digest) / unchecked (no key) / none; privacy: decrypted / no_key / "
                      "decrypt_failed / none")


def hosts_blocks(ctx: ReportContext, pdus: pd.DataFrame) -> list:
    ep = endpoints(pdus)
    ep = ep[ep["role"] != "unknown"]
    if ep.empty:
        return []
    ver = _version(col(pdus, "version")).loc[ep.index]
    a = pd.DataFrame({"host": ep["agent"].astype(str), "peer": ep["manager"].astype(str), "ver": ver})
    m = pd.DataFrame({"host": ep["manager"].astype(str), "peer": ep["agent"].astype(str), "ver": ver})

    def summary(d: pd.DataFrame, peer_name: str) -> tuple[pd.DataFrame, int]:
        g = d.groupby("host").agg(pdus=("peer", "size"), peers=("peer", "nunique"))
        g = g.rename(columns={"peers": peer_name}).sort_values("pdus", ascending=False, kind="mergesort")
        total = len(g)
        g = g.head(50)
        shown = d[d["host"].isin(set(g.index))]
        g["versions"] = shown.groupby("host")["ver"].agg(lambda s: ", ".join(sorted(set(s)))).reindex(g.index)
        return g.reset_index(), total

    ag, na = summary(a, "managers")
    mg, nm = summary(m, "agents")
    out = [Table("Agents (answer requests, send traps)", ag, total=na),
           Table("Managers (send requests, receive traps)", mg, total=nm)]
    return out


def pdu_types_over_time(ctx: ReportContext, pdus: pd.DataFrame) -> list:
    t = agg.count_over_time(col(pdus, "ts"), col(pdus, "pdu_type"))
    if not t["series"]:
        return []
    fig = charts.time_bars(t["series"], t["edges"], t["width"], f"PDUs per {t['label']}")
    vc = col(pdus, "pdu_type").astype("object").fillna("(undecoded)").astype(str).value_counts()
    fig2 = charts.hbar(list(vc.index[:TOP]), vc.values[:TOP], "PDUs", "PDU type")
    return [ctx.chart(fig, "PDU types over time", f"per {t['label']} interval", wide=True),
            ctx.chart(fig2, "PDU types", "all SNMP messages")]


def oid_table(ctx: ReportContext) -> Table | None:
    vb = ctx.table("snmp_varbinds")
    if not agg.has_rows(vb) or "oid" not in vb.columns:
        return None
    vc = vb["oid"].astype("object").fillna("").astype(str).value_counts()
    d = pd.DataFrame({"oid": vc.index, "varbinds": vc.values})
    return Table("Top OIDs in varbinds", d.head(30), total=len(d))


def build(ctx: ReportContext, sec: SectionOut) -> bool:
    pdus = ctx.table("snmp_pdus")
    findings = ctx.table("snmp_findings")
    if not agg.has_rows(pdus) and not agg.has_rows(findings):
        return False

    def figures() -> Stats:
        items = [("SNMP messages", f"{len(pdus) if pdus is not None else 0:,}")]
        if agg.has_rows(pdus):
            vc = _version(col(pdus, "version")).value_counts()
            for k in ("1", "2c", "3"):
                if vc.get(k):
                    items.append((f"v{k}", f"{int(vc[k]):,}"))
            if "answered" in pdus.columns:
                role = endpoints(pdus)["role"]
                req = role == "request"
                un = (~pdus["answered"].astype("boolean").fillna(False).astype(bool)) & req
                items.append(("unanswered requests", f"{int(un.sum()):,}"))
        if findings is not None:
            items.append(("audit findings", f"{len(findings):,}"))
        return Stats(items)

    sec.run("key figures", figures)
    if agg.has_rows(findings):
        sec.run("audit findings", lambda: findings_blocks(ctx, findings))
    if agg.has_rows(pdus):
        sec.run("communities", lambda: community_table(ctx, pdus, findings))
        sec.run("v3 users", lambda: v3_table(ctx, pdus))
        sec.run("agents and managers", lambda: hosts_blocks(ctx, pdus))
        sec.run("PDU types", lambda: pdu_types_over_time(ctx, pdus))
        sec.run("OIDs", lambda: oid_table(ctx))
    return True
