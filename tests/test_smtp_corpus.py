"""SMTP tables on the shared corpus: field-by-field agreement with Zeek's smtp.log where the meaning is
the same, every disagreement explained; Suricata-verify SMTP captures parse without exception with
sensible counts.

Field map (Zeek smtp.log -> ours): helo -> smtp_transactions.helo (and smtp_sessions.helo),
mailfrom -> mail_from, rcptto -> rcpt_to (a set), date -> date, from -> header_from,
to -> header_to, cc -> cc, msg_id -> message_id, in_reply_to -> in_reply_to, subject -> subject,
last_reply -> last_reply, tls -> tls.

Representation differences that are not disagreements: Zeek logs address headers as sent and
splits to/cc into a set; ours come from the MIME header parser (display names unquoted, angle
brackets dropped for a bare address), so both sides are compared as sets of addresses.
"""

from __future__ import annotations

from email.utils import getaddresses

import pytest

import dissect
from conftest import corpus_path

ZEEK = "expected/zeek/"


def zeek_log(rel: str) -> list[dict]:
    path = corpus_path(ZEEK + rel)
    fields: list[str] = []
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#"):
            vals = line.split("\t")
            rows.append({f: (None if v == "-" else v) for f, v in zip(fields, vals)})
    return rows


def addrs(value) -> set[str]:
    if not value or value == "(empty)":
        return set()
    return {a.lower() for _n, a in getaddresses([value]) if a}


def zset(value) -> set[str]:
    return set() if not value or value == "(empty)" else set(value.split(","))


_cache: dict = {}


def run(rel: str):
    if rel not in _cache:
        _cache[rel] = dissect.analyze([str(corpus_path("captures/zeek/" + rel))], strict=True)
    return _cache[rel]


def ours(rel: str) -> list:
    a = run(rel)
    return sorted(a.records.get("smtp_transactions", []), key=lambda t: (t.ts, t.trans_depth))


def compare(t, z, *, skip=()) -> None:
    """Every field with the same meaning agrees."""
    checks = {
        "helo": (t.helo, z["helo"]),
        "mailfrom": (t.mail_from or None, z["mailfrom"]),
        "rcptto": (set(t.rcpt_to), zset(z["rcptto"])),
        "date": (t.date, z["date"]),
        "from": (addrs(t.header_from), addrs(z["from"])),
        "to": (addrs(t.header_to), addrs(z["to"])),
        "cc": (addrs(t.cc), addrs(z["cc"])),
        "msg_id": (t.message_id, z["msg_id"]),
        "in_reply_to": (t.in_reply_to, z["in_reply_to"]),
        "subject": (t.subject, z["subject"]),
        "last_reply": (t.last_reply, z["last_reply"]),
        "tls": (t.tls, z["tls"] == "T"),
    }
    for name, (mine, theirs) in checks.items():
        if name in skip:
            continue
        assert mine == theirs, f"{name}: ours {mine!r} != zeek {theirs!r}"


@pytest.mark.parametrize("rel,log", [
    ("smtp.pcap", "scripts.base.protocols.smtp.basic/smtp.log"),
    ("smtp/rfc3030-bdat-example1.pcap", "scripts.base.protocols.smtp.bdat/smtp.log"),
    ("smtp/rfc3030-bdat-multipart.pcap", "scripts.base.protocols.smtp.bdat-multipart/smtp.log"),
    ("smtp/smtp-bdat-pipeline-8bitmime.pcap", "scripts.base.protocols.smtp.bdat-pipeline-8bitmime/smtp.log"),
])
def test_agrees_with_zeek(rel, log):
    zs = sorted(zeek_log(log), key=lambda z: (int(z["id.orig_p"]), int(z["trans_depth"])))
    mine = sorted(ours(rel), key=lambda t: (run(rel).records and _cport(rel, t.uid), t.trans_depth))
    assert len(mine) == len(zs)
    for t, z in zip(mine, zs):
        assert t.trans_depth == int(z["trans_depth"])
        compare(t, z)
        assert t.outcome == "accepted" and not t.incomplete


def _cport(rel: str, uid: str) -> int:
    for s in run(rel).records["smtp_sessions"]:
        if s.uid == uid:
            return s.client_port
    raise AssertionError(uid)


