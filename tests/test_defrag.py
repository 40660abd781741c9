"""IP fragment reassembly: IPv4 and IPv6 through the decoder, overlap policy, timeouts, caps, and a
property test (random fragmentation, order, duplicates and overlaps -> first-seen bytes, exactly once)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from dissect.decode import PacketDecoder
from dissect.defrag import Defragmenter
from dissect.options import Caps
from test_io_build import eth, ext6, frag6, ipv4, ipv6, tcp, udp

PAYLOAD = bytes(range(256)) * 12          # 3072 bytes


def v4_fragments(l4: bytes, proto=17, ident=77, size=1000, src="10.0.0.1", dst="10.0.0.2"):
    """Ethernet frames carrying ``l4`` in IPv4 fragments of ``size`` bytes (a multiple of 8)."""
    out = []
    for off in range(0, len(l4), size):
        more = off + size < len(l4)
        out.append(eth(ipv4(l4[off:off + size], proto=proto, ident=ident, src=src, dst=dst,
                            frag=(0x2000 if more else 0) | (off >> 3))))
    return out


def v6_fragments(l4: bytes, nxt=17, ident=0xABCDEF, size=1000, unfrag=b"", unfrag_nxt=None):
    out = []
    for off in range(0, len(l4), size):
        more = off + size < len(l4)
        body = unfrag + frag6(nxt, off, more, ident) + l4[off:off + size]
        out.append(eth(ipv6(body, nxt=44 if not unfrag else unfrag_nxt), 0x86DD))
    return out


def run(frames, caps=None, ts0=1.0, step=0.001):
    weirds = []
    d = PacketDecoder(caps or Caps(), weirds.append)
    pkts = []
    for i, f in enumerate(frames):
        p = d.decode(ts0 + i * step, 1, f, len(f))
        if p is not None:
            pkts.append(p)
    return pkts, d, weirds


def test_ipv4_in_order_reversed_shuffled_duplicated():
    dgram = udp(4000, 53, PAYLOAD)
    whole = run([eth(ipv4(dgram, proto=17))])[0][0]
    frags = v4_fragments(dgram)
    assert len(frags) == 4
    rnd = random.Random(5)
    shuffled = frags[:]
    rnd.shuffle(shuffled)
    for order in (frags, frags[::-1], shuffled, [frags[1], frags[1], frags[0], frags[3], frags[0], frags[2]]):
        pkts, d, w = run(order)
        assert len(pkts) == 1 and w == []
        p = pkts[0]
        assert (p.proto, p.sport, p.dport, p.payload, p.payload_len) == (17, 4000, 53, PAYLOAD, len(PAYLOAD))
        assert p.ip_len == whole.ip_len and p.src == whole.src and not p.truncated
        assert p.frame_len in {len(f) for f in frags}     # the wire length of the completing fragment
        assert d.fragments == len(order)
        assert d.reassembled == 1 and d.defrag.pending == 0
        assert d.ip_protos == {17: 1}


def test_ipv4_tcp_fragments():
    seg = tcp(1025, 80, seq=5, payload=PAYLOAD[:2000])
    pkts, d, w = run(v4_fragments(seg, proto=6, size=512)[::-1])
    assert len(pkts) == 1 and pkts[0].payload == PAYLOAD[:2000] and pkts[0].seq == 5 and w == []


def test_same_ident_different_flows_do_not_mix():
    a = v4_fragments(udp(1, 2, b"A" * 1600), src="10.0.0.1")
    b = v4_fragments(udp(1, 2, b"B" * 1600), src="10.0.0.9")
    pkts, d, w = run([a[0], b[1], b[0], a[1]])
    assert sorted(p.payload for p in pkts) == [b"A" * 1600, b"B" * 1600] and w == []


def test_overlap_with_different_bytes_first_seen_wins():
    dgram = udp(4000, 53, PAYLOAD)
    frags = v4_fragments(dgram)
    evil = bytearray(dgram[1000:2000])
    evil[10:20] = b"X" * 10
    forged = eth(ipv4(bytes(evil), proto=17, ident=77, frag=0x2000 | (1000 >> 3)))
    pkts, d, w = run([frags[0], frags[1], forged, frags[2], frags[3]])
    assert len(pkts) == 1 and pkts[0].payload == PAYLOAD
    assert [x.name for x in w] == ["ip_fragment_overlap"] and w[0].orig_h == "10.0.0.1"
    # the forged copy first: its bytes win, still one weird
    pkts, d, w = run([frags[0], forged, frags[1], frags[2], frags[3]])
    assert pkts[0].payload[1000 - 8 + 10:1000 - 8 + 20] == b"X" * 10
    assert [x.name for x in w] == ["ip_fragment_overlap"]


def test_partial_overlaps_identical_bytes_are_fine():
    dgram = udp(4000, 53, PAYLOAD)
    n = len(dgram)
    pieces = [(0, 1600), (800, 2400), (1600, n)]          # every piece overlaps the next by 800
    frames = [eth(ipv4(dgram[a:b], proto=17, ident=9, frag=(0x2000 if b < n else 0) | (a >> 3)))
              for a, b in pieces]
    pkts, d, w = run([frames[2], frames[0], frames[1]])
    assert len(pkts) == 1 and pkts[0].payload == PAYLOAD and w == []


def test_timeout_and_expire():
    frags = v4_fragments(udp(1, 2, PAYLOAD))
    caps = Caps(frag_timeout=5.0)
    weirds = []
    d = PacketDecoder(caps, weirds.append)
    assert d.decode(10.0, 1, frags[0], len(frags[0])) is None
    d.expire(14.0)
    assert d.defrag.pending == 1 and weirds == []
    d.expire(16.0)
    assert d.defrag.pending == 0 and [w.name for w in weirds] == ["ip_fragment_timeout"]
    # the rest arrives too late: a new, incomplete datagram, timed out by a later fragment's arrival
    for f in frags[1:]:
        assert d.decode(17.0, 1, f, len(f)) is None
    other = v4_fragments(udp(1, 2, b"q" * 2000), ident=78)
    d.decode(30.0, 1, other[0], len(other[0]))
    assert [w.name for w in weirds] == ["ip_fragment_timeout", "ip_fragment_timeout"]
    assert d.reassembled == 0


def test_flush_reports_incomplete_datagrams():
    frags = v4_fragments(udp(1, 2, PAYLOAD))
    pkts, d, w = run(frags[:2])
    d.flush(99.0)
    assert [x.name for x in w] == ["ip_fragment_timeout"] and "end of capture" in w[0].addl


def test_pending_cap_evicts_the_oldest():
    caps = Caps(frag_pending=2)
    dgrams = [v4_fragments(udp(1, 2, bytes([i]) * 1500), ident=i) for i in range(3)]
    frames = [dgrams[0][0], dgrams[1][0], dgrams[2][0], dgrams[1][1], dgrams[2][1], dgrams[0][1]]
    pkts, d, w = run(frames, caps)
    assert [x.name for x in w] == ["ip_fragment_cap"] and "2 datagrams pending" in w[0].addl
    assert [p.payload[:1] for p in pkts] == [b"\x01", b"\x02"]   # the oldest (0) was dropped
    assert d.defrag.pending == 1                                  # 0's second half, alone


def test_byte_cap_evicts_the_oldest():
    caps = Caps(frag_bytes=70_000)
    dgrams = [v4_fragments(udp(1, 2, bytes([i]) * 39_992), ident=i, size=20_000) for i in range(3)]
    assert all(len(g) == 2 for g in dgrams)
    pkts, d, w = run([dgrams[0][0], dgrams[1][0], dgrams[2][0], dgrams[2][1], dgrams[1][1]], caps)
    assert [x.name for x in w] == ["ip_fragment_cap"]
    assert [p.payload[:1] for p in pkts] == [b"\x02", b"\x01"] and d.defrag.pending == 0


def test_too_big():
    big = eth(ipv4(b"z" * 64, proto=17, ident=3, frag=0x2000 | (65528 >> 3)))
    pkts, d, w = run([big])
    assert pkts == [] and [x.name for x in w] == ["ip_fragment_too_big"]


def test_inconsistent_last_fragment():
    dgram = udp(1, 2, PAYLOAD)
    frags = v4_fragments(dgram)
    short_last = eth(ipv4(dgram[1000:1500], proto=17, ident=77, frag=(1000 >> 3)))   # MF=0 at 1500
    # a consistent 1500-byte datagram whose UDP header claims more
    pkts, d, w = run([short_last, frags[0]])
    assert [x.name for x in w] == ["bad_udp_header"]
    assert len(pkts) == 1 and pkts[0].payload_len == 1500 - 8
    # the short last fragment after longer ones: inconsistent, the data beyond it is dropped
    pkts, d, w = run([frags[0], frags[1], frags[2], short_last, frags[3]])
    assert len(pkts) == 1 and pkts[0].payload == PAYLOAD[:1500 - 8]
    assert [x.name for x in w] == ["ip_fragment_overlap", "bad_udp_header"]


def test_ipv6_fragments_with_extension_headers():
    dgram = udp(4000, 53, PAYLOAD)
    whole = run([eth(ipv6(dgram, nxt=17), 0x86DD)])[0][0]
    # hop-by-hop before the fragment header (unfragmentable part), destination options inside
    inner = ext6(17, 0) + dgram
    frames = v6_fragments(inner, nxt=60, unfrag=ext6(44, 0), unfrag_nxt=0)
    pkts, d, w = run(frames[::-1])
    assert w == [] and len(pkts) == 1
    p = pkts[0]
    assert (p.family, p.proto, p.sport, p.dport, p.payload) == (6, 17, 4000, 53, PAYLOAD)
    assert p.src == whole.src and d.reassembled == 1
    pkts, d, w = run(v6_fragments(dgram)[1:] + v6_fragments(dgram)[:1])
    assert len(pkts) == 1 and pkts[0].payload == PAYLOAD


def test_ipv6_timeout_and_overlap():
    dgram = udp(4000, 53, PAYLOAD)
    frames = v6_fragments(dgram)
    forged = eth(ipv6(frag6(17, 1000, True, 0xABCDEF) + b"X" * 1000, nxt=44), 0x86DD)
    pkts, d, w = run([frames[0], forged] + frames[1:])
    assert len(pkts) == 1 and [x.name for x in w] == ["ip_fragment_overlap"]
    pkts, d, w = run(frames[:2], Caps(frag_timeout=1.0))
    d.expire(100.0)
    assert [x.name for x in w] == ["ip_fragment_timeout"] and w[0].orig_h == "2001:db8::1"


# -- property: any fragmentation, order, duplication and (consistent or not) overlap --------------
@st.composite
def fragmentations(draw):
    total = draw(st.integers(1, 300)) * 8 - draw(st.integers(0, 7))
    data = draw(st.binary(min_size=total, max_size=total))
    cuts = sorted(set(draw(st.lists(st.integers(1, (total - 1) // 8), max_size=12)))) if total > 8 else []
    bounds = [0] + [c * 8 for c in cuts] + [total]
    frags = [(bounds[i], data[bounds[i]:bounds[i + 1]]) for i in range(len(bounds) - 1)]
    # extra overlapping copies, some with different bytes
    for _ in range(draw(st.integers(0, 4))):
        a = draw(st.integers(0, max(0, (total - 1) // 8))) * 8
        b = draw(st.integers(a + 1, total))
        body = data[a:b] if draw(st.booleans()) else draw(st.binary(min_size=b - a, max_size=b - a))
        frags.append((a, body))
    order = draw(st.permutations(range(len(frags))))
    return total, data, [frags[i] for i in order]


@settings(max_examples=300, deadline=None)
@given(fragmentations())
def test_reassembly_is_first_seen_bytes_exactly_once(case):
    total, data, frags = case
    weirds = []
    df = Defragmenter(Caps(), lambda ts, name, addl, key: weirds.append(name))
    model = bytearray(total)
    filled = [False] * total
    result = None
    last_seen = False
    for off, body in frags:
        end = off + len(body)
        more = end < total
        for k in range(off, end):
            if not filled[k]:
                model[k] = body[k - off]
                filled[k] = True
        last_seen = last_seen or not more
        r = df.add(1.0, ("k",), off, more, body)
        if r is not None:
            assert result is None, "delivered twice"
            result = r[0]
            assert all(filled)
            assert result == bytes(model)
            break
        assert not (all(filled) and last_seen), "complete but not delivered"
    assert result is not None
    assert set(weirds) <= {"ip_fragment_overlap"}
    if all(body == data[off:off + len(body)] for off, body in frags):
        assert weirds == [] and result == data
    assert df.pending == 0


# -- real fragments made by the Linux kernel ---------------------------------------------------
def test_kernel_fragments_from_loopback():
    """tests/data/io/loopback-fragments.pcap (make_fragments.sh): UDP datagrams to 127.0.0.1 and ::1
    over a loopback with a 1500-byte MTU, fragmented by the sending kernel. Every datagram comes out
    whole, with the bytes that were sent, on the frame tshark reassembles it on."""
    from pathlib import Path

    from dissect.io import read_frames
    path = Path(__file__).parent / "data" / "io" / "loopback-fragments.pcap"

    def sent(n, seed):
        return bytes((i * 7 + seed) & 0xFF for i in range(n))
    weirds = []
    d = PacketDecoder(Caps(), weirds.append)
    got = []
    for i, fr in enumerate(read_frames([str(path)])):
        p = d.decode(*fr)
        if p is not None:
            got.append((i + 1, p.family, p.dport, p.payload))
    assert weirds == []
    want_sizes = [(4, 4000), (4, 1472), (4, 1473), (4, 9000), (6, 4000), (6, 1452), (6, 1453), (6, 9000)]
    assert [(g[1], len(g[3])) for g in got] == want_sizes
    for k, (frame, fam, dport, payload) in enumerate(got):
        assert dport == 9999 and payload == sent(len(payload), k % 4)
    # the frames on which tshark shows the reassembled UDP datagram (udp.length)
    assert [g[0] for g in got] == [3, 4, 6, 13, 16, 17, 19, 26]
    assert d.fragments == 24 and d.reassembled == 6 and d.defrag.pending == 0
