"""MIME through the pipeline on the suricata-verify SMTP captures: attachment names, sizes and
SHA-256 must equal Suricata's expectations (expected/suricata-verify/*/test.yaml)."""

from __future__ import annotations

import hashlib

import pytest

from conftest import corpus_path


def attachments(rel: str):
    import dissect

    a = dissect.analyze([str(corpus_path(f"captures/suricata-verify/{rel}"))])
    return a, [p for p in a.records.get("mime_parts", []) if p.is_attachment]


@pytest.mark.parametrize("rel,name,size,sha256", [
    ("mime/mime-quoted-printable/input.pcap", "related.patch", 34224,
     "359641873610597882317aee0f72104ed54fe8aa82d6fa323a5418e4529bd3b9"),
    ("smtp-long-DATA-line/input.pcap", "winmail.dat", 10451,
     "c14d632ab473fb815381a33bc29103fe34a2bea0e3451a9eae8c6dc0bee2f3eb"),
    ("smtp-bug-5981/input.pcap", "winmail.dat", 10451,
     "5f41c213e35d8421647181cc9b8925a5b2ab34c23102907581214fd574157fff"),
    ("smtp-file-data-01/input.pcap", "J.txt", 16384, None),
    # Suricata cuts this name at 255 characters (and raises MIME_LONG_FILENAME): its expected
    # value is the first 255; we keep the whole name as sent (it is only sanitised when extracted)
    ("mime/mime-dec-parse-long-filename01/input.pcap", "12characters" * 23 + ".exe", 25, None),
    ("smtp-rfc2231/input.pcap",
     "smtptest-2021-02-25T13-54-22Z-aefb2fc1308d62f4b6c74769f69b13ddf80e995fd98ae442f3be499ea928c67f..zip", None, None),
])
def test_suricata_fileinfo(rel, name, size, sha256):
    _, atts = attachments(rel)
    got = [p for p in atts if p.filename == name]
    assert len(got) == 1, [p.filename for p in atts]
    if size is not None:
        assert got[0].size == size
    if sha256 is not None:
        assert got[0].sha256 == sha256


def test_long_filename_prefix_is_suricatas():
    _, (p,) = attachments("mime/mime-dec-parse-long-filename01/input.pcap")
    assert p.filename[:255] == "12characters" * 21 + "12c" and len(p.filename) == 280


def test_eicar_md5():
    target = (corpus_path("expected/suricata-verify/smtp-attachment-md5") / "target.md5").read_text().split()[0]
    a, atts = attachments("smtp-attachment-md5/input.pcap")
    (p,) = atts
    eicar = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
    assert hashlib.md5(eicar).hexdigest() == target           # target.md5 is EICAR's md5
    assert p.size == len(eicar) and p.sha256 == hashlib.sha256(eicar).hexdigest()


def test_stream_depth_capture():
    # Suricata runs this test with stream.reassembly.depth=1mb and so sees two complete .doc
    # attachments and a third one TRUNCATED at 63891 bytes. We have no stream depth: every message
    # of the capture is parsed; the last one is cut by the end of the capture and says so.
    a, atts = attachments("mime/mime-stream-depth/input.pcap")
    full = [p for p in atts if not p.truncated]
    assert len(full) >= 2 and {p.size for p in full} == {326976}
    assert len({p.sha256 for p in full}) == 1
    cut = [m for m in a.records["mime_messages"] if m.truncated]
    assert all(p.size < 326976 for p in atts if p.truncated) and len(cut) == len([p for p in atts if p.truncated])


def _imf_rows(tsv):
    lines = tsv.read_text(encoding="utf-8", errors="replace").splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, l.split("\t"))) for l in lines[1:]]


def _ws(s):
    import re
    return " ".join(re.sub(r"\\r\\n", " ", s or "").split())


def test_headers_agree_with_tshark_imf():
    """Differential against tshark's IMF dissector (raw header values, imf.tsv of the corpus):
    every message tshark saw is in mime_messages with the same raw Subject, Date and Message-ID."""
    import dissect

    base = corpus_path("tshark")
    checked = 0
    for tsv in sorted(base.rglob("*.imf.tsv")):
        rows = [r for r in _imf_rows(tsv) if r.get("imf.subject") or r.get("imf.message_id")]
        if not rows:
            continue
        rel = str(tsv.relative_to(base))[: -len(".imf.tsv")]
        cap = corpus_path("captures/" + rel)
        a = dissect.analyze([str(cap)], decode_as={2525: "smtp"})
        ours = [(_ws(m.subject_raw), _ws(m.date), _ws(m.message_id)) for m in a.records.get("mime_messages", [])]
        for r in rows:
            want = (_ws(r["imf.subject"]), _ws(r["imf.date"]), _ws(r["imf.message_id"]))
            assert want in ours, (rel, want, ours)
            checked += 1
    assert checked >= 15
