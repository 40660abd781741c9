"""IP fragment reassembly (IPv4 and IPv6), bounded and hostile-input safe.

One :class:`Defragmenter` serves both families; datagrams are keyed by the caller (IPv4:
``(4, src, dst, proto, id)``, IPv6: ``(6, src, dst, id)``).

Policy (the same as Zeek's and close to most stacks' "first" policy):

* fragments may arrive in any order; exact duplicates are ignored;
* overlaps: the bytes seen first win; an overlap whose bytes differ is an
  ``ip_fragment_overlap`` weird (once per datagram);
* the datagram is complete when the last fragment (MF=0) has been seen and every byte before its
  end is covered; data claimed beyond that end is dropped (weird);
* a datagram that would exceed 65535 bytes is dropped (``ip_fragment_too_big``);
* ``caps.frag_timeout`` seconds after its first fragment an incomplete datagram is dropped
  (``ip_fragment_timeout``), checked by :meth:`expire` (the pipeline calls it, and the
  defragmenter checks its oldest entry whenever a fragment arrives);
* at most ``caps.frag_pending`` datagrams and ``caps.frag_bytes`` buffered bytes are pending:
  beyond that the oldest is dropped (``ip_fragment_cap``).

Pieces of a datagram are kept disjoint and sorted by offset (``bisect``), so inserting a
fragment only looks at its neighbours: no rescans, even with thousands of tiny fragments.
"""

from __future__ import annotations

from bisect import bisect_right

__all__ = ["Defragmenter"]

MAX_DATAGRAM = 65535


class _Datagram:
    __slots__ = ("first_ts", "starts", "pieces", "have", "total", "meta", "overlap", "size")

    def __init__(self, ts):
        self.first_ts = ts
        self.starts: list[int] = []      # sorted piece offsets
        self.pieces: list[bytes] = []    # piece bytes, parallel to starts (disjoint)
        self.have = 0                    # bytes covered
        self.total = -1                  # datagram payload length once the last fragment is seen
        self.meta = None                 # caller data from the offset-0 fragment (IPv6 next header)
        self.overlap = False             # overlap weird already reported
        self.size = 0


