"""Mail: delivery outcomes, failures with reasons, senders/recipients, attachments, AUTH and TLS."""

from __future__ import annotations

import pandas as pd

from dissect.reports import aggregate as agg
from dissect.reports import charts
from dissect.reports.aggregate import col
from dissect.reports.builder import ReportContext, SectionOut
from dissect.reports.html import Stats, Table

OUTCOMES = ["accepted", "bounced", "rejected", "tempfail", "unanswered", "aborted", "incomplete"]
TOP = 15

#: RFC 3463 enhanced status codes (class.subject.detail), the ones seen most in practice
ENHANCED = {
    "0.0": "other or undefined status", "1.0": "other address status", "1.1": "bad destination mailbox address",
    "1.2": "bad destination system address", "1.3": "bad destination mailbox address syntax",
    "1.6": "destination mailbox has moved", "1.7": "bad sender's mailbox address syntax",
    "1.8": "bad sender's system address", "1.10": "recipient address has null MX",
    "2.0": "other or undefined mailbox status", "2.1": "mailbox disabled, not accepting messages",
    "2.2": "mailbox full", "2.3": "message length exceeds administrative limit",
    "3.0": "other or undefined mail system status", "3.1": "mail system full",
    "3.4": "message too big for system", "4.0": "other or undefined network or routing status",
    "4.1": "no answer from host", "4.2": "bad connection", "4.3": "directory server failure",
    "4.4": "unable to route", "4.7": "delivery time expired", "5.0": "other or undefined protocol status",
    "5.1": "invalid command", "5.2": "syntax error", "5.3": "too many recipients",
    "5.4": "invalid command arguments", "6.0": "other or undefined media error",
    "7.0": "other or undefined security status", "7.1": "delivery not authorized, message refused",
    "7.8": "authentication credentials invalid", "7.9": "authentication mechanism is too weak",
    "7.23": "SPF validation failed", "7.25": "reverse DNS validation failed", "7.26": "multiple authentication checks failed",
}


def explain_enhanced(code: object) -> str:
    """Plain words for an RFC 3463 enhanced status code (e.g. 5.7.1)."""
    if code is None or (isinstance(code, float) and code != code) or code is pd.NA:
        return ""
    s = str(code).strip()
    parts = s.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return ""
    cls = {"2": "success", "4": "temporary failure", "5": "permanent failure"}.get(parts[0], "")
    what = ENHANCED.get(f"{int(parts[1])}.{int(parts[2])}") or ENHANCED.get(f"{int(parts[1])}.0", "")
    return ", ".join(x for x in (cls, what) if x)


def _str(s: pd.Series) -> pd.Series:
    return s.astype("object").where(s.notna(), None)


def recipient_view(ctx: ReportContext) -> pd.DataFrame:
    """One row per recipient with its end result, server and reason (joined from the SMTP tables)."""
    rc = ctx.table("smtp_recipients")
    tx = ctx.table("smtp_transactions")
    ss = ctx.table("smtp_sessions")
    if not agg.has_rows(rc):
        return pd.DataFrame()
    result = col(rc, "delivery") if "delivery" in rc.columns else col(rc, "outcome")
    result = result.astype("object").where(result.notna(), col(rc, "outcome").astype("object"))
    v = pd.DataFrame({
        "uid": _str(col(rc, "uid")), "trans_depth": col(rc, "trans_depth"), "ts": col(rc, "ts"),
        "recipient": _str(col(rc, "address")), "result": result.fillna("unanswered").astype(str),
        "rcpt_outcome": _str(col(rc, "outcome")),
        "rcpt_code": col(rc, "reply_code"), "rcpt_status": _str(col(rc, "enhanced_status")),
        "rcpt_text": _str(col(rc, "reply_text")),
        "final_code": col(rc, "final_reply_code"), "final_status": _str(col(rc, "final_enhanced_status")),
        "final_text": _str(col(rc, "final_reply_text")),
    })
    if agg.has_rows(ss) and "uid" in ss.columns:
        srv = ss.drop_duplicates("uid").set_index("uid")
        v["server"] = v["uid"].map(_str(col(srv, "server")))
        v["client"] = v["uid"].map(_str(col(srv, "client")))
    else:
        v["server"] = None
        v["client"] = None
    if agg.has_rows(tx) and {"uid", "trans_depth"} <= set(tx.columns):
        t = tx.drop_duplicates(["uid", "trans_depth"])
        key = pd.MultiIndex.from_arrays([t["uid"].astype(str), pd.to_numeric(t["trans_depth"], errors="coerce")])
        look = pd.MultiIndex.from_arrays([v["uid"].astype(str), pd.to_numeric(v["trans_depth"], errors="coerce")])
        for src, dst in (("mail_from", "mail_from"), ("subject", "subject"), ("data_reply_code", "data_code"),
                         ("data_reply_text", "data_text"), ("enhanced_status", "data_status")):
            s = pd.Series(_str(col(t, src)).to_numpy(), index=key)
            s = s[~s.index.duplicated()]
            v[dst] = s.reindex(look).to_numpy()
    for c in ("mail_from", "subject", "data_code", "data_text", "data_status"):
        if c not in v.columns:
            v[c] = None
    v["server"] = v["server"].fillna("(unknown server)")
    v["domain"] = agg.domain_of(v["recipient"])
    return v


