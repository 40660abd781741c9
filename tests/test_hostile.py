"""Hostile input across every parser, and every resource cap.

1. Properties (hypothesis): random bytes, and real inputs (the committed fuzz seeds, made from the
   samples and the shared corpus) mutated at random, never raise in any parser: the fuzz targets
   of ``fuzz/targets`` are the harnesses (strict mode: an analyzer exception is not swallowed).
2. Caps: every field of :class:`dissect.options.Caps` is exercised with a small value; hitting it is
   a named, declared weird (``CAP_WEIRDS`` below; a test fails when a new cap has no entry), and the
   work stays bounded (buffers at most the cap).
"""

from __future__ import annotations

import gzip
import struct
import sys
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissect.analyzer import ORIG, RESP, FlowContext
from dissect.options import Caps, Options
from dissect.packet import ACK, SYN, Packet
from dissect.weird import WEIRDS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fuzz"))
import run as fuzz_run  # noqa: E402

NAMES = fuzz_run.target_names()
_T: dict = {}


def target(name):
    if name not in _T:
        _T[name] = fuzz_run.load(name).target
    return _T[name]


SEEDS = {n: [p.read_bytes() for p in sorted((ROOT / "fuzz" / "seeds" / n).glob("*"))] or [b""] for n in NAMES}
# the slow parsers (a 1 MiB key localisation per new engine id, whole pipeline) get fewer examples
FAST = [n for n in NAMES if n not in ("usm", "pipeline", "keys")]


# --------------------------------------------------------------------------- properties

@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(FAST), st.binary(max_size=600))
def test_random_bytes_never_raise(name, data):
    target(name)(data)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(FAST), st.data())
def test_mutated_real_inputs_never_raise(name, data):
    seed = bytearray(data.draw(st.sampled_from(SEEDS[name])))
    for _ in range(data.draw(st.integers(1, 8))):
        if not seed:
            break
        op = data.draw(st.integers(0, 3))
        pos = data.draw(st.integers(0, len(seed) - 1))
        if op == 0:
            seed[pos] = data.draw(st.integers(0, 255))
        elif op == 1:
            del seed[pos:pos + data.draw(st.integers(1, 64))]
        elif op == 2:
            seed[pos:pos] = data.draw(st.binary(min_size=1, max_size=32))
        else:   # interesting integers for length fields
            seed[pos:pos + 4] = data.draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00",
                                                             b"\x80\x00\x00\x00", b"\x84\xff\xff\xff"]))
    target(name)(bytes(seed))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["usm", "keys", "pipeline"]), st.data())
def test_slow_parsers_mutated_never_raise(name, data):
    seed = bytearray(data.draw(st.sampled_from(SEEDS[name])))
    for _ in range(data.draw(st.integers(0, 4))):
        if seed:
            seed[data.draw(st.integers(0, len(seed) - 1))] = data.draw(st.integers(0, 255))
    target(name)(bytes(seed[:data.draw(st.integers(0, len(seed)))]))


# --------------------------------------------------------------------------- cap helpers

def names(sink) -> list[str]:
    out = [r.name for r in sink if getattr(r, "__table__", "") == "weirds"]
    assert all(n in WEIRDS for n in out), out
    return out


def smtp(script, caps, **opts):
    from dissect.smtp import SmtpAnalyzer
    sink: list = []
    an = SmtpAnalyzer(FlowContext.for_test(sink, options=Options(strict=True, caps=caps, **opts)))
    for i, (d, data) in enumerate(script):
        an.feed(d, data, 1.0 + i)
    an.close(99.0)
    return sink, an


def http(req: bytes, resp: bytes, caps, step=65536, extractor=None, **opts):
    from dissect.http import HttpAnalyzer
    sink: list = []
    an = HttpAnalyzer(FlowContext.for_test(sink, resp=("10.0.0.2", 80), extractor=extractor,
                                           options=Options(strict=True, caps=caps, **opts)))
    for i in range(0, max(len(req), len(resp)), step):
        if req[i:i + step]:
            an.feed(ORIG, req[i:i + step], 1.0)
        if resp[i:i + step]:
            an.feed(RESP, resp[i:i + step], 2.0)
    an.close(99.0)
    return sink, an


