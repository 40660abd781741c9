"""Unit tests of the HTTP/1.x analyzer fed directly (sans-IO): RFC 9112 edge cases with hand-built
bytes, and split-anywhere / byte-by-byte invariance on the real sample streams."""

from __future__ import annotations

import gzip
import hashlib
import random
import zlib
from collections import Counter
from pathlib import Path

import brotli
import dpkt
import pytest
import zstandard

from dissect.analyzer import ORIG, RESP, FlowContext
from dissect.http import HttpAnalyzer, probe
from dissect.http.records import HttpHeader, HttpTransaction
from dissect.options import Caps, Options
from dissect.weird import WEIRDS, Weird

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "http"


# -- helpers ---------------------------------------------------------------------------------------

def run(events, *, chunk=None, headers=True, caps: Caps | None = None, close=True, **opt):
    """Feed (direction, data|int gap, ts) events; returns (transactions, headers, weird names)."""
    sink: list = []
    opts = Options(strict=True, http_headers=headers, caps=caps or Caps(), **opt)
    ctx = FlowContext.for_test(sink, resp=("10.0.0.2", 80), options=opts)
    an = HttpAnalyzer(ctx)
    ts = 0.0
    for d, data, ts in events:
        if isinstance(data, int):
            an.gap(d, data, ts)
            continue
        for piece in (chunk(data) if chunk else [data]):
            an.feed(d, piece, ts)
    if close:
        an.close(ts + 1)
    tx = [r for r in sink if isinstance(r, HttpTransaction)]
    hd = [r for r in sink if isinstance(r, HttpHeader)]
    we = [r.name for r in sink if isinstance(r, Weird)]
    for n in we:
        assert n in WEIRDS, f"undeclared weird {n}"
    return tx, hd, we


def req(s: bytes, ts=1.0):
    return (ORIG, s, ts)


def resp(s: bytes, ts=2.0):
    return (RESP, s, ts)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def streams(path: Path) -> dict[tuple, list]:
    """In-order TCP payload events of each connection of a capture (gaps as ints), by dpkt."""
    out: dict[tuple, list] = {}
    nxt: dict[tuple, int] = {}
    client: dict[frozenset, tuple] = {}
    with open(path, "rb") as fh:
        for ts, buf in dpkt.pcap.Reader(fh):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if not isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)) or not isinstance(ip.data, dpkt.tcp.TCP):
                continue
            tcp = ip.data
            src, dst = (ip.src, tcp.sport), (ip.dst, tcp.dport)
            conn = frozenset((src, dst))
            if tcp.flags & dpkt.tcp.TH_SYN and not tcp.flags & dpkt.tcp.TH_ACK:
                client[conn] = src
                nxt[(src, dst)] = tcp.seq + 1
                continue
            if tcp.flags & dpkt.tcp.TH_SYN:
                nxt[(src, dst)] = tcp.seq + 1
                continue
            if not tcp.data or conn not in client:
                continue
            d = ORIG if client[conn] == src else RESP
            key = (src, dst)
            exp = nxt.get(key, tcp.seq)
            data = bytes(tcp.data)
            if tcp.seq < exp:  # retransmission / overlap: keep the new part only
                data = data[exp - tcp.seq:]
                if not data:
                    continue
            elif tcp.seq > exp:
                out.setdefault(conn, []).append((d, tcp.seq - exp, ts))
            nxt[key] = max(exp, tcp.seq) + len(data)
            out.setdefault(conn, []).append((d, data, ts))
    return out


CORPUS_HTTP = REPO.parent / "shared" / "corpus" / "captures" / "zeek" / "http"


def sample_streams():
    paths = sorted(SAMPLES.glob("*.pcap"))
    # a few corpus streams too: pipelining, 100-continue, chunked methods, a gap (bro.org), deflate
    paths += [CORPUS_HTTP / n for n in ("pipelined-requests.pcap", "100-continue.pcap", "methods.pcap",
                                        "bro.org.pcap", "missing-zlib-header.pcap", "multipart.pcap")
              if (CORPUS_HTTP / n).exists()]
    for p in paths:
        for i, (conn, ev) in enumerate(streams(p).items()):
            if "methods" in p.name and i % 8:
                continue      # 49 short connections: a sample of them is enough
            yield pytest.param(ev, id=f"{p.stem}-{i}")


# -- RFC 9112 edge cases ---------------------------------------------------------------------------