def _reason(row: pd.Series) -> tuple[object, object, object, str]:
    """(stage, code, enhanced status, text) that explains a recipient's result."""
    if row["rcpt_outcome"] not in (None, "accepted") and not pd.isna(row["rcpt_code"]):
        return "RCPT TO", row["rcpt_code"], row["rcpt_status"], row["rcpt_text"]
    if row["rcpt_outcome"] == "unanswered":
        return "RCPT TO", None, None, "no reply from the server"
    if not pd.isna(row["final_code"]):
        return "end of data", row["final_code"], row["final_status"], row["final_text"]
    if not pd.isna(row.get("data_code")):
        return "end of data", row["data_code"], row["data_status"], row["data_text"]
    return "", None, None, ""


def failed_table(v: pd.DataFrame, tx: pd.DataFrame | None = None, ss: pd.DataFrame | None = None) -> Table | None:
    """Every recipient not accepted, plus failed transactions that have no recipient row (e.g. MAIL refused)."""
    rows = []
    failed = v[v["result"] != "accepted"] if agg.has_rows(v) else pd.DataFrame()
    for _, r in failed.iterrows():
        stage, code, status, text = _reason(r)
        rows.append({"time": r["ts"], "server": r["server"], "from": r["mail_from"], "recipient": r["recipient"],
                     "result": r["result"], "stage": stage, "code": code, "status": status,
                     "meaning": explain_enhanced(status), "reason": text, "subject": r["subject"]})
    if agg.has_rows(tx) and "outcome" in tx.columns:
        seen = set()
        if agg.has_rows(v):
            seen = set(zip(v["uid"].astype(str), pd.to_numeric(v["trans_depth"], errors="coerce").fillna(-1).astype(int)))
        servers = {}
        if agg.has_rows(ss) and "uid" in ss.columns:
            servers = dict(zip(ss["uid"].astype(str), _str(col(ss, "server"))))
        bad = tx[_str(tx["outcome"]).isin(["rejected", "tempfail"]).to_numpy()]
        for _, t in bad.iterrows():
            key = (str(t.get("uid")), int(t["trans_depth"]) if pd.notna(t.get("trans_depth")) else -1)
            if key in seen:
                continue
            last = t.get("last_reply")
            code = t.get("data_reply_code")
            text = t.get("data_reply_text")
            status = t.get("enhanced_status")
            stage = "end of data" if pd.notna(code) else "MAIL FROM / RCPT TO"
            if pd.isna(code) and isinstance(last, str) and last[:3].isdigit():
                code, text = int(last[:3]), last[3:].strip()
            rows.append({"time": t.get("ts"), "server": servers.get(str(t.get("uid")), "(unknown server)"),
                         "from": t.get("mail_from"), "recipient": "(no recipient accepted)",
                         "result": t["outcome"], "stage": stage, "code": code, "status": status,
                         "meaning": explain_enhanced(status), "reason": text, "subject": t.get("subject")})
    if not rows:
        return None
    out = pd.DataFrame(rows)
    order = {k: i for i, k in enumerate(["rejected", "tempfail", "unanswered", "aborted", "incomplete"])}
    out = out.assign(_o=out["result"].map(order).fillna(9)).sort_values(["_o", "time"], kind="mergesort")
    out = out.drop(columns="_o").reset_index(drop=True)
    return Table("Failed deliveries (with the server's reason)", out.head(500), total=len(out), wide=True,
                 note="every recipient whose message was not accepted (rejected = 5xx, tempfail = 4xx, unanswered, "
                      "aborted, incomplete) and refused transactions without recipients; failures first")


