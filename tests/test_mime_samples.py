"""MIME through the whole pipeline on the bundled real capture (smtplib -> aiosmtpd on loopback):
the tables must give back what the client sent (samples/smtp/manifest.json)."""

from __future__ import annotations

import json

import pytest

from conftest import SAMPLES

CAP = SAMPLES / "smtp" / "smtp-mime-dsn-smtplib.pcap"


@pytest.fixture(scope="module")
def analysis():
    if not CAP.exists():
        pytest.skip("samples/smtp/smtp-mime-dsn-smtplib.pcap missing")
    import dissect

    return dissect.analyze([str(CAP)])


def sent():
    m = json.loads((SAMPLES / "smtp" / "manifest.json").read_text())
    return m["captures"][CAP.name]["transactions"]


def test_messages_match_what_was_sent(analysis):
    msgs = sorted(analysis.records["mime_messages"], key=lambda r: r.trans_depth)
    exp = sent()
    assert [(m.subject, m.message_id, m.size, m.sha256) for m in msgs] == \
        [(t["subject"], t["message_id"], t["size"], t["sha256"]) for t in exp]


def test_attachments_decoded_sizes_and_hashes(analysis):
    exp = sent()[0]
    parts = [p for p in analysis.records["mime_parts"] if p.trans_depth == 1]
    by_name = {p.filename: p for p in parts if p.filename}
    for a in exp["attachments"]:
        p = by_name[a["filename"]]           # the RFC 2231 non-ASCII name decoded
        assert (p.content_type, p.size, p.sha256) == (a["content_type"], a["size"], a["sha256"])
        assert p.transfer_encoding == "base64" and p.is_attachment
    ids = {p.part_id: p for p in parts}
    assert ids["1.1"].transfer_encoding == "quoted-printable" and ids["1.1"].charset == "utf-8"
    assert ids["1.2"].content_type == "text/html" and ids["1.2"].transfer_encoding == "base64"
    fwd = [p for p in parts if p.content_type == "message/rfc822"][0]
    assert fwd.filename == "forwarded.eml"
    assert ids[fwd.part_id + ".1"].parent_id == fwd.part_id


def test_bounce_explains_the_failure(analysis):
    exp = sent()[2]["dsn"]
    (r,) = analysis.records["dsn_recipients"]
    assert (r.final_recipient, r.action, r.status, r.original_message_id) == \
        (exp["recipient"], exp["action"], exp["status"], exp["original_message_id"])
    # the bounce joins the original transaction by Message-ID
    orig = [m for m in analysis.records["mime_messages"] if m.message_id == r.original_message_id]
    assert len(orig) == 1 and orig[0].uid == r.uid and orig[0].trans_depth == 2
    assert [m.is_dsn for m in sorted(analysis.records["mime_messages"], key=lambda m: m.trans_depth)] == [False, False, True]
