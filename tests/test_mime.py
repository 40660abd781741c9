"""MimeStream: part tree, decoded sizes/hashes, headers, DSN, chunking invariance, caps.

Real messages: the messages exported by tshark from the corpus SMTP captures (checked against the
Suricata/Zeek expectations there), and messages built with Python's ``email`` package (what was
attached is what must come out). Hand-built bytes only for edge cases.
"""

from __future__ import annotations

import hashlib
import random
from email import policy
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from conftest import corpus_path
from dissect.analyzer import FlowContext
from dissect.mime import DsnRecipient, MimeMessage, MimePart, MimeStream
from dissect.options import Caps, Options
from dissect.weird import WEIRDS, Weird


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def run(data: bytes, *, chunks=None, caps: Caps | None = None, extractor=None, complete=True, **kw):
    sink: list = []
    opts = Options(strict=True, caps=caps or Caps())
    ctx = FlowContext.for_test(sink, options=opts, extractor=extractor)
    ms = MimeStream(ctx, source=kw.pop("source", "smtp"), trans_depth=kw.pop("trans_depth", 1), ts=1.0, **kw)
    if chunks is None:
        ms.feed(data)
    else:
        pos = 0
        for n in chunks:
            ms.feed(data[pos:pos + n])
            pos += n
        ms.feed(data[pos:])
    summary = ms.close(2.0, complete=complete)
    return summary, sink


def parts_of(sink):
    return [r for r in sink if isinstance(r, MimePart)]


def weird_names(sink):
    return [r.name for r in sink if isinstance(r, Weird)]


def unstuff(data: bytes) -> bytes:
    """tshark's IMF export keeps SMTP dot-stuffing: undo it as the SMTP analyzer does."""
    lines = data.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b"..") else l for l in lines)


def random_chunks(n: int, seed: int) -> list[int]:
    rnd = random.Random(seed)
    out, tot = [], 0
    while tot < n:
        k = rnd.choice([1, 2, 3, 7, 64, 1000, 4096])
        out.append(k)
        tot += k
    return out


# --- corpus: messages exported by tshark, expectations from Suricata / Zeek ---------------------

def eml(rel: str) -> bytes:
    base = corpus_path("tshark")
    p = base / rel
    if not p.exists():
        pytest.skip(f"{rel} not in the corpus")
    return unstuff(p.read_bytes())


def only_file(rel_dir: str) -> bytes:
    d = corpus_path("tshark") / rel_dir
    files = sorted(d.glob("*.eml"))
    assert len(files) == 1
    return unstuff(files[0].read_bytes())


def test_quoted_printable_attachment_matches_suricata():
    # suricata-verify mime-quoted-printable: related.patch, 34224 bytes, sha256 359641...
    s, sink = run(only_file("suricata-verify/mime/mime-quoted-printable/input.pcap.imf_objects"))
    att = {a.filename: a for a in s.attachments}
    assert att["related.patch"].size == 34224
    assert att["related.patch"].sha256 == "359641873610597882317aee0f72104ed54fe8aa82d6fa323a5418e4529bd3b9"
    ps = {p.part_id: p for p in parts_of(sink)}
    assert ps["0"].content_type == "multipart/mixed" and ps["0"].parent_id is None
    assert ps["3"].transfer_encoding == "quoted-printable" and ps["3"].parent_id == "0" and ps["3"].depth == 1
    assert s.subject == "Test message for capture" and s.parts == 3 and not s.truncated


def test_rfc2231_filename_matches_suricata():
    s, sink = run(only_file("suricata-verify/smtp-rfc2231/input.pcap.imf_objects"))
    names = [a.filename for a in s.attachments]
    assert names == ["smtptest-2021-02-25T13-54-22Z-aefb2fc1308d62f4b6c74769f69b13ddf80e995fd98ae442f3be499ea928c67f..zip"]
    part = [p for p in parts_of(sink) if p.filename][0]
    assert part.filename_raw and "*" in part.filename_raw          # it was sent as RFC 2231 continuations
    assert part.content_type == "application/zip" and part.transfer_encoding == "base64"


def test_long_filename_matches_suricata():
    s, _ = run(only_file("suricata-verify/mime/mime-dec-parse-long-filename01/input.pcap.imf_objects"))
    (a,) = s.attachments
    assert a.filename.startswith("12characters12characters") and len(a.filename) > 255
    assert a.size == 25     # fileinfo.size: 25
    assert s.header_from == "toto <toto@gmail.com>"


