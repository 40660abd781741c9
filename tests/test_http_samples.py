"""The HTTP analyzer on the bundled real captures (nginx + curl on loopback, samples/http/), checked
against samples/http/manifest.json: status codes, body sizes and SHA-256 of the decoded bodies of
the served files, 1xx, ranges, tags, MIME parts of the upload."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import dissect

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "http"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text())


def _txns(name: str, **opts):
    a = dissect.analyze([str(SAMPLES / name)], strict=True, **opts)
    rows = sorted(a.records.get("http_transactions", []), key=lambda r: (r.ts, r.trans_depth))
    return a, rows


def _check(row, exp: dict) -> None:
    assert row.method == exp["method"]
    assert row.uri == exp["uri"]
    if "status" in exp:
        assert row.status_code == exp["status"], (row.uri, row.status_code)
    if "body_len" in exp:
        assert row.response_decoded_len == exp["body_len"], row.uri
    if "wire_len" in exp:
        assert row.response_body_len == exp["wire_len"], row.uri
    if "decoded_len" in exp:
        assert row.response_decoded_len == exp["decoded_len"], row.uri
    if "sha256" in exp:
        assert row.response_body_sha256 == exp["sha256"], row.uri
    if "content_encoding" in exp:
        assert row.content_encoding == exp["content_encoding"]
    if "transfer_encoding" in exp:
        assert row.transfer_encoding == exp["transfer_encoding"]
    if "info_code" in exp:
        assert row.info_code == exp["info_code"]
    if "version" in exp:
        assert row.version == exp["version"]
    if "location" in exp:
        assert row.location == exp["location"]
    if "request_body_len" in exp:
        assert row.request_body_len == exp["request_body_len"]
    if "request_sha256" in exp:
        assert row.request_body_sha256 == exp["request_sha256"]
    for t in exp.get("tags", []):
        assert t in row.tags, (row.uri, row.tags)
    if "range" in exp:
        assert row.range.startswith(exp["range"] + " -> ")
        for cr in exp["content_range"]:
            assert cr in row.range


@pytest.mark.parametrize("name", sorted(MANIFEST["captures"]))
def test_sample_matches_manifest(name):
    exp = MANIFEST["captures"][name]
    a, rows = _txns(name)
    reqs = exp["requests"]
    assert len(rows) == len(reqs), [(r.method, r.uri, r.status_code) for r in rows]
    assert len({r.uid for r in rows}) == exp["connections"]
    by_port = "port" in reqs[0]
    if by_port:  # two connections with the same request: match them by server port
        for e in reqs:
            (row,) = [r for r in rows if r.resp_p == e["port"]]
            _check(row, e)
    else:
        for row, e in zip(rows, reqs):
            _check(row, e)
    for r in rows:
        assert r.resp_h == "127.0.0.1" and r.orig_h == "127.0.0.1"
        if "decompression_bomb" not in r.tags:
            assert not r.incomplete, (r.uri, r.tags)


def test_keepalive_served_files_and_semantics():
    _, rows = _txns("http-keepalive.pcap")
    files = MANIFEST["files"]
    assert [r.trans_depth for r in rows] == list(range(1, 8))
    assert len({r.uid for r in rows}) == 1
    get, css, head, missing, old, nm, delete = rows
    assert get.response_body_sha256 == files["/index.html"]["sha256"]
    assert get.response_body_len == files["/index.html"]["size"]
    # gzip: the wire size is smaller than the file, the decoded body is the file
    assert css.response_body_len < files["/style.css"]["size"]
    assert css.response_decoded_len == files["/style.css"]["size"]
    assert css.response_body_sha256 == files["/style.css"]["sha256"]
    assert css.transfer_encoding == "chunked"
    # HEAD and 304 carry no body even though their headers describe one
    assert head.response_body_len == 0 and head.response_body_sha256 is None
    assert nm.status_code == 304 and nm.response_body_len == 0
    assert (missing.status_code, old.status_code, delete.status_code) == (404, 301, 405)
    assert all(r.ttfb is not None and r.ttfb >= 0 and r.duration >= r.ttfb for r in rows)
    assert all(r.user_agent.startswith("curl/") for r in rows)


def test_upload_with_100_continue_and_mime_parts():
    a, rows = _txns("http-post.pcap", http_body_bytes=4096)
    up = rows[2]
    assert up.info_code == 100 and up.status_code == 200
    assert up.request_content_type.startswith("multipart/form-data; boundary=")
    # the backend echoes what it received: length and sha256 of the whole multipart body
    echoed = json.loads(_response_body(a, up))
    assert echoed["length"] == up.request_body_len
    assert echoed["sha256"] == up.request_body_sha256
    parts = [p for p in a.records.get("mime_parts", []) if p.uid == up.uid and p.trans_depth == up.trans_depth]
    files = [p for p in parts if p.filename == "upload.bin"]
    assert len(files) == 1
    assert files[0].size == MANIFEST["uploads"]["upload.bin"]["size"]
    assert files[0].sha256 == MANIFEST["uploads"]["upload.bin"]["sha256"]
    form = rows[0]
    assert form.request_body_sha256 == MANIFEST["uploads"]["form"]["sha256"]
    assert json.loads(_response_body(a, form))["sha256"] == MANIFEST["uploads"]["form"]["sha256"]


def _response_body(a, row) -> bytes:
    """The kept body of a transaction (the run must use http_body_bytes)."""
    import base64

    for rec in a.records.get("http_bodies", []):
        if rec.uid == row.uid and rec.trans_depth == row.trans_depth and rec.direction == "response":
            return base64.b64decode(rec.data_b64)
    raise AssertionError("no body kept")


def test_chunked_extensions_and_trailers_behind_nginx():
    a, rows = _txns("http-gzip-chunked.pcap", http_headers=True)
    backend = [r for r in rows if r.resp_p == 18081][0]
    trailers = [h for h in a.records["http_headers"] if h.uid == backend.uid and h.direction == "response_trailer"]
    assert [(h.name, h.value) for h in trailers] == [("X-Checksum", backend.response_body_sha256)]
    front = [r for r in rows if r.resp_p == 18080][0]
    assert front.response_body_sha256 == backend.response_body_sha256
    assert front.response_body_len < front.response_decoded_len


def test_bomb_is_capped_with_a_weird():
    a, rows = _txns("http-bomb.pcap")
    (r,) = rows
    exp = MANIFEST["captures"]["http-bomb.pcap"]["requests"][0]
    assert r.response_body_len == exp["wire_len"]
    assert r.response_decoded_len < exp["decoded_size"]
    assert "decompression_bomb" in r.tags and r.incomplete
    assert r.response_body_sha256 is None          # not the hash of a partial decode
    names = [w.name for w in a.records["weirds"]]
    assert names.count("http_decompression_bomb") == 1
    # with the ratio cap relaxed, the size cap stops it at exactly caps.decompressed_bytes
    from dissect.options import Caps, Options

    caps = Caps()
    caps.decompression_ratio = 10**9
    caps.decompressed_bytes = 5 << 20
    b = dissect.analyze([str(SAMPLES / "http-bomb.pcap")], options=Options(strict=True, caps=caps))
    (r2,) = b.records["http_transactions"]
    assert r2.response_decoded_len == 5 << 20
    assert "decompression_bomb" in r2.tags


def test_tunnel_h2_and_upgrade_tags():
    _, rows = _txns("http-h2.pcap")
    h2c, pri = rows
    assert "h2c" in h2c.tags and h2c.status_code == 200
    assert pri.method == "PRI" and pri.version == "2.0" and "h2_preface" in pri.tags
    _, rows = _txns("http-pipelined-upgrade.pcap")
    assert [("pipelined" in r.tags) for r in rows[:3]] == [False, True, True]
    ws = rows[3]
    assert ws.status_code == 101 and {"upgrade", "websocket"} <= set(ws.tags)
    connect = rows[4]
    assert connect.method == "CONNECT" and connect.status_code == 400 and "tunnel" not in connect.tags


def test_extraction_of_objects(tmp_path):
    from dissect.options import Options

    opts = Options(strict=True, extract_dir=tmp_path)
    a = dissect.analyze([str(SAMPLES / "http-keepalive.pcap"), str(SAMPLES / "http-pipelined-upgrade.pcap")],
                        options=opts)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*") if p.is_file()}
    hashes = set(files.values())
    for name in ("/index.html", "/style.css", "/data.bin", "/notes.txt"):
        assert MANIFEST["files"][name]["sha256"] in hashes, name
    assert any(n.endswith("style.css") for n in files), sorted(files)


def test_range_pieces_are_stitched():
    # 1000-1999, then 0-99 and 5000-5099 as multipart/byteranges: 1200 bytes of 65536 covered, in 3 pieces
    a, _ = _txns("http-range.pcap")
    (obj,) = a.records["http_range_objects"]
    assert (obj.uri, obj.total_size, obj.covered_bytes, obj.parts) == ("/data.bin", 65536, 1200, 3)
    assert not obj.complete and obj.sha256 is None and obj.filename == "data.bin"