def delivery_view(ctx: ReportContext) -> pd.DataFrame:
    """The SMTP analyzer's troubleshooting rows (``dissect mail``): one per message and recipient, with
    bounces seen later on the wire folded in (result ``bounced``), plus the server and recipient domain.
    Empty when that helper or the records are not available (the report then uses :func:`recipient_view`).
    """
    records = getattr(ctx.analysis, "records", None)
    if not records:
        return pd.DataFrame()
    try:
        from dissect.smtp.delivery import mail_rows
    except ImportError:
        return pd.DataFrame()
    rows = mail_rows(records)
    if not rows:
        return pd.DataFrame()
    ss = ctx.table("smtp_sessions")
    servers = dict(zip(ss["uid"].astype(str), _str(col(ss, "server")))) if agg.has_rows(ss) else {}
    d = pd.DataFrame({
        "time": pd.to_datetime([r.ts for r in rows], unit="s", utc=True),
        "server": [servers.get(str(r.uid)) or "(unknown server)" for r in rows],
        "from": [r.mail_from for r in rows], "recipient": [r.recipient for r in rows],
        "result": [r.result for r in rows], "stage": [r.stage for r in rows],
        "code": pd.array([r.code for r in rows], dtype="Int64"), "status": [r.enhanced for r in rows],
        "reason": [r.reason for r in rows], "server_text": [r.server_text for r in rows],
        "subject": [r.subject for r in rows], "uid": [r.uid for r in rows],
    })
    d["domain"] = agg.domain_of(d["recipient"]).where(d["recipient"] != "-", "(no recipient)")
    return d


def delivery_failed_table(d: pd.DataFrame) -> Table | None:
    f = d[d["result"] != "accepted"]
    if f.empty:
        return None
    return Table("Failed deliveries (with the server's reason)", f.drop(columns=["domain"]).head(500), total=len(f),
                 wide=True, note="one row per message and recipient that was not delivered, failures first: rejected "
                                 "(5xx), tempfail (4xx), bounced (accepted here, then a delivery status notification "
                                 "on the wire reported the failure), aborted, incomplete; reason in plain words "
                                 "(RFC 5321 reply code and RFC 3463 enhanced status)")


def outcome_counts(v: pd.DataFrame, by: str, top: int = TOP) -> pd.DataFrame:
    """Recipients per ``by`` value and result (columns = outcomes present), top N by total."""
    ct = pd.crosstab(v[by].astype(str), v["result"].astype(str))
    cols = [c for c in OUTCOMES if c in ct.columns] + [c for c in ct.columns if c not in OUTCOMES]
    ct = ct[cols]
    ct = ct.loc[ct.sum(axis=1).sort_values(ascending=False, kind="mergesort").index]
    return ct.head(top)


def outcome_blocks(ctx: ReportContext, v: pd.DataFrame) -> list:
    out = []
    for by, label in (("server", "server"), ("domain", "recipient domain")):
        ct = outcome_counts(v, by)
        n_all = v[by].nunique()
        fig = charts.stacked_bars(list(ct.index), {c: ct[c].tolist() for c in ct.columns}, "recipients", label)
        sub = ("end result per message and recipient (RCPT reply, the reply after the message data, and "
               "bounces seen later)")
        if n_all > len(ct):
            sub += f"; top {len(ct)} of {n_all}"
        out.append(ctx.chart(fig, f"Delivery outcomes by {label}", sub))
    return out


