"""TCP reassembly (dissect.tcp.Reassembler): invariants with hypothesis, and the edge cases."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissect.options import Caps
from dissect.packet import ACK, FIN, PSH, SYN
from dissect.tcp import Reassembler

M32 = 1 << 32


class Harness:
    """One direction's reassembler with its output recorded as events."""

    def __init__(self, want=True, caps=None):
        self.events = []      # ("data", bytes) / ("gap", n)
        self.weirds = []
        self.r = Reassembler(None, 0, caps or Caps(), want, self._out, self._gap, self._weird)

    def _out(self, flow, d, data, ts):
        self.events.append(("data", bytes(data)))

    def _gap(self, flow, d, n, ts):
        self.events.append(("gap", n))

    def _weird(self, flow, name, ts, addl=""):
        self.weirds.append(name)

    def seg(self, seq, data, flags=ACK | PSH, plen=None):
        return self.r.segment(flags, seq % M32, data, len(data) if plen is None else plen, 0.0)

    def data(self) -> bytes:
        return b"".join(x for k, x in self.events if k == "data")

    def replay(self) -> list:
        """Check the events against nothing: (pos, data/gap) list for assertions."""
        return self.events


def reconstruct(events, stream: bytes) -> int:
    """Walk the events over the original stream: data must match, gaps skip. Returns position."""
    pos = 0
    for kind, x in events:
        if kind == "data":
            assert stream[pos:pos + len(x)] == x, f"wrong bytes at offset {pos}"
            pos += len(x)
        else:
            assert x > 0
            pos += x
    return pos


def cut(stream_len: int, rnd: random.Random, max_seg: int = 300) -> list[tuple[int, int]]:
    out = []
    pos = 0
    while pos < stream_len:
        n = rnd.randint(1, max_seg)
        out.append((pos, min(stream_len, pos + n)))
        pos += n
    return out


isns = st.one_of(st.integers(0, M32 - 1), st.integers(M32 - 4000, M32 - 1))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.binary(min_size=1, max_size=6000), isn=isns, seed=st.integers(0, 2**32),
       dup=st.floats(0, 0.5), overlaps=st.integers(0, 10))
def test_reordered_duplicated_overlapping_delivered_once_in_order(stream, isn, seed, dup, overlaps):
    rnd = random.Random(seed)
    segs = cut(len(stream), rnd)
    segs += [s for s in segs if rnd.random() < dup]                 # retransmissions
    for _ in range(overlaps):                                       # overlapping segments
        a = rnd.randrange(len(stream))
        segs.append((a, min(len(stream), a + rnd.randint(1, 700))))
    rnd.shuffle(segs)
    h = Harness()
    h.seg(isn, b"", SYN)
    for a, b in segs:
        h.seg(isn + 1 + a, stream[a:b])
    h.r.flush(1.0)
    assert h.data() == stream
    assert all(k == "data" for k, _ in h.events)
    assert h.r.missed == 0
    assert h.weirds == []
    assert h.r.max_end == len(stream)


@settings(max_examples=200, deadline=None)
@given(stream=st.binary(min_size=1, max_size=6000), isn=isns, seed=st.integers(0, 2**32),
       drop=st.floats(0.05, 0.6), shuffle=st.booleans(), want=st.booleans())
def test_dropped_segments_become_gaps_of_the_right_size(stream, isn, seed, drop, shuffle, want):
    rnd = random.Random(seed)
    segs = cut(len(stream), rnd)
    kept = [s for s in segs if rnd.random() >= drop]
    dropped = sum(b - a for a, b in segs) - sum(b - a for a, b in kept)
    if shuffle:
        rnd.shuffle(kept)
    h = Harness(want=want)
    h.seg(isn, b"", SYN)
    for a, b in kept:
        h.seg(isn + 1 + a, stream[a:b])
    h.seg(isn + 1 + len(stream), b"", ACK | FIN)    # the FIN tells where the stream ends
    h.r.flush(1.0)
    assert h.r.missed == dropped
    if want:
        assert reconstruct(h.events, stream) == len(stream)
        assert sum(n for k, n in h.events if k == "gap") == dropped
    else:
        # nobody wanted the bytes: nothing kept or delivered, but gaps are still reported
        # (the flow records them in its history)
        assert all(k == "gap" for k, _ in h.events)
        assert sum(n for _, n in h.events) == dropped


@settings(max_examples=100, deadline=None)
@given(stream=st.binary(min_size=2, max_size=3000), isn=isns, seed=st.integers(0, 2**32))
def test_ack_beyond_hole_declares_gap_and_delivers_the_rest(stream, isn, seed):
    rnd = random.Random(seed)
    segs = cut(len(stream), rnd, 200)
    if len(segs) < 2:
        return
    lost = rnd.randrange(len(segs) - 1)       # never the last one
    h = Harness()
    h.seg(isn, b"", SYN)
    for i, (a, b) in enumerate(segs):
        if i != lost:
            h.seg(isn + 1 + a, stream[a:b])
    # the peer acknowledges everything: the lost segment was received by the peer, not by us
    h.r.acked((isn + 1 + len(stream)) % M32, 0.5)
    a, b = segs[lost]
    assert h.events and ("gap", b - a) in h.events
    assert reconstruct(h.events, stream) == len(stream)
    assert h.r.segs == []