def test_eicar_attachment_md5_matches_target():
    target = (corpus_path("expected/suricata-verify/smtp-attachment-md5") / "target.md5").read_text().split()[0]
    s, sink = run(only_file("suricata-verify/smtp-attachment-md5/input.pcap.imf_objects"))
    part = [p for p in parts_of(sink) if p.filename == "EICAR-Test-File"][0]
    body_sha = part.sha256
    # the decoded body must be EICAR: its md5 is target.md5
    import email as _email
    raw = only_file("suricata-verify/smtp-attachment-md5/input.pcap.imf_objects")
    m = _email.message_from_bytes(raw, policy=policy.default)
    payload = [p for p in m.walk() if p.get_filename() == "EICAR-Test-File"][0].get_payload(decode=True)
    assert hashlib.md5(payload).hexdigest() == target
    assert body_sha == sha(payload) and part.size == 68


def test_winmail_and_file_data_sizes():
    s, _ = run(only_file("suricata-verify/smtp-file-data-01/input.pcap.imf_objects"))
    assert [(a.filename, a.size) for a in s.attachments] == [("J.txt", 16384)]   # files[0].size: 16384


def test_stream_depth_doc_size_and_encoded_subject():
    d = corpus_path("tshark") / "suricata-verify/mime/mime-stream-depth/input.pcap.imf_objects"
    for f in sorted(d.glob("*.eml")):
        s, _ = run(unstuff(f.read_bytes()))
        assert [(a.filename, a.size) for a in s.attachments] == [("DOC_18092019-004927.doc", 326976)]
        assert s.subject.startswith("Document numérisée pour")
        assert s.subject_raw.startswith("=?UTF-8?B?")


def test_zeek_smtp_text_part_matches_extracted_file():
    # Zeek's file-analysis/smtp thefile0 is the text/plain entity of smtp.pcap (after a btest header line)
    z = (corpus_path("expected/zeek/scripts.base.frameworks.file-analysis.smtp") / "thefile0").read_bytes()
    z = z.split(b"\n", 1)[1]
    s, sink = run(eml("zeek/smtp.pcap.imf_objects/SMTP.eml"))
    ps = {p.part_id: p for p in parts_of(sink)}
    assert ps["1"].content_type == "multipart/alternative"
    assert ps["1.1"].size == 77 == len(z) and ps["1.1"].sha256 == sha(z)
    assert ps["1.2"].content_type == "text/html" and ps["1.2"].parent_id == "1" and ps["1.2"].depth == 2
    # Zeek's thefile1 keeps the CRLF that precedes the next delimiter (RFC 2046 §5.1.1 says it
    # belongs to the delimiter): we follow the RFC (and the stdlib), so we are 2 bytes shorter.
    z1 = (corpus_path("expected/zeek/scripts.base.frameworks.file-analysis.smtp") / "thefile1").read_bytes()
    z1 = z1.split(b"\n", 1)[1]
    assert z1.endswith(b"\r\n\r\n")
    assert ps["1.2"].size == len(z1) - 2 and ps["1.2"].sha256 == sha(z1[:-2])
    assert s.header_from == '"Gurpartap Singh" <gurpartap@patriots.in>' or s.header_from == "Gurpartap Singh <gurpartap@patriots.in>"
    assert s.user_agent == "Microsoft Office Outlook 12.0"
    assert s.message_id == "<000301ca4581$ef9e57f0$cedb07d0$@in>"


def test_zeek_attachment_msg_nested_rfc822():
    s, sink = run(eml("zeek/smtp-attachment-msg.pcap.imf_objects/subject.eml"))
    ps = {p.part_id: p for p in parts_of(sink)}
    assert ps["2"].content_type == "message/rfc822" and ps["2"].filename == "test.msg"
    assert ps["2.1"].parent_id == "2" and ps["2.1"].depth == 2
    # Zeek (rfc822-msg-file-analysis): text/plain 16 bytes in the outer message
    assert ps["1"].size == 16


@pytest.mark.parametrize("rel", [
    "suricata-verify/mime/mime-quoted-printable/input.pcap.imf_objects",
    "suricata-verify/smtp-rfc2231/input.pcap.imf_objects",
    "suricata-verify/smtp-long-DATA-line/input.pcap.imf_objects",
])
def test_corpus_agrees_with_stdlib_and_any_chunking(rel):
    import email as _email
    data = only_file(rel)
    s, sink = run(data)
    m = _email.message_from_bytes(data, policy=policy.default)
    leaves = [p for p in m.walk() if not p.is_multipart()]
    ours = [p for p in parts_of(sink) if not p.content_type.startswith("multipart/")]
    assert [(p.content_type, p.sha256) for p in ours] == \
        [(p.get_content_type(), sha(p.get_payload(decode=True) or b"")) for p in leaves]
    for seed in range(3):
        s2, sink2 = run(data, chunks=random_chunks(len(data), seed))
        assert parts_of(sink2) == parts_of(sink)
        assert s2 == s


# --- messages made with Python's email package -----------------------------------------------