def transactions_over_time(ctx: ReportContext, tx: pd.DataFrame) -> list:
    t = agg.count_over_time(col(tx, "ts"), col(tx, "outcome"))
    if not t["series"]:
        return []
    fig = charts.time_bars(t["series"], t["edges"], t["width"], f"transactions per {t['label']}")
    return [ctx.chart(fig, "Mail transactions over time by outcome", f"per {t['label']} interval", wide=True)]


def sender_recipient_tables(ctx: ReportContext, tx: pd.DataFrame, v: pd.DataFrame) -> list:
    out = []
    if agg.has_rows(tx):
        mf = _str(col(tx, "mail_from")).map(lambda s: "<> (null sender: bounce)" if s == "" else s)
        d = pd.DataFrame({"sender": mf.fillna("(none)"), "outcome": _str(col(tx, "outcome")).fillna(""),
                          "rcpts": pd.to_numeric(col(tx, "rcpt_count", 0), errors="coerce").fillna(0),
                          "size": pd.to_numeric(col(tx, "size"), errors="coerce")})
        d["ok"] = (d["outcome"] == "accepted").astype("int64")
        g = d.groupby("sender").agg(messages=("outcome", "size"), accepted=("ok", "sum"),
                                    recipients=("rcpts", "sum"), bytes=("size", "sum"))
        g = g.sort_values(["messages", "bytes"], ascending=False, kind="mergesort").reset_index()
        g["recipients"] = g["recipients"].astype("int64")
        out.append(Table("Top senders (MAIL FROM)", g.head(TOP), total=len(g), byte_cols=("bytes",)))
    if agg.has_rows(v):
        d = pd.DataFrame({"recipient": v["recipient"].fillna("(none)").to_numpy(),
                          "ok": (v["result"] == "accepted").astype("int64").to_numpy()})
        d["bad"] = 1 - d["ok"]
        g = d.groupby("recipient").agg(rcpt_commands=("ok", "size"), accepted=("ok", "sum"), failed=("bad", "sum"))
        g = g.sort_values(["rcpt_commands", "failed"], ascending=False, kind="mergesort").reset_index()
        out.append(Table("Top recipients (RCPT TO)", g.head(TOP), total=len(g)))
    return out


def attachment_table(ctx: ReportContext) -> Table | None:
    mp = ctx.table("mime_parts")
    tx = ctx.table("smtp_transactions")
    if not agg.has_rows(mp):
        return None
    fn = _str(col(mp, "filename")).fillna("")
    disp = _str(col(mp, "disposition")).fillna("").str.lower()
    if "is_attachment" in mp.columns:
        att = mp[mp["is_attachment"].astype("boolean").fillna(False).to_numpy()]
    else:
        att = mp[(fn != "").to_numpy() | disp.str.startswith("attachment").to_numpy()]
    if "source" in att.columns:
        src = att["source"].astype("object").fillna("").astype(str).str.lower()
        att = att[(src == "smtp").to_numpy() | (src == "").to_numpy()]
    smtp_uids = set(col(tx, "uid").astype(str)) if agg.has_rows(tx) else set()
    if smtp_uids and "uid" in att.columns:
        att = att[att["uid"].astype(str).isin(smtp_uids)]
    if att.empty:
        return None
    out = pd.DataFrame({"uid": _str(col(att, "uid")), "trans_depth": col(att, "trans_depth"),
                        "part": _str(col(att, "part_id")), "name": _str(col(att, "filename")),
                        "type": _str(col(att, "content_type")), "size": col(att, "size"),
                        "sha256": _str(col(att, "sha256"))})
    if agg.has_rows(tx) and {"uid", "trans_depth"} <= set(tx.columns):
        t = tx.drop_duplicates(["uid", "trans_depth"]).copy()
        t["uid"] = t["uid"].astype(str)
        t["trans_depth"] = pd.to_numeric(t["trans_depth"], errors="coerce")
        out["uid"] = out["uid"].astype(str)
        out["trans_depth"] = pd.to_numeric(out["trans_depth"], errors="coerce")
        keep = [c for c in ("ts", "mail_from", "subject") if c in t.columns]
        out = out.merge(t[["uid", "trans_depth"] + keep], on=["uid", "trans_depth"], how="left")
        out = out[[c for c in ("ts", "mail_from", "subject") if c in out.columns]
                  + ["name", "type", "size", "sha256", "part", "uid", "trans_depth"]]
    out = out.sort_values("size", ascending=False, kind="mergesort", na_position="last")
    return Table("Messages with attachments", out.head(200), total=len(out), byte_cols=("size",), wide=True,
                 note="MIME parts with a filename or Content-Disposition: attachment; size after transfer "
                      "decoding, SHA-256 of the decoded content")


