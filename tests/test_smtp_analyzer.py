"""The SMTP analyzer fed directly (sans-IO): edge cases with hand-built bytes, split/byte-by-byte
invariance on real sample streams, hostile input (hypothesis), caps."""

from __future__ import annotations

import hashlib
import hmac
import base64
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dissect.analyzer import ORIG, RESP, FlowContext
from dissect.options import Caps, Options
from dissect.smtp import PROTOCOL, SmtpAnalyzer, probe
from dissect.weird import WEIRDS
from test_smtp_support import SAMPLES, by_table, run_events, tcp_events

C, S = ORIG, RESP
GREETING = (S, b"220 mx.example ESMTP ready\r\n")
EHLO = [(C, b"EHLO client.example\r\n"),
        (S, b"250-mx.example hello\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-CHUNKING\r\n"
            b"250-AUTH PLAIN LOGIN CRAM-MD5\r\n250 STARTTLS\r\n")]


def run(script, **opts) -> dict:
    """script: [(direction, bytes | int gap)] -> records by table (+ the analyzer as '_an')."""
    options = Options(strict=True, **opts)
    sink: list = []
    an = SmtpAnalyzer(FlowContext.for_test(sink, options=options))
    for i, item in enumerate(script):
        d, data = item[0], item[1]
        ts = item[2] if len(item) > 2 else 100.0 + i
        if isinstance(data, int):
            an.gap(d, data, ts)
        else:
            an.feed(d, data, ts)
    an.close(200.0)
    out = by_table(sink)
    out["_an"] = an
    return out


def weirds(t) -> list[str]:
    return [w.name for w in t.get("weirds", [])]


def one(t, table):
    rows = t.get(table, [])
    assert len(rows) == 1, rows
    return rows[0]


# ----------------------------------------------------------------------------- basics
def test_protocol_registration():
    assert PROTOCOL.name == "smtp"
    assert {25, 587, 2525} <= set(PROTOCOL.tcp_ports)
    assert PROTOCOL.labels[465] == "smtps"
    assert {r.__table__ for r in PROTOCOL.record_types} == {
        "smtp_sessions", "smtp_transactions", "smtp_recipients", "smtp_credentials"}
    for name in ("smtp_unmatched_reply", "smtp_command_out_of_sequence", "smtp_bare_lf",
                 "smtp_line_too_long", "smtp_too_many_pending", "smtp_bad_reply", "smtp_starttls_injection"):
        assert name in WEIRDS


def test_probe():
    assert probe(RESP, b"220 mx ESMTP\r\n", "tcp") is None          # a greeting alone does not decide (FTP)
    assert probe(RESP, b"22", "tcp") is None
    assert probe(RESP, b"HTTP/1.1 200 OK\r\n", "tcp") is False
    assert probe(ORIG, b"EHLO me\r\n", "tcp") is True
    assert probe(ORIG, b"helo me\r\n", "tcp") is True
    assert probe(ORIG, b"LHLO me\r\n", "tcp") is True
    assert probe(ORIG, b"EH", "tcp") is None
    assert probe(ORIG, b"GET / HTTP/1.1\r\n", "tcp") is False
    assert probe(ORIG, b"USER anonymous\r\n", "tcp") is False
    assert probe(ORIG, b"EHLO x", "udp") is None


