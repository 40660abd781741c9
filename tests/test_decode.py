"""Link/IP/transport decoding: differential against tshark on the corpus, link-type variants of real
captures, hand-made edge cases (VLAN/QinQ, MPLS, PPPoE, null/loop AF values, IPv6 extension headers,
snaplen truncation, malformed headers), and property tests (never raise)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from ipaddress import ip_address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissect.decode import PacketDecoder
from dissect.io import read_frames
from dissect.options import Caps
from dissect.packet import Packet
from test_io_build import (ah6, corpus, eth, ext6, frag6, ip4a, ipv4, ipv6, sll, sll2, tcp,
                           udp)

TSHARK = shutil.which("tshark")
EDITCAP = shutil.which("editcap")


def fields(p: Packet, skip=()):
    return tuple(getattr(p, k) for k in Packet.__slots__ if k not in skip)


def decode_all(path, caps=None):
    weirds = []
    d = PacketDecoder(caps or Caps(), weirds.append)
    out = [d.decode(*fr) for fr in read_frames([str(path)])]
    return out, d, weirds


def one(frame: bytes, linktype=1, wire_len=None, ts=1.0):
    weirds = []
    d = PacketDecoder(Caps(), weirds.append)
    p = d.decode(ts, linktype, frame, len(frame) if wire_len is None else wire_len)
    return p, d, weirds


# -- differential against tshark -----------------------------------------------------------------
# All 64 corpus captures agree with tshark (checked once by hand with this test over every file);
# the suite runs a varied dozen to keep its time down (one tshark run each).
DIFF_CAPTURES = [
    "captures/zeek/smtp.pcap",                                      # TCP, UDP (DNS), ICMP
    "captures/zeek/wikipedia.pcap",                                 # ARP, LLC, UDP, TCP
    "captures/suricata-verify/decode-sll2-02/input.pcap",           # Linux SLL2
    "captures/zeek/http/1000-requests-one-dropped-response.pcap",   # IPv6
    "captures/suricata-verify/http-mime-truncated/input.pcap",      # truncated file
    "captures/zeek/snmp/snmpwalk-short.pcap",                       # UDP
    "captures/zeek/snmp/snmpv1_trap.pcap",
    "captures/suricata-verify/snmp-v3-encrypted/SNMPv3.pcap",
    "captures/zeek/http/bro.org.pcap",
    "captures/zeek/tls/smtp-starttls.pcap",
    "captures/suricata-verify/smtp-bug-5981/input.pcap",            # odd non-IP frames
    "captures/suricata-verify/issue-4220-01-ids/1flowB.pcap",
]


def tshark_rows(path):
    flds = ["ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "ip.proto", "ipv6.nxt", "tcp.srcport", "udp.srcport",
            "tcp.dstport", "udp.dstport", "tcp.len", "udp.length", "tcp.seq_raw", "tcp.ack_raw",
            "tcp.flags", "tcp.window_size_value", "icmp.type", "icmp.code", "ip.len", "ipv6.plen"]
    cmd = [TSHARK, "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for f in flds:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0 or "cut short" in r.stderr, r.stderr   # truncated file: tshark exits 2
    out = r.stdout
    rows = []
    for line in out.splitlines():
        v = dict(zip(flds, line.split("\t")))
        rows.append(v)
    return rows


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
@pytest.mark.parametrize("rel", DIFF_CAPTURES)
def test_packets_match_tshark(rel):
    path = corpus(rel)
    pkts, dec, weirds = decode_all(path)
    rows = tshark_rows(path)
    assert len(rows) == len(pkts)
    checked = 0
    for i, (p, r) in enumerate(zip(pkts, rows)):
        src = r["ip.src"] or r["ipv6.src"]
        if not src:
            assert p is None, f"frame {i + 1}: tshark sees no IP, we decoded {p}"
            continue
        assert p is not None, f"frame {i + 1}: tshark decodes IP {src}"
        assert str(ip_address(p.src)) == src and str(ip_address(p.dst)) == (r["ip.dst"] or r["ipv6.dst"])
        assert p.proto == int(r["ip.proto"] or r["ipv6.nxt"])
        if p.proto == 6:
            assert (p.sport, p.dport) == (int(r["tcp.srcport"]), int(r["tcp.dstport"]))
            assert p.payload_len == int(r["tcp.len"])
            assert (p.seq, p.ack) == (int(r["tcp.seq_raw"]), int(r["tcp.ack_raw"]))
            assert p.flags == int(r["tcp.flags"], 16) & 0xFF
            assert p.win == int(r["tcp.window_size_value"])
            if not p.truncated:
                assert len(p.payload) == p.payload_len
        elif p.proto == 17:
            assert (p.sport, p.dport) == (int(r["udp.srcport"]), int(r["udp.dstport"]))
            assert p.payload_len == int(r["udp.length"]) - 8
        elif p.proto == 1:
            assert (p.sport, p.dport) == (int(r["icmp.type"]), int(r["icmp.code"]))
        assert p.ip_len == (int(r["ip.len"]) if r["ip.len"] else int(r["ipv6.plen"]) + 40)
        checked += 1
    assert checked > 0
    assert dec.malformed == 0 and [w for w in weirds if w.name != "truncated_packet"] == []


def test_counters_on_a_real_capture():
    pkts, dec, _ = decode_all(corpus("captures/zeek/wikipedia.pcap"))
    assert dec.frames == len(pkts) == 136
    assert dec.linktypes == {1: 136}
    assert dec.ip_protos == {6: 78, 17: 48}
    assert dec.non_ip == {0x0806: 6, "802.3-llc": 4}                    # ARP, spanning tree (LLC)
    assert sum(p is not None for p in pkts) == 126


# -- link-type variants of a real capture ------------------------------------------------------------
VARIANTS = {
    "sll": (113, lambda d: sll(d[14:], proto=(d[12] << 8) | d[13])),
    "sll2": (276, lambda d: sll2(d[14:], proto=(d[12] << 8) | d[13])),
    "raw": (101, lambda d: d[14:]),
    "ipv4-ipv6-linktype": (None, lambda d: d[14:]),
    "null-le": (0, lambda d: struct.pack("<I", 2 if d[12:14] == b"\x08\x00" else 30) + d[14:]),
    "null-be": (0, lambda d: struct.pack(">I", 2 if d[12:14] == b"\x08\x00" else 24) + d[14:]),
    "loop": (108, lambda d: struct.pack(">I", 2 if d[12:14] == b"\x08\x00" else 28) + d[14:]),
    "vlan": (1, lambda d: d[:12] + b"\x81\x00\x00\x07" + d[12:]),
    "qinq": (1, lambda d: d[:12] + b"\x88\xa8\x00\x64\x81\x00\x00\x07" + d[12:]),
    "mpls": (1, lambda d: d[:12] + b"\x88\x47" + b"\x00\x01\x00\x40" + b"\x00\x02\x01\x40" + d[14:]),
    "pppoe": (1, lambda d: d[:12] + b"\x88\x64\x11\x00\x00\x01" + struct.pack("!H", len(d) - 12)
              + (b"\x00\x21" if d[12:14] == b"\x08\x00" else b"\x00\x57") + d[14:]),
    "ppp": (9, lambda d: b"\xff\x03" + (b"\x00\x21" if d[12:14] == b"\x08\x00" else b"\x00\x57") + d[14:]),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("rel", ["captures/zeek/smtp.pcap",
                                 "captures/zeek/http/1000-requests-one-dropped-response.pcap"])
def test_link_type_variants_decode_the_same_packets(tmp_path, variant, rel):
    path = corpus(rel)
    base_frames = [f for f in read_frames([str(path)]) if f[2][12:14] in (b"\x08\x00", b"\x86\xdd")]
    lt, fn = VARIANTS[variant]
    d0 = PacketDecoder(Caps())
    d1 = PacketDecoder(Caps())
    n = 0
    for ts, _lt, data, wl in base_frames:
        new = fn(data)
        ltx = lt if lt is not None else (228 if data[12:14] == b"\x08\x00" else 229)
        a = d0.decode(ts, 1, data, wl)
        b = d1.decode(ts, ltx, new, wl - len(data) + len(new))
        assert (a is None) == (b is None)
        if a is not None:
            assert fields(a, ("frame_len",)) == fields(b, ("frame_len",))
            n += 1
    assert n > 100
    assert d1.malformed == 0 and not d1.unknown_linktypes


@pytest.mark.skipif(EDITCAP is None, reason="editcap not installed")
def test_editcap_rawip_variant(tmp_path):
    """editcap chops the Ethernet header and relabels the capture as raw IP."""
    src = corpus("captures/zeek/http/get-gzip.pcap")
    out = tmp_path / "raw.pcap"
    subprocess.run([EDITCAP, "-C", "14", "-T", "rawip", str(src), str(out)], check=True, capture_output=True)
    a, _, _ = decode_all(src)
    b, dec, _ = decode_all(out)
    assert dec.linktypes == {101: 14}
    assert [fields(p, ("frame_len",)) for p in a] == [fields(p, ("frame_len",)) for p in b]
    # editcap -C chops the captured bytes but keeps each record's original length
    assert [p.frame_len for p in a] == [p.frame_len for p in b]


# -- hand-made edge cases ----------------------------------------------------------------------------
def test_tcp_fields():
    pkt = eth(ipv4(tcp(40000, 25, seq=0xFFFFFFF0, ack=7, flags=0x12, payload=b"EHLO x\r\n", win=512,
                       options=b"\x02\x04\x05\xb4")))
    p, d, w = one(pkt)
    assert (p.family, p.proto, p.sport, p.dport, p.seq, p.ack, p.flags, p.win) == \
        (4, 6, 40000, 25, 0xFFFFFFF0, 7, 0x12, 512)
    assert p.src == ip4a("10.0.0.1") and p.dst == ip4a("10.0.0.2")
    assert p.payload == b"EHLO x\r\n" and p.payload_len == 8 and p.ip_len == 52 and p.frame_len == 66
    assert not p.truncated and w == []


def test_ethernet_padding_is_trimmed():
    pkt = eth(ipv4(tcp(payload=b"")))
    p, _, _ = one(pkt + b"\0" * 6)
    assert p.payload == b"" and p.payload_len == 0


def test_udp_and_padding_and_length_mismatch():
    p, _, w = one(eth(ipv4(udp(1111, 53, b"abcdef"), proto=17)) + b"\0" * 10)
    assert (p.proto, p.sport, p.dport, p.payload, p.payload_len) == (17, 1111, 53, b"abcdef", 6) and w == []
    p, d, w = one(eth(ipv4(udp(1111, 53, b"abcdef", length=200), proto=17)))
    assert p.payload == b"abcdef" and p.payload_len == 6 and [x.name for x in w] == ["bad_udp_header"]


def test_icmp_and_other_protocols():
    p, _, _ = one(eth(ipv4(bytes([3, 1, 0, 0, 0, 0, 0, 0]) + b"orig", proto=1)))
    assert (p.proto, p.sport, p.dport, p.payload, p.payload_len) == (1, 3, 1, b"orig", 4)
    p, _, _ = one(eth(ipv6(bytes([128, 0, 0, 0, 0, 1, 0, 1]) + b"ping", nxt=58), 0x86DD))
    assert (p.family, p.proto, p.sport, p.dport) == (6, 58, 128, 0)
    p, _, _ = one(eth(ipv4(b"\x00\x00\x08\x00sctp", proto=132)))
    assert (p.proto, p.sport, p.dport, p.payload, p.payload_len) == (132, 0, 0, b"\x00\x00\x08\x00sctp", 8)


def test_ipv6_extension_headers_are_skipped():
    seg = tcp(5000, 80, payload=b"GET / HTTP/1.1\r\n")
    # hop-by-hop -> routing -> destination options -> AH -> atomic fragment -> TCP
    chain = ext6(43, 0) + ext6(60, 1) + ext6(51, 0) + ah6(44) + frag6(6, 0, False, 99) + seg
    p, d, w = one(eth(ipv6(chain, nxt=0), 0x86DD))
    assert (p.proto, p.sport, p.dport, p.payload) == (6, 5000, 80, b"GET / HTTP/1.1\r\n")
    assert p.ip_len == 40 + len(chain) and w == []
    p, _, _ = one(eth(ipv6(ext6(50) + b"\0" * 16, nxt=60), 0x86DD))       # ESP: no ports
    assert (p.proto, p.sport, p.dport) == (50, 0, 0)
    p, _, _ = one(eth(ipv6(ext6(59), nxt=135), 0x86DD))                    # mobility -> no next header
    assert p.proto == 59


def test_snaplen_truncated_packets_keep_what_was_captured():
    full = eth(ipv4(tcp(payload=b"x" * 1000)))
    p, d, w = one(full[:100], wire_len=len(full))
    assert p.truncated and p.payload == b"x" * 46 and p.payload_len == 1000 and p.ip_len == 1040
    assert d.truncated == 1 and [x.name for x in w] == ["truncated_packet"]
    # cut inside the TCP header: no ports, counted as truncated and undecodable
    for cut in (40, 20, 10):
        p, d, w = one(full[:cut], wire_len=len(full))
        assert p is None and d.truncated == 1 and d.undecodable == 1 and d.malformed == 0
        assert [x.name for x in w] == ["truncated_packet"]
    d = PacketDecoder(Caps(), (w := []).append)
    for _ in range(3):
        d.decode(1.0, 1, full[:100], len(full))
    assert d.truncated == 3 and len(w) == 1                 # one weird per decoder, the rest counted
    full6 = eth(ipv6(ext6(17) + udp(1, 2, b"y" * 500), nxt=0), 0x86DD)
    p, d, _ = one(full6[:90], wire_len=len(full6))
    assert p.truncated and p.proto == 17 and p.payload_len == 500 and p.payload == b"y" * 20


def test_tso_zero_total_length():
    pkt = eth(ipv4(tcp(payload=b"z" * 3000), tlen=0))
    p, _, w = one(pkt)
    assert p.payload_len == 3000 and p.ip_len == 3040 and not p.truncated and w == []


@pytest.mark.parametrize("frame, name", [
    (eth(ipv4(tcp(), version=5)), "bad_ip_header"),
    (eth(ipv4(tcp(), ihl=4)), "bad_ip_header"),
    (eth(ipv4(tcp(), tlen=10)), "bad_ip_header"),
    (eth(ipv4(b"\0" * 10, proto=6)), "bad_tcp_header"),
    (eth(ipv4(tcp()[:12] + b"\x30" + tcp()[13:], proto=6)), "bad_tcp_header"),     # data offset 12
    (eth(ipv4(b"\0" * 4, proto=17)), "bad_udp_header"),
    (eth(ipv6(tcp(), plen=3), 0x86DD), "bad_tcp_header"),
    (eth(b"\x60" + b"\0" * 20, 0x86DD), "bad_ip_header"),
    (eth(ipv6(b"\x06\xff" + b"\0" * 6, nxt=0), 0x86DD), "bad_ip_header"),          # ext runs past the end
    (b"\x01\x02\x03", "bad_link_header"),
])
def test_malformed_headers_are_weirds(frame, name):
    p, d, w = one(frame)
    assert p is None and d.malformed == 1
    assert [x.name for x in w] == [name]
    assert w[0].uid is None and w[0].ts == 1.0


def test_ip_total_length_beyond_the_frame_is_reported():
    pkt = eth(ipv4(tcp(payload=b"abc"), tlen=500))
    p, d, w = one(pkt)
    assert p.truncated and p.payload == b"abc" and p.payload_len == 460
    assert [x.name for x in w] == ["bad_ip_header"]


def test_unknown_link_types_counted_with_one_weird_each():
    d = PacketDecoder(Caps(), (w := []).append)
    for lt in (147, 147, 147, 105):
        assert d.decode(1.0, lt, b"\0" * 40, 40) is None
    assert d.unknown_linktypes == {147: 3, 105: 1}
    assert [x.name for x in w] == ["unknown_link_type", "unknown_link_type"]
    assert d.linktypes == {147: 3, 105: 1} and d.frames == 4


def test_non_ip_frames_are_counted():
    d = PacketDecoder(Caps())
    d.decode(1.0, 1, eth(b"\0" * 28, 0x0806), 42)                       # ARP
    d.decode(1.0, 1, eth(b"\0" * 28, 0x0806, vlans=[(0x8100, 5)]), 46)  # ARP in a VLAN
    d.decode(1.0, 0, struct.pack("<I", 7) + b"\0" * 20, 24)             # null, AF 7
    d.decode(1.0, 9, b"\xff\x03\xc0\x21" + b"\0" * 8, 12)               # PPP LCP
    assert d.non_ip == {0x0806: 2, "null-af:7": 1, "ppp:0xc021": 1}
    assert d.malformed == 0


def test_many_weirds_are_capped_per_name():
    d = PacketDecoder(Caps(), (w := []).append)
    bad = eth(ipv4(tcp(), version=5))
    for _ in range(1500):
        d.decode(1.0, 1, bad, len(bad))
    assert len(w) == 1000 and d.weirds_suppressed == {"bad_ip_header": 500} and d.malformed == 1500


# -- never raise ---------------------------------------------------------------------------------
LINKTYPES = [1, 0, 9, 12, 50, 101, 108, 113, 149, 228, 229, 239, 258, 276, 147]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LINKTYPES), st.binary(max_size=200), st.integers(0, 3000))
def test_random_frames_never_raise(linktype, data, extra):
    d = PacketDecoder(Caps(frag_pending=4))
    p = d.decode(1.0, linktype, data, len(data) + extra)
    assert p is None or isinstance(p, Packet)


SEED_FRAMES = [eth(ipv4(tcp(payload=b"hello"))), eth(ipv6(ext6(44) + frag6(17, 8, True, 5) + b"\0" * 16, nxt=0), 0x86DD),
               eth(ipv4(udp(payload=b"q" * 30), proto=17, frag=0x2000)), sll(ipv4(tcp())),
               sll2(ipv6(udp(), nxt=17), 0x86DD), eth(ipv6(ah6(6) + tcp(), nxt=51), 0x86DD, vlans=[(0x88a8, 1)])]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(list(enumerate(SEED_FRAMES))),
       st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=8), st.integers(0, 120))
def test_mutated_real_shapes_never_raise(seed, flips, cut):
    i, frame = seed
    linktype = {3: 113, 4: 276}.get(i, 1)
    data = bytearray(frame)
    for pos, val in flips:
        if pos < len(data):
            data[pos] = val
    data = bytes(data[:max(0, len(data) - cut)])
    d = PacketDecoder(Caps(frag_pending=2))
    for ts in (1.0, 2.0, 100.0):
        p = d.decode(ts, linktype, data, len(frame))
        assert p is None or isinstance(p, Packet)
    d.expire(1000.0)
    d.flush(2000.0)


def test_no_stray_output(capsys):
    one(eth(ipv4(tcp(), version=5)))
    assert capsys.readouterr() == ("", "")
    assert sys.exc_info() == (None, None, None)


def test_ipv4_options():
    opts = b"\x07\x07\x04" + b"\0" * 4 + b"\x01"          # record route (7 bytes) + NOP -> 8 bytes
    pkt = eth(ipv4(tcp(2000, 25, payload=b"MAIL FROM:<a@b>\r\n"), ihl=7, options=opts))
    p, d, w = one(pkt)
    assert (p.sport, p.dport, p.payload, p.ip_len) == (2000, 25, b"MAIL FROM:<a@b>\r\n", 28 + 20 + 17) and w == []


def test_truncated_fragment_is_counted_not_malformed():
    frag = eth(ipv4(udp(1, 2, b"a" * 1000)[:800], proto=17, frag=0x2000))
    p, d, w = one(frag[:200], wire_len=len(frag))
    assert p is None and d.truncated == 1 and d.undecodable == 1 and d.malformed == 0
    assert [x.name for x in w] == ["truncated_packet"] and d.defrag.pending == 0


def test_non_ip_labels():
    pkts, dec, _ = decode_all(corpus("captures/zeek/wikipedia.pcap"))
    assert dec.non_ip_frames == 10
    assert dec.non_ip_labels() == {"ARP (0x0806)": 6, "802.3-llc": 4}
    assert dec.stats()["non_ip"] == {"ARP (0x0806)": 6, "802.3-llc": 4}


def test_nflog():
    ip = ipv4(tcp(80, 5555, payload=b"nflog!"))
    prefix = struct.pack("<HH", 4 + 8, 10) + b"prefix\0\0"               # NFULA_PREFIX
    payload = struct.pack("<HH", 4 + len(ip), 9) + ip + b"\0" * (-len(ip) % 4)
    frame = bytes([2, 0, 0, 5]) + prefix + payload
    p, d, w = one(frame, linktype=239)
    assert (p.sport, p.dport, p.payload) == (80, 5555, b"nflog!") and w == []
    p, d, w = one(bytes([2, 0, 0, 5]) + prefix, linktype=239)
    assert p is None and d.non_ip == {"nflog-no-payload": 1}


def test_tunnels_are_opened():
    inner = ipv4(tcp(1234, 25, payload=b"EHLO tunnel\r\n"), src="192.168.1.1", dst="192.168.1.2")
    # IPv4 in IPv4
    p, d, w = one(eth(ipv4(inner, proto=4)))
    assert (p.src, p.dport, p.payload) == (ip4a("192.168.1.1"), 25, b"EHLO tunnel\r\n")
    assert d.ip_protos == {4: 1, 6: 1} and w == []
    # IPv6 in IPv4 (6in4)
    p, _, _ = one(eth(ipv4(ipv6(tcp(1, 2, payload=b"x")), proto=41)))
    assert (p.family, p.sport, p.payload) == (6, 1, b"x")
    # GRE with key and sequence number, then IPv4
    gre = struct.pack("!HHII", 0x3000, 0x0800, 42, 7) + inner
    p, _, _ = one(eth(ipv4(gre, proto=47)))
    assert p.payload == b"EHLO tunnel\r\n"
    # GRE transparent Ethernet bridging
    gre = struct.pack("!HH", 0, 0x6558) + eth(inner)
    p, _, _ = one(eth(ipv4(gre, proto=47)))
    assert p.payload == b"EHLO tunnel\r\n"
    # PPTP's enhanced GRE (version 1) is not opened
    p, _, _ = one(eth(ipv4(struct.pack("!HH", 0x3001, 0x880B) + b"\0" * 8, proto=47)))
    assert (p.proto, p.sport) == (47, 0)
    # nesting beyond three levels hands on the outer packet
    pkt = inner
    for _ in range(6):
        pkt = ipv4(pkt, proto=4)
    p, _, _ = one(eth(pkt))
    assert p.proto == 4


def test_llc_snap_carrying_ip():
    ip = ipv4(tcp(payload=b"snap"))
    frame = b"\x04" * 6 + b"\x02" * 6 + struct.pack("!H", 8 + len(ip)) + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + ip
    p, _, _ = one(frame)
    assert p.payload == b"snap"


def test_tunnel_inner_packets_do_not_go_through_subclass_hooks():
    """A subclass filtering on addresses in _ip4 (dissect.parallel's ShardDecoder) decides on the
    outer packet only; the inner packet of a tunnel stays with it."""
    seen = []

    class Filtering(PacketDecoder):
        def _ip4(self, ts, data, off, wire_len):
            seen.append(data[off + 12:off + 16])
            return PacketDecoder._ip4(self, ts, data, off, wire_len)
    inner = ipv4(tcp(1, 2, payload=b"in"), src="192.168.7.1", dst="192.168.7.2")
    gre = struct.pack("!HH", 0, 0x6558) + eth(inner, vlans=[(0x8100, 3)])
    d = Filtering(Caps())
    frame = eth(ipv4(gre, proto=47, src="10.9.9.9"), vlans=[(0x8100, 1)])
    p = d.decode(1.0, 1, frame, len(frame))
    assert p.payload == b"in" and seen == [ip4a("10.9.9.9")]


def test_apple_pktap():
    ip = ipv4(tcp(443, 50000, payload=b"pktap"))
    hdr = struct.pack("<III", 108, 1, 1) + b"en0".ljust(24, b"\0") + b"\0" * (108 - 36)
    for lt in (258, 149):
        p, d, w = one(hdr + eth(ip), linktype=lt)
        assert (p.sport, p.payload) == (443, b"pktap") and w == []
    null = struct.pack("<III", 108, 1, 0) + b"\0" * 96 + struct.pack("<I", 2) + ip
    p, d, w = one(null, linktype=258)
    assert p.payload == b"pktap"
    p, d, w = one(struct.pack("<III", 108, 2, 1) + b"\0" * 96, linktype=258)   # not a packet
    assert p is None and d.non_ip == {"pktap-type:2": 1}


def test_user2_that_is_not_pktap_is_unknown():
    d = PacketDecoder(Caps(), (w := []).append)
    assert d.decode(1.0, 149, b"\xff" * 40, 40) is None
    assert d.unknown_linktypes == {149: 1} and d.linktypes == {149: 1}
    assert [x.name for x in w] == ["unknown_link_type"]
