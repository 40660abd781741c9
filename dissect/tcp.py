"""TCP reassembly, one direction of one connection at a time.

A :class:`Reassembler` turns the segments one endpoint sent into an in-order byte stream for the
analyzer: ``out(flow, direction, data, ts)`` for bytes and ``gap_out(flow, direction, n, ts)``
for bytes that were never captured. Design points:

* **Sequence space**: the 32-bit sequence number is unwrapped to a 64-bit offset relative to the
  first byte of the stream (ISN + 1 after a SYN; the first sequence number seen on a mid-stream
  start). Unwrapping picks the value nearest to the next expected offset, so 2**32 wraparound
  is invisible to everything downstream.
* **In-order fast path**: a segment that starts exactly at the next expected offset while
  nothing is buffered is handed on as it is: no copy, no buffer.
* **Out of order**: segments beyond a hole are kept in a sorted list of non-overlapping
  ``(start, end, data)`` pieces, capped by ``Caps.tcp_ooo_bytes`` and ``Caps.tcp_ooo_segments``.
  Hitting a cap is a ``tcp_out_of_order_cap`` weird and the hole is declared a gap.
* **Overlaps**: first seen wins. Bytes of a retransmission are compared with what was delivered
  (a bounded window of the most recently delivered segments is kept by reference, not copied)
  and with what is buffered; a difference is a ``tcp_inconsistent_overlap`` weird (once per
  direction). Retransmitted bytes are never delivered twice.
* **Gaps** are declared when the peer acknowledges data beyond a hole that is followed by
  buffered data, when a buffer cap is hit, when the connection ends with data buffered beyond a
  hole or a FIN beyond the delivered data, and right away for the cut-off tail of a
  snaplen-truncated segment. Every gap is counted in ``missed``.
* **No analyzer, no buffers**: when nobody wants the bytes (``want`` is False) only offsets are
  tracked (intervals without data), so byte counts, retransmissions and ``missed_bytes`` stay
  exact while no payload is kept.
* Data beyond the FIN's sequence number is dropped with a ``tcp_data_after_fin`` weird.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque

from dissect.packet import FIN, SYN

__all__ = ["Reassembler", "RECENT_WINDOW"]

M32 = 0xFFFFFFFF
HALF = 0x80000000

#: bytes of recently delivered data kept (by reference) to detect inconsistent retransmissions
RECENT_WINDOW = 256 * 1024


class Reassembler:
    """The stream one endpoint sends. The flow owns two of these (ORIG and RESP)."""

    __slots__ = ("flow", "direction", "out", "gap_out", "weird", "base", "first_seq", "next", "max_end",
                 "top", "segs",
                 "seg_bytes", "fin", "missed", "gaps", "want", "recent", "recent_bytes", "ooo_cap",
                 "seg_cap", "warned")

    def __init__(self, flow, direction: int, caps, want: bool, out, gap_out, weird):
        self.flow = flow
        self.direction = direction
        self.out = out              # out(flow, direction, data, ts)
        self.gap_out = gap_out      # gap_out(flow, direction, n, ts)
        self.weird = weird          # weird(flow, name, ts, addl)
        self.base = -1              # 32-bit sequence number of stream offset 0 (-1: not seen yet)
        self.first_seq = -1         # sequence number of the first segment seen (the ISN after a SYN)
        self.next = 0               # offset of the next byte to deliver
        self.max_end = 0            # highest offset seen (payload bytes in sequence space)
        self.top = 0                # highest sequence offset seen, empty segments included
        self.segs = ()              # buffered (start, end, data|None), sorted, non-overlapping
        #                             (a list once something is buffered: no allocation before)
        self.seg_bytes = 0
        self.fin = -1               # offset of the FIN (-1: none)
        self.missed = 0             # bytes declared as gaps
        self.gaps = 0
        self.want = want
        self.recent = None          # deque of recently delivered (offset, bytes), made on first use
        self.recent_bytes = 0
        self.ooo_cap = caps.tcp_ooo_bytes
        self.seg_cap = caps.tcp_ooo_segments
        self.warned = 0             # bit 1: overlap weird sent, 2: cap weird sent, 4: after-FIN weird

    # -- mode -------------------------------------------------------------------------------
    def set_want(self, want: bool) -> None:
        """Stop (or start) keeping payload; buffered data is dropped but its offsets kept."""
        if want == self.want:
            return
        self.want = want
        if not want:
            self.recent = None
            self.recent_bytes = 0
            if self.segs:
                # in place: a drain loop may be holding this list
                self.segs[:] = [(s, e, None) for s, e, _ in self.segs]

    # -- input ------------------------------------------------------------------------------
    def segment(self, flags: int, seq: int, payload: bytes, plen: int, ts: float) -> bool:
        """Process one segment sent by this endpoint. Returns True for a retransmission."""
        if self.base < 0:
            self.base = (seq + 1) & M32 if flags & SYN else seq
            self.first_seq = seq
        if flags & SYN:
            seq += 1
        nxt = self.next
        rel = nxt + ((seq - self.base - nxt + HALF) & M32) - HALF
        if plen == 0:
            if rel > self.top:
                self.top = rel
            if flags & FIN and self.fin < 0:
                self.fin = rel
            return False
        end = rel + plen
        # like Zeek: data starting below the highest sequence number seen (even that of an empty
        # segment) is a retransmission
        retrans = rel < self.top
        if end > self.top:
            self.top = end
        if end > self.max_end:
            self.max_end = end
        if self.fin >= 0 and end > self.fin:
            if not (self.warned & 4):
                self.warned |= 4
                self.weird(self.flow, "tcp_data_after_fin", ts,
                           f"{end - self.fin} bytes beyond the FIN")
            cut = self.fin - rel
            if cut <= 0:
                return retrans
            payload = payload[:cut]
            plen = cut
            end = self.fin
        elif flags & FIN and self.fin < 0:
            self.fin = end
        if rel == nxt and not self.segs and len(payload) == plen:
            # in-order fast path
            self.next = end
            if self.want:
                rec = self.recent
                if rec is None:
                    rec = self.recent = deque()
                rec.append((rel, payload))
                self.recent_bytes += plen
                if self.recent_bytes > RECENT_WINDOW and len(rec) > 1:
                    self._trim_recent()
                self.out(self.flow, self.direction, payload, ts)
            return retrans
        self._slow(rel, end, payload, ts)
        return retrans

    def acked(self, ack: int, ts: float) -> None:
        """The peer acknowledged ``ack``: data below it that we lack was never captured."""
        if not self.segs or self.base < 0:
            return
        nxt = self.next
        a = nxt + ((ack - self.base - nxt + HALF) & M32) - HALF
        if self.fin >= 0 and a > self.fin:
            a = self.fin
        while self.segs and a > self.next:
            first = self.segs[0][0]
            hole_end = first if first < a else a
            if hole_end > self.next:
                self._gap(hole_end - self.next, ts)
            self._drain(ts)

    def flush(self, ts: float) -> None:
        """The connection ends: declare the holes, deliver everything buffered."""
        while self.segs:
            first = self.segs[0][0]
            if first > self.next:
                self._gap(first - self.next, ts)
            self._drain(ts)
        if self.fin > self.next:
            self._gap(self.fin - self.next, ts)

    # -- internals ---------------------------------------------------------------------------
    def _trim_recent(self) -> None:
        rec = self.recent
        while self.recent_bytes > RECENT_WINDOW and len(rec) > 1:
            s, d = rec.popleft()
            self.recent_bytes -= len(d)

    def _gap(self, n: int, ts: float) -> None:
        self.next += n
        self.missed += n
        self.gaps += 1
        self.gap_out(self.flow, self.direction, n, ts)

    def _inconsistent(self, rel: int, ts: float) -> None:
        if not (self.warned & 1):
            self.warned |= 1
            self.weird(self.flow, "tcp_inconsistent_overlap", ts,
                       f"{'orig' if self.direction == 0 else 'resp'} stream offset {rel}")

    def _check_delivered(self, rel: int, data: bytes, ts: float) -> None:
        """Compare ``data`` (at offset ``rel``, below ``next``) with recently delivered bytes."""
        end = rel + len(data)
        mv = None
        for s, d in reversed(self.recent):
            e = s + len(d)
            if e <= rel:
                break
            lo = s if s > rel else rel
            hi = e if e < end else end
            if lo < hi:
                if mv is None:
                    mv = memoryview(data)
                if memoryview(d)[lo - s:hi - s] != mv[lo - rel:hi - rel]:
                    self._inconsistent(lo, ts)
                    return

    def _slow(self, rel: int, end: int, payload: bytes, ts: float) -> None:
        nxt = self.next
        want = self.want
        cend = rel + len(payload)       # end of the captured bytes (< end when truncated)
        if rel < nxt:
            if want and self.recent and cend > rel:
                upto = cend if cend < nxt else nxt
                self._check_delivered(rel, payload[:upto - rel], ts)
            if end <= nxt:
                return
            cut = nxt - rel
            payload = payload[cut:]
            rel = nxt
            if cend < rel:
                cend = rel
        if cend > rel:
            self._insert(rel, cend, payload if want else None, ts)
        self._drain(ts)
        if cend < end and cend <= self.next < end:
            # the snaplen cut the tail of this segment: it can never be delivered
            limit = end
            if self.segs and self.segs[0][0] < limit:
                limit = self.segs[0][0]
            if limit > self.next:
                self._gap(limit - self.next, ts)
                self._drain(ts)
        if self.segs and (self.seg_bytes > self.ooo_cap or len(self.segs) > self.seg_cap):
            if not (self.warned & 2):
                self.warned |= 2
                self.weird(self.flow, "tcp_out_of_order_cap", ts,
                           f"{len(self.segs)} segments, {self.seg_bytes} bytes buffered")
            while self.segs and (self.seg_bytes > self.ooo_cap or len(self.segs) > self.seg_cap):
                first = self.segs[0][0]
                if first > self.next:
                    self._gap(first - self.next, ts)
                self._drain(ts)

    def _insert(self, rel: int, end: int, data, ts: float) -> None:
        """Add [rel, end) to the buffer; parts already buffered keep their first-seen bytes."""
        segs = self.segs
        if not segs:
            segs = self.segs = [(rel, end, data)]
            self.seg_bytes += end - rel
            return
        i = bisect_left(segs, (rel,))
        cur = rel
        if i > 0:
            ps, pe, pd = segs[i - 1]
            if pe > cur:
                hi = pe if pe < end else end
                if data is not None and pd is not None and \
                        memoryview(pd)[cur - ps:hi - ps] != memoryview(data)[cur - rel:hi - rel]:
                    self._inconsistent(cur, ts)
                cur = hi
                if cur >= end:
                    return
        j = i
        n = len(segs)
        pieces = []
        while j < n:
            s, e, d = segs[j]
            if s >= end:
                break
            if s > cur:
                pieces.append((cur, s))
            hi = e if e < end else end
            lo = s if s > cur else cur
            if data is not None and d is not None and lo < hi and \
                    memoryview(d)[lo - s:hi - s] != memoryview(data)[lo - rel:hi - rel]:
                self._inconsistent(lo, ts)
            if e > cur:
                cur = e
            j += 1
        if cur < end:
            pieces.append((cur, end))
        if not pieces:
            return
        if j == i and len(pieces) == 1 and pieces[0] == (rel, end):
            segs.insert(i, (rel, end, data))
            self.seg_bytes += end - rel
            return
        new = []
        for a, b in pieces:
            new.append((a, b, None if data is None else data[a - rel:b - rel]))
            self.seg_bytes += b - a
        segs[i:j] = sorted(segs[i:j] + new, key=_start)

    def _drain(self, ts: float) -> None:
        segs = self.segs
        nxt = self.next
        k = 0
        n = len(segs)
        out = self.out
        while k < n:
            s, e, d = segs[k]
            if s > nxt:
                break
            k += 1
            self.seg_bytes -= e - s
            if e <= nxt:
                continue
            if d is not None:
                if s < nxt:
                    d = d[nxt - s:]
                    s = nxt
                self.next = e
                if self.want:
                    if self.recent is None:
                        self.recent = deque()
                    self.recent.append((s, d))
                    self.recent_bytes += len(d)
                    out(self.flow, self.direction, d, ts)
            nxt = e
        if k:
            del segs[:k]
        self.next = nxt
        if self.recent is not None and self.recent_bytes > RECENT_WINDOW:
            self._trim_recent()


def _start(seg):
    return seg[0]