def test_bdat_details():
    # RFC 3030: exact chunk sizes, no dot-unstuffing; the byte counts the server confirmed
    (t,) = ours("smtp/rfc3030-bdat-example1.pcap")
    assert t.data_mode == "BDAT" and t.size == 86
    assert "86 bytes queued" in t.data_reply_text
    t1, t2 = ours("smtp/smtp-bdat-pipeline-8bitmime.pcap")
    assert (t1.size, t2.size) == (4404, 8757)          # "250- 4404 byte chunk, total 4404"
    assert t1.mail_params == ("BODY=8BITMIME", "SIZE=4333")
    assert (t1.data_reply_code, t1.enhanced_status) == (250, None)
    (t,) = ours("smtp/rfc3030-bdat-multipart.pcap")
    # 'BDAT 3460 LAST': exactly 3460 octets. Postfix then says "3462 bytes queued": it counts the
    # message as it stored it (a final CRLF added), not the octets on the wire.
    assert t.size == 3460 and t.attachments == 1
    a = run("smtp/rfc3030-bdat-multipart.pcap")
    assert [w for w in a.records.get("weirds", []) if w.source == "smtp"] == []   # Zeek: no weird.log either


def test_zeek_attachment_names():
    a = run("smtp.pcap")
    names = {p.filename for p in a.records["mime_parts"] if p.filename}
    zf = zeek_log("scripts.base.protocols.smtp.attachment/files.log")
    assert {z["filename"] for z in zf if z["filename"]} <= names   # NEWS.txt


def test_one_side_only():
    """Only the client side was captured. Zeek leaves last_reply empty; so do we, and we also say
    what Zeek cannot: the outcome is unknown (incomplete)."""
    zs = zeek_log("scripts.base.protocols.smtp.one-side/smtp.log")
    mine = ours("smtp-one-side-only.pcap")
    assert len(mine) == len(zs) == 2
    for t, z in zip(mine, zs):
        # Zeek keeps trans_depth 1 for both (it never saw the 250 that ends a transaction);
        # ours counts MAIL commands.
        compare(t, z, skip=("to", "from"))
        assert addrs(t.header_from) == addrs(z["from"]) and addrs(t.header_to) == addrs(z["to"])
        assert t.outcome == "incomplete" and t.incomplete
    assert [t.trans_depth for t in mine] == [1, 2]
    assert [int(z["trans_depth"]) for z in zs] == [1, 1]
    (s,) = run("smtp-one-side-only.pcap").records["smtp_sessions"]
    assert s.incomplete and s.banner is None


def test_attachment_msg_client_side_only():
    zs = zeek_log("scripts.base.protocols.smtp.attachment-msg/smtp.log")
    (t,) = ours("smtp-attachment-msg.pcap")
    (z,) = zs
    compare(t, z)
    assert t.outcome == "incomplete"


def test_starttls():
    """Zeek writes a row with trans_depth 1 for a session without any MAIL (STARTTLS ended it);
    ours has no transaction then: the session row carries helo, tls and last_reply."""
    (z,) = zeek_log("scripts.base.protocols.smtp.starttls/smtp.log")
    a = run("tls/smtp-starttls.pcap")
    assert a.records.get("smtp_transactions", []) == []
    (s,) = a.records["smtp_sessions"]
    assert (s.helo, s.tls, s.last_reply) == (z["helo"], z["tls"] == "T", z["last_reply"])
    assert s.tls_bytes > 0 and not s.starttls_injection
    assert "STARTTLS" in s.extensions


def test_invalid_transactions():
    """Exim with PIPE_CONNECT (EHLO before the greeting), DATA refused, RCPT without MAIL, a body
    sent as commands, and a MAIL refused with '503 sender already given'.

    Disagreement with Zeek, explained: Zeek logs 4 rows; row 2 is an RCPT without MAIL, which we
    report as a weird (smtp_command_out_of_sequence; Zeek: smtp_mail_transaction_invalid) and not as
    a transaction. Zeek's rows 3 and 4 are one transaction for the server: the second MAIL got
    '503 sender already given', i.e. the transaction begun by the earlier MAIL was still open, so
    the recipient and message that follow belong to it. We log that transaction (trans_depth 2,
    accepted) and the refused MAIL as its own transaction (3, rejected).
    """
    zs = zeek_log("scripts.base.protocols.smtp.mail-transactions-invalid/smtp.log")
    assert len(zs) == 4
    a = run("smtp-mail-transactions-invalid.pcap")
    t1, t2, t3 = sorted(a.records["smtp_transactions"], key=lambda t: t.trans_depth)
    compare(t1, zs[0])
    compare(t2, zs[3])
    assert t2.trans_depth == 2 and t2.outcome == "accepted" and t2.size == len(b"Hello, Alice... do you still like me?\r\n")
    assert (t3.mail_reply_code, t3.outcome, t3.last_reply) == (503, "rejected", "503 sender already given")
    (s,) = a.records["smtp_sessions"]
    assert s.banner_code == 220 and s.banner.startswith("tinkyx390 ESMTP Exim")   # greeting after EHLO
    names = [w.name for w in a.records["weirds"] if w.source == "smtp"]
    assert names.count("smtp_command_out_of_sequence") >= 2
    assert "smtp_unmatched_reply" not in names        # the FIFO stayed in step
    assert "smtp_unknown_command" in names            # the body lines sent after a refused DATA