ATTACH = random.Random(7).randbytes(70_001)
LONG_NAME = "rapport détaillé für März € und noch viel mehr Text damit es lang wird.pdf"


def build_message() -> bytes:
    inner = EmailMessage()
    inner["From"] = "inner@example.org"
    inner["Subject"] = "forwarded"
    inner["Message-ID"] = "<inner-1@example.org>"
    inner.set_content("the forwarded body\n")
    inner.add_attachment(b"\x00\x01inner-bin" * 10, maintype="application", subtype="x-test", filename="in.bin")
    m = EmailMessage()
    m["From"] = "Zoë Ünïcode <zoe@example.org>"
    m["To"] = 'bob@example.com, "Çédric" <ced@example.net>'
    m["Cc"] = "carol@example.com"
    m["Subject"] = "Ünïcode façade — 日本語のテスト件名 that is long enough to fold across words"
    m["Message-ID"] = "<outer-1@example.org>"
    m["Date"] = "Thu, 03 Dec 2026 17:00:00 +0000"
    m["User-Agent"] = "pytest-mail/1.0"
    m.set_content("Grüße aus Köln — ünïcödé text\n" * 30, charset="utf-8", cte="quoted-printable")
    m.add_alternative("<html><body>" + "ünï " * 400 + "</body></html>\n", subtype="html", cte="base64")
    m.add_attachment(ATTACH, maintype="application", subtype="pdf", filename=LONG_NAME)
    m.add_attachment(inner)
    return m.as_bytes(policy=policy.SMTP)


def test_generated_message_tree_sizes_and_hashes():
    data = build_message()
    s, sink = run(data)
    ps = {p.part_id: p for p in parts_of(sink)}
    assert [p.part_id for p in parts_of(sink)] == ["0", "1", "1.1", "1.2", "2", "3", "3.0", "3.1", "3.2"]
    assert ps["1"].content_type == "multipart/alternative"
    assert ps["1.1"].transfer_encoding == "quoted-printable" and ps["1.1"].charset == "utf-8"
    text = ("Grüße aus Köln — ünïcödé text\r\n" * 30).encode()
    assert ps["1.1"].size == len(text) and ps["1.1"].sha256 == sha(text)
    html = ("<html><body>" + "ünï " * 400 + "</body></html>\r\n").encode()
    assert ps["1.2"].transfer_encoding == "base64"
    assert ps["1.2"].sha256 in (sha(html), sha(html.replace(b"\r\n", b"\n")))
    att = ps["2"]
    assert att.filename == LONG_NAME and att.is_attachment and att.disposition == "attachment"
    assert att.size == len(ATTACH) and att.sha256 == sha(ATTACH)
    assert "filename*0*" in att.filename_raw
    assert ps["3"].content_type == "message/rfc822" and ps["3.0"].content_type == "multipart/mixed"
    assert ps["3.0"].parent_id == "3" and ps["3.1"].parent_id == "3.0" and ps["3.2"].depth == 3
    assert ps["3.2"].filename == "in.bin" and ps["3.2"].sha256 == sha(b"\x00\x01inner-bin" * 10)
    assert s.subject == "Ünïcode façade — 日本語のテスト件名 that is long enough to fold across words"
    assert s.subject_raw.startswith("=?utf-8?")
    assert "Zoë Ünïcode" in s.header_from and "Çédric" in s.header_to and s.cc == "carol@example.com"
    assert s.size == len(data) and s.sha256 == sha(data)
    assert s.parts == 5            # 1.1, 1.2, 2, 3.1, 3.2
    assert [a.filename for a in s.attachments] == [LONG_NAME, None, "in.bin"]
    msg = [r for r in sink if isinstance(r, MimeMessage)][0]
    assert msg.user_agent == "pytest-mail/1.0" and msg.message_id == "<outer-1@example.org>"
    assert msg.content_type == "multipart/mixed" and msg.defects == 0 and not msg.truncated
    assert not weird_names(sink)


def test_generated_message_same_records_whatever_the_chunking():
    data = build_message()
    s, sink = run(data)
    for seed in range(5):
        s2, sink2 = run(data, chunks=random_chunks(len(data), seed))
        assert s2 == s and sink2 == sink
    s3, sink3 = run(data, chunks=[1] * 3000)      # byte by byte through the headers and beyond
    assert s3 == s and sink3 == sink


def test_lf_only_message():
    data = build_message().replace(b"\r\n", b"\n")
    s, sink = run(data)
    ps = {p.part_id: p for p in parts_of(sink)}
    assert ps["2"].sha256 == sha(ATTACH)
    assert ps["3.2"].sha256 == sha(b"\x00\x01inner-bin" * 10)