def test_pipelined_transaction_and_multiline_reply():
    t = run([GREETING, *EHLO,
             (C, b"MAIL FROM:<a@example.org> SIZE=123 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159\r\n"
                 b"RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.net\r\n"
                 b"RCPT TO:<c@example.net>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n"),
             (S, b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550-5.1.1 no such user\r\n550 5.1.1 really\r\n"
                 b"452 4.5.3 Too many recipients\r\n354 go ahead\r\n"),
             (C, b"Subject: hi\r\n\r\nbody\r\n.\r\n"),
             (S, b"250 2.0.0 Ok: queued as X\r\n"),
             (C, b"QUIT\r\n"), (S, b"221 2.0.0 Bye\r\n")])
    s = one(t, "smtp_sessions")
    assert s.banner == "mx.example ESMTP ready" and s.banner_code == 220
    assert s.extensions == ("PIPELINING", "SIZE 1000000", "CHUNKING", "AUTH PLAIN LOGIN CRAM-MD5", "STARTTLS")
    assert s.quit and not s.incomplete and s.transactions == 1
    tx = one(t, "smtp_transactions")
    assert tx.mail_params == ("SIZE=123", "BODY=8BITMIME", "SMTPUTF8", "RET=HDRS", "ENVID=QQ314159")
    assert (tx.rcpt_count, tx.accepted_count, tx.outcome, tx.data_reply_code) == (3, 1, "accepted", 250)
    assert tx.size == len(b"Subject: hi\r\n\r\nbody\r\n")
    r1, r2, r3 = t["smtp_recipients"]
    assert r1.params == ("NOTIFY=SUCCESS,FAILURE", "ORCPT=b@example.net")
    assert (r1.outcome, r1.final_reply_code, r1.delivery) == ("accepted", 250, "accepted")
    assert (r2.reply_code, r2.enhanced_status, r2.reply_text, r2.outcome) == (550, "5.1.1", "5.1.1 no such user 5.1.1 really", "rejected")
    assert (r3.reply_code, r3.enhanced_status, r3.outcome, r3.delivery) == (452, "4.5.3", "tempfail", "tempfail")
    assert weirds(t) == []


def test_dot_unstuffing_and_end_marker():
    body = b"Subject: dots\r\n\r\n..leading dot\r\n...two\r\n.x\r\nend\r\n"
    t = run([GREETING, (C, b"HELO c\r\n"), (S, b"250 ok\r\n"), (C, b"MAIL FROM:<>\r\n"), (S, b"250 ok\r\n"),
             (C, b"RCPT TO:<x@y>\r\n"), (S, b"250 ok\r\n"), (C, b"DATA\r\n"), (S, b"354 go\r\n"),
             (C, body[:30]), (C, body[30:] + b".\r\n"), (S, b"250 ok\r\n")])
    tx = one(t, "smtp_transactions")
    plain = b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\nx\r\nend\r\n"
    assert tx.size == len(plain) and tx.sha256 == hashlib.sha256(plain).hexdigest()
    assert tx.is_bounce and tx.mail_from == ""
    assert one(t, "smtp_sessions").helo_verb == "HELO"


