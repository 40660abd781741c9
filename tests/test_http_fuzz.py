"""Property tests: any bytes in any chunking give records and declared weirds, never an exception, and
the analyzer's buffers stay under the caps. Seeds: real request/response streams of the samples."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissect.analyzer import ORIG, RESP, FlowContext
from dissect.http import HttpAnalyzer, probe
from dissect.http.codings import DecoderChain
from dissect.http.records import HttpTransaction
from dissect.options import Caps, Options
from dissect.weird import WEIRDS, Weird

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "http"

SEED_REQ = (b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"
            b"Content-Type: multipart/form-data; boundary=X\r\n\r\n5;e=1\r\n--X\r\n\r\n0\r\nT: v\r\n\r\n"
            b"GET /a HTTP/1.0\nConnection: keep-alive\n\nCONNECT h:443 HTTP/1.1\r\n\r\n")
SEED_RESP = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Encoding: br\r\n\r\nabc"
             b"HTTP/1.1 206 Partial\r\nContent-Type: multipart/byteranges; boundary=B\r\n"
             b"Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\ntunnel")

CAPS = Caps()
CAPS.line_length = 256
CAPS.header_count = 8
CAPS.header_bytes = 1024
CAPS.decompressed_bytes = 1 << 16
CAPS.http_pending = 4


def _run(events, extract=False):
    sink: list = []
    ctx = FlowContext.for_test(sink, options=Options(strict=True, http_headers=True, http_body_bytes=64, caps=CAPS),
                               resp=("10.0.0.2", 80))
    an = HttpAnalyzer(ctx)
    for d, data, ts in events:
        if isinstance(data, int):
            an.gap(d, data, ts)
        else:
            an.feed(d, data, ts)
        for side in an.sides:   # buffers bounded: a line + header block, or a held CONNECT/Upgrade
            assert len(side.buf) - side.off <= CAPS.line_length + CAPS.header_bytes + 65536
    an.close(99.0)
    for r in sink:
        if isinstance(r, Weird):
            assert r.name in WEIRDS
    return sink


def _mutate(data: bytes, muts) -> bytes:
    b = bytearray(data)
    for pos, val in muts:
        if b:
            b[pos % len(b)] = val
    return bytes(b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([ORIG, RESP]), st.binary(max_size=300)), max_size=12))
def test_random_bytes_never_raise(chunks):
    _run([(d, data, float(i)) for i, (d, data) in enumerate(chunks)])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=12),
       st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=12),
       st.integers(1, 64), st.lists(st.tuples(st.sampled_from([ORIG, RESP]), st.integers(1, 5000)), max_size=2))
def test_mutated_seeds_never_raise(mreq, mresp, step, gaps):
    rq, rs = _mutate(SEED_REQ, mreq), _mutate(SEED_RESP, mresp)
    ev = []
    for i in range(0, max(len(rq), len(rs)), step):
        ev.append((ORIG, rq[i:i + step], 1.0 + i))
        ev.append((RESP, rs[i:i + step], 1.5 + i))
    for k, (d, n) in enumerate(gaps):
        ev.insert(min(len(ev), 3 + 5 * k), (d, n, 2.0))
    sink = _run(ev)
    assert all(isinstance(r, HttpTransaction) for r in sink if getattr(r, "__table__", "") == "http_transactions")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["gzip", "deflate", "br", "zstd", "gzip,br", "x-gzip"]),
       st.integers(1, 50))
def test_decoders_never_raise(data, coding, step):
    out = []
    ch = DecoderChain(coding.split(","), out.append, 1 << 16, 100)
    for i in range(0, len(data), step):
        ch.feed(data[i:i + step])
    ch.finish()
    assert ch.state in ("ok", "error", "bomb")
    assert sum(map(len, out)) <= 1 << 16


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([ORIG, RESP]), st.binary(max_size=64), st.sampled_from(["tcp", "udp"]))
def test_probe_never_raises(direction, data, proto):
    assert probe(direction, data, proto) in (True, False, None)