def server_table(ctx: ReportContext, ss: pd.DataFrame) -> Table | None:
    if not agg.has_rows(ss):
        return None
    ext = col(ss, "extensions").map(lambda e: e if isinstance(e, (tuple, list)) else
                                    (tuple(str(e).split(",")) if isinstance(e, str) else ()))
    d = pd.DataFrame({
        "server": _str(col(ss, "server")).fillna("?"),
        "port": col(ss, "server_port"),
        "tls": col(ss, "tls").astype("boolean").fillna(False).astype(bool),
        "starttls_offered": ext.map(lambda e: any(str(x).upper().startswith("STARTTLS") for x in e)),
        "auth_offered": ext.map(lambda e: ", ".join(sorted({str(x)[5:].strip() for x in e
                                                            if str(x).upper().startswith("AUTH")}))),
        "mech": _str(col(ss, "auth_mechanism")).fillna(""),
        "user": _str(col(ss, "auth_user")).fillna(""),
        "auth_result": _str(col(ss, "auth_result")).fillna(""),
        "injection": col(ss, "starttls_injection").astype("boolean").fillna(False).astype(bool),
        "transactions": pd.to_numeric(col(ss, "transactions", 0), errors="coerce").fillna(0),
    })

    def joined(s: pd.Series) -> str:
        vals = sorted({x for x in s if x})
        return ", ".join(vals[:8]) + (f" (+{len(vals) - 8})" if len(vals) > 8 else "")

    g = d.groupby(["server", "port"], dropna=False).agg(
        sessions=("tls", "size"), starttls_offered=("starttls_offered", "sum"), tls_sessions=("tls", "sum"),
        auth_offered=("auth_offered", joined), auth_sessions=("mech", lambda s: int((s != "").sum())),
        auth_mechanisms=("mech", joined),
        auth_success=("auth_result", lambda s: int((s == "success").sum())),
        auth_failure=("auth_result", lambda s: int((s == "failure").sum())),
        auth_users=("user", joined), starttls_injection=("injection", "sum"),
        transactions=("transactions", "sum"))
    g = g.reset_index().sort_values("sessions", ascending=False, kind="mergesort")
    g["cleartext_sessions"] = g["sessions"] - g["tls_sessions"]
    for c in ("starttls_offered", "tls_sessions", "starttls_injection", "transactions", "cleartext_sessions"):
        g[c] = g[c].astype("int64")
    g = g[["server", "port", "sessions", "tls_sessions", "cleartext_sessions", "starttls_offered",
           "auth_offered", "auth_sessions", "auth_mechanisms", "auth_success", "auth_failure", "auth_users",
           "starttls_injection", "transactions"]]
    return Table("AUTH and TLS use per server", g.head(50), total=len(g), wide=True,
                 note="tls = STARTTLS succeeded (the rest of the session is encrypted); auth = the last AUTH "
                      "attempt of each session (user names only; secrets are never in this report)")