def build_dsn() -> bytes:
    orig = EmailMessage()
    orig["From"] = "alice@example.org"
    orig["To"] = "nobody@example.net"
    orig["Subject"] = "original"
    orig["Message-ID"] = "<orig-42@example.org>"
    orig.set_content("hello\n")
    rep = MIMEMultipart("report", report_type="delivery-status")
    rep["From"] = "MAILER-DAEMON@mx.example.org"
    rep["To"] = "alice@example.org"
    rep["Subject"] = "Undelivered Mail Returned to Sender"
    rep["Message-ID"] = "<bounce-1@mx.example.org>"
    rep.attach(MIMEText("I'm sorry to have to inform you that your message could not be delivered.\n"))
    from email.message import Message
    ds = Message()
    ds.set_type("message/delivery-status")
    per_msg = Message()
    per_msg["Reporting-MTA"] = "dns; mx.example.org"
    per_msg["Arrival-Date"] = "Thu, 3 Dec 2026 17:00:00 +0000"
    r1 = Message()
    r1["Final-Recipient"] = "rfc822; nobody@example.net"
    r1["Original-Recipient"] = "rfc822;nobody@example.net"
    r1["Action"] = "failed"
    r1["Status"] = "5.1.1"
    r1["Remote-MTA"] = "dns; mx.example.net"
    r1["Diagnostic-Code"] = "smtp; 550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown"
    r2 = Message()
    r2["Final-Recipient"] = "rfc822; slow@example.net"
    r2["Action"] = "delayed"
    r2["Status"] = "4.4.1"
    ds.set_payload([per_msg, r1, r2])
    rep.attach(ds)
    from email.mime.message import MIMEMessage
    rep.attach(MIMEMessage(orig))
    return rep.as_bytes(policy=policy.SMTP)


def test_dsn_recipients_and_returned_message_id():
    s, sink = run(build_dsn())
    assert s.is_dsn
    rows = [r for r in sink if isinstance(r, DsnRecipient)]
    assert [(r.final_recipient, r.action, r.status) for r in rows] == [
        ("nobody@example.net", "failed", "5.1.1"), ("slow@example.net", "delayed", "4.4.1")]
    r = rows[0]
    assert r.reporting_mta == "mx.example.org" and r.remote_mta == "mx.example.net"
    assert r.original_recipient == "nobody@example.net"
    assert r.diagnostic_code.startswith("smtp; 550 5.1.1") and "User unknown" in r.diagnostic_code
    assert all(x.original_message_id == "<orig-42@example.org>" for x in rows)
    assert s.dsn == tuple(rows)


def test_dsn_with_text_rfc822_headers():
    data = (b"From: MAILER-DAEMON@x\r\nSubject: bounce\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            b"--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
            b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a.example\r\n\r\n"
            b"Final-Recipient: rfc822; u@b.example\r\nAction: failed\r\nStatus: 5.2.2 (mailbox full)\r\n"
            b"Diagnostic-Code: smtp; 552 5.2.2 mailbox\r\n full\r\n\r\n"
            b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: u@a.example\r\nMessage-ID: <m1@a.example>\r\n"
            b"Subject: hi\r\n\r\n--B--\r\n")
    s, sink = run(data)
    (r,) = s.dsn
    assert r.status == "5.2.2" and r.diagnostic_code == "smtp; 552 5.2.2 mailbox full"
    assert r.original_message_id == "<m1@a.example>" and r.reporting_mta == "a.example"


# --- header traps (PROTOCOL_NOTES MIME 4 and 5) -------------------------------------------------

def test_split_multibyte_encoded_words_and_2231_traps():
    data = ("Subject: =?UTF-8?B?w6k=?= =?UTF-8?B?w6nD?=\r\n =?UTF-8?B?qQ==?= end\r\n"
            "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
            "--XX\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename*1=\"b.txt\"; filename*0*=utf-8''%C3%A9a\r\n\r\nAAA\r\n"
            "--XX\r\nContent-Type: application/octet-stream; name=\"=?UTF-8?B?w6kudHh0?=\"\r\n\r\nBBB\r\n"
            "--XX\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename*=iso-8859-1'fr'caf%E9.txt\r\n\r\nC\r\n"
            "--XX--\r\n").encode()
    s, sink = run(data)
    assert s.subject == "ééé end"
    ps = parts_of(sink)
    assert [p.filename for p in ps[1:]] == ["éab.txt", "é.txt", "café.txt"]
    assert [p.size for p in ps[1:]] == [3, 3, 1]