def test_multi_addr_unsolicited_timeout():
    a = run("smtp-multi-addr.pcap")
    (t,) = a.records["smtp_transactions"]
    assert t.outcome == "accepted" and t.data_reply_code == 250 and t.enhanced_status == "2.6.0"
    # the server's 451 timeout after the message answers no command
    assert [w.name for w in a.records["weirds"] if w.source == "smtp"] == ["smtp_unmatched_reply"]


def test_http_connect_tunnel_parsed_like_zeek():
    """Zeek decodes SMTP inside an HTTP CONNECT tunnel: after the 200 the flow goes to the content
    probes (flows.FlowTable._tunnel), so the smtp.log row is on the proxy connection's uid."""
    (z,) = zeek_log("scripts.base.protocols.http.http-connect/smtp.log")
    a = run("http/connect-with-smtp.pcap")
    (t,) = a.records["smtp_transactions"]
    (conn,) = [r for r in a.records["http_transactions"] if r.method == "CONNECT"]
    assert t.uid == conn.uid and "tunnel" in conn.tags
    assert (t.helo, t.mail_from, ",".join(t.rcpt_to), t.subject, t.last_reply) == \
        (z["helo"], z["mailfrom"], z["rcptto"], z["subject"], z["last_reply"])


SURICATA = [
    ("smtp-file-data-01/input.pcap", 1, "accepted"),
    ("mime/mime-quoted-printable/input.pcap", 1, "accepted"),
    ("smtp-rfc2231/input.pcap", 1, "accepted"),
    ("mime/mime-dec-parse-long-filename01/input.pcap", 1, "accepted"),
    ("mime/mime-dec-parse-full-msg-test01/input.pcap", 1, "accepted"),
    ("smtp-url-base64/smtp-url-b64.pcap", 1, "accepted"),
    ("smtp-attachment-md5/input.pcap", 1, "accepted"),
    ("smtp-long-DATA-line/input.pcap", 1, "accepted"),
    ("smtp-bug-5981/input.pcap", 1, "accepted"),
    ("smtp-pipelining/input.pcap", 1, "accepted"),
    ("mime/mime-stream-depth/input.pcap", 4, None),
    ("issue-4220-01-ids/1flowB.pcap", 1, "accepted"),
]


@pytest.mark.parametrize("rel,n,outcome", SURICATA)
def test_suricata_captures(rel, n, outcome):
    path = corpus_path("captures/suricata-verify/" + rel)
    a = dissect.analyze([str(path)], strict=True, decode_as={2525: "smtp"})
    ts = a.records.get("smtp_transactions", [])
    assert len(ts) == n
    assert len(a.records["smtp_sessions"]) == 1
    if outcome:
        assert all(t.outcome == outcome for t in ts)
        assert all(t.size and t.size > 0 for t in ts)


def test_suricata_stream_depth_last_message_cut():
    """mime-stream-depth ends inside the fourth message: the first three are accepted, the fourth is
    kept and marked incomplete (never dropped)."""
    a = dissect.analyze([str(corpus_path("captures/suricata-verify/mime/mime-stream-depth/input.pcap"))],
                        strict=True)
    ts = sorted(a.records["smtp_transactions"], key=lambda t: t.trans_depth)
    assert [t.outcome for t in ts] == ["accepted"] * 3 + ["incomplete"]
    assert ts[3].incomplete and ts[3].size > 400_000
    assert ts[3].rcpt_to == ("drfrancoisbouchard@bellnet.ca",)


def test_smtp_url_b64_bare_lf_terminator():
    """The client ends lines (and the data) with bare LF; the server took '<LF>.<LF>' as the end.
    RFC 5321 says it is not (SMTP smuggling pattern): we flag it, and resynchronise on the server's
    reply, keeping the message but marking it incomplete."""
    a = dissect.analyze([str(corpus_path("captures/suricata-verify/smtp-url-base64/smtp-url-b64.pcap"))],
                        strict=True, decode_as={2525: "smtp"})
    (t,) = a.records["smtp_transactions"]
    assert t.data_reply_code == 250 and t.incomplete
    names = {w.name for w in a.records["weirds"]}
    assert {"smtp_bare_lf", "smtp_data_bare_lf_dot", "smtp_data_end_missing"} <= names