def mime(msg: bytes, caps, **opts):
    from dissect.mime import MimeStream
    sink: list = []
    ctx = FlowContext.for_test(sink, options=Options(strict=True, caps=caps, **opts))
    ms = MimeStream(ctx, source="smtp", trans_depth=1, ts=1.0)
    ms.feed(msg)
    ms.close(2.0, complete=True)
    return sink, ms


def snmp(datagrams, caps):
    from dissect.snmp.analyzer import SnmpAnalyzer, SnmpShared
    opts = Options(strict=True, caps=caps)
    sink: list = []
    ctx = FlowContext("Csnmp", "10.0.0.1", 40000, "10.0.0.2", 161, "udp", sink.append, opts, SnmpShared(opts))
    an = SnmpAnalyzer(ctx)
    for i, (d, dg) in enumerate(datagrams):
        an.feed(d, dg, 1.0 + i)
    an.close(99.0)
    return sink


def ber(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 128:
        return bytes([tag, n]) + content
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(b)]) + b + content


def ber_int(v: int) -> bytes:
    return ber(2, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def snmp_v2c(pdu_tag: int, req_id: int, varbinds: list[bytes], community=b"public") -> bytes:
    pdu = ber(pdu_tag, ber_int(req_id) + ber_int(0) + ber_int(0) + ber(0x30, b"".join(varbinds)))
    return ber(0x30, ber_int(1) + ber(4, community) + pdu)


def varbind(oid: bytes = b"\x2b\x06\x01\x02\x01\x01\x01\x00", value: bytes = b"\x05\x00") -> bytes:
    return ber(0x30, ber(6, oid) + value)


def pkt(ts, src, sport, dst, dport, proto=17, flags=0, seq=0, payload=b"x", plen=None):
    plen = len(payload) if plen is None else plen
    return Packet(ts, 4, src, dst, proto, sport, dport, flags, seq, 0, 1000, payload, plen, 28 + plen, 42 + plen)


def run_packets(packets, caps):
    from dissect.pipeline import Pipeline
    pl = Pipeline(Options(strict=True, caps=caps))
    for p in packets:
        pl.feed_packet(p)
    return pl.finish()


A, B = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"
GREETING = (RESP, b"220 mx ESMTP\r\n")


# --------------------------------------------------------------------------- one test per cap

def cap_max_flows():
    an = run_packets([pkt(1.0 + i, A, 1000 + i, B, 9999) for i in range(20)], Caps(max_flows=5))
    w = [x.name for x in an.records["weirds"]]
    assert "flow_cap_evicted" in w
    assert len(an.records["flows"]) == 20          # evicted flows are reported, not lost
    return w


def cap_flow_idle_timeout():
    p = [pkt(1.0, A, 1000, B, 80, 6, SYN, 1, b"", 0), pkt(2.0, A, 1000, B, 80, 6, ACK, 2, b"a"),
         pkt(500.0, A, 1000, B, 80, 6, ACK, 3, b"b")]
    an = run_packets(p, Caps(flow_idle_timeout=100.0))
    assert len(an.records["flows"]) == 2           # split by the idle timeout (not an anomaly: no weird)
    return ["(split)"]


def cap_udp_idle_timeout():
    an = run_packets([pkt(1.0, A, 1000, B, 53), pkt(100.0, A, 1000, B, 53)], Caps(udp_idle_timeout=10.0))
    assert len(an.records["flows"]) == 2
    return ["(split)"]


def _ooo(caps):
    # SYN, then 50 segments each leaving a hole before it: all buffered out of order
    p = [pkt(1.0, A, 1000, B, 7777, 6, SYN, 100, b"", 0)]
    for i in range(50):
        p.append(pkt(2.0 + i, A, 1000, B, 7777, 6, ACK, 101 + 100 * (i + 1), b"z" * 50))
    an = run_packets(p, caps)
    f = an.records["flows"][0]
    assert f.missed_bytes >= 100
    return [x.name for x in an.records["weirds"]]


def cap_tcp_ooo_bytes():
    return _ooo(Caps(tcp_ooo_bytes=500))


def cap_tcp_ooo_segments():
    return _ooo(Caps(tcp_ooo_segments=4))


def _frag(caps, n=20, size=8, gap_ts=0.0):
    from dissect.decode import PacketDecoder
    sink: list = []
    d = PacketDecoder(caps, sink.append)
    for i in range(n):
        # IPv4 first fragments (MF set, offset 0) of n different datagrams: all stay pending
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + size, i, 0x2000, 64, 17, 0, A, B) + b"u" * size
        d.decode(1.0 + i * gap_ts, 101, ip, len(ip))
    assert d.defrag.pending <= caps.frag_pending
    d.flush(100.0)
    return [w.name for w in sink]