def test_received_chain_and_raw_values():
    data = (b"Received: from a by b; Thu, 3 Dec 2026 17:00:00 +0000\r\n"
            b"Received: from c\r\n\tby d; Thu, 3 Dec 2026 16:59:00 +0000\r\n"
            b"From: x@y\r\nIn-Reply-To: <p@q>\r\n\r\nbody\r\n")
    s, sink = run(data)
    assert s.received == ("from a by b; Thu, 3 Dec 2026 17:00:00 +0000", "from c by d; Thu, 3 Dec 2026 16:59:00 +0000")
    assert s.in_reply_to == "<p@q>"
    msg = [r for r in sink if isinstance(r, MimeMessage)][0]
    assert msg.received_count == 2
    (p,) = parts_of(sink)
    assert p.part_id == "1" and p.size == 6 and p.content_type == "text/plain"


# --- HTTP use: multipart/form-data body without headers ----------------------------------------

def test_form_data_with_content_type_parameter():
    body = (b"--frm\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n"
            b"--frm\r\nContent-Disposition: form-data; name=\"up\"; filename=\"../../evil.sh\"\r\n"
            b"Content-Type: application/x-sh\r\n\r\n#!/bin/sh\n\r\n--frm--\r\n")
    s, sink = run(body, source="http", content_type='multipart/form-data; boundary="frm"', direction="request")
    ps = parts_of(sink)
    assert [p.part_id for p in ps] == ["0", "1", "2"]
    assert ps[1].form_name == "field" and ps[1].size == 5 and ps[1].disposition == "form-data"
    assert ps[2].filename == "../../evil.sh" and ps[2].sha256 == sha(b"#!/bin/sh\n")
    assert ps[2].direction == "request" and ps[2].source == "http"
    assert s.size == len(body) and s.sha256 == sha(body)      # the synthetic header is not counted


# --- damage and caps ---------------------------------------------------------------------------

def test_cut_message_is_kept_and_marked():
    data = build_message()
    cut = data[: len(data) * 2 // 3]
    s, sink = run(cut, complete=False)
    assert s.truncated and "mime_truncated_message" in weird_names(sink)
    ps = parts_of(sink)
    assert ps[0].part_id == "0" and any(p.truncated for p in ps)
    assert s.subject.startswith("Ünïcode")


def test_missing_close_boundary():
    data = b"Content-Type: multipart/mixed; boundary=Q\r\n\r\n--Q\r\n\r\none\r\n--Q\r\n\r\ntwo\r\n"
    s, sink = run(data)
    ps = parts_of(sink)
    assert [p.part_id for p in ps] == ["0", "1", "2"]
    assert ps[1].size == 3 and ps[2].size == 5           # the last part keeps its final line end
    assert "mime_missing_close_boundary" in weird_names(sink) and s.defects >= 1


def test_parts_cap_is_a_weird_and_work_is_linear():
    def many(n):
        return b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\nx\r\n" * n + b"--b--\r\n"
    caps = Caps(mime_parts=1000)
    s, sink = run(many(100_000), caps=caps)
    assert "mime_parts_cap" in weird_names(sink) and s.truncated
    assert len(parts_of(sink)) <= 1001
    assert s.size == len(many(100_000)) and s.sha256 == sha(many(100_000))   # the rest is hashed
    # linear work: count the parser's calls into its hottest helper for two sizes
    import dissect.mime.stream as st
    counts = []
    for n in (5_000, 10_000):
        calls = 0
        orig = st.MimeStream._consume

        def counting(self, data, eol, _o=orig):
            nonlocal calls
            calls += 1
            return _o(self, data, eol)

        st.MimeStream._consume = counting
        try:
            run(many(n), caps=Caps(mime_parts=10**6))
        finally:
            st.MimeStream._consume = orig
        counts.append(calls)
    assert counts[1] <= 2.2 * counts[0]


def test_depth_cap():
    n = 60
    head = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1) for i in range(n))
    data = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + head + b"--b%d\r\n\r\ndeep\r\n" % n
    s, sink = run(data, caps=Caps(mime_depth=10))
    assert "mime_depth_cap" in weird_names(sink)
    assert max(p.depth for p in parts_of(sink)) <= 10


def test_message_cap_hashes_the_rest():
    data = build_message()
    s, sink = run(data, caps=Caps(message_bytes=5000))
    assert s.truncated and "mime_message_cap" in weird_names(sink)
    assert s.size == len(data) and s.sha256 == sha(data)


def test_header_cap():
    data = b"".join(b"X-H%d: v\r\n" % i for i in range(2000)) + b"Subject: late\r\n\r\nbody\r\n"
    s, sink = run(data, caps=Caps(header_count=100))
    assert "mime_header_cap" in weird_names(sink)
    (p,) = parts_of(sink)
    assert p.size == 6


def test_bad_base64_is_decoded_leniently():
    data = (b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            b"QUJD\r\nR!EVG\r\nRw\r\n")
    s, sink = run(data)
    (p,) = parts_of(sink)
    assert p.size == 7 and p.sha256 == sha(b"ABCDEFG")
    assert "mime_bad_base64" in weird_names(sink)