def build(ctx: ReportContext, sec: SectionOut) -> bool:
    ss = ctx.table("smtp_sessions")
    tx = ctx.table("smtp_transactions")
    rc = ctx.table("smtp_recipients")
    mp = ctx.table("mime_parts")
    dsn = ctx.table("dsn_recipients")
    if not any(agg.has_rows(t) for t in (ss, tx, rc)):
        return False

    dv = pd.DataFrame()
    try:
        dv = delivery_view(ctx)
    except Exception as e:  # noqa: BLE001
        sec.fail("delivery rows", e)

    def figures() -> Stats:
        items = [("SMTP sessions", f"{len(ss) if ss is not None else 0:,}"),
                 ("transactions", f"{len(tx) if tx is not None else 0:,}"),
                 ("recipients", f"{len(rc) if rc is not None else 0:,}")]
        v = dv if agg.has_rows(dv) else recipient_view(ctx)
        if agg.has_rows(v):
            vc = v["result"].value_counts()
            for k in ("accepted", "rejected", "tempfail", "bounced"):
                if k != "bounced" or vc.get(k, 0):
                    items.append((f"deliveries {k}", f"{int(vc.get(k, 0)):,}"))
        if agg.has_rows(ss):
            items.append(("sessions with STARTTLS", f"{int(col(ss, 'tls').fillna(False).astype(bool).sum()):,}"))
            items.append(("sessions with AUTH", f"{int(col(ss, 'auth_mechanism').notna().sum()):,}"))
        return Stats(items)

    sec.run("key figures", figures)
    v = None
    try:
        v = recipient_view(ctx)
    except Exception as e:  # noqa: BLE001
        sec.fail("recipients", e)
    if agg.has_rows(dv):
        sec.run("delivery outcomes", lambda: outcome_blocks(ctx, dv))
        sec.run("failed deliveries", lambda: delivery_failed_table(dv))
    elif agg.has_rows(v):
        sec.run("delivery outcomes", lambda: outcome_blocks(ctx, v))
        sec.run("failed deliveries", lambda: failed_table(v, tx, ss))
    elif agg.has_rows(tx):
        def tx_outcomes():
            ss_ = ss if agg.has_rows(ss) else None
            srv = (tx["uid"].map(ss_.drop_duplicates("uid").set_index("uid")["server"])
                   if ss_ is not None and "uid" in tx.columns else pd.Series("(unknown server)", index=tx.index))
            d = pd.DataFrame({"server": srv.fillna("(unknown server)").astype(str),
                              "result": _str(col(tx, "outcome")).fillna("incomplete")})
            ct = outcome_counts(d, "server")
            fig = charts.stacked_bars(list(ct.index), {c: ct[c].tolist() for c in ct.columns}, "transactions",
                                      "server")
            return ctx.chart(fig, "Transaction outcomes by server", "no per-recipient rows: one count per message")
        sec.run("transaction outcomes", tx_outcomes)
        sec.run("failed deliveries", lambda: failed_table(pd.DataFrame(), tx, ss))
    if agg.has_rows(tx):
        sec.run("transactions over time", lambda: transactions_over_time(ctx, tx))
    sec.run("senders and recipients", lambda: sender_recipient_tables(ctx, tx, v))
    if agg.has_rows(mp):
        sec.run("attachments", lambda: attachment_table(ctx))
    sec.run("AUTH and TLS", lambda: server_table(ctx, ss))
    if agg.has_rows(tx):
        def msgs():
            cols = [c for c in ("ts", "mail_from", "rcpt_count", "outcome", "data_reply_code", "subject",
                                "header_from", "size", "attachments", "message_id", "uid", "trans_depth")
                    if c in tx.columns]
            t = tx.sort_values("ts", kind="mergesort") if "ts" in tx.columns else tx
            return Table("Messages (transactions)", t[cols].head(200), total=len(t), byte_cols=("size",), wide=True)
        sec.run("messages", msgs)
    if agg.has_rows(dsn):
        def bounces():
            d = dsn.copy()
            if "status" in d.columns:
                d["meaning"] = d["status"].map(explain_enhanced)
            first = [c for c in ("ts", "final_recipient", "action", "status", "meaning", "diagnostic_code",
                                 "reporting_mta", "remote_mta", "original_message_id") if c in d.columns]
            d = d[first + [c for c in d.columns if c not in first]]
            d = d.sort_values("ts", kind="mergesort") if "ts" in d.columns else d
            return Table("Delivery status notifications seen (bounces, per recipient)", d.head(200), total=len(d),
                         wide=True, note="RFC 3464 reports carried in mail on the wire: they explain failures "
                                         "that happened after the server accepted the message")
        sec.run("bounces", bounces)
    return True