def cap_frag_pending():
    return _frag(Caps(frag_pending=4))


def cap_frag_bytes():
    return _frag(Caps(frag_bytes=70_000), n=5, size=30_000)


def cap_frag_timeout():
    return _frag(Caps(frag_timeout=5.0), n=3, gap_ts=10.0)


def cap_line_length():
    s, _ = smtp([GREETING, (ORIG, b"EHLO " + b"a" * 5000 + b"\r\nQUIT\r\n")], Caps(line_length=1000))
    h, _ = http(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"", Caps(line_length=1000))
    m, _ = mime(b"Subject: " + b"b" * 5000 + b"\r\n\r\nbody\r\n", Caps(line_length=1000))
    w = names(s) + names(h) + names(m)
    assert {"smtp_line_too_long", "http_line_too_long", "mime_long_line"} <= set(w), w
    return w


def cap_header_count():
    hdrs = b"".join(b"X-%d: v\r\n" % i for i in range(100))
    h, _ = http(b"GET / HTTP/1.1\r\n" + hdrs + b"\r\n", b"", Caps(header_count=10))
    m, _ = mime(hdrs + b"\r\nbody\r\n", Caps(header_count=10))
    w = names(h) + names(m)
    assert {"http_header_cap", "mime_header_cap"} <= set(w), w
    return w


def cap_header_bytes():
    hdrs = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 200) for i in range(50))
    h, _ = http(b"GET / HTTP/1.1\r\n" + hdrs + b"\r\n", b"", Caps(header_bytes=2048))
    m, _ = mime(hdrs + b"\r\nbody\r\n", Caps(header_bytes=2048))
    w = names(h) + names(m)
    assert {"http_header_cap", "mime_header_cap"} <= set(w), w
    return w


def cap_smtp_pending_commands():
    s, an = smtp([GREETING, (ORIG, b"NOOP\r\n" * 100)], Caps(smtp_pending_commands=8))
    assert len(an._pending) <= 8
    return names(s)