def test_every_weird_is_declared():
    for data in (build_message(), build_dsn()):
        for cut in (len(data) // 3, len(data) // 2):
            _, sink = run(data[:cut], complete=False, caps=Caps(mime_parts=3, mime_depth=1))
            for w in weird_names(sink):
                assert w in WEIRDS


def test_split_at_every_offset_small_message():
    data = build_dsn()[:1500] + b"\r\n"
    _, ref = run(data)
    for i in range(0, len(data), 7):
        _, sink = run(data, chunks=[i])
        assert sink == ref, i


def test_long_lines_fed_in_tiny_chunks_stay_linear():
    # a 200 kB header line and a 500 kB body line without line ends, fed 61 bytes at a time
    import dissect.mime.stream as st
    data = b"X-Long: " + b"a" * 200_000 + b"\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\n" + b"b" * 500_000 + b"\r\n--z--\r\n"
    s, sink = run(data, chunks=[61] * (len(data) // 61))
    assert "mime_long_line" in weird_names(sink)
    ps = parts_of(sink)
    assert ps[-1].size == 500_000 and ps[-1].sha256 == sha(b"b" * 500_000)


# --- hostile input: never raise ----------------------------------------------------------------

from hypothesis import HealthCheck, given, settings          # noqa: E402
from hypothesis import strategies as hst                     # noqa: E402

_PIECES = [b"--b\r\n", b"--b--\r\n", b"--c\r\n", b"\r\n", b"\n", b"\r", b"Content-Type: multipart/mixed; boundary=c\r\n",
           b"Content-Type: message/rfc822\r\n", b"Content-Transfer-Encoding: base64\r\n",
           b"Content-Transfer-Encoding: quoted-printable\r\n", b"=\r\n", b"=4", b"QUJD", b"==",
           b"Content-Disposition: attachment; filename*0*=utf-8''%E2%82; filename*1*=%AC\r\n",
           b"Subject: =?utf-8?b?w6k?= =?x-unknown?q?=FF?=\r\n", b" folded\r\n", b"From: <<@>>,,;:\r\n",
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
           b"Content-Type: message/delivery-status\r\n", b"Final-Recipient: rfc822;\r\n", b"\x00\xff",
           b"Subject: caf\xe9 \xc3\xa9 =?utf-8?q?=C3?=\r\n", b"Content-Type: text/plain; name=\"\xff\xfe\"; charset=\"\xe9\"\r\n",
           b"Content-Disposition: attachment; filename*=utf-8''%FF%C3\r\n", b"To: \"\xe9\" <a@\xff>\r\n"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hst.binary(max_size=3000), hst.lists(hst.integers(1, 200), max_size=20))
def test_random_bytes_never_raise(data, chunks):
    s, sink = run(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + data, chunks=chunks, caps=Caps(mime_parts=50))
    assert s.size == len(data) + 45
    for w in weird_names(sink):
        assert w in WEIRDS


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hst.lists(hst.sampled_from(_PIECES) | hst.binary(max_size=20), max_size=80),
       hst.lists(hst.integers(1, 50), max_size=30), hst.booleans())
def test_structured_garbage_never_raises_and_chunking_is_invisible(pieces, chunks, complete):
    data = b"".join(pieces)
    s1, sink1 = run(data, complete=complete, caps=Caps(mime_parts=40, mime_depth=5))
    s2, sink2 = run(data, chunks=chunks, complete=complete, caps=Caps(mime_parts=40, mime_depth=5))
    assert sink1 == sink2 and s1 == s2
    for rec in sink1:               # every text value survives a UTF-8 export
        for v in vars_of(rec):
            if isinstance(v, str):
                v.encode("utf-8")


def vars_of(rec):
    import dataclasses
    out = []
    for f in dataclasses.fields(rec):
        v = getattr(rec, f.name)
        out.extend(v if isinstance(v, tuple) else [v])
    return out


def test_transfer_decoding_agrees_with_stdlib_on_random_bodies():
    """Differential: our streaming QP/base64 decoders vs email's get_payload(decode=True), on
    valid encodings and on junk declared as quoted-printable, fed whole and in small chunks."""
    import base64
    import email as _email
    import quopri

    rnd = random.Random(3)
    for i in range(300):
        alphabet = b"ab =\t\r\n\xe9.-" if i % 2 else bytes(range(256))
        body = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 300)))
        if i % 3 == 0:
            enc, cte = quopri.encodestring(body), b"quoted-printable"
        elif i % 3 == 1:
            enc, cte = body.replace(b"\r", b"").replace(b"\n", b"\r\n"), b"quoted-printable"
        else:
            enc, cte = base64.encodebytes(body).replace(b"\n", b"\r\n"), b"base64"
            if i % 5 == 0:
                enc = enc.replace(b"=", b"")
        msg = (b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Transfer-Encoding: "
               + cte + b"\r\n\r\n" + enc + b"\r\n--B--\r\n")
        ref = [x for x in _email.message_from_bytes(msg, policy=policy.default).walk()
               if not x.is_multipart()][0].get_payload(decode=True)
        for chunks in (None, [rnd.randint(1, 9) for _ in range(200)]):
            _, sink = run(msg, chunks=chunks)
            assert parts_of(sink)[1].sha256 == sha(ref), (i, enc)