def test_pipelined_keepalive_and_head_without_body():
    tx, _, we = run([
        req(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n"),
        resp(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
             b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"          # HEAD: no body despite CL
             b"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"),   # 204: no body
    ])
    assert [(t.trans_depth, t.method, t.uri, t.status_code, t.response_body_len) for t in tx] == [
        (1, "GET", "/a", 200, 3), (2, "HEAD", "/b", 200, 0), (3, "GET", "/c", 204, 0)]
    assert tx[0].response_body_sha256 == sha(b"abc")
    assert [("pipelined" in t.tags) for t in tx] == [False, True, True]
    assert not any(t.incomplete for t in tx) and we == []


def test_interim_responses_stay_with_their_request():
    tx, hd, _ = run([
        req(b"POST /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", 1.0),
        resp(b"HTTP/1.1 100 Continue\r\n\r\n", 1.5),
        req(b"hello", 2.0),
        resp(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
             b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 3.0),
    ])
    (t,) = tx
    assert (t.status_code, t.info_code, t.info_msg, t.request_body_len) == (201, 103, "Early Hints", 5)
    assert t.request_body_sha256 == sha(b"hello")
    assert t.ttfb == pytest.approx(0.5)       # first (interim) response byte - request start (body came later)
    assert t.duration == pytest.approx(2.0)
    assert [h.direction for h in hd if h.name == "Link"] == ["interim"]


def test_te_and_cl_means_chunked_and_smuggling():
    tx, _, we = run([
        req(b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
        resp(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ])
    assert [t.uri for t in tx] == ["/x", "/next"]
    assert tx[0].request_body_len == 3 and "smuggling" in tx[0].tags
    assert "http_te_cl_conflict" in we


def test_differing_content_length_flagged():
    tx, _, we = run([req(b"POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabc"),
                     resp(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok")])
    assert we.count("http_content_length_mismatch") == 1      # "2, 2" (same values) is fine
    assert tx[0].request_body_len == 3 and "smuggling" in tx[0].tags
    assert tx[0].response_body_len == 2


def test_bad_chunk_size_resyncs_on_next_request():
    tx, _, we = run([req(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"10000000000000000\r\nzzz\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n")])
    assert [t.uri for t in tx] == ["/", "/smuggled"]
    assert tx[0].incomplete and "http_bad_chunk" in we


def test_response_read_until_close_and_bare_lf_obs_fold_leading_empty_lines():
    tx, hd, we = run([
        req(b"\r\n\r\nGET /old HTTP/1.0\nHost: h\nX-Long: a\n  b\n\n"),
        resp(b"HTTP/1.0 200 OK\nContent-Type: text/plain\n\npart1 "),
        resp(b"part2", 3.0),
    ])
    (t,) = tx
    assert t.response_body_len == 11 and t.response_body_sha256 == sha(b"part1 part2")
    assert not t.incomplete                       # the close ends a read-until-close body
    assert ("X-Long", "a b") in [(h.name, h.value) for h in hd]
    assert "http_bare_lf" in we and "http_obs_fold" in we


def test_connect_tunnel_stops_parsing():
    tx, _, we = run([
        req(b"CONNECT mail.example:25 HTTP/1.1\r\nHost: mail.example:25\r\n\r\n"),
        resp(b"HTTP/1.1 200 Connection established\r\n\r\n"),
        req(b"EHLO x\r\n", 3.0), resp(b"220 smtp ready\r\n", 3.5),
    ])
    (t,) = tx
    assert "tunnel" in t.tags and t.status_code == 200 and not t.incomplete
    assert we == []                                 # the SMTP inside is not parsed as HTTP


def test_refused_connect_keeps_parsing_held_requests():
    tx, _, _ = run([
        req(b"CONNECT x:443 HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n"),
        resp(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
    ])
    assert [(t.method, t.status_code) for t in tx] == [("CONNECT", 403), ("GET", 200)]


def test_h2_preface_and_h2c_upgrade():
    tx, _, we = run([req(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00"),
                     resp(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")])
    assert [(t.method, t.version, t.tags) for t in tx] == [("PRI", "2.0", ("h2_preface",))]
    assert we == ["http2_preface"]
    tx, _, _ = run([req(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n"),
                    resp(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04")])
    assert tx[0].status_code == 101 and {"h2c", "upgrade"} <= set(tx[0].tags)


def test_gap_inside_body_keeps_sync():
    body = b"x" * 1000
    tx, _, we = run([
        req(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
        resp(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + body[:300]),
        (RESP, 400, 2.1),
        resp(body[700:] + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 2.2),
    ])
    assert [(t.uri, t.response_body_len, t.incomplete) for t in tx] == [("/1", 1000, True), ("/2", 2, False)]
    assert tx[0].response_body_sha256 is None and "gap" in tx[0].tags
    assert tx[1].response_body_sha256 == sha(b"ok")
    assert "http_content_gap" in we


def test_gap_in_headers_resyncs():
    tx, _, we = run([
        req(b"GET /1 HTTP/1.1\r\nHost: h\r\nUser-"),
        (ORIG, 500, 1.1),
        req(b"garbage tail of something\r\nmore\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n", 1.2),
        resp(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n"),
    ])
    assert [(t.uri, t.status_code, t.incomplete) for t in tx] == [("/1", 200, True), ("/2", 404, False)]
    assert "http_resync_skipped" in we


def test_caps_are_weirds():
    caps = Caps()
    caps.header_count = 5
    caps.line_length = 200
    hdrs = b"".join(b"X-%d: v\r\n" % i for i in range(20))
    tx, hd, we = run([req(b"GET / HTTP/1.1\r\n" + hdrs + b"X-Long: " + b"a" * 500 + b"\r\n\r\n"),
                      resp(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")], caps=caps)
    assert len(tx) == 1 and tx[0].status_code == 200 and tx[0].incomplete
    assert len([h for h in hd if h.direction == "request"]) == 5
    assert "http_header_cap" in we and "http_line_too_long" in we


def test_unmatched_response_and_no_response():
    tx, _, we = run([resp(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])
    assert tx[0].method is None and "orphan_response" in tx[0].tags
    assert "http_unmatched_response" in we
    tx, _, _ = run([req(b"GET / HTTP/1.1\r\n\r\n")])
    assert tx[0].status_code is None and tx[0].incomplete and "no_response" in tx[0].tags


@pytest.mark.parametrize("coding,encode", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),                                           # zlib-wrapped (RFC 9110)
    ("deflate", lambda b: zlib.compress(b)[2:-4]),                        # raw deflate (common)
    ("br", brotli.compress),
    ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ("gzip, br", lambda b: brotli.compress(gzip.compress(b))),            # stacked: undone in reverse
])
def test_content_codings(coding, encode):
    body = b"".join(b"line %d of a compressible body\n" % i for i in range(2000))
    enc = encode(body)
    tx, _, we = run([req(b"GET / HTTP/1.1\r\n\r\n"),
                     resp(b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                          % coding.encode() + b"".join(b"%x\r\n%s\r\n" % (len(enc[i:i + 999]), enc[i:i + 999])
                                                      for i in range(0, len(enc), 999)) + b"0\r\n\r\n")],
                     chunk=lambda d: [d[i:i + 97] for i in range(0, len(d), 97)])
    (t,) = tx
    assert t.response_body_len == len(enc)
    assert t.response_decoded_len == len(body) and t.response_body_sha256 == sha(body)
    assert we == []


def test_corrupt_gzip_is_a_weird_not_an_exception():
    tx, _, we = run([req(b"GET / HTTP/1.1\r\n\r\n"),
                     resp(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n\x1f\x8bxxxxxxxx")])
    assert "decode_error" in tx[0].tags and "http_content_decoding_error" in we


def test_gzip_bomb_capped():
    bomb = gzip.compress(b"\0" * (30 << 20), 9)
    caps = Caps()
    caps.decompressed_bytes = 4 << 20
    caps.decompression_ratio = 10**6
    tx, _, we = run([req(b"GET /b HTTP/1.1\r\n\r\n"),
                     resp(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb)],
                    caps=caps)
    (t,) = tx
    assert t.response_decoded_len == 4 << 20 and t.response_body_len == len(bomb)
    assert "decompression_bomb" in t.tags and we == ["http_decompression_bomb"]
    tx, _, we = run([req(b"GET /b HTTP/1.1\r\n\r\n"),
                     resp(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb)])
    assert we == ["http_decompression_bomb"]       # default ratio cap (1000) trips first
    assert tx[0].response_decoded_len < 30 << 20


def test_byteranges_and_filename():
    body = (b"--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-3/20\r\n\r\nabcd\r\n"
            b"--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-13/20\r\n\r\nklmn\r\n--B--\r\n")
    tx, _, _ = run([req(b"GET /f HTTP/1.1\r\nRange: bytes=0-3,10-13\r\n\r\nGET /dl HTTP/1.1\r\n\r\n"),
                    resp(b"HTTP/1.1 206 Partial Content\r\nContent-Type: multipart/byteranges; boundary=B\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body +
                         b"HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n"
                         b"Content-Length: 1\r\n\r\nx")],
                   chunk=lambda d: [d[i:i + 5] for i in range(0, len(d), 5)])
    assert tx[0].range == "bytes=0-3,10-13 -> bytes 0-3/20; bytes 10-13/20"
    assert tx[1].response_filename == "résumé.pdf"


def test_http10_keepalive_and_missing_version():
    tx, _, we = run([req(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b\r\n\r\n"),
                     resp(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na"
                          b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb")])
    assert [(t.uri, t.version, t.status_code) for t in tx] == [("/a", "1.0", 200), ("/b", "0.9", 200)]
    assert "keep_alive_1.0" in tx[0].tags and "http_bad_request_line" in we


def test_probe():
    assert probe(ORIG, b"GET / HTTP/1.1\r\n") is True
    assert probe(ORIG, b"GE") is None
    assert probe(ORIG, b"PROPFIND /x HTTP/1.1\r\n") is True
    assert probe(RESP, b"HTTP/1.1 200 OK\r\n") is True
    assert probe(RESP, b"HTTP/1") is None
    for bad in (b"\x16\x03\x01\x02\x00", b"EHLO example.org\r\n", b"SSH-2.0-OpenSSH\r\n", b"220 mail ESMTP\r\n"):
        assert probe(ORIG, bad) is False and probe(RESP, bad) is False
    assert probe(ORIG, b"GET /x", "udp") is False


# -- split anywhere: the same records whatever the chunking ------------------------------------------

def _signature(result):
    tx, hd, we = result
    return tx, hd, Counter(we)


@pytest.mark.parametrize("events", list(sample_streams()))
def test_split_anywhere_same_records(events):
    whole = _signature(run(events))
    assert whole[0], "no transactions in sample stream"
    rng = random.Random(1234)
    for _ in range(3):
        def rnd(d):
            out, i = [], 0
            while i < len(d):
                n = rng.choice((1, 2, 3, 7, 64, 1000, 5000))
                out.append(d[i:i + n])
                i += n
            return out
        assert _signature(run(events, chunk=rnd)) == whole
    small = sum(len(d) for _, d, _ in events if not isinstance(d, int)) < 60_000
    if small:  # byte by byte on the smaller streams
        assert _signature(run(events, chunk=lambda d: [d[i:i + 1] for i in range(len(d))])) == whole


def test_split_at_every_offset_of_a_small_exchange():
    data_req = (b"POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n0\r\nT: 1\r\n\r\n"
                b"GET /g HTTP/1.1\r\nHost: h\r\n\r\n")
    data_resp = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                 b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(gzip.compress(b"zz"))
                 + gzip.compress(b"zz"))
    whole = _signature(run([req(data_req), resp(data_resp)]))
    assert len(whole[0]) == 2
    for i in range(len(data_req) + 1):
        assert _signature(run([req(data_req[:i]), req(data_req[i:]), resp(data_resp)])) == whole, i
    for i in range(len(data_resp) + 1):
        assert _signature(run([req(data_req), resp(data_resp[:i]), resp(data_resp[i:])])) == whole, i


# -- no quadratic paths --------------------------------------------------------------------------------

def _scan_long_line(n: int, piece_len: int) -> int:
    caps = Caps()
    caps.line_length = 1 << 30
    caps.header_bytes = 1 << 30
    sink: list = []
    an = HttpAnalyzer(FlowContext.for_test(sink, options=Options(strict=True, caps=caps)))
    an.feed(ORIG, b"GET / HTTP/1.1\r\nX-A: ", 0.0)
    piece = b"a" * piece_len
    for _ in range(n // piece_len):
        an.feed(ORIG, piece, 0.0)
    an.feed(ORIG, b"\r\n\r\n", 0.0)
    an.close(1.0)
    assert len([r for r in sink if isinstance(r, HttpTransaction)]) == 1
    return an.sides[0].scanned


def test_long_single_line_is_linear():
    # bytes searched for line/block ends grow like the input (a rescan per chunk would be quadratic)
    small = _scan_long_line(1 << 20, 100)
    big = _scan_long_line(8 << 20, 100)
    assert small < 2 * (1 << 20) and big < 2 * (8 << 20)
    assert big / small < 9


def test_long_chunked_body_with_small_chunks_is_linear():
    def scanned(n):
        sink: list = []
        an = HttpAnalyzer(FlowContext.for_test(sink, options=Options(strict=True)))
        an.feed(ORIG, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0.0)
        chunk = b"5\r\nhello\r\n"
        for _ in range(n):
            an.feed(ORIG, chunk[:4], 0.0)
            an.feed(ORIG, chunk[4:], 0.0)
        an.feed(ORIG, b"0\r\n\r\n", 0.0)
        an.close(1.0)
        (t,) = [r for r in sink if isinstance(r, HttpTransaction)]
        assert t.request_body_len == 5 * n
        return an.sides[0].scanned
    assert scanned(40000) / scanned(10000) < 4.5


# -- range stitching -------------------------------------------------------------------------------------

def test_range_stitching_across_responses_and_byteranges():
    from dissect.http.ranges import HttpRangeObject, RangeStore

    obj = bytes(range(256)) * 4                              # 1024 bytes
    parts = [(0, 99), (500, 1023), (100, 499)]
    mp = b"".join(b"--SEP\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes %d-%d/1024\r\n\r\n"
                  % (a, b) + obj[a:b + 1] + b"\r\n" for a, b in parts[1:]) + b"--SEP--\r\n"
    resp_bytes = (b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/1024\r\nContent-Length: 100\r\n\r\n"
                  + obj[:100] +
                  b"HTTP/1.1 206 Partial Content\r\nContent-Type: multipart/byteranges; boundary=SEP\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(mp) + mp)
    req_bytes = b"GET /o.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=0-99\r\n\r\nGET /o.bin HTTP/1.1\r\nHost: h\r\n\r\n"
    for step in (1, 3, 17, 4096):
        store = RangeStore(Options())
        sink: list = []
        an = HttpAnalyzer(FlowContext.for_test(sink, options=Options(strict=True), shared=store))
        an.feed(ORIG, req_bytes, 1.0)
        for i in range(0, len(resp_bytes), step):
            an.feed(RESP, resp_bytes[i:i + step], 2.0)
        an.close(3.0)
        (o,) = store.finalize()
        assert isinstance(o, HttpRangeObject)
        assert (o.total_size, o.covered_bytes, o.parts, o.complete) == (1024, 1024, 3, True), step
        assert o.sha256 == sha(obj)


def test_response_transfer_coding_without_chunked_reads_until_close():
    body = gzip.compress(b"payload " * 100)
    tx, _, we = run([req(b"GET / HTTP/1.1\r\n\r\n"),
                     resp(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n" + body)])
    (t,) = tx
    assert t.response_body_len == len(body) and t.response_decoded_len == 800
    assert "smuggling" not in t.tags and we == []


def test_authorization_user_and_secret():
    ev = [req(b"GET /a HTTP/1.1\r\nAuthorization: Basic YWxpY2U6czNjcjN0\r\nOrigin: http://o.example\r\n\r\n"
              b"GET /b HTTP/1.1\r\nAuthorization: Digest username=\"bob\", realm=\"r\", nonce=\"n\"\r\n\r\n"
              b"GET /c HTTP/1.1\r\nAuthorization: Bearer abc.def\r\n\r\n"),
          resp(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" * 3)]
    tx, _, _ = run(ev)
    assert [(t.auth_scheme, t.username, t.password) for t in tx] == [
        ("Basic", "alice", None), ("Digest", "bob", None), ("Bearer", None, None)]
    assert tx[0].origin == "http://o.example"
    tx, _, _ = run(ev, credentials=True)
    assert tx[0].password == "s3cr3t"


def test_binary_junk_resyncs_silently_and_linearly():
    rng = random.Random(7)
    junk = bytes(rng.getrandbits(8) for _ in range(300_000)).replace(b"HTTP/", b"XXXX/")
    sink: list = []
    an = HttpAnalyzer(FlowContext.for_test(sink, options=Options(strict=True)))
    an.feed(ORIG, b"\x16\x03\x01\x00\xa5", 0.0)        # TLS on port 80
    for i in range(0, len(junk), 1400):
        an.feed(ORIG, junk[i:i + 1400], 0.0)
    an.feed(ORIG, b"\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n", 1.0)
    an.feed(RESP, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2.0)
    an.close(3.0)
    tx = [r for r in sink if isinstance(r, HttpTransaction)]
    assert [t.uri for t in tx] == ["/after"]
    names = Counter(r.name for r in sink if isinstance(r, Weird))
    assert names["http_bad_request_line"] == 1 and names["http_resync_skipped"] == 1
    assert an.sides[0].scanned < 2 * len(junk)
