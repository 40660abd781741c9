"""SMTP tables on the loopback sample captures (samples/smtp, made by make_samples.py with aiosmtpd,
swaks, smtplib and a raw pipelining client) against what the clients sent (manifest.json)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import dissect

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "smtp"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text())
CAPS = MANIFEST["captures"]


_cache: dict = {}


def analysis(name: str, **opts):
    key = (name, tuple(sorted(opts.items())))
    if key not in _cache:
        _cache[key] = dissect.analyze([str(SAMPLES / name)], strict=True, **opts)
    return _cache[key]


def txns(a):
    return sorted(a.records.get("smtp_transactions", []), key=lambda t: (t.ts, t.trans_depth))


def rcpts(a, t):
    return [r for r in a.records.get("smtp_recipients", []) if r.uid == t.uid and r.trans_depth == t.trans_depth]


@pytest.mark.parametrize("name", sorted(n for n, c in CAPS.items() if "transactions" in c))
def test_transactions_match_manifest(name):
    a = analysis(name)
    exp = CAPS[name]
    got = txns(a)
    assert len(got) == len(exp["transactions"])
    sessions = a.records["smtp_sessions"]
    assert all(s.helo == exp["helo"] for s in sessions)
    assert not any(s.incomplete for s in sessions)
    assert all(s.lmtp == exp.get("lmtp", False) for s in sessions)
    if "port" in exp:
        assert all(s.server_port == exp["port"] for s in sessions)
    if "auth_user" in exp:
        assert [(s.auth_mechanism, s.auth_user, s.auth_result) for s in sessions] == \
            [(exp["auth_mechanism"], exp["auth_user"], exp["auth_result"])]
    for t, e in zip(got, exp["transactions"]):
        assert t.mail_from == e["mail_from"]
        assert t.outcome == e["outcome"], (t.trans_depth, t.last_reply)
        assert not t.incomplete
        if "data_reply_code" in e:
            assert t.data_reply_code == e["data_reply_code"]
        if "enhanced_status" in e:
            assert t.enhanced_status == e["enhanced_status"]
        if "subject" in e:
            assert t.subject == e["subject"]
        if e.get("message_id"):
            assert t.message_id == e["message_id"]
        if "mail_params" in e:
            assert list(t.mail_params) == e["mail_params"]
        if "size" in e:       # what the server received, after dot-unstuffing
            assert t.size == e["size"]
            assert t.sha256 == e["sha256"]
        assert t.is_bounce == e.get("is_bounce", False)
        if "recipients" in e:
            rs = rcpts(a, t)
            assert [r.address for r in rs] == [x["address"] for x in e["recipients"]]
            assert t.rcpt_count == len(rs)
            assert t.accepted_count == sum(x["outcome"] == "accepted" for x in e["recipients"])
            for r, x in zip(rs, e["recipients"]):
                assert r.reply_code == x["reply_code"]
                assert r.outcome == x["outcome"]
                if "enhanced_status" in x:
                    assert r.enhanced_status == x["enhanced_status"]
                if "params" in x:
                    assert list(r.params) == x["params"]     # ORCPT 'rfc822;' stripped
                if "final_reply_code" in x:
                    assert r.final_reply_code == x["final_reply_code"]


def test_failures_detail():
    a = analysis("smtp-failures-smtplib.pcap")
    t = txns(a)
    # 554 at end of data: the accepted recipient carries the final reply and is not delivered
    r = rcpts(a, t[3])[0]
    assert (r.reply_code, r.outcome, r.final_reply_code, r.final_enhanced_status, r.delivery) == \
        (250, "accepted", 554, "5.7.1", "rejected")
    assert r.final_reply_text == "5.7.1 Message rejected: content violates local policy"
    # 452 for one recipient, 451 at end of data for the other
    full, bob = rcpts(a, t[2])
    assert (full.reply_code, full.enhanced_status, full.delivery) == (452, "4.2.2", "tempfail")
    assert (bob.final_reply_code, bob.delivery) == (451, "tempfail")
    # 451 for the only recipient: no DATA, transaction tempfailed
    assert t[1].data_mode is None and t[1].accepted_count == 0
    assert rcpts(a, t[1])[0].reply_text == "4.7.1 Greylisted, please try again later"
    assert t[0].accepted_count == 1 and t[0].rcpt_count == 2


def test_auth_sessions():
    exp = CAPS["smtp-auth-swaks.pcap"]["sessions"]
    a = analysis("smtp-auth-swaks.pcap", credentials=True)
    ss = sorted(a.records["smtp_sessions"], key=lambda s: s.ts)
    assert [(s.auth_mechanism, s.auth_user, s.auth_result) for s in ss] == \
        [(e["auth_mechanism"], e["auth_user"], e["auth_result"]) for e in exp]
    creds = sorted(a.records["smtp_credentials"], key=lambda c: c.ts)
    assert [(c.mechanism, c.user, c.result) for c in creds] == \
        [(e["auth_mechanism"], e["auth_user"], e["auth_result"]) for e in exp]
    for c, e in zip(creds, exp):
        if c.mechanism in ("PLAIN", "LOGIN"):
            assert c.password == e["password"]
        else:  # CRAM-MD5: the digest is HMAC-MD5(password, challenge)
            import hmac
            assert c.challenge == "<1896.697170952@sample.example>"
            assert c.response == hmac.new(e["password"].encode(), c.challenge.encode(), "md5").hexdigest()
    reply_codes = [c.reply_code for c in creds]
    assert reply_codes == [235, 235, 235, 535, 535]


def test_auth_secrets_only_on_request():
    a = analysis("smtp-auth-swaks.pcap")            # credentials not asked for
    assert a.records.get("smtp_credentials", []) == []
    assert "wonderland-42" not in repr(a.records)
    # and masked in the frame unless show_secrets
    b = analysis("smtp-auth-swaks.pcap", credentials=True)
    df = b.tables["smtp_credentials"]
    assert "wonderland-42" not in set(df["password"].dropna())
    c = analysis("smtp-auth-swaks.pcap", credentials=True, show_secrets=True)
    assert "wonderland-42" in set(c.tables["smtp_credentials"]["password"].dropna())


def test_pipelining_rset_session():
    a = analysis("smtp-pipelining-rset.pcap")
    (s,) = a.records["smtp_sessions"]
    e = CAPS["smtp-pipelining-rset.pcap"]
    assert s.auth_mechanism == e["auth_mechanism"] and s.auth_result == e["auth_result"] and s.auth_user is None
    assert list(s.other_commands) == e["other_commands"]
    assert s.transactions == 3 and s.quit
    assert "PIPELINING" in s.extensions and "ENHANCEDSTATUSCODES" in s.extensions
    weirds = [w.name for w in a.records.get("weirds", []) if w.source == "smtp"]
    assert weirds == []


def test_starttls_found_by_content_on_unusual_port():
    a = analysis("smtp-starttls-swaks.pcap")
    e = CAPS["smtp-starttls-swaks.pcap"]
    (s,) = a.records["smtp_sessions"]
    assert s.server_port == e["port"] == 10025
    assert s.tls is True and s.helo == e["helo"]
    assert "STARTTLS" in s.extensions
    assert s.tls_bytes > 1000
    assert s.last_reply.startswith("220")
    assert not s.starttls_injection
    assert a.records.get("smtp_transactions", []) == []   # the mail itself went inside TLS
    flows = [f for f in a.records["flows"] if f.uid == s.uid]
    assert flows and flows[0].service == "smtp"


def test_mime_attachments_against_manifest():
    a = analysis("smtp-mime-dsn-smtplib.pcap")
    e = CAPS["smtp-mime-dsn-smtplib.pcap"]["transactions"][0]
    t = txns(a)[0]
    assert t.subject == e["subject"]                    # RFC 2047 decoded
    assert t.attachments == 3 and t.parts >= 5
    parts = [p for p in a.records["mime_parts"] if p.uid == t.uid and p.trans_depth == t.trans_depth]
    by_name = {p.filename: p for p in parts if p.filename}
    for att in e["attachments"]:
        p = by_name[att["filename"]]                    # RFC 2231 UTF-8 filename decoded
        assert p.size == att["size"]
        assert p.sha256 == att["sha256"]
        assert p.content_type == att["content_type"]
    text = [p for p in parts if p.content_type == "text/plain" and p.depth <= 2][0]
    assert text.transfer_encoding == "quoted-printable" and text.charset == "utf-8"
    html = [p for p in parts if p.content_type == "text/html"][0]
    assert html.transfer_encoding == "base64"
    assert any(p.content_type == "message/rfc822" for p in parts)


def test_bounce_explains_earlier_message():
    a = analysis("smtp-mime-dsn-smtplib.pcap")
    e = CAPS["smtp-mime-dsn-smtplib.pcap"]["transactions"][2]
    t = txns(a)
    assert t[2].is_bounce and t[2].mail_from == ""
    (d,) = a.records["dsn_recipients"]
    assert d.original_message_id == e["dsn"]["original_message_id"] == t[1].message_id
    from dissect.cli.cmd_smtp import mail_rows

    rows = mail_rows(a.records)
    bounced = [m for m in rows if m.result == "bounced"]
    assert len(bounced) == 1 and bounced[0].recipient == "ghost@far.example"
    assert bounced[0].enhanced == "5.1.1" and "no such user" in bounced[0].reason
    assert rows[0] is bounced[0]                        # failures first


def test_manifest_received_matches_every_transaction_with_data():
    """Every message the server received (its own SHA-256 of the bytes) is in the tables."""
    seen = set()
    for name in CAPS:
        for t in analysis(name).records.get("smtp_transactions", []):
            if t.sha256:
                seen.add((t.size, t.sha256))
    for rec in MANIFEST["received"]:
        if rec["mail_from"].startswith("secret@"):    # sent inside STARTTLS: not visible
            continue
        assert (rec["size"], rec["sha256"]) in seen, rec


def test_samples_are_small_and_real():
    for p in SAMPLES.glob("*.pcap"):
        assert p.stat().st_size < 200_000
        assert hashlib.sha256(p.read_bytes()).hexdigest()  # readable


def test_bdat_chunking_exact_octets():
    """BDAT chunks carry exact octets: a CRLF.CRLF and dot-leading lines inside are data (never an end
    marker, never unstuffed); BDAT 0 LAST ends the message."""
    name = "smtp-bdat-chunking.pcap"
    e = CAPS[name]["transactions"][0]
    a = analysis(name)
    (t,) = txns(a)
    assert t.data_mode == "BDAT" and (t.size, t.sha256) == (e["size"], e["sha256"])
    parts = [p for p in a.records["mime_parts"] if p.uid == t.uid and p.trans_depth == t.trans_depth]
    (att,) = [p for p in parts if p.filename]
    x = e["attachments"][0]
    assert (att.filename, att.size, att.sha256) == (x["filename"], x["size"], x["sha256"])
    text = [p for p in parts if p.content_type == "text/plain"][0]
    assert text.size == len(b"Binary attachment follows.\r\n.\r\n..two dots\r\n.\r\nend of text\r\n")
    assert [w for w in a.records.get("weirds", []) if w.source == "smtp"] == []