def test_digest_preamble_epilogue_and_whitespace_after_boundary():
    data = (b"Content-Type: multipart/digest; boundary=\"D D\"\r\n\r\n"
            b"preamble line\r\n--D D\r\nthis has no headers\r\n"          # no blank line: body starts
            b"--D D \t\r\n\r\nSubject: one\r\nMessage-ID: <d1@x>\r\n\r\nfirst\r\n"
            b"--D D\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
            b"--D D--  \r\nepilogue --D D\r\n")
    s, sink = run(data)
    ps = {p.part_id: p for p in parts_of(sink)}
    assert ps["0"].content_type == "multipart/digest"
    # part 1 has no headers: its default type in a digest is message/rfc822 (RFC 2046 5.1.5)
    assert ps["1"].content_type == "message/rfc822"
    assert ps["2"].content_type == "message/rfc822" and ps["2.1"].content_type == "text/plain"
    assert ps["2.1"].size == 5 and ps["3"].content_type == "text/plain" and ps["3"].size == 5
    assert "mime_missing_close_boundary" not in weird_names(sink)


def test_base64_message_rfc822_is_a_leaf_and_nested_same_boundary():
    import base64
    inner = b"Subject: x\r\n\r\nhello\r\n"
    data = (b"Content-Type: multipart/mixed; boundary=S\r\n\r\n--S\r\nContent-Type: message/rfc822\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(inner).replace(b"\n", b"\r\n") +
            b"--S\r\nContent-Type: multipart/alternative; boundary=S\r\n\r\n--S\r\n\r\nin\r\n--S--\r\n--S--\r\n")
    s, sink = run(data)
    ps = {p.part_id: p for p in parts_of(sink)}
    assert ps["1"].content_type == "message/rfc822" and ps["1"].sha256 == sha(inner)   # decoded, not descended
    assert ps["2"].content_type == "multipart/alternative" and ps["2.1"].size == 2
    assert s.defects == 1                    # the reused boundary is a defect...
    assert "mime_missing_close_boundary" not in weird_names(sink)   # ...but the outer one closes


@pytest.mark.parametrize("rel", [
    "suricata-verify/mime/mime-quoted-printable/input.pcap.imf_objects",
    "suricata-verify/smtp-rfc2231/input.pcap.imf_objects",
    "suricata-verify/smtp-long-DATA-line/input.pcap.imf_objects",
    "suricata-verify/mime/mime-dec-parse-long-filename01/input.pcap.imf_objects",
    "suricata-verify/smtp-attachment-md5/input.pcap.imf_objects",
])
def test_parameter_fast_path_equals_stdlib_path(rel, monkeypatch):
    """Plain parameters are read by hand (speed); the result must be what policy.default gives."""
    import dissect.mime.headers as H

    data = only_file(rel)
    fast = run(data)[1]
    monkeypatch.setattr(H, "_simple", lambda v: False)
    slow = run(data)[1]
    assert parts_of(fast) == parts_of(slow)
    gen = build_message() + b""
    monkeypatch.undo()
    a = run(gen)[1]
    monkeypatch.setattr(H, "_simple", lambda v: False)
    assert parts_of(run(gen)[1]) == parts_of(a)


@pytest.mark.parametrize("header,name", [
    ('Content-Disposition: attachment; filename="=?UTF-8?B?w6k=?= =?UTF-8?B?w6nD?= =?UTF-8?B?qS50eHQ=?="', "ééé.txt"),
    ('Content-Disposition: attachment; filename="=?UTF-8*en?Q?caf=C3=A9.txt?="', "café.txt"),       # RFC 2231 §5 language
    ("Content-Disposition: attachment; filename*2=\"c.txt\"; filename*0*=iso-8859-1''%E9; filename*1=b", "ébc.txt"),
    ("Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf", "€ rates.pdf"),
    ('Content-Disposition: attachment; FILENAME="Quoted \\"x\\".txt"', 'Quoted "x".txt'),
    ("Content-Disposition: attachment; filename==?utf-8?B?w6kudHh0?=", "é.txt"),                       # unquoted encoded-word
    ('Content-Type: application/pdf; name="=?windows-1252?Q?R=E9sum=E9.pdf?="', "Résumé.pdf"),
])
def test_filename_traps(header, name):
    d = ("Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\n" + header + "\r\n\r\nx\r\n--Z--\r\n").encode()
    _, sink = run(d)
    assert parts_of(sink)[1].filename == name