def test_dot_at_segment_start_is_not_the_end():
    # the segment boundary falls right after CRLF, the next segment starts with '.'
    t = run([GREETING, (C, b"EHLO c\r\n"), (S, b"250 ok\r\n"), (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
             (S, b"250 ok\r\n250 ok\r\n354 go\r\n"), (C, b"line one\r\n"), (C, b".not the end\r\n"),
             (C, b".\r"), (C, b"\n"), (S, b"250 queued\r\n")])
    tx = one(t, "smtp_transactions")
    assert tx.size == len(b"line one\r\nnot the end\r\n") and tx.outcome == "accepted"


def test_empty_message():
    t = run([GREETING, (C, b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
             (S, b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"), (C, b".\r\n"), (S, b"250 ok\r\n")])
    tx = one(t, "smtp_transactions")
    assert tx.size == 0 and tx.outcome == "accepted"


def test_bdat_exact_octets_no_unstuffing():
    chunk1 = b"Subject: b\r\n\r\n..\r\n.\r\n"          # CRLF.CRLF inside a chunk is data
    chunk2 = b"tail\r\n"
    t = run([GREETING, *EHLO,
             (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT %d\r\n" % len(chunk1) + chunk1[:5]),
             (C, chunk1[5:] + b"BDAT %d\r\n" % len(chunk2) + chunk2 + b"BDAT 0 LAST\r\n"),
             (S, b"250 ok\r\n250 ok\r\n250 2.0.0 chunk 1\r\n250 2.0.0 chunk 2\r\n250 2.0.0 queued\r\n"),
             (C, b"QUIT\r\n"), (S, b"221 bye\r\n")])
    tx = one(t, "smtp_transactions")
    assert tx.data_mode == "BDAT" and tx.outcome == "accepted" and not tx.incomplete
    assert tx.size == len(chunk1 + chunk2)
    assert tx.sha256 == hashlib.sha256(chunk1 + chunk2).hexdigest()
    assert tx.last_reply == "250 2.0.0 queued"
    assert weirds(t) == []


def test_bdat_failure_and_mixing():
    t = run([GREETING, *EHLO, (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 3\r\nabc"),
             (S, b"250 ok\r\n250 ok\r\n552 5.3.4 too big\r\n"),
             (C, b"DATA\r\n"), (S, b"503 5.5.1 no mixing\r\n"), (C, b"RSET\r\n"), (S, b"250 ok\r\n")])
    tx = one(t, "smtp_transactions")
    assert (tx.outcome, tx.data_reply_code, tx.enhanced_status) == ("rejected", 503, "5.5.1") or \
        (tx.outcome, tx.data_reply_code) == ("rejected", 552)
    assert "smtp_command_out_of_sequence" in weirds(t)


def test_data_rejected_at_end_gives_final_reply_to_accepted_recipients():
    t = run([GREETING, *EHLO, (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n"),
             (S, b"250 ok\r\n250 ok\r\n550 5.1.1 nope\r\n354 go\r\n"), (C, b"x\r\n.\r\n"),
             (S, b"554 5.7.1 spam\r\n")])
    tx = one(t, "smtp_transactions")
    assert (tx.outcome, tx.data_reply_code, tx.enhanced_status) == ("rejected", 554, "5.7.1")
    ok, bad = t["smtp_recipients"]
    assert (ok.outcome, ok.final_reply_code, ok.final_enhanced_status, ok.delivery) == ("accepted", 554, "5.7.1", "rejected")
    assert (bad.final_reply_code, bad.delivery) == (None, "rejected")


def test_rset_aborts_and_several_transactions():
    t = run([GREETING, *EHLO, (C, b"MAIL FROM:<a@b>\r\n"), (S, b"250 ok\r\n"), (C, b"RCPT TO:<c@d>\r\n"),
             (S, b"250 ok\r\n"), (C, b"RSET\r\n"), (S, b"250 ok\r\n"),
             (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"), (S, b"250 ok\r\n250 ok\r\n354 go\r\n"),
             (C, b"m\r\n.\r\n"), (S, b"250 ok\r\n"), (C, b"VRFY root\r\nEXPN staff\r\nNOOP\r\nHELP\r\n"),
             (S, b"252 maybe\r\n550 no\r\n250 ok\r\n214 help\r\n")])
    a, b = sorted(t["smtp_transactions"], key=lambda x: x.trans_depth)
    assert (a.trans_depth, a.outcome) == (1, "aborted")
    assert (b.trans_depth, b.outcome) == (2, "accepted")
    r = [x for x in t["smtp_recipients"] if x.trans_depth == 1][0]
    assert (r.outcome, r.delivery) == ("accepted", "aborted")
    s = one(t, "smtp_sessions")
    assert s.other_commands == ("VRFY root", "EXPN staff", "NOOP", "HELP")
    assert s.transactions == 2 and s.last_reply == "214 help"


def test_all_recipients_refused_and_mail_refused():
    t = run([GREETING, *EHLO, (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
             (S, b"250 ok\r\n451 4.7.1 greylisted\r\n554 5.5.1 no valid recipients\r\n"),
             (C, b"MAIL FROM:<spam@x>\r\n"), (S, b"550 5.7.1 sender blocked\r\n")])
    a, b = sorted(t["smtp_transactions"], key=lambda x: x.trans_depth)
    assert (a.outcome, a.data_reply_code) == ("rejected", 554)   # the DATA refusal is the last word
    assert (b.outcome, b.mail_reply_code) == ("rejected", 550)
    assert "smtp_unknown_command" not in weirds(t)               # no body was sent after the refusal


# ----------------------------------------------------------------------------- AUTH
def b64(s: bytes) -> bytes:
    return base64.b64encode(s)


def test_auth_plain_login_crammd5_and_cancel():
    chal = b"<123.456@mx>"
    digest = hmac.new(b"s3cret", chal, "md5").hexdigest().encode()
    t = run([GREETING, *EHLO,
             (C, b"AUTH PLAIN " + b64(b"\0joe\0pw1") + b"\r\n"), (S, b"535 5.7.8 bad\r\n"),
             (C, b"AUTH LOGIN " + b64(b"ann") + b"\r\n"), (S, b"334 " + b64(b"Password:") + b"\r\n"),
             (C, b64(b"pw2") + b"\r\n"), (S, b"235 2.7.0 ok\r\n"),
             (C, b"AUTH LOGIN\r\n"), (S, b"334 VXNlcm5hbWU6\r\n"), (C, b"*\r\n"), (S, b"501 5.7.0 cancelled\r\n"),
             (C, b"AUTH PLAIN\r\n"), (S, b"334 \r\n"), (C, b64(b"zid\0kim\0pw3") + b"\r\n"), (S, b"235 ok\r\n"),
             (C, b"AUTH CRAM-MD5\r\n"), (S, b"334 " + b64(chal) + b"\r\n"), (C, b64(b"bob " + digest) + b"\r\n"),
             (S, b"235 2.7.0 ok\r\n"),
             (C, b"MAIL FROM:<bob@x> AUTH=<>\r\n"), (S, b"250 ok\r\n")], credentials=True)
    creds = t["smtp_credentials"]
    assert [(c.mechanism, c.user, c.password, c.result, c.reply_code) for c in creds] == [
        ("PLAIN", "joe", "pw1", "failure", 535), ("LOGIN", "ann", "pw2", "success", 235),
        ("LOGIN", None, None, "cancelled", 501), ("PLAIN", "kim", "pw3", "success", 235),
        ("CRAM-MD5", "bob", None, "success", 235)]
    assert creds[3].authzid == "zid"
    assert creds[4].challenge == chal.decode() and creds[4].response == digest.decode()
    s = one(t, "smtp_sessions")
    assert (s.auth_mechanism, s.auth_user, s.auth_result, s.auth_attempts) == ("CRAM-MD5", "bob", "success", 5)
    assert one(t, "smtp_transactions").mail_from == "bob@x"      # not swallowed as an AUTH line
    from dissect.schema import columns
    assert {n for n, _k, _d, secret in columns(type(creds[0])) if secret} == {"password", "response"}


def test_auth_secret_not_recorded_without_option():
    t = run([GREETING, *EHLO, (C, b"AUTH PLAIN " + b64(b"\0joe\0hunter2") + b"\r\n"), (S, b"235 ok\r\n")])
    assert "smtp_credentials" not in t
    assert one(t, "smtp_sessions").auth_user == "joe"
    assert "hunter2" not in repr({k: v for k, v in t.items() if k != "_an"})


def test_auth_empty_initial_response_and_bad_base64():
    t = run([GREETING, *EHLO, (C, b"AUTH PLAIN =\r\n"), (S, b"535 no\r\n"),
             (C, b"AUTH PLAIN !!notbase64!!\r\n"), (S, b"501 5.5.2 bad\r\n")], credentials=True)
    assert [c.result for c in t["smtp_credentials"]] == ["failure", "failure"]
    assert "smtp_bad_auth_encoding" in weirds(t)


# ----------------------------------------------------------------------------- STARTTLS
def test_starttls_then_opaque():
    tls = b"\x16\x03\x01\x00\x30" + bytes(range(48))
    junk = b"\x17\x03\x03garbage that is not a command\r\n"
    t = run([GREETING, *EHLO, (C, b"STARTTLS\r\n"), (S, b"220 2.0.0 go\r\n"), (C, tls), (S, tls * 3), (C, junk)])
    s = one(t, "smtp_sessions")
    assert s.tls and not s.starttls_injection and s.tls_bytes == len(tls) * 4 + len(junk)
    assert "STARTTLS" in s.extensions              # what was advertised in clear text
    assert weirds(t) == []
    assert "smtp_transactions" not in t


def test_starttls_injection_flagged():
    t = run([GREETING, *EHLO, (C, b"STARTTLS\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\n"),
             (S, b"220 go\r\n"), (C, b"\x16\x03\x01\x00\x05hello")])
    s = one(t, "smtp_sessions")
    assert s.tls and s.starttls_injection
    assert weirds(t) == ["smtp_starttls_injection"]
    assert "smtp_transactions" not in t             # injected commands are not parsed as commands


def test_starttls_refused_replays_commands():
    t = run([GREETING, *EHLO, (C, b"STARTTLS\r\n"), (S, b"454 4.7.0 TLS not available\r\n"),
             (C, b"MAIL FROM:<a@b>\r\n"), (S, b"250 ok\r\n")])
    s = one(t, "smtp_sessions")
    assert not s.tls
    assert one(t, "smtp_transactions").mail_from == "a@b"


# ----------------------------------------------------------------------------- anomalies, caps
def test_bare_lf_and_smuggling_pattern():
    t = run([GREETING, (C, b"EHLO c\n"), (S, b"250 ok\r\n"), (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
             (S, b"250 ok\r\n250 ok\r\n354 go\r\n"),
             (C, b"Subject: s\r\n\r\nhello\n.\nMAIL FROM:<smuggled@x>\r\n.\r\n"), (S, b"250 ok\r\n")])
    w = weirds(t)
    assert "smtp_bare_lf" in w and "smtp_data_bare_lf_dot" in w
    tx = one(t, "smtp_transactions")                # the bare-LF dot is data, not the end
    assert tx.size == len(b"Subject: s\r\n\r\nhello\n.\nMAIL FROM:<smuggled@x>\r\n")


def test_unmatched_and_bad_reply():
    t = run([GREETING, (S, b"250 surprise\r\n"), (S, b"hello there\r\n"), (C, b"EHLO c\r\n"), (S, b"250 ok\r\n")])
    w = weirds(t)
    assert w.count("smtp_unmatched_reply") == 1 and w.count("smtp_bad_reply") == 1
    assert one(t, "smtp_sessions").helo == "c"


def test_line_too_long_is_bounded_and_resyncs():
    options = Options(strict=True, caps=Caps(line_length=1000))
    sink: list = []
    an = SmtpAnalyzer(FlowContext.for_test(sink, options=options))
    an.feed(S, b"220 hi\r\n", 1.0)
    an.feed(C, b"EHLO ", 1.0)
    biggest = 0
    for i in range(2000):                            # a 2 MB line in 1 KB segments
        an.feed(C, b"A" * 1024, 2.0)
        biggest = max(biggest, len(an._cbuf))
    an.feed(C, b"\r\nMAIL FROM:<a@b>\r\n", 3.0)
    an.feed(S, b"250 ok\r\n", 3.0)
    an.feed(S, b"2" * 5000 + b"\r\n", 3.0)           # an over-long reply line too
    an.close(4.0)
    assert biggest <= 1000
    t = by_table(sink)
    assert weirds(t).count("smtp_line_too_long") == 2
    assert one(t, "smtp_transactions").mail_from == "a@b"


def test_too_many_pending_commands():
    t = run([GREETING, (C, b"NOOP\r\n" * 10)], caps=Caps(smtp_pending_commands=4))
    assert weirds(t).count("smtp_too_many_pending") == 6
    assert len(t["_an"]._pending) == 0               # closed


def test_reply_221_resyncs_fifo():
    # a server that never answers a failed AUTH, then answers QUIT (seen with aiosmtpd)
    t = run([GREETING, *EHLO, (C, b"AUTH PLAIN " + b64(b"\0u\0p") + b"\r\n"), (C, b"QUIT\r\n"),
             (S, b"221 bye\r\n")])
    s = one(t, "smtp_sessions")
    assert s.auth_result == "unanswered" and s.quit
    assert "smtp_command_unanswered" in weirds(t)


def test_gap_in_data_marks_incomplete_and_resyncs():
    t = run([GREETING, *EHLO, (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
             (S, b"250 ok\r\n250 ok\r\n354 go\r\n"), (C, b"Subject: x\r\n\r\npart one\r\n"), (C, 500),
             (C, b"part two\r\n.\r\n"), (S, b"250 queued\r\n"),
             (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"), (S, b"250 ok\r\n250 ok\r\n354 go\r\n"),
             (C, b"second\r\n.\r\n"), (S, b"250 queued\r\n")])
    a, b = sorted(t["smtp_transactions"], key=lambda x: x.trans_depth)
    assert a.incomplete and a.outcome == "accepted" and a.sha256 is None   # the hash of partial bytes is not kept
    assert not b.incomplete and b.size == 8
    assert one(t, "smtp_sessions").incomplete


def test_gap_in_commands_resyncs_on_next_verb():
    t = run([GREETING, *EHLO, (C, b"MAIL FROM:<a@b>\r\nRC"), (C, 40), (C, b"garbage tail\r\nRCPT TO:<x@y>\r\n"),
             (S, b"250 ok\r\n250 lost\r\n250 ok\r\n"), (C, b"QUIT\r\n"), (S, b"221 bye\r\n")])
    tx = one(t, "smtp_transactions")
    assert "x@y" in tx.rcpt_to
    assert "smtp_content_gap" in weirds(t) and "smtp_unknown_command" not in weirds(t)


def test_server_gap_leaves_commands_unanswered():
    t = run([GREETING, *EHLO, (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"), (S, 30),
             (C, b"DATA\r\n"), (S, b"354 go\r\n"), (C, b"x\r\n.\r\n"), (S, b"250 ok\r\n")])
    tx = one(t, "smtp_transactions")
    assert tx.incomplete and tx.data_reply_code == 250


def test_close_mid_transaction_keeps_records():
    t = run([GREETING, *EHLO, (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
             (S, b"250 ok\r\n250 ok\r\n354 go\r\n"), (C, b"Subject: cut\r\n\r\nhalf a mess")])
    tx = one(t, "smtp_transactions")
    assert tx.outcome == "incomplete" and tx.incomplete and tx.size == len(b"Subject: cut\r\n\r\nhalf a mess")
    r = one(t, "smtp_recipients")
    assert (r.outcome, r.delivery) == ("accepted", "incomplete")
    assert one(t, "smtp_sessions").incomplete


def test_midstream_start():
    t = run([(C, b"rest of a body line\r\nmore body\r\n.\r\n"), (S, b"250 2.0.0 queued\r\n"),
             (C, b"MAIL FROM:<a@b>\r\n"), (S, b"250 ok\r\n"), (C, b"QUIT\r\n"), (S, b"221 bye\r\n")])
    assert "smtp_midstream" in weirds(t) and "smtp_unmatched_reply" not in weirds(t)
    assert one(t, "smtp_transactions").mail_from == "a@b"
    s = one(t, "smtp_sessions")
    assert s.incomplete and s.banner is None


def test_lmtp_one_reply_per_recipient():
    t = run([(S, b"220 lmtp ready\r\n"), (C, b"LHLO c\r\n"), (S, b"250-lmtp\r\n250 PIPELINING\r\n"),
             (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<u1@d>\r\nRCPT TO:<u2@d>\r\nRCPT TO:<u3@d>\r\nDATA\r\n"),
             (S, b"250 ok\r\n250 ok\r\n550 5.1.1 no\r\n250 ok\r\n354 go\r\n"), (C, b"m\r\n.\r\n"),
             (S, b"250 2.0.0 u1 delivered\r\n452 4.2.2 u3 over quota\r\n"),
             (C, b"QUIT\r\n"), (S, b"221 bye\r\n")])
    s = one(t, "smtp_sessions")
    assert s.lmtp and s.helo_verb == "LHLO"
    u1, u2, u3 = t["smtp_recipients"]
    assert (u1.final_reply_code, u1.delivery) == (250, "accepted")
    assert (u2.final_reply_code, u2.delivery) == (None, "rejected")
    assert (u3.final_reply_code, u3.final_enhanced_status, u3.delivery) == (452, "4.2.2", "tempfail")
    tx = one(t, "smtp_transactions")
    assert tx.outcome == "accepted" and tx.data_reply_code == 452   # partly delivered; the failing reply kept
    assert weirds(t) == []


# ----------------------------------------------------------------------------- invariance
def _stream(name):
    (events,) = [ev for k, ev in tcp_events(SAMPLES / name).items()]
    return [(d, data, ts) for d, data, ts in events]


def _records(script):
    t = run(script)
    t.pop("_an")
    return t


@pytest.mark.parametrize("name", ["smtp-accepted-swaks.pcap", "smtp-pipelining-rset.pcap"])
def test_split_at_every_offset_gives_same_records(name):
    script = _stream(name)
    base = _records(script)
    assert base["smtp_transactions"]
    for i, (d, data, ts) in enumerate(script):
        for k in range(1, len(data)):
            split = script[:i] + [(d, data[:k], ts), (d, data[k:], ts)] + script[i + 1:]
            assert _records(split) == base, (i, k)


@pytest.mark.parametrize("name", ["smtp-failures-smtplib.pcap", "smtp-mime-dsn-smtplib.pcap"])
def test_byte_by_byte_gives_same_records(name):
    script = _stream(name)
    base = _records(script)
    fine = [(d, data[j:j + 1], ts) for d, data, ts in script for j in range(len(data))]
    assert _records(fine) == base


# ----------------------------------------------------------------------------- hostile input
chunks = st.lists(st.tuples(st.sampled_from([C, S]),
                            st.one_of(st.binary(max_size=300), st.integers(1, 5000),
                                      st.sampled_from([b"\r\n", b".\r\n", b"DATA\r\n", b"BDAT 5\r\n",
                                                       b"BDAT 0 LAST\r\n", b"354 go\r\n", b"250-x\r\n",
                                                       b"250 ok\r\n", b"AUTH LOGIN\r\n", b"334 x\r\n",
                                                       b"STARTTLS\r\n", b"220 go\r\n", b"MAIL FROM:<>\r\n",
                                                       b"RCPT TO:<a@b>\r\n", b"RSET\r\n", b"\n.\n",
                                                       b"LHLO x\r\n", b"*\r\n", b"221 bye\r\n"]))),
                  max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks)
def test_random_input_never_raises(script):
    t = run([GREETING, *script], caps=Caps(line_length=200, smtp_pending_commands=8))
    assert len(t["smtp_sessions"]) == 1
    for w in t.get("weirds", []):
        assert w.name in WEIRDS


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000), st.binary(max_size=2000))
def test_random_bytes_both_directions(a, b):
    t = run([(C, a), (S, b), (C, a[::-1])])
    assert len(t.get("smtp_sessions", [])) == (1 if a or b else 0)


def test_auth_unknown_mechanism_client_side_only():
    # only the client side: an unknown mechanism must not swallow the commands that follow
    t = run([(C, b"EHLO c\r\n"), (C, b"AUTH NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=\r\n"),
             (C, b"TlRMTVNTUAADAAAAGAAYAEgAAAAYABgAYAAAAA==\r\n"), (C, b"MAIL FROM:<a@b>\r\n"),
             (C, b"RCPT TO:<c@d>\r\n"), (C, b"QUIT\r\n")])
    tx = one(t, "smtp_transactions")
    assert tx.mail_from == "a@b" and tx.rcpt_to == ("c@d",) and tx.outcome == "aborted"   # QUIT before DATA
    s = one(t, "smtp_sessions")
    assert (s.auth_mechanism, s.auth_result) == ("NTLM", "unanswered") and s.quit


def test_gap_inside_bdat_chunk_counts_exact_octets():
    t = run([GREETING, *EHLO, (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 100 LAST\r\n" + b"x" * 40), (C, 60),
             (C, b"QUIT\r\n"), (S, b"250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n221 bye\r\n")])
    tx = one(t, "smtp_transactions")
    assert tx.size == 100 and tx.incomplete and tx.data_reply_code == 250 and tx.sha256 is None
    assert one(t, "smtp_sessions").quit               # the line right after the gap is not lost


def test_no_bytes_no_session():
    t = run([])
    assert "smtp_sessions" not in t


def test_list_caps_are_weirds():
    t = run([GREETING, (C, b"NOOP\r\n" * 150), (S, b"250 ok\r\n" * 150),
             (C, b"EHLO c\r\n"), (S, b"250-x\r\n" * 300 + b"250 end\r\n")])
    s = one(t, "smtp_sessions")
    assert len(s.other_commands) == 101 and s.other_commands[-1] == "..." and s.commands == 151
    w = weirds(t)
    assert w.count("smtp_too_many_other_commands") == 1 and w.count("smtp_reply_too_long") == 1
    assert len(s.extensions) == 256                    # lines 2..257 kept (256 lines incl. the '...')
