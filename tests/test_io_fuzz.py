"""Hostile capture files: any bytes give frames (possibly none) and weirds, or a CaptureError when the
file is opened; never another exception, never a hang."""

from __future__ import annotations

import gzip
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissect.decode import PacketDecoder
from dissect.errors import CaptureError
from dissect.io import open_stream, read_frames
from dissect.options import Caps
from test_io_build import eth, ipv4, ng_epb, ng_idb, ng_shb, ng_spb, pcap_bytes, tcp

PKT = eth(ipv4(tcp(payload=b"hello world")))
SEEDS = [
    pcap_bytes([(1.0, PKT), (2.0, PKT[:30], len(PKT))]),
    pcap_bytes([(1.0, PKT)], order=">", nano=True),
    pcap_bytes([(1.0, PKT)], magic=0xA1B2CD34),
    ng_shb("<") + ng_idb("<", 1, tsresol=9) + ng_epb("<", 0, 5, PKT) + ng_spb("<", PKT),
    ng_shb(">") + ng_idb(">", 101) + ng_epb(">", 0, 5, PKT[14:]) + ng_shb("<") + ng_idb("<", 113),
]


def consume(data: bytes):
    weirds = []
    try:
        it = open_stream(io.BytesIO(data), "fuzz", None, weirds.append)
    except CaptureError as e:
        assert "\n" not in str(e) and str(e).startswith("fuzz: ")
        return None
    d = PacketDecoder(Caps(frag_pending=4))
    frames = []
    for fr in it:
        frames.append(fr)
        ts, lt, frame, wl = fr
        assert isinstance(frame, bytes) and isinstance(ts, float)
        d.decode(ts, lt, frame, wl)
    return frames, weirds


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes(data):
    consume(data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), max_size=6),
       st.integers(0, 60), st.booleans())
def test_mutated_captures(seed, flips, cut, compress):
    data = bytearray(seed)
    for pos, val in flips:
        if pos < len(data):
            data[pos] = val
    data = bytes(data[:len(data) - cut] if cut < len(data) else data)
    if compress:
        data = gzip.compress(data)
    consume(data)


def test_seeds_are_valid():
    for s in SEEDS:
        frames, weirds = consume(s)
        assert frames and weirds == []


def test_random_file_on_disk(tmp_path):
    import random
    rnd = random.Random(1)
    for i in range(50):
        p = tmp_path / f"r{i}"
        data = rnd.choice(SEEDS)[:rnd.randrange(0, 60)] + bytes(rnd.randrange(256) for _ in range(rnd.randrange(200)))
        p.write_bytes(data)
        try:
            it = read_frames([str(p)])
        except CaptureError:
            continue
        for _ in it:
            pass


def _corpus_seeds():
    from test_io_build import CORPUS
    out = []
    for rel in ("captures/zeek/smtp.pcap", "captures/suricata-verify/decode-sll2-02/input.pcap",
                "captures/zeek/http/1000-requests-one-dropped-response.pcap.gz", "captures/zeek/wikipedia.pcap"):
        p = CORPUS / rel
        if p.exists():
            out.append(p.read_bytes()[:3000])
    return out or [SEEDS[0]]


CORPUS_SEEDS = _corpus_seeds()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS_SEEDS), st.lists(st.tuples(st.integers(0, 2999), st.integers(0, 255)), max_size=10),
       st.integers(0, 2999))
def test_mutated_corpus_captures(seed, flips, cut):
    """The first bytes of real captures (pcap, SLL2, gzip), damaged and cut anywhere."""
    data = bytearray(seed)
    for pos, val in flips:
        if pos < len(data):
            data[pos] = val
    consume(bytes(data[:max(0, len(data) - cut)]))
