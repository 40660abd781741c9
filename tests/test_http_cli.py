"""`dissect http`: listing, filters, safe output, and the HAR 1.2 file (structure validated field by field
so that browsers' devtools and HAR viewers open it)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dissect.cli.common import UserError
from dissect.cli.main import app

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "http"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text())
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["http", *args], env={"COLUMNS": "200"})


def test_lists_transactions_and_filters():
    r = invoke(str(SAMPLES / "http-keepalive.pcap"))
    assert r.exit_code == 0, r.output
    assert "7 transaction(s) shown of 7" in r.output
    for uri in ("/index.html", "/style.css", "/missing.html", "/old"):
        assert uri in r.output
    r = invoke(str(SAMPLES / "http-keepalive.pcap"), "--status", "4xx")
    assert "2 transaction(s) shown of 7" in r.output and "/missing.html" in r.output and "/style.css" not in r.output
    r = invoke(str(SAMPLES / "http-keepalive.pcap"), "--method", "head")
    assert "1 transaction(s) shown of 7" in r.output
    r = invoke(str(SAMPLES / "http-pipelined-upgrade.pcap"), "--host", "example.*")
    assert "1 transaction(s) shown of 5" in r.output and "CONNECT" in r.output
    r = invoke(str(SAMPLES / "http-keepalive.pcap"), "--status", "abc")
    assert r.exit_code != 0 and isinstance(r.exception, UserError) and "--status" in str(r.exception)


def test_missing_capture_is_one_line_error():
    r = invoke("/nonexistent/x.pcap")
    assert r.exit_code != 0 and isinstance(r.exception, UserError)
    assert "no such file" in str(r.exception)


def test_captured_text_is_neutralised(tmp_path):
    # a request whose URI and header carry ANSI escapes and rich markup
    import struct

    def pkt(src, dst, sport, dport, seq, ack, flags, payload=b""):
        ip_len = 20 + 20 + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, 1, 0, 64, 6, 0, bytes(src), bytes(dst))
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        return b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload

    c, s = (10, 0, 0, 1), (10, 0, 0, 2)
    reqb = b"GET /\x1b[31mred[bold]x HTTP/1.1\r\nHost: evil\x1b]0;title\x07.example\r\n\r\n"
    respb = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    frames = [pkt(c, s, 40000, 80, 1, 0, 0x02), pkt(s, c, 80, 40000, 100, 2, 0x12),
              pkt(c, s, 40000, 80, 2, 101, 0x10), pkt(c, s, 40000, 80, 2, 101, 0x18, reqb),
              pkt(s, c, 80, 40000, 101, 2 + len(reqb), 0x18, respb)]
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 1_700_000_000 + i, 0, len(f), len(f)) + f
    p = tmp_path / "evil.pcap"
    p.write_bytes(bytes(out))
    r = invoke(str(p), "--headers")
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.output and "\x07" not in r.output
    assert "\\x1b" in r.output


# -- HAR -------------------------------------------------------------------------------------------------

def _iso(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def _nv_list(v) -> None:
    assert isinstance(v, list)
    for x in v:
        assert isinstance(x["name"], str) and isinstance(x["value"], str)


def validate_har(doc: dict) -> None:
    """HAR 1.2 required fields and types (http://www.softwareishard.com/blog/har-12-spec/)."""
    log = doc["log"]
    assert log["version"] == "1.2"
    assert isinstance(log["creator"]["name"], str) and isinstance(log["creator"]["version"], str)
    assert isinstance(log["entries"], list)
    for e in log["entries"]:
        assert _iso(e["startedDateTime"]).tzinfo is not None
        assert isinstance(e["time"], (int, float)) and e["time"] >= 0
        t = e["timings"]
        for k in ("send", "wait", "receive"):
            assert isinstance(t[k], (int, float)) and t[k] >= 0
        for k in ("blocked", "dns", "connect", "ssl"):
            assert t.get(k, -1) == -1 or t[k] >= 0
        assert abs(e["time"] - (t["send"] + t["wait"] + t["receive"])) < 0.01
        assert isinstance(e["cache"], dict)
        rq = e["request"]
        assert isinstance(rq["method"], str) and rq["url"].startswith("http://")
        assert rq["httpVersion"].startswith("HTTP/")
        for k in ("cookies", "headers", "queryString"):
            _nv_list(rq[k])
        assert isinstance(rq["headersSize"], int) and isinstance(rq["bodySize"], int)
        if "postData" in rq:
            assert isinstance(rq["postData"]["mimeType"], str)
        rs = e["response"]
        assert isinstance(rs["status"], int) and isinstance(rs["statusText"], str)
        assert rs["httpVersion"].startswith("HTTP/")
        _nv_list(rs["cookies"])
        _nv_list(rs["headers"])
        c = rs["content"]
        assert isinstance(c["size"], int) and isinstance(c["mimeType"], str)
        if "text" in c:
            assert isinstance(c["text"], str)
        assert isinstance(rs["redirectURL"], str)
        assert isinstance(rs["headersSize"], int) and isinstance(rs["bodySize"], int)


def test_har_structure_and_content(tmp_path):
    out = tmp_path / "out.har"
    r = invoke(str(SAMPLES / "http-keepalive.pcap"), str(SAMPLES / "http-post.pcap"), "--har", str(out))
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    validate_har(doc)
    entries = doc["log"]["entries"]
    assert len(entries) == 10
    css = [e for e in entries if e["request"]["url"].endswith("/style.css")][0]
    assert css["request"]["url"] == "http://127.0.0.1:18080/style.css"
    assert css["response"]["status"] == 200
    assert {"name": "Content-Encoding", "value": "gzip"} in css["response"]["headers"]
    assert css["response"]["content"]["size"] == MANIFEST["files"]["/style.css"]["size"]
    assert css["response"]["content"]["encoding"] == "base64"
    body = base64.b64decode(css["response"]["content"]["text"])
    assert hashlib.sha256(body).hexdigest() == MANIFEST["files"]["/style.css"]["sha256"]
    old = [e for e in entries if e["request"]["url"].endswith("/old")][0]
    assert old["response"]["status"] == 301 and old["response"]["redirectURL"].endswith("/index.html")
    form = [e for e in entries if e["request"]["url"].endswith("/api/form")][0]
    assert form["request"]["method"] == "POST"
    assert form["request"]["postData"]["text"] == "name=J%C3%BCrgen+Smith&comment=hello+world%21&n=42"
    assert form["request"]["bodySize"] == MANIFEST["uploads"]["form"]["size"]


def test_har_filtered(tmp_path):
    out = tmp_path / "err.har"
    r = invoke(str(SAMPLES / "http-keepalive.pcap"), "--status", "4xx", "--har", str(out))
    assert r.exit_code == 0
    doc = json.loads(out.read_text())
    validate_har(doc)
    assert sorted(e["response"]["status"] for e in doc["log"]["entries"]) == [404, 405]


def test_har_to_missing_folder_is_user_error(tmp_path):
    r = invoke(str(SAMPLES / "http-keepalive.pcap"), "--har", str(tmp_path / "no" / "x.har"))
    assert r.exit_code != 0 and isinstance(r.exception, UserError) and "does not exist" in str(r.exception)
