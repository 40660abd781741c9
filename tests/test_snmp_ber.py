"""The bounded BER reader and the message decoder: edge cases (hand-built bytes), caps, pyasn1 as
the oracle on hypothesis-generated messages, and hostile input (random bytes, mutated real
messages) that must never raise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissect.snmp.ber import BerError, frame_header, read_int, read_oid, read_uint, tlv, walk
from dissect.snmp.message import (Limits, decode_message, engine_id_info, looks_like_snmp,
                                  valid_scoped_pdu)

sys.path.insert(0, str(Path(__file__).parent))
from snmp_drive import CORPUS, SAMPLES, read_packets  # noqa: E402


def seq(tag: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + body


def integer(v: int) -> bytes:
    n = max(1, (v.bit_length() + 8) // 8)
    return seq(0x02, v.to_bytes(n, "big", signed=True))


def octets(b: bytes) -> bytes:
    return seq(0x04, b)


OID_SYSDESCR = bytes.fromhex("06082b06010201010100")


def v2c(pdu_tag: int, varbinds: bytes, community=b"public", rid=7) -> bytes:
    return seq(0x30, integer(1), octets(community), seq(pdu_tag, integer(rid), integer(0), integer(0), seq(0x30, varbinds)))


# ------------------------------------------------------------------ BER edge cases

def test_lengths_short_long_nonminimal_and_indefinite():
    assert tlv(b"\x04\x03abc", 0, 5) == (4, 2, 5)
    assert tlv(b"\x04\x81\x03abc", 0, 6) == (4, 3, 6)             # long form, non-minimal
    assert tlv(b"\x04\x84\x00\x00\x00\x03abc", 0, 9) == (4, 6, 9)  # 4 length octets
    with pytest.raises(BerError) as e:
        tlv(b"\x30\x80\x02\x01\x00\x00\x00", 0, 7)
    assert e.value.name == "snmp_ber_indefinite_length"
    with pytest.raises(BerError) as e:
        tlv(b"\x04\x05abc", 0, 5)
    assert e.value.name == "snmp_bad_ber_length"
    with pytest.raises(BerError) as e:
        tlv(b"\x04\x83\x20\x00\x00" + b"x" * 10, 0, 15, max_len=1 << 20)
    assert e.value.name == "snmp_ber_length_cap"
    # a huge number of length octets is refused without building a huge int
    with pytest.raises(BerError):
        tlv(b"\x04\xff" + b"\xff" * 127, 0, 129)


def test_high_tag_number_form():
    assert tlv(b"\xbf\x04\x00", 0, 3)[0] == 0xA4         # [4] written in the long form
    assert tlv(b"\xbf\x81\x04\x00", 0, 4)[0] > 0xFF        # [132]: no SNMP tag


def test_integers_and_unsigned():
    assert read_int(b"\xff", 0, 1) == -1
    assert read_int(b"\x00\xff", 0, 2) == 255
    assert read_int(b"\x80\x00\x00\x00", 0, 4) == -(1 << 31)
    assert read_uint(b"\x00\xff\xff\xff\xff", 0, 5) == 0xFFFFFFFF    # leading 0x00: 5 octets
    assert read_uint(b"\xff\xff\xff\xff", 0, 4) == 0xFFFFFFFF        # sloppy encoder, read unsigned
    assert read_uint(b"\x00" + b"\xff" * 8, 0, 9, 64) == (1 << 64) - 1
    with pytest.raises(BerError):
        read_uint(b"\x01\x00\x00\x00\x00", 0, 5)                      # 2^32 does not fit
    with pytest.raises(BerError):
        read_int(b"", 0, 0)


def test_oids():
    assert read_oid(b"\x2b\x06\x01", 0, 3) == (1, 3, 6, 1)
    assert read_oid(b"\x00", 0, 1) == (0, 0)
    assert read_oid(b"\x88\x37\x01", 0, 3) == (2, 999, 1)              # X=2 with Y >= 40
    big = (1 << 70) + 5
    enc = []
    v = big
    enc.append(v & 0x7F)
    v >>= 7
    while v:
        enc.append(0x80 | (v & 0x7F))
        v >>= 7
    body = b"\x2b" + bytes(reversed(enc))
    w: list = []
    assert read_oid(body, 0, len(body), weirds=w) == (1, 3, big)        # beyond 64 bits, exact
    assert w and w[0][0] == "snmp_oid_subidentifier_too_long"
    assert read_oid(b"\x2b\x80\x80\x01", 0, 4) == (1, 3, 1)             # non-minimal subidentifier
    with pytest.raises(BerError):
        read_oid(b"\x2b\x86", 0, 2)                                     # ends inside a subidentifier
    with pytest.raises(BerError) as e:
        read_oid(b"\x2b" + b"\x01" * 200, 0, 201, max_arcs=128)
    assert e.value.name == "snmp_oid_too_long"
    with pytest.raises(BerError) as e:
        read_oid(b"\x2b" + b"\x81" * 100000 + b"\x01", 0, 100002)     # no quadratic big-int build
    assert e.value.name == "snmp_oid_subidentifier_too_long"


def test_walk_caps():
    nested = b"\x05\x00"
    for _ in range(40):
        nested = seq(0x30, nested)
    assert len(walk(nested, 0, len(nested), max_depth=64)) == 41
    with pytest.raises(BerError) as e:
        walk(nested, 0, len(nested), max_depth=32)
    assert e.value.name == "snmp_ber_depth_cap"
    flat = seq(0x30, b"\x05\x00" * 50)
    with pytest.raises(BerError) as e:
        walk(flat, 0, len(flat), max_elements=10)
    assert e.value.name == "snmp_ber_element_cap"


def test_frame_header():
    assert frame_header(b"\x30") is None
    assert frame_header(b"\x30\x82\x01") is None
    assert frame_header(b"\x30\x82\x01\x00") == (4, 256)
    with pytest.raises(BerError):
        frame_header(b"\x02\x01\x00")


# ------------------------------------------------------------------ message decoding

def test_malformed_varbind_fails_alone():
    good = seq(0x30, OID_SYSDESCR, octets(b"ok"))
    bad_int = seq(0x30, OID_SYSDESCR, b"\x02\x00")                 # empty INTEGER
    bad_ip = seq(0x30, OID_SYSDESCR, b"\x40\x03\x01\x02\x03")       # IpAddress of 3 octets
    not_seq = octets(b"zz")
    m = decode_message(v2c(0xA2, good + bad_int + bad_ip + not_seq + good))
    assert m.error is None
    types = [v.type for v in m.pdu.varbinds]
    assert types == ["octet-string", "error", "error", "error", "octet-string"]
    assert m.pdu.varbinds[1].oid == "1.3.6.1.2.1.1.1.0"
    names = {w[0] for w in m.weirds}
    assert {"snmp_bad_ber_integer", "snmp_bad_ipaddress", "snmp_bad_varbind"} <= names


def test_malformed_message_is_an_error_not_an_exception():
    for raw in (b"", b"\x30", b"\x30\x03\x02\x01", b"\x02\x01\x00", b"\x30\x03\x02\x01\x02",
                v2c(0xA9, b""), b"\x30\x80" + v2c(0xA0, b"")[2:]):
        m = decode_message(raw)
        assert m.error is not None and m.pdu is None


def test_value_rendering():
    vb = b"".join(seq(0x30, OID_SYSDESCR, v) for v in (
        octets(b"text with\ttab"), octets(b"\x00\x01\xfe"), octets("h\u00e9".encode()),
        seq(0x44, b"\x9f\x78\x04" + bytes.fromhex("3fc00000")), seq(0x44, b"\x01\x02"),
        seq(0x46, b"\x00" + b"\xff" * 8), seq(0x47, b"\x07"), seq(0x45, b"\x01\x02"),
        b"\x80\x00", b"\x81\x00", b"\x82\x00", seq(0x30, seq(0x30, b"\x05\x00")), b"\x43\x01\x05",
        integer(-5)))
    m = decode_message(v2c(0xA2, vb))
    got = [(v.type, v.value, v.value_int) for v in m.pdu.varbinds]
    assert got == [
        ("octet-string", "text with\ttab", None), ("octet-string", "0x0001fe", None),
        ("octet-string", "h\u00e9", None), ("opaque", "float:1.5", None), ("opaque", "0x0102", None),
        ("counter64", str((1 << 64) - 1), (1 << 64) - 1), ("uinteger32", "7", 7),
        ("nsapaddress", "0x0102", None), ("noSuchObject", None, None), ("noSuchInstance", None, None),
        ("endOfMibView", None, None), ("unknown-0x30", "0x30020500", None), ("timeticks", "5", 5),
        ("integer", "-5", -5)]


def test_deeply_nested_value_hits_the_depth_cap_alone():
    nested = b"\x05\x00"
    for _ in range(50):
        nested = seq(0x30, nested)
    vb = seq(0x30, OID_SYSDESCR, nested) + seq(0x30, OID_SYSDESCR, b"\x05\x00")
    m = decode_message(v2c(0xA2, vb), Limits(depth=32))
    assert [v.type for v in m.pdu.varbinds] == ["error", "null"]
    assert ("snmp_ber_depth_cap" in {w[0] for w in m.weirds})


def test_element_cap_truncates_the_varbind_list():
    vb = seq(0x30, OID_SYSDESCR, b"\x05\x00") * 30
    m = decode_message(v2c(0xA0, vb), Limits(elements=10))
    assert len(m.pdu.varbinds) == 10 and m.pdu.truncated
    assert "snmp_too_many_varbinds" in {w[0] for w in m.weirds}


def test_engine_id_formats():
    assert engine_id_info(bytes.fromhex("80001f8804") + b"abc") == ("text", 8072, "abc")
    assert engine_id_info(bytes.fromhex("8000000901c0a80001")) == ("ipv4", 9, "192.168.0.1")
    assert engine_id_info(bytes.fromhex("80000009030011223344ff")) == ("mac", 9, "00:11:22:33:44:ff")
    assert engine_id_info(bytes.fromhex("80001f888001020304aabbccdd"))[0] == "netsnmp-random"
    assert engine_id_info(bytes.fromhex("8000000981ab"))[0] == "enterprise-129"
    assert engine_id_info(bytes.fromhex("000000090000000000000001")) == ("rfc1910", 9, "0x0000000000000001")
    assert engine_id_info(b"\x80\x01")[0] == "invalid"
    assert engine_id_info(b"") == ("empty", None, None)


def test_probe():
    assert looks_like_snmp(v2c(0xA0, b"")) is True
    assert looks_like_snmp(b"\x30") is None
    assert looks_like_snmp(b"GET / HTTP/1.1\r\n") is False
    assert looks_like_snmp(seq(0x30, integer(2), octets(b"x"))) is False
    assert looks_like_snmp(seq(0x30, integer(3), seq(0x30, b""))) is True


def test_scoped_pdu_validator():
    sp = seq(0x30, octets(b"\x80\x00"), octets(b""), seq(0xA2, integer(1), integer(0), integer(0), seq(0x30, b"")))
    assert valid_scoped_pdu(sp) and valid_scoped_pdu(sp + b"\x00\x00\x00")  # DES padding
    assert not valid_scoped_pdu(b"\x30\x05" + b"\x11" * 20)
    assert not valid_scoped_pdu(b"")


# ------------------------------------------------------------------ pyasn1 as the oracle

_api = pytest.importorskip("pysnmp.proto.api")
from pyasn1.codec.ber import decoder as _asn1_decoder, encoder as _asn1_encoder  # noqa: E402

P = _api.api.PROTOCOL_MODULES[_api.api.SNMP_VERSION_2C] if hasattr(_api, "api") else \
    _api.PROTOCOL_MODULES[_api.SNMP_VERSION_2C]

oids = st.builds(lambda a, b, rest: (a, b if a == 2 else b % 40, *rest),
                 st.integers(0, 2), st.integers(0, 2000),
                 st.lists(st.integers(0, (1 << 72)), max_size=12)).filter(lambda o: len(o) >= 2)
values = st.one_of(
    st.integers(-(1 << 31), (1 << 31) - 1).map(lambda v: ("integer", P.Integer(v))),
    st.binary(max_size=40).map(lambda v: ("octet-string", P.OctetString(v))),
    st.integers(0, (1 << 32) - 1).map(lambda v: ("counter32", P.Counter32(v))),
    st.integers(0, (1 << 32) - 1).map(lambda v: ("gauge32", P.Gauge32(v))),
    st.integers(0, (1 << 32) - 1).map(lambda v: ("timeticks", P.TimeTicks(v))),
    st.integers(0, (1 << 64) - 1).map(lambda v: ("counter64", P.Counter64(v))),
    st.binary(min_size=4, max_size=4).map(lambda v: ("ipaddress", P.IpAddress(v))),
    oids.map(lambda v: ("oid", P.ObjectIdentifier(v))),
    st.just(("null", P.Null(""))),
)
PDUS = {"get": "GetRequestPDU", "getnext": "GetNextRequestPDU", "response": "ResponsePDU",
        "set": "SetRequestPDU", "inform": "InformRequestPDU", "trapv2": "SNMPv2TrapPDU", "report": "ReportPDU",
        "getbulk": "GetBulkRequestPDU"}


def _render_pyasn1(kind, v):
    """A pyasn1-decoded value in our table rendering."""
    if kind == "octet-string":
        b = bytes(v)
        from dissect.snmp.message import octets_value
        return octets_value(b)
    if kind == "ipaddress":
        return ".".join(str(x) for x in bytes(v))
    if kind == "oid":
        return ".".join(map(str, tuple(v)))
    if kind == "null":
        return None
    return str(int(v))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ptype=st.sampled_from(sorted(PDUS)), rid=st.integers(-(1 << 31), (1 << 31) - 1),
       community=st.binary(max_size=20), vbs=st.lists(st.tuples(oids, values), max_size=8),
       a=st.integers(0, 100), b=st.integers(0, 100))
def test_pyasn1_oracle(ptype, rid, community, vbs, a, b):
    pdu = getattr(P, PDUS[ptype])()
    api = P.apiBulkPDU if ptype == "getbulk" else P.apiPDU
    api.set_defaults(pdu)
    api.set_request_id(pdu, rid)
    if ptype == "getbulk":
        api.set_non_repeaters(pdu, a)
        api.set_max_repetitions(pdu, b)
    else:
        api.set_error_status(pdu, a % 19)
        api.set_error_index(pdu, b)
    api.set_varbinds(pdu, [(o, v) for o, (_k, v) in vbs])
    msg = P.Message()
    P.apiMessage.set_defaults(msg)
    P.apiMessage.set_community(msg, community)
    P.apiMessage.set_pdu(msg, pdu)
    raw = bytes(_asn1_encoder.encode(msg))

    # the oracle: pyasn1's own decoding of the bytes
    dec, rest = _asn1_decoder.decode(raw, asn1Spec=P.Message())
    assert not rest
    dpdu = P.apiMessage.get_pdu(dec)
    want_vbs = [(".".join(map(str, tuple(o))), k, _render_pyasn1(k, v))
                for (o, v), (_o, (k, _v)) in zip(api.get_varbinds(dpdu), vbs)]

    m = decode_message(raw, Limits(oid_arcs=128))
    assert m.error is None and not [w for w in m.weirds if w[0] != "snmp_oid_subidentifier_too_long"]
    assert m.version == "2c" and m.community == bytes(P.apiMessage.get_community(dec))
    assert m.pdu.type == ptype and m.pdu.request_id == int(api.get_request_id(dpdu))
    second, third = int(dpdu.getComponentByPosition(1)), int(dpdu.getComponentByPosition(2))
    if ptype == "getbulk":
        assert (m.pdu.non_repeaters, m.pdu.max_repetitions) == (second, third)
    else:
        assert (m.pdu.error_status, m.pdu.error_index) == (second, third)
    assert [(v.oid, v.type, v.value) for v in m.pdu.varbinds] == want_vbs


# ------------------------------------------------------------------ hostile input

def _real_messages() -> list[bytes]:
    out = []
    paths = sorted(SAMPLES.glob("*.pcap"))
    if CORPUS.is_dir():
        paths += sorted((CORPUS / "captures").rglob("*snmp*/*.pcap"))
    for p in paths:
        for pkt in read_packets(p):
            if pkt[6] and pkt[5] == "udp":
                out.append(pkt[6])
    return out


REAL = _real_messages()


def _feed_all(datagrams: list[bytes], proto="udp"):
    from dissect.analyzer import FlowContext
    from dissect.options import Options
    from dissect.snmp.analyzer import SnmpAnalyzer, SnmpShared

    opts = Options(strict=True, snmp_keys=SAMPLES / "keys.toml")
    sink: list = []
    ctx = FlowContext("Cfuzz", "10.0.0.1", 4000, "10.0.0.2", 161, proto, sink.append, opts, _SHARED)
    an = SnmpAnalyzer(ctx)
    for i, d in enumerate(datagrams):
        an.feed(i % 2, d, float(i))
    an.close(99.0)
    return sink


_SHARED = None


@pytest.fixture(autouse=True, scope="module")
def _shared():
    global _SHARED
    from dissect.options import Options
    from dissect.snmp.analyzer import SnmpShared

    _SHARED = SnmpShared(Options(strict=True, snmp_keys=SAMPLES / "keys.toml"))
    yield


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data):
    decode_message(data)
    looks_like_snmp(data)
    valid_scoped_pdu(data)
    _feed_all([data, b"\x30" + data])
    _feed_all([data, data[::-1]], proto="tcp")


@settings(max_examples=400, deadline=None)
@given(idx=st.integers(0, max(0, len(REAL) - 1)),
       edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from("xdit")), min_size=1, max_size=6))
def test_mutated_real_messages_never_raise(idx, edits):
    if not REAL:
        pytest.skip("no samples")
    b = bytearray(REAL[idx])
    for pos, val, op in edits:
        if not b:
            break
        p = pos % len(b)
        if op == "x":
            b[p] = val
        elif op == "d":
            del b[p]
        elif op == "i":
            b.insert(p, val)
        else:
            del b[p:]
    recs = _feed_all([bytes(b)])
    recs += _feed_all([bytes(b)], proto="tcp")
    for r in recs:
        assert r.__table__ in ("snmp_pdus", "snmp_varbinds", "weirds")


def test_every_real_message_decodes_cleanly():
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus absent at {CORPUS}: the 5 known-bad PROTOS messages live there")
    assert len(REAL) > 500
    bad = [raw for raw in REAL if decode_message(raw).error is not None]
    assert len(bad) == 5  # the PROTOS c06 bogus-tag cases, nothing else


def test_pending_cap():
    from dissect.analyzer import FlowContext
    from dissect.options import Caps, Options
    from dissect.snmp.analyzer import SnmpAnalyzer

    caps = Caps()
    caps.snmp_pending_requests = 4
    sink: list = []
    ctx = FlowContext("Ccap", "10.0.0.1", 4000, "10.0.0.2", 161, "udp", sink.append, Options(strict=True, caps=caps))
    an = SnmpAnalyzer(ctx)
    for rid in range(10):
        an.feed(0, v2c(0xA0, seq(0x30, OID_SYSDESCR, b"\x05\x00"), rid=rid), float(rid))
    assert len(an.pending) == 4
    an.feed(1, v2c(0xA2, seq(0x30, OID_SYSDESCR, octets(b"x")), rid=9), 20.0)
    an.close(30.0)
    pdus = [r for r in sink if r.__table__ == "snmp_pdus"]
    assert len(pdus) == 11
    assert sum(r.answered is False for r in pdus) == 9 and sum(r.answered is True for r in pdus) == 1
    assert sum(r.name == "snmp_pending_cap" for r in sink if r.__table__ == "weirds") == 6


def test_tcp_resync_after_garbage_and_gap():
    from dissect.analyzer import FlowContext
    from dissect.options import Options
    from dissect.snmp.analyzer import SnmpAnalyzer

    sink: list = []
    ctx = FlowContext("Ctcp", "10.0.0.1", 4000, "10.0.0.2", 161, "tcp", sink.append, Options(strict=True))
    an = SnmpAnalyzer(ctx)
    m1 = v2c(0xA0, seq(0x30, OID_SYSDESCR, b"\x05\x00"), rid=1)
    m2 = v2c(0xA0, seq(0x30, OID_SYSDESCR, b"\x05\x00"), rid=2)
    m3 = v2c(0xA0, seq(0x30, OID_SYSDESCR, b"\x05\x00"), rid=3)
    an.feed(0, m1 + b"garbage\x30\x01" + m2[:10], 1.0)
    an.feed(0, m2[10:], 1.1)
    an.gap(0, 100, 1.2)
    an.feed(0, m3[5:] + m3, 1.3)   # resumes mid-message: skipped to the next message
    an.close(2.0)
    rids = sorted(r.request_id for r in sink if r.__table__ == "snmp_pdus")
    assert rids == [1, 2, 3]
    assert any(r.name == "snmp_tcp_resync" for r in sink if r.__table__ == "weirds")


def test_answer_from_another_agent_address_is_paired():
    """A multi-homed agent answering from another address: the response is in another flow."""
    from dissect.analyzer import FlowContext
    from dissect.options import Options
    from dissect.snmp.analyzer import SnmpAnalyzer, SnmpShared

    sink: list = []
    opts = Options(strict=True)
    sh = SnmpShared(opts)
    a1 = SnmpAnalyzer(FlowContext("C1", "10.0.0.1", 4000, "10.0.0.2", 161, "udp", sink.append, opts, sh))
    a2 = SnmpAnalyzer(FlowContext("C2", "10.0.0.99", 161, "10.0.0.1", 4000, "udp", sink.append, opts, sh))
    a1.feed(0, v2c(0xA0, seq(0x30, OID_SYSDESCR, b"\x05\x00"), rid=42), 1.0)
    a2.feed(0, v2c(0xA2, seq(0x30, OID_SYSDESCR, octets(b"x")), rid=42), 1.25)
    a1.close(5.0)
    a2.close(5.0)
    req, resp = sorted((r for r in sink if r.__table__ == "snmp_pdus"), key=lambda r: r.ts)
    assert req.answered is True and req.response_time == 0.25 and resp.request_index == req.pdu_index
    assert resp.uid == "C2" and not sh.by_manager


@settings(max_examples=60, deadline=None)
@given(start=st.integers(0, 10_000), count=st.integers(1, 12), cuts=st.lists(st.integers(1, 4000), max_size=20))
def test_tcp_stream_chunking_invariance(start, count, cuts):
    """The same byte stream, cut anywhere, gives the same PDUs and varbinds."""
    from dissect.analyzer import FlowContext
    from dissect.options import Options
    from dissect.snmp.analyzer import SnmpAnalyzer, SnmpShared

    if not REAL:
        pytest.skip("no samples")
    i = start % len(REAL)
    stream = b"".join(REAL[i:i + count])

    def run(chunks):
        sink: list = []
        opts = Options(strict=True)
        ctx = FlowContext("Cc", "10.0.0.1", 4000, "10.0.0.2", 161, "tcp", sink.append, opts, SnmpShared(opts))
        an = SnmpAnalyzer(ctx)
        for c in chunks:
            an.feed(0, c, 1.0)
        an.close(2.0)
        return sorted(repr((r.__table__, getattr(r, "pdu_type", None), getattr(r, "request_id", None),
                            getattr(r, "oid", None), getattr(r, "value", None), getattr(r, "name", None)))
                      for r in sink)

    pos = sorted({c % len(stream) for c in cuts} - {0})
    chunks = [stream[a:b] for a, b in zip([0, *pos], [*pos, len(stream)])]
    assert run(chunks) == run([stream])


def test_tcp_garbage_is_bounded_and_linear():
    """A TCP stream on port 161 that is not SNMP: one weird, then given up; many small messages
    in one segment are cut in linear time (the buffer is compacted once per segment)."""
    from dissect.analyzer import FlowContext
    from dissect.options import Caps, Options
    from dissect.snmp.analyzer import SnmpAnalyzer

    caps = Caps()
    caps.ber_length = 4096
    sink: list = []
    ctx = FlowContext("Cg", "10.0.0.1", 4000, "10.0.0.2", 161, "tcp", sink.append, Options(strict=True, caps=caps))
    an = SnmpAnalyzer(ctx)
    for i in range(100):
        an.feed(0, b"\x30\x03garbage " * 50, float(i))
    names = [r.name for r in sink if r.__table__ == "weirds"]
    assert names.count("snmp_tcp_resync") == 1 and names.count("snmp_tcp_not_snmp") == 1
    assert an.dirs[0].dead and not an.dirs[0].buf

    m = v2c(0xA0, seq(0x30, OID_SYSDESCR, b"\x05\x00"), rid=5)
    sink2: list = []
    an2 = SnmpAnalyzer(FlowContext("Ch", "10.0.0.1", 4000, "10.0.0.2", 161, "tcp", sink2.append, Options(strict=True)))
    an2.feed(0, m * 20000, 1.0)   # ~900 kB in one segment
    assert sum(r.__table__ == "snmp_pdus" for r in sink2) == 19999  # retransmissions close the earlier copies
    assert not an2.dirs[0].buf


P1 = (_api.api.PROTOCOL_MODULES[_api.api.SNMP_VERSION_1] if hasattr(_api, "api")
      else _api.PROTOCOL_MODULES[_api.SNMP_VERSION_1])


@settings(max_examples=80, deadline=None)
@given(ent=oids, addr=st.binary(min_size=4, max_size=4), generic=st.integers(0, 6),
       specific=st.integers(0, (1 << 31) - 1), stamp=st.integers(0, (1 << 32) - 1),
       vbs=st.lists(st.tuples(oids, st.integers(-(1 << 31), (1 << 31) - 1)), max_size=5))
def test_pyasn1_oracle_v1_trap(ent, addr, generic, specific, stamp, vbs):
    api = P1.apiTrapPDU
    pdu = P1.TrapPDU()
    api.set_defaults(pdu)
    api.set_enterprise(pdu, ent)
    api.set_agent_address(pdu, P1.IpAddress(addr))
    api.set_generic_trap(pdu, generic)
    api.set_specific_trap(pdu, specific)
    api.set_timestamp(pdu, stamp)
    api.set_varbinds(pdu, [(o, P1.Integer(v)) for o, v in vbs])
    msg = P1.Message()
    P1.apiMessage.set_defaults(msg)
    P1.apiMessage.set_community(msg, b"public")
    P1.apiMessage.set_pdu(msg, pdu)
    raw = bytes(_asn1_encoder.encode(msg))
    dec, rest = _asn1_decoder.decode(raw, asn1Spec=P1.Message())
    dpdu = P1.apiMessage.get_pdu(dec)

    m = decode_message(raw)
    assert m.error is None and m.version == "1" and m.pdu.type == "trap"
    assert m.pdu.enterprise == ".".join(map(str, tuple(api.get_enterprise(dpdu))))
    assert m.pdu.agent_addr == ".".join(str(b) for b in bytes(api.get_agent_address(dpdu)))
    assert (m.pdu.generic_trap, m.pdu.specific_trap, m.pdu.time_stamp) == (
        int(api.get_generic_trap(dpdu)), int(api.get_specific_trap(dpdu)), int(api.get_timestamp(dpdu)))
    assert [(v.oid, v.value_int) for v in m.pdu.varbinds] == [
        (".".join(map(str, tuple(o))), int(v)) for o, v in api.get_varbinds(dpdu)]


def test_damaged_pdu_header_keeps_what_was_read():
    body = seq(0xA0, integer(77), b"\x02\x00", integer(0), seq(0x30, b""))  # empty error-status
    m = decode_message(seq(0x30, integer(1), octets(b"public"), body))
    assert m.error is None and m.pdu.type == "get" and m.pdu.request_id == 77 and m.pdu.truncated
    assert m.pdu.error_status is None and m.weirds[0][0] == "snmp_bad_ber_integer"


def test_non_snmp_datagrams_do_not_flood_the_weirds():
    from dissect.analyzer import FlowContext
    from dissect.options import Options
    from dissect.snmp.analyzer import SnmpAnalyzer

    sink: list = []
    an = SnmpAnalyzer(FlowContext("Cn", "10.0.0.1", 4000, "10.0.0.2", 161, "udp", sink.append, Options(strict=True)))
    for i in range(1000):
        an.feed(0, b"\x17\x03\x03 not snmp %d" % i, float(i))
    an.feed(0, v2c(0xA0, seq(0x30, OID_SYSDESCR, b"\x05\x00")), 2000.0)
    an.close(3000.0)
    names = [r.name for r in sink if r.__table__ == "weirds"]
    assert len(names) == 17 and names[-1] == "snmp_flow_not_snmp"
    assert sum(r.__table__ == "snmp_pdus" for r in sink) == 1


def test_every_snmp_weird_name_is_declared():
    import re

    import dissect.snmp  # noqa: F401  (declares the names)
    from dissect.weird import WEIRDS

    src = ""
    for mod in ("ber.py", "message.py", "analyzer.py"):
        src += (Path(__file__).resolve().parent.parent / "dissect" / "snmp" / mod).read_text()
    names = set(re.findall(r'"(snmp_[a-z0-9_]+)"', src))
    names -= {"snmp_pdus", "snmp_varbinds", "snmp_keys", "snmp_pending_requests"}
    assert names and not names - set(WEIRDS), sorted(names - set(WEIRDS))