def test_extraction_writes_eml_and_attachments_whatever_the_chunking(tmp_path):
    from dissect.extract import Extractor

    data = build_message()
    listings = []
    for k, chunks in enumerate((None, random_chunks(len(data), 11))):
        out = tmp_path / f"o{k}"
        s, sink = run(data, chunks=chunks, extractor=Extractor(out))
        files = {p.name: p.read_bytes() for p in out.iterdir()}
        listings.append(files)
        assert files[s.extracted] == data                          # the whole message, as sent
        att = [p for p in parts_of(sink) if p.filename == LONG_NAME][0]
        assert files[att.extracted] == ATTACH and att.extracted.endswith(".pdf")
        assert att.extracted.startswith("Ctest-1-2-")
        fwd = [p for p in parts_of(sink) if p.part_id == "3"][0]
        assert fwd.extracted.endswith(".eml")                      # forwarded message/rfc822 written whole
        inner = [p for p in parts_of(sink) if p.filename == "in.bin"][0]
        assert files[inner.extracted] == b"\x00\x01inner-bin" * 10
    assert listings[0] == listings[1]


def _corpus_emls():
    base = corpus_path("tshark")
    return [unstuff(p.read_bytes()) for p in sorted(base.rglob("*.eml"))]


def test_lenient_header_decoding_agrees_with_policy_default():
    """Subject/From/To/Cc are decoded by our linear decoder; on real and generated messages the
    result must mean what policy.default gives (same text; same (name, address) pairs)."""
    import email as _email
    from email.utils import getaddresses

    msgs = _corpus_emls() + [build_message(), build_dsn()]
    checked = 0
    for data in msgs:
        s, _ = run(data)
        ref = _email.message_from_bytes(data, policy=policy.default)
        if ref["subject"] is not None:
            assert s.subject == (str(ref["subject"]).strip() or None)
            checked += 1
        for ours, name in ((s.header_from, "from"), (s.header_to, "to"), (s.cc, "cc")):
            if ref[name] is None:
                continue
            want = [(n, a.lower()) for n, a in getaddresses([str(ref[name])])]
            got = [(n, a.lower()) for n, a in getaddresses([ours or ""])]
            # same addresses; same display names where policy.default keeps one (it drops the
            # old "addr (Name)" comment form, which we keep as sent)
            assert [a for _, a in got] == [a for _, a in want], (ours, str(ref[name]))
            assert all(wn == gn for (wn, _), (gn, _) in zip(want, got) if wn), (ours, str(ref[name]))
            checked += 1
    assert checked > 40


def test_hostile_headers_stay_out_of_the_stdlib(monkeypatch):
    """Values the stdlib parses slowly (quote runs) or recursively (nested comments) never reach
    it, and at most STDLIB_BLOCKS header blocks per message do."""
    import dissect.mime.headers as H

    calls = []
    real = H._PARSER.parsebytes
    monkeypatch.setattr(H._PARSER, "parsebytes", lambda b, *a, **k: calls.append(len(b)) or real(b, *a, **k))
    v = "(" * 8000
    data = ("From: " + '"a' * 4000 + "\r\nSubject: " + v + "\r\nContent-Type: text/plain; name*0=" + v +
            "\r\n\r\nx\r\n").encode()
    s, sink = run(data)
    assert calls == [] and parts_of(sink)[0].size == 3
    many = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            + b"--b\r\nContent-Type: text/plain; name*=utf-8''%C3%A9.txt\r\n\r\nx\r\n" * 500 + b"--b--\r\n")
    s, sink = run(many)
    assert len(calls) == H.STDLIB_BLOCKS
    assert {p.filename for p in parts_of(sink)[1:]} == {"é.txt"}       # the lenient reader agrees


def test_charset_name_with_nul_is_not_an_error():
    """A charset name the codec registry refuses outright (NUL inside: ValueError, not LookupError)
    falls back like an unknown charset (found by the smtp fuzz target: fuzz/crashers/smtp/)."""
    from dissect.http.parser import _cd_filename
    from dissect.mime.headers import _to_str, decode_rfc2047

    assert _to_str(b"caf\xc3\xa9", "utf\x008") == "café"
    assert decode_rfc2047("=?utf\x008?q?caf=C3=A9?=") == "café"
    assert _cd_filename("attachment; filename*=utf\x008''caf%C3%A9.txt") == "café.txt"