def test_seq_wraparound_in_order_and_out_of_order():
    isn = M32 - 5
    h = Harness()
    h.seg(isn, b"", SYN)
    h.seg(isn + 1, b"abcd")                 # crosses nothing yet
    h.seg(isn + 1 + 8, b"ijkl")             # beyond the wrap, out of order
    h.seg(isn + 1 + 4, b"efgh")             # wraps through 2**32
    assert h.data() == b"abcdefghijkl"
    assert h.r.next == 12 and h.r.max_end == 12


def test_retransmission_delivered_once_and_flagged():
    h = Harness()
    h.seg(1000, b"", SYN)
    assert h.seg(1001, b"hello") is False
    assert h.seg(1001, b"hello") is True      # retransmission
    assert h.seg(1006, b" world") is False
    assert h.data() == b"hello world"
    assert h.weirds == []


def test_inconsistent_overlap_first_seen_wins_and_weird_once():
    h = Harness()
    h.seg(0, b"", SYN)
    h.seg(1, b"AAAA")
    h.seg(1, b"BBBB")          # same bytes, different content: weird
    h.seg(3, b"CCCCDD")        # overlaps delivered "AA" with "CC": second weird suppressed
    assert h.data() == b"AAAACCDD"
    assert h.weirds == ["tcp_inconsistent_overlap"]


def test_inconsistent_overlap_with_buffered_data():
    h = Harness()
    h.seg(0, b"", SYN)
    h.seg(5, b"XXXX")          # out of order: offsets 4..8
    h.seg(1, b"abcdYYYYz")     # fills the hole, overlaps the buffered XXXX with different bytes
    assert h.data() == b"abcdXXXXz"
    assert h.weirds == ["tcp_inconsistent_overlap"]


def test_out_of_order_cap_declares_gap():
    caps = Caps()
    caps.tcp_ooo_bytes = 100
    h = Harness(caps=caps)
    h.seg(0, b"", SYN)
    h.seg(1, b"a" * 10)
    for i in range(5):                        # 10 bytes missing at offset 10, then 5 x 30 bytes
        h.seg(1 + 20 + 30 * i, bytes([65 + i]) * 30)
    assert "tcp_out_of_order_cap" in h.weirds
    assert ("gap", 10) in h.events
    assert h.r.seg_bytes <= 100
    h.r.flush(1.0)
    assert h.r.missed == 10
    assert len(h.data()) == 160


def test_segment_count_cap():
    caps = Caps()
    caps.tcp_ooo_segments = 8
    h = Harness(caps=caps)
    h.seg(0, b"", SYN)
    for i in range(20):                       # every other byte: 20 holes
        h.seg(1 + 2 * i + 1, b"x")
    assert h.weirds == ["tcp_out_of_order_cap"]
    assert len(h.r.segs) <= 8


def test_snaplen_truncated_segment_delivers_captured_part_then_gap():
    h = Harness()
    h.seg(0, b"", SYN)
    h.seg(1, b"abc", plen=10)                 # 7 bytes cut by the snap length
    h.seg(11, b"next")
    assert h.events == [("data", b"abc"), ("gap", 7), ("data", b"next")]
    assert h.r.missed == 7 and h.r.max_end == 14


def test_data_after_fin_is_dropped_with_weird():
    h = Harness()
    h.seg(0, b"", SYN)
    h.seg(1, b"bye", ACK | FIN)
    h.seg(4, b"extra")
    assert h.data() == b"bye"
    assert h.weirds == ["tcp_data_after_fin"]


def test_mid_stream_start_uses_first_sequence_number():
    h = Harness()
    h.seg(123456, b"middle of ")              # no SYN seen
    h.seg(123466, b"the stream")
    h.seg(123400, b"old data before our start")  # ends before the base: ignored
    assert h.data() == b"middle of the stream"


def test_fin_beyond_missing_tail_is_a_gap_at_flush():
    h = Harness()
    h.seg(0, b"", SYN)
    h.seg(1, b"abc")
    h.seg(1 + 10, b"", ACK | FIN)
    h.r.flush(2.0)
    assert h.events == [("data", b"abc"), ("gap", 7)]


def test_no_payload_kept_when_not_wanted():
    h = Harness(want=False)
    h.seg(0, b"", SYN)
    h.seg(100, b"z" * 50)                     # out of order: only offsets are kept
    assert h.r.segs == [(99, 149, None)]
    h.r.set_want(False)
    h.seg(1, b"y" * 99)
    assert h.events == [] and h.r.next == 149 and h.r.segs == [] and h.r.missed == 0


def test_switching_off_mid_drain_keeps_state_consistent():
    """An analyzer that fails while buffered data drains (set_want(False) from the callback)."""
    h = Harness()

    def out(flow, d, data, ts):
        h.events.append(("data", bytes(data)))
        h.r.set_want(False)

    h.r.out = out
    h.seg(0, b"", SYN)
    h.seg(5, b"efgh")
    h.seg(9, b"ijkl")
    h.seg(1, b"abcd")
    assert h.r.next == 12 and h.r.segs == [] and h.r.seg_bytes == 0
    assert h.events == [("data", b"abcd")]


def test_linear_work_for_many_out_of_order_segments():
    """1-byte holes everywhere: every insert is bounded by the segment cap, no rescans."""
    caps = Caps()
    caps.tcp_ooo_segments = 256
    for n in (2000, 8000):
        h = Harness(want=False, caps=caps)
        h.seg(0, b"", SYN)
        for i in range(n):
            h.seg(1 + 2 * i + 1, b"x")
        assert len(h.r.segs) <= 256
        assert h.r.missed >= n - 256