class Defragmenter:
    """Reassemble IP fragments. ``weird(ts, name, addl, key)`` reports anomalies."""

    def __init__(self, caps, weird):
        self.timeout = float(getattr(caps, "frag_timeout", 30.0))
        self.max_pending = max(1, int(getattr(caps, "frag_pending", 8192)))
        self.max_bytes = max(MAX_DATAGRAM, int(getattr(caps, "frag_bytes", 64 << 20)))
        self._weird = weird
        self._pending: dict = {}
        self._bytes = 0
        self._last_ts = 0.0
        self.fragments = 0       # fragments seen
        self.reassembled = 0     # datagrams completed
        self.dropped = 0         # datagrams dropped (timeout, cap, too big)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, ts: float, key, offset: int, more: bool, data: bytes, limit: int = MAX_DATAGRAM,
            meta=None):
        """Add one fragment's payload at ``offset``; returns ``(payload, meta)`` once complete.

        ``limit`` is the largest allowed payload (65535 minus the header that precedes it).
        ``meta`` is kept from the fragment at offset 0 and returned with the payload.
        """
        self.fragments += 1
        self._last_ts = ts
        pend = self._pending
        if pend:
            oldest = next(iter(pend.values()))
            if ts - oldest.first_ts > self.timeout:
                self.expire(ts)
        d = pend.get(key)
        end = offset + len(data)
        if end > limit:
            self._weird(ts, "ip_fragment_too_big", f"fragment ends at {end} > {limit}", key)
            if d is not None:
                self._drop(key)
            return None
        if d is None:
            if len(pend) >= self.max_pending:
                self._evict(ts, f"{self.max_pending} datagrams pending")
            d = pend[key] = _Datagram(ts)
        if offset == 0 and meta is not None and d.meta is None:
            d.meta = meta
        if not more:
            if d.total < 0:
                d.total = end
                if d.starts and d.starts[-1] + len(d.pieces[-1]) > end:
                    self._inconsistent(ts, d, key, f"data beyond the last fragment's end {end}")
                    removed = self._trim(d, end)
                    d.size -= removed
                    self._bytes -= removed
            elif d.total != end:
                self._inconsistent(ts, d, key, f"last fragment ends at {end}, earlier one at {d.total}")
        if d.total >= 0 and end > d.total:
            if offset >= d.total:
                if data:
                    self._inconsistent(ts, d, key, f"fragment at {offset} beyond the datagram end {d.total}")
                return self._complete(key, d) if d.have == d.total else None
            self._inconsistent(ts, d, key, f"fragment beyond the datagram end {d.total}")
            data = data[:d.total - offset]
            end = d.total
        if data:
            added = self._insert(ts, key, d, offset, data, end)
            if added:
                d.size += added
                self._bytes += added
                if self._bytes > self.max_bytes:
                    self._evict_bytes(ts, key)
                    if key not in pend:
                        return None
        if d.total >= 0 and d.have == d.total:
            return self._complete(key, d)
        return None

    # -- internals -------------------------------------------------------------------
    def _insert(self, ts, key, d: _Datagram, off: int, data: bytes, end: int) -> int:
        starts = d.starts
        pieces = d.pieces
        i = bisect_right(starts, off) - 1
        cur = off                       # first byte of data not yet placed
        new: list[tuple[int, bytes]] = []
        if i >= 0:
            ps = starts[i]
            pe = ps + len(pieces[i])
            if pe > off:                # overlaps the piece before
                oe = pe if pe < end else end
                if not d.overlap and pieces[i][off - ps:oe - ps] != data[:oe - off]:
                    self._overlap(ts, d, key, off)
                cur = oe
        j = i + 1
        nst = len(starts)
        while cur < end and j < nst and starts[j] < end:
            ps = starts[j]
            piece = pieces[j]
            pe = ps + len(piece)
            if ps > cur:
                new.append((cur, data[cur - off:ps - off]))
            oe = pe if pe < end else end
            lo = ps if ps > cur else cur
            if not d.overlap and lo < oe and piece[lo - ps:oe - ps] != data[lo - off:oe - off]:
                self._overlap(ts, d, key, lo)
            if oe > cur:
                cur = oe
            j += 1
        if cur < end:
            new.append((cur, data[cur - off:]))
        added = 0
        for s, b in new:
            k = bisect_right(starts, s)
            starts.insert(k, s)
            pieces.insert(k, b)
            added += len(b)
        d.have += added
        return added

    def _trim(self, d: _Datagram, end: int) -> int:
        starts, pieces = d.starts, d.pieces
        removed = 0
        while starts and starts[-1] >= end:
            starts.pop()
            removed += len(pieces.pop())
        if starts and starts[-1] + len(pieces[-1]) > end:
            b = pieces[-1]
            keep = end - starts[-1]
            removed += len(b) - keep
            pieces[-1] = b[:keep]
        d.have -= removed
        return removed

    def _overlap(self, ts, d, key, at) -> None:
        d.overlap = True
        self._weird(ts, "ip_fragment_overlap", f"overlapping fragment at offset {at} differs; first seen kept", key)

    def _inconsistent(self, ts, d, key, why) -> None:
        if not d.overlap:
            d.overlap = True
            self._weird(ts, "ip_fragment_overlap", why, key)

    def _complete(self, key, d: _Datagram):
        del self._pending[key]
        self._bytes -= d.size
        self.reassembled += 1
        pieces = d.pieces
        payload = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        return payload, d.meta

    def _drop(self, key) -> _Datagram:
        d = self._pending.pop(key)
        self._bytes -= d.size
        self.dropped += 1
        return d

    def _evict(self, ts, why) -> None:
        key = next(iter(self._pending))
        d = self._drop(key)
        self._weird(ts, "ip_fragment_cap", f"{why}: dropped the oldest ({d.have} bytes)", key)

    def _evict_bytes(self, ts, current) -> None:
        while self._bytes > self.max_bytes and self._pending:
            self._evict(ts, f"more than {self.max_bytes} fragment bytes pending")

    def expire(self, now: float) -> None:
        """Drop datagrams whose first fragment is older than the timeout.

        ``now = inf`` (end of input) drops every pending datagram, like :meth:`flush`.
        """
        if now == float("inf"):
            self.flush(self._last_ts)
            return
        pend = self._pending
        limit = now - self.timeout
        old = []
        for key, d in pend.items():
            if d.first_ts >= limit:
                break
            old.append(key)
        for key in old:
            d = self._drop(key)
            covered = d.have
            total = d.total if d.total >= 0 else "?"
            self._weird(now, "ip_fragment_timeout",
                        f"incomplete after {self.timeout:g}s: {covered} of {total} bytes", key)

    def flush(self, now: float) -> None:
        """End of input: every pending datagram is reported as timed out."""
        for key in list(self._pending):
            d = self._drop(key)
            total = d.total if d.total >= 0 else "?"
            self._weird(now, "ip_fragment_timeout", f"incomplete at end of capture: {d.have} of {total} bytes", key)