def _multipart(depth: int, parts: int) -> bytes:
    body = b"leaf\r\n"
    for d in range(depth):
        b = b"B%d" % d
        body = (b"Content-Type: multipart/mixed; boundary=" + b + b"\r\n\r\n--" + b + b"\r\n" + body +
                b"\r\n--" + b + b"--\r\n")
    if parts:
        body = (b"Content-Type: multipart/mixed; boundary=P\r\n\r\n" +
                b"".join(b"--P\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(parts)) + b"--P--\r\n")
    return b"From: a@b\r\n" + body


def cap_mime_depth():
    m, _ = mime(_multipart(50, 0), Caps(mime_depth=8))
    rows = [r for r in m if getattr(r, "__table__", "") == "mime_parts"]
    assert rows and max(r.part_id.count(".") for r in rows) <= 8
    return names(m)


def cap_mime_parts():
    m, _ = mime(_multipart(0, 500), Caps(mime_parts=50))
    rows = [r for r in m if getattr(r, "__table__", "") == "mime_parts"]
    assert len(rows) <= 51
    return names(m)


def cap_body_memory():
    """Bodies bigger than body_memory spill to a temporary file (not an anomaly: no weird); the
    in-memory part of every spool is at most the cap, and the extracted object is still whole."""
    import hashlib
    import tempfile
    from unittest import mock

    from dissect.extract import Extractor
    from dissect.http import HttpAnalyzer

    spools = []
    real = tempfile.SpooledTemporaryFile

    class Spy(real):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            spools.append(self)

        def write(self, b):
            n = super().write(b)
            if not self._rolled:
                assert self._file.tell() <= self._max_size
            return n

    body = bytes(range(256)) * 4000           # ~1 MB
    out = Path(tempfile.mkdtemp())
    sink: list = []
    with mock.patch.object(tempfile, "SpooledTemporaryFile", Spy):
        an = HttpAnalyzer(FlowContext.for_test(sink, resp=("10.0.0.2", 80), extractor=Extractor(out),
                                               options=Options(strict=True, caps=Caps(body_memory=4096),
                                                               extract_dir=out)))
        an.feed(ORIG, b"GET /f.bin HTTP/1.1\r\nHost: h\r\n\r\n", 1.0)
        an.feed(RESP, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body), 2.0)
        rolled = []
        for i in range(0, len(body), 8192):
            an.feed(RESP, body[i:i + 8192], 2.0)
            rolled += [sp._rolled for sp in spools if not sp.closed]
        an.close(3.0)
    assert spools and all(sp._max_size == 4096 for sp in spools)
    assert any(rolled), "the body never spilled to disk"
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(hashlib.sha256(p.read_bytes()).digest() == hashlib.sha256(body).digest() for p in files), files
    return names(sink) + ["(spilled)"]


def cap_message_bytes():
    big = b"x" * 200 + b"\r\n"
    s, _ = smtp([GREETING, (ORIG, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
                 (RESP, b"250 ok\r\n250 ok\r\n354 go\r\n"),
                 (ORIG, b"Subject: s\r\n\r\n" + big * 100 + b".\r\n")], Caps(message_bytes=4096))
    import tempfile
    from dissect.extract import Extractor
    out = Path(tempfile.mkdtemp())
    h, _ = http(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + b"y" * 20000,
                Caps(message_bytes=4096), extractor=Extractor(out), extract_dir=out)
    m, _ = mime(b"Subject: s\r\n\r\n" + big * 100, Caps(message_bytes=4096))
    w = names(s) + names(h) + names(m)
    assert {"mime_message_cap", "http_body_cap"} <= set(w) and \
        ({"smtp_message_too_big", "mime_message_cap"} & set(names(s))), w
    return w


def _bomb_bodies():
    zeros = bytes(8 << 20)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = co.compress(zeros) + co.flush()
    return {"gzip": gzip.compress(zeros, 9), "deflate": zlib.compress(zeros, 9), "deflate-raw": raw,
            "br": brotli.compress(zeros), "zstd": zstandard.ZstdCompressor().compress(zeros)}


BOMBS = None


def _bombs(caps):
    global BOMBS
    if BOMBS is None:
        BOMBS = _bomb_bodies()
    w = []
    for coding, body in BOMBS.items():
        enc = "deflate" if coding.startswith("deflate") else coding
        resp = (b"HTTP/1.1 200 OK\r\nContent-Encoding: " + enc.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
                + body)
        sink, _ = http(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", resp, caps)
        got = names(sink)
        assert "http_decompression_bomb" in got, (coding, got)
        tx = [r for r in sink if getattr(r, "__table__", "") == "http_transactions"][0]
        assert tx.response_decoded_len is None or tx.response_decoded_len <= caps.decompressed_bytes, coding
        w += got
    return w


def cap_decompressed_bytes():
    return _bombs(Caps(decompressed_bytes=1 << 20, decompression_ratio=10 ** 9))


def cap_decompression_ratio():
    return _bombs(Caps(decompressed_bytes=1 << 30, decompression_ratio=100))


def cap_ber_depth():
    deep = b"\x05\x00"
    for _ in range(60):
        deep = ber(0x30, deep)
    return names(snmp([(ORIG, snmp_v2c(0xA2, 1, [varbind(value=deep)]))], Caps(ber_depth=16)))


def cap_ber_length():
    big = varbind(value=ber(4, b"s" * 5000))
    return names(snmp([(ORIG, snmp_v2c(0xA2, 1, [big]))], Caps(ber_length=1024)))


def cap_ber_elements():
    return names(snmp([(ORIG, snmp_v2c(0xA2, 1, [varbind()] * 50))], Caps(ber_elements=10)))


def cap_oid_arcs():
    long_oid = b"\x2b" + b"\x01" * 300
    return names(snmp([(ORIG, snmp_v2c(0xA0, 1, [varbind(long_oid)]))], Caps(oid_arcs=64)))


def cap_snmp_pending_requests():
    return names(snmp([(ORIG, snmp_v2c(0xA0, i, [varbind()])) for i in range(40)], Caps(snmp_pending_requests=8)))


def cap_snmp_wordlist_words():
    import tempfile
    from dissect.snmp import audit
    from dissect.snmp.analyzer import SnmpShared
    from test_snmp_audit import _hc_samples
    wl = Path(tempfile.mkdtemp()) / "w.txt"
    wl.write_text("\n".join(f"word{i:05d}" for i in range(50)))
    sh = SnmpShared(Options(snmp_wordlist=wl, caps=Caps(snmp_wordlist_words=10)))
    sh.auth_samples.extend(_hc_samples())
    return [getattr(w, "name", None) for w in audit.finalize(sh, {}) if getattr(w, "__table__", "") == "weirds"]


def cap_http_pending():
    req = b"".join(b"GET /%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(30))
    sink, an = http(req, b"", Caps(http_pending=4))
    return names(sink)


def test_stream_rows_bounds_rows_in_memory():
    """With a stream folder, at most about Options.stream_rows rows stay in memory (written out during
    the pass; a buffer size, not a cap or an anomaly). Equality with in-memory runs: tests/test_spill.py."""
    import tempfile
    from dissect.pipeline import Pipeline
    out = Path(tempfile.mkdtemp())
    pl = Pipeline(Options(strict=True, stream_dir=out, stream_format="csv", stream_rows=25,
                          caps=Caps(flow_idle_timeout=1.0)))
    most = 0
    for i in range(300):
        pl.feed_packet(pkt(1.0 + i * 0.5, A, 1000 + i, B, 7777, 6, SYN, i, b"", 0))
        most = max(most, len(pl.sink))
    an = pl.finish()
    assert most < 300 and all(not rows for rows in an.records.values())
    assert an.stream_counts["flows"] == 300


#: cap -> (test function, the weird its hit must produce; None: not an anomaly, checked otherwise)

def cap_snmp_audit_keys():
    a = _analyze_file(SNMP_AUDIT, caps={"snmp_audit_keys": 2})
    assert len([f for f in a.records["snmp_findings"] if f.kind.endswith("_community")]) == 2
    return [w.name for w in a.records["weirds"]]


def cap_snmp_audit_hosts():
    a = _analyze_file(SNMP_AUDIT, caps={"snmp_audit_hosts": 2})
    (scan,) = [f for f in a.records["snmp_findings"] if f.kind == "community_scan"]
    assert len(scan.agents) == 2 and "at least" not in scan.evidence    # counted past the listing cap
    return [w.name for w in a.records["weirds"]]


def cap_snmp_audit_pending():
    a = _analyze_file(SNMP_AUDIT, caps={"snmp_audit_pending": 0})
    return [w.name for w in a.records["weirds"]]


def _analyze_file(path, **kw):
    import dissect
    if not path.exists():
        pytest.skip(f"sample {path.name} missing")
    return dissect.analyze([str(path)], **kw)


SNMP_AUDIT = ROOT / "samples" / "snmp-audit" / "snmp-audit.pcap"

CAP_WEIRDS = {
    "max_flows": (cap_max_flows, "flow_cap_evicted"),
    "flow_idle_timeout": (cap_flow_idle_timeout, None),
    "udp_idle_timeout": (cap_udp_idle_timeout, None),
    "tcp_ooo_bytes": (cap_tcp_ooo_bytes, "tcp_out_of_order_cap"),
    "tcp_ooo_segments": (cap_tcp_ooo_segments, "tcp_out_of_order_cap"),
    "frag_pending": (cap_frag_pending, "ip_fragment_cap"),
    "frag_timeout": (cap_frag_timeout, "ip_fragment_timeout"),
    "frag_bytes": (cap_frag_bytes, "ip_fragment_cap"),
    "line_length": (cap_line_length, "smtp_line_too_long"),
    "header_count": (cap_header_count, "http_header_cap"),
    "header_bytes": (cap_header_bytes, "mime_header_cap"),
    "smtp_pending_commands": (cap_smtp_pending_commands, "smtp_too_many_pending"),
    "mime_depth": (cap_mime_depth, "mime_depth_cap"),
    "mime_parts": (cap_mime_parts, "mime_parts_cap"),
    "body_memory": (cap_body_memory, None),
    "message_bytes": (cap_message_bytes, "http_body_cap"),
    "decompressed_bytes": (cap_decompressed_bytes, "http_decompression_bomb"),
    "decompression_ratio": (cap_decompression_ratio, "http_decompression_bomb"),
    "ber_depth": (cap_ber_depth, "snmp_ber_depth_cap"),
    "ber_length": (cap_ber_length, "snmp_ber_length_cap"),
    "ber_elements": (cap_ber_elements, "snmp_too_many_varbinds"),
    "oid_arcs": (cap_oid_arcs, "snmp_oid_too_long"),
    "snmp_pending_requests": (cap_snmp_pending_requests, "snmp_pending_cap"),
    "snmp_wordlist_words": (cap_snmp_wordlist_words, "snmp_wordlist_cap"),
    "http_pending": (cap_http_pending, "http_pending_cap"),
    "snmp_audit_keys": (cap_snmp_audit_keys, "snmp_audit_key_cap"),
    "snmp_audit_hosts": (cap_snmp_audit_hosts, "snmp_audit_host_cap"),
    "snmp_audit_pending": (cap_snmp_audit_pending, "snmp_audit_pending_cap"),
}


def test_every_cap_has_a_test():
    import dissect.mime  # noqa: F401  (declares the MIME weirds)
    from dissect.analyzer import load_protocols
    load_protocols()
    assert set(CAP_WEIRDS) == set(Caps.names()), set(Caps.names()) ^ set(CAP_WEIRDS)
    for fn, weird in CAP_WEIRDS.values():
        assert weird is None or weird in WEIRDS, weird


@pytest.mark.parametrize("cap", sorted(CAP_WEIRDS))
def test_cap_hit_is_a_named_weird(cap):
    fn, weird = CAP_WEIRDS[cap]
    got = fn()
    if weird is not None:
        assert weird in got, (cap, got)


def test_ber_element_cap_in_generic_walk():
    from dissect.snmp import ber as B
    data = ber(0x30, b"\x05\x00" * 100)
    with pytest.raises(B.BerError) as e:
        B.walk(data, 0, len(data), 32, 20)
    assert e.value.name == "snmp_ber_element_cap" and e.value.name in WEIRDS
