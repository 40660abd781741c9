"""Mail delivery troubleshooting rows: one per message and recipient with the end result and the
server's reason in plain words, failures first. A delivery status notification (bounce) seen on the
wire that refers to an earlier message (``dsn_recipients.original_message_id`` =
``smtp_transactions.message_id``) turns that recipient's result into ``bounced`` with the DSN's
status and diagnostic. Used by ``dissect mail`` and available to reports and notebooks::

    from dissect.smtp.delivery import mail_rows
    rows = mail_rows(dissect.analyze(["capture.pcap"]).records)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from dissect.smtp.codes import explain, explain_enhanced

__all__ = ["MailRow", "mail_rows"]


@dataclass
class MailRow:
    ts: float
    uid: str
    trans_depth: int
    mail_from: str
    recipient: str
    subject: str
    message_id: str
    result: str          # accepted / rejected / tempfail / bounced / aborted / incomplete
    stage: str           # where it was decided: MAIL, RCPT, DATA, end of data, later bounce
    code: Optional[int]
    enhanced: Optional[str]
    server_text: str
    reason: str

    @property
    def failed(self) -> bool:
        return self.result != "accepted"


def _bounces(records) -> dict[str, list]:
    out: dict[str, list] = {}
    for d in records.get("dsn_recipients", ()):
        mid = (getattr(d, "original_message_id", None) or "").strip()
        if mid and (getattr(d, "action", "") or "").lower() in ("failed", "delayed", ""):
            out.setdefault(mid, []).append(d)
    return out


def mail_rows(records) -> list[MailRow]:
    """The troubleshooting view as rows (failures first, then by time)."""
    rcpts: dict[tuple, list] = {}
    for r in records.get("smtp_recipients", ()):
        rcpts.setdefault((r.uid, r.trans_depth), []).append(r)
    bounces = _bounces(records)
    rows: list[MailRow] = []
    for t in records.get("smtp_transactions", ()):
        frm = "<>" if t.is_bounce else (t.mail_from or "-")
        subj = t.subject or ""
        mid = t.message_id or ""
        later = bounces.get(mid.strip(), []) if mid else []
        rs = rcpts.get((t.uid, t.trans_depth), [])
        if not rs:
            code = t.data_reply_code or t.mail_reply_code
            stage = "MAIL" if t.mail_reply_code and t.mail_reply_code >= 400 else "DATA"
            enh = t.enhanced_status or _enhanced_in(t.last_reply, code)
            text = t.data_reply_text if t.data_reply_code else None
            if text is None:
                # last_reply starts with its code ("503 sender already given"): shown after `code`
                text = t.last_reply or ""
                if code is not None and text[:3] == str(code):
                    text = text[3:].lstrip(" -")
            rows.append(MailRow(t.ts, t.uid, t.trans_depth, frm, "-", subj, mid, t.outcome, stage, code,
                                enh, text,
                                _reason(t.outcome, code, enh, t.last_reply)))
            continue
        for r in rs:
            if r.outcome != "accepted":
                code, enh, text, stage = r.reply_code, r.enhanced_status, r.reply_text or "", "RCPT"
            elif r.final_reply_code is not None:
                code, enh, text, stage = r.final_reply_code, r.final_enhanced_status, r.final_reply_text or "", "end of data"
            else:
                code, enh, text, stage = r.reply_code, r.enhanced_status, r.reply_text or "", "RCPT"
            result = r.delivery
            reason = _reason(result, code, enh, text)
            if result == "accepted":
                for d in later:
                    fr = (getattr(d, "final_recipient", "") or "").lower()
                    orr = (getattr(d, "original_recipient", "") or "").lower()
                    if r.address.lower() in (fr, orr) or len(later) == 1 and len(rs) == 1:
                        result = "bounced"
                        stage = "later bounce (DSN)"
                        enh = getattr(d, "status", None)
                        text = getattr(d, "diagnostic_code", None) or ""
                        reason = "accepted here, then bounced: " + (
                            f"{enh} = {explain_enhanced(enh)}" if enh else (getattr(d, "action", "") or "failed"))
                        if getattr(d, "remote_mta", None):
                            reason += f" (reported for {d.remote_mta})"
                        code = None
                        break
            rows.append(MailRow(r.ts, t.uid, t.trans_depth, frm, r.address, subj, mid, result, stage, code,
                                enh, text, reason))
    rows.sort(key=lambda m: (not m.failed, m.ts, m.uid, m.trans_depth))
    return rows


def _enhanced_in(reply, code) -> Optional[str]:
    """The enhanced status code in a 'NNN x.y.z text' reply line, if any."""
    m = re.match(r"^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b", reply or "")
    if m and code and m.group(1)[0] == str(code)[0]:
        return m.group(1)
    return None


def _reason(result: str, code, enh, text) -> str:
    if result == "aborted":
        return "the client gave up before the end of the transaction (RSET, QUIT or a new MAIL)"
    if result == "incomplete" and code is None:
        return "no final answer in the capture (cut short, one side only, or bytes missing)"
    if result == "incomplete" and code is not None:
        return "capture incomplete; last answer: " + explain(code, enh)
    return explain(code, enh)
