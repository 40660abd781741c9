"""Interop captures (tests/data/interop, made by make_interop.py with programs other than the ones behind
samples/): our tables against what those programs logged or printed.

- postfix-relay.pcap: Postfix 3.7 (smtpd on :10025, its smtp(8) client relaying to a catch-all aiosmtpd on
  :10026, the bounce it generated); oracles: Postfix's own mail log (postfix-maillog.txt) and the catch-all's
  record of every message it received (postfix-catchall.jsonl: envelope, size, SHA-256).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import dissect

DATA = Path(__file__).resolve().parent / "data" / "interop"
_cache: dict = {}


def analysis(name: str, **opts):
    key = (name, tuple(sorted(opts.items())))
    if key not in _cache:
        _cache[key] = dissect.analyze([str(DATA / name)], **opts)
    return _cache[key]


# ------------------------------------------------------------------------------------------- Postfix
MAILLOG = (DATA / "postfix-maillog.txt").read_text(encoding="utf-8").splitlines()
CATCHALL = [json.loads(line) for line in (DATA / "postfix-catchall.jsonl").read_text().splitlines()]


def pf():
    return analysis("postfix-relay.pcap")


def by_port(recs, port, attr="server_port"):
    return [r for r in recs if getattr(r, attr) == port]


def pf_txns(port):
    a = pf()
    uids = {s.uid for s in a.records["smtp_sessions"] if s.server_port == port}
    return sorted((t for t in a.records["smtp_transactions"] if t.uid in uids), key=lambda t: (t.ts, t.trans_depth))


def test_postfix_queue_ids_match_the_mail_log():
    # every "queued as QID" reply we decoded is a queue id Postfix logged for a client=localhost message
    logged, session, tls = [], [], set()
    for line in MAILLOG:
        m = re.search(r"smtpd\[\d+\]: ([0-9A-F]+): client=", line)
        if m:
            session.append(m.group(1))
        elif "smtpd[" in line and "disconnect from" in line:
            (tls.update if "starttls=1" in line else logged.extend)(session)
            session = []
    assert len(tls) == 1            # the STARTTLS session's reply is encrypted
    rejected_in_cleanup = {m.group(1) for line in MAILLOG
                           for m in [re.search(r"cleanup\[\d+\]: ([0-9A-F]+): reject:", line)] if m}
    got = [re.search(r"queued as ([0-9A-F]+)", t.data_reply_text or "") for t in pf_txns(10025)]
    got = [m.group(1) for m in got if m]
    assert got == [q for q in logged if q not in rejected_in_cleanup]
    assert len(got) == 5


def test_postfix_rcpt_rejections_match_the_mail_log():
    a = pf()
    rc = {r.address: r for r in a.records["smtp_recipients"] if r.reply_code and r.reply_code >= 400}
    for line in MAILLOG:
        m = re.search(r"reject: RCPT from [^:]+: (\d{3}) (\d\.\d\.\d) <([^>]+)>: (.*?); from=", line)
        if not m:
            continue
        code, enh, addr, text = m.groups()
        r = rc[addr]
        assert (r.reply_code, r.enhanced_status) == (int(code), enh)
        assert r.reply_text.endswith(text)
        assert r.outcome == ("rejected" if code[0] == "5" else "tempfail")
    # Postfix does not log smtpd_recipient_limit; its reply text is fixed in smtpd.c
    dave = rc["dave@example.net"]
    assert (dave.reply_code, dave.enhanced_status, dave.reply_text) == (452, "4.5.3", "4.5.3 Error: too many recipients")


def test_postfix_header_checks_reject_at_end_of_data():
    line = next(x for x in MAILLOG if "cleanup" in x and "reject: header Subject:" in x)
    text = line.rsplit(": ", 1)[1]          # "5.7.1 Message content rejected by interop policy"
    t = next(t for t in pf_txns(10025) if t.subject == "REJECTME please")
    assert t.outcome == "rejected" and t.data_reply_code == 550
    assert t.data_reply_text == text and t.enhanced_status == "5.7.1"
    r = next(r for r in pf().records["smtp_recipients"] if r.address == "erin@example.net")
    assert (r.reply_code, r.final_reply_code, r.delivery) == (250, 550, "rejected")


def test_postfix_session_command_counts_match_smtpd_disconnect_lines():
    # "disconnect from ... ehlo=1 mail=2 rcpt=5 data=1/2 rset=1 noop=1 vrfy=1 quit=1 commands=13/14"
    counts = []
    for line in MAILLOG:
        m = re.search(r"smtpd\[\d+\]: disconnect from .* commands=(\d+)(?:/(\d+))?$", line)
        if m and "starttls" not in line and m.group(1) != "0":
            counts.append(int(m.group(2) or m.group(1)))
    sessions = sorted((s for s in pf().records["smtp_sessions"] if s.server_port == 10025 and not s.tls),
                      key=lambda s: s.ts)
    assert [s.commands for s in sessions] == counts
    raw = next(s for s in sessions if s.helo == "raw.example.org")
    assert list(raw.other_commands) == ["VRFY alice@example.net", "NOOP"]
    tls = [s for s in pf().records["smtp_sessions"] if s.tls]
    assert len(tls) == 1 and tls[0].helo == "tls.example.org" and tls[0].tls_bytes > 1000


def test_postfix_bdat_chunking():
    t = next(t for t in pf_txns(10025) if t.data_mode == "BDAT")
    # Postfix's reply states the byte count it received: "2.0.0 Ok: 266 bytes queued as ..."
    n = int(re.search(r"Ok: (\d+) bytes queued", t.data_reply_text).group(1))
    assert t.size == n == 266
    assert t.subject == "BDAT grüße" and "BODY=8BITMIME" in t.mail_params
    assert "CHUNKING" in next(s for s in pf().records["smtp_sessions"] if s.uid == t.uid).extensions


def test_postfix_smtputf8_address():
    t = next(t for t in pf_txns(10025) if t.message_id == "<utf8.1@example.org>")
    assert list(t.rcpt_to) == ["jörg@example.net"] and "SMTPUTF8" in t.mail_params
    assert t.subject == "Größe ünïcode" and t.outcome == "accepted"


def test_postfix_relay_leg_matches_catch_all_and_mail_log():
    # Postfix's smtp(8) client -> catch-all: what the catch-all stored, byte for byte
    delivered = [t for t in pf_txns(10026) if t.data_reply_code == 250]
    assert [(t.mail_from or "<>", list(t.rcpt_to), t.size, t.sha256) for t in delivered] == \
        [(c["mail_from"], c["rcpt_tos"], c["size"], c["sha256"]) for c in CATCHALL]
    sent = [re.search(r"status=sent \((.*)\)$", x).group(1) for x in MAILLOG if "postfix/smtp[" in x and "status=sent" in x]
    # one log line per recipient; one reply per message on the wire
    per_msg = [t.last_reply for t in delivered for _ in t.rcpt_to]
    assert per_msg == sent
    for t in delivered:
        assert t.helo == "mx.interop.test" and t.outcome == "accepted"


def test_postfix_bounce_and_its_dsn():
    # the next hop refused gone@ (bounced) and deferred later@ (451)
    failed = next(t for t in pf_txns(10026) if "gone@example.net" in t.rcpt_to)
    rc = {r.address: r for r in pf().records["smtp_recipients"] if r.uid == failed.uid}
    for line in MAILLOG:
        m = re.search(r"to=<([^>]+)>, .* dsn=(\d\.\d\.\d), status=(bounced|deferred) \(host \S+ said: (\d{3}) (.*) "
                      r"\(in reply to RCPT TO command\)\)", line)
        if m:
            addr, dsn, status, code, text = m.groups()
            assert (rc[addr].reply_code, rc[addr].enhanced_status, rc[addr].reply_text) == (int(code), dsn, text)
            assert rc[addr].outcome == ("rejected" if status == "bounced" else "tempfail")
    assert failed.accepted_count == 0 and failed.data_reply_code is None
    # Postfix's non-delivery notification (queue id from the log) to the sender, null reverse path
    qid = next(re.search(r"notification: ([0-9A-F]+)", x).group(1) for x in MAILLOG if "non-delivery notification" in x)
    bounce = next(t for t in pf_txns(10026) if t.is_bounce)
    assert bounce.mail_from == "" and list(bounce.rcpt_to) == ["sender@example.org"]
    assert bounce.message_id == f"<20261203185141.{qid}@mx.interop.test>"
    assert bounce.subject == "Undelivered Mail Returned to Sender"
    dsn = pf().records["dsn_recipients"]
    assert len(dsn) == 1
    d = dsn[0]
    assert (d.final_recipient, d.action, d.status) == ("gone@example.net", "failed", "5.1.1")
    assert d.diagnostic_code == "smtp; 550 5.1.1 <gone@example.net>: mailbox is gone"
    assert d.reporting_mta == "mx.interop.test"
    # joins the original message (swaks' Message-Id, first of the two ids Postfix logged)
    orig_ids = [re.search(r"message-id=(<[^>]+>)", x).group(1) for x in MAILLOG if "C4E3620E543: message-id=" in x]
    assert d.original_message_id == orig_ids[0]
    m = next(m for m in pf().records["mime_messages"] if m.is_dsn)
    assert m.content_type == "multipart/report" and m.size == CATCHALL[-1]["size"]


def test_postfix_no_weirds():
    assert [w.name for w in pf().records.get("weirds", [])] == []
