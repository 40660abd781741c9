"""The HTTP/1.x analyzer: a lenient, incremental, sans-IO parser of both directions of a flow.

Design (after h11 and Zeek's HTTP analyzer):

* Each direction is a :class:`_Side` with a receive buffer, a consumed offset and a line-scan
  offset: a byte is searched for a line end at most once (no rescans), body bytes are passed on
  as slices without being buffered. Every line and header block has a cap (``caps.line_length``,
  ``caps.header_count``, ``caps.header_bytes``); hitting one is a weird and the parser goes on.
* Message length follows RFC 9112 §6.3 (see :meth:`HttpAnalyzer._response_body_mode`).
* Requests queue up in ``_wait`` (pipelining); a response pairs with the oldest request still
  waiting for its final response. Interim 1xx responses stay with it.
* After a gap, or after a line we cannot parse, a side *resynchronises*: it drops lines until one
  parses as a request line (status line) and marks the affected transactions incomplete. A gap
  inside a body of known length keeps the parser in sync (only that body is incomplete).
* CONNECT 2xx, 101 Switching Protocols and the HTTP/2 preface end HTTP parsing on the flow.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tempfile
from typing import Any

from dissect.analyzer import ORIG, RESP, Analyzer, FlowContext
from dissect.http import records as R
from dissect.http.codings import KNOWN_CODINGS, DecoderChain, parse_codings
from dissect.http.ranges import ByteRangesParser, RangeStore, RangeWriter, parse_content_range

__all__ = ["HttpAnalyzer"]

# side states
START, HEADERS, LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS, CLOSE, DEAD, HOLD, DISCARD, BLOCK = range(12)
_LINE_STATES = (START, HEADERS, CHUNK_SIZE, CHUNK_END, TRAILERS)

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RESYNC_METHOD = re.compile(rb"[A-Z][A-Z_-]{2,31}")
_VERSION = re.compile(rb"HTTP/(\d{1,3}\.\d{1,3})")
_LAX_VERSION = re.compile(rb"HTTP/\d{0,3}\.?\d{0,3}")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_FILENAME = re.compile(r"""filename\*?\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))""", re.I)
_H2_PREFACE = b"PRI * HTTP/2.0"
_BOUNDARY = re.compile(r'boundary\s*=\s*"?([^";]{1,200})"?', re.I)
_MAX_RANGES = 64


def _s(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


def _add_header(headers: list, hmap: dict, name: str, value: str) -> None:
    """One header into a head's ordered list and its lower-case name -> values map."""
    headers.append((name, value))
    key = name.lower()
    vals = hmap.get(key)
    if vals is None:
        hmap[key] = [value]
    else:
        vals.append(value)


class _Head:
    """A parsed start line and header block."""

    __slots__ = ("ts", "method", "uri", "version", "code", "reason", "headers", "hmap", "size",
                 "incomplete", "capped")

    def __init__(self, ts: float):
        self.ts = ts
        self.method = self.uri = self.version = self.reason = None
        self.code = None
        self.headers: list[tuple[str, str]] = []
        self.hmap: dict[str, list[str]] = {}
        self.size = 0
        self.incomplete = False
        self.capped = False

    def get(self, name: str) -> str | None:
        v = self.hmap.get(name)
        return v[0] if v else None

    def add(self, name: str, value: str) -> None:
        self.headers.append((name, value))
        self.hmap.setdefault(name.lower(), []).append(value)


class _Body:
    """Counts, content-decodes, hashes and (when needed) keeps one message body."""

    __slots__ = ("an", "len", "sha", "decoded", "chain", "gapped", "spool", "kept", "keep_max", "mime",
                 "ranges", "rtail", "reported", "small", "stitch")

    def __init__(self, an: "HttpAnalyzer", codings: list[str], keep: bool, mime: Any, ranges: bool):
        caps = an.caps
        self.an = an
        self.len = 0
        self.sha = hashlib.sha256()
        self.decoded = 0
        self.chain = None
        self.reported = False
        if codings:
            self.chain = DecoderChain(codings, self._out, caps.decompressed_bytes, caps.decompression_ratio)
        self.gapped = False
        self.spool = None
        self.kept = 0
        self.keep_max = caps.message_bytes if keep else 0
        self.mime = mime
        self.ranges: list[str] | None = [] if ranges else None
        self.rtail = b""
        self.small = bytearray() if an.body_bytes > 0 else None
        self.stitch = None   # range stitching writer (206 bodies), see dissect.http.ranges

    def feed(self, data: bytes) -> None:
        self.len += len(data)
        if self.gapped or not data:
            return
        if self.chain is not None:
            self.chain.feed(data)
        else:
            self._out(data)

    def _out(self, piece: bytes) -> None:
        self.sha.update(piece)
        self.decoded += len(piece)
        if self.keep_max:
            if self.kept + len(piece) > self.keep_max:
                self.keep_max = 0
                self.kept = -1
                if self.spool is not None:
                    self.spool.close()
                    self.spool = None
            else:
                if self.spool is None:
                    self.spool = tempfile.SpooledTemporaryFile(max_size=self.an.caps.body_memory)
                self.spool.write(piece)
                self.kept += len(piece)
        if self.mime is not None:
            self.mime.feed(piece)
        if self.small is not None:
            if len(self.small) + len(piece) > self.an.body_bytes:
                self.small = None
            else:
                self.small += piece
        if self.ranges is not None:
            self._scan_ranges(piece)
        if self.stitch is not None:
            self.stitch.feed(piece)

    def _scan_ranges(self, piece: bytes) -> None:
        buf = self.rtail + piece
        low = buf.lower()
        pos = 0
        while len(self.ranges) < _MAX_RANGES:
            i = low.find(b"\ncontent-range:", pos)
            if i < 0:
                break
            j = low.find(b"\n", i + 1)
            if j < 0:
                pos = i
                break
            self.ranges.append(_s(buf[i + 15:j].strip()))
            pos = j
        self.rtail = buf[max(pos, len(buf) - 256):]

    def gap(self, n: int) -> None:
        self.len += n
        self.gapped = True

    def digest(self) -> str | None:
        """SHA-256 of the decoded body; None when empty, or when bytes are missing or undecoded."""
        if not self.decoded or self.gapped or (self.chain is not None and self.chain.state != "ok"):
            return None
        return self.sha.hexdigest()

    def finish(self) -> None:
        ch = self.chain
        if ch is not None:
            if not self.gapped:
                ch.finish()
            ch.sink = None      # chain.sink is self._out: break the cycle (freed without the GC)

    def chunks(self):
        """The kept decoded body as an iterator of chunks (streamed from the spool file)."""
        spool = self.spool
        self.spool = None
        if spool is None or self.kept <= 0:
            return None

        def gen():
            try:
                spool.seek(0)
                while True:
                    b = spool.read(1 << 20)
                    if not b:
                        break
                    yield b
            finally:
                spool.close()
        return gen()


class _Txn:
    __slots__ = ("depth", "req", "resp", "req_body", "resp_body", "req_done", "resp_done",
                 "req_end_ts", "first_resp_ts", "resp_end_ts", "info_code", "info_msg", "tags",
                 "incomplete", "mime_req", "mime_resp")

    def __init__(self, depth: int):
        self.depth = depth
        self.req: _Head | None = None
        self.resp: _Head | None = None
        self.req_body: _Body | None = None
        self.resp_body: _Body | None = None
        self.req_done = False
        self.resp_done = False
        self.req_end_ts = None
        self.first_resp_ts = None
        self.resp_end_ts = None
        self.info_code = None
        self.info_msg = None
        self.tags: list[str] = []
        self.incomplete = False
        self.mime_req = None
        self.mime_resp = None

    def tag(self, t: str) -> None:
        if t not in self.tags:
            self.tags.append(t)


class _Side:
    """One direction's incremental parser state."""

    __slots__ = ("an", "is_req", "buf", "off", "scan", "state", "saved", "remaining", "head", "txn",
                 "body", "resyncing", "skipped", "rem_ts", "line_len", "hdr_count", "bare_lf",
                 "trailer_index", "dead_bytes", "hold_ts", "scanned")

    def __init__(self, an: "HttpAnalyzer", is_req: bool):
        self.an = an
        self.is_req = is_req
        self.buf = bytearray()
        self.off = 0
        self.scan = 0
        self.state = START
        self.saved = START
        self.remaining = 0
        self.head: _Head | None = None
        self.txn: _Txn | None = None
        self.body: _Body | None = None
        self.resyncing = False
        self.skipped = 0
        self.rem_ts = 0.0
        self.line_len = an.caps.line_length
        self.hdr_count = 0
        self.bare_lf = False
        self.trailer_index = 0
        self.dead_bytes = 0
        self.hold_ts = 0.0
        self.scanned = 0        # bytes searched for line/block ends (tests check it stays linear)

    # -- input -------------------------------------------------------------------------------
    def feed(self, data: bytes, ts: float) -> None:
        st = self.state
        if st == DEAD:
            self.dead_bytes += len(data)
            return
        if st == HOLD:
            if len(self.buf) - self.off + len(data) > self.an.caps.header_bytes:
                # the server never answered the CONNECT/Upgrade: give up holding, parse on
                self.state = START
            else:
                self.buf += data
                return
        if st in (LENGTH, CHUNK_DATA, CLOSE) and self.off == len(self.buf):
            # the fast path: body bytes straight from the packet, nothing buffered
            work, off, rem_len = data, 0, 0
        else:
            if self.off == len(self.buf):
                self.buf.clear()
                self.off = 0
                self.rem_ts = ts
            rem_len = len(self.buf)
            self.buf += data
            work, off = self.buf, self.off
        n = len(work)
        an = self.an
        while off < n:
            st = self.state
            if st == LENGTH or st == CHUNK_DATA:
                take = min(self.remaining, n - off)
                self.body.feed(work[off:off + take])
                off += take
                self.remaining -= take
                if self.remaining == 0:
                    if st == LENGTH:
                        self.end_message(ts)
                    else:
                        self.state = CHUNK_END
            elif st == CLOSE:
                self.body.feed(work[off:n])
                off = n
            elif st == DEAD:
                if an.tunnel_rest is not None and n > off:
                    an.tunnel_rest[0 if self.is_req else 1] += bytes(work[off:n])
                self.dead_bytes += n - off
                off = n
            elif st == HOLD:
                break
            elif st == BLOCK:
                # the header block in one piece when it is all there (the common case)
                if self.scan == 0 and work[off:off + 1] == b"\n":
                    end = off + 1
                elif self.scan == 0 and work[off:off + 2] == b"\r\n":
                    end = off + 2
                else:
                    start = off + self.scan
                    # CRLF first: a bare-LF end is only wanted before it, so the body bytes that
                    # often follow the head in the same segment are not searched for one
                    j = work.find(b"\n\r\n", start)
                    i = work.find(b"\n\n", start, j + 2 if j >= 0 else n)
                    self.scanned += n - start
                    end = min(i + 2 if i >= 0 else n + 9, j + 3 if j >= 0 else n + 9)
                    if end > n:
                        if n - off > self.line_len or n - off > an.caps.header_bytes:
                            self.state = HEADERS  # huge: go line by line (caps, discards)
                            self.scan = 0
                            continue
                        if n - off == 1 and work[off:off + 1] == b"\r":
                            self.scan = 0
                        else:
                            self.scan = max(0, n - off - 2)
                        break
                self.scan = 0
                block = bytes(work[off:end])
                off = end
                self.header_block(block, ts)
            else:
                nl = work.find(b"\n", off + self.scan)
                self.scanned += (n if nl < 0 else nl) - off - self.scan
                if nl < 0:
                    if n - off > self.line_len:
                        if st != DISCARD:
                            self.line_too_long(work[off:off + 64], ts)
                        if self.resyncing:
                            self.skipped += n - off
                        off = n
                        self.scan = 0
                    else:
                        self.scan = n - off
                    break
                self.scan = 0
                if st == DISCARD:
                    if self.resyncing:
                        self.skipped += nl + 1 - off
                    off = nl + 1
                    self.state = self.saved
                    continue
                if nl - off > self.line_len:
                    self.line_too_long(work[off:off + 64], ts, discard=False)
                    if self.resyncing:
                        self.skipped += nl + 1 - off
                    off = nl + 1
                    continue
                line = work[off:nl]
                lts = self.rem_ts if off < rem_len else ts
                raw_len = nl + 1 - off
                off = nl + 1
                if line[-1:] == b"\r":
                    line = line[:-1]
                elif not self.bare_lf and not self.resyncing:   # not in bytes skipped after a gap
                    self.bare_lf = True
                    an.weird(R.W_BARE_LF, ts, bytes(line[:80]))
                self.on_line(bytes(line), lts, ts, raw_len)
        if work is self.buf:
            if off >= n:
                self.buf.clear()
                self.off = 0
            elif off > 65536 and off > n // 2:
                del self.buf[:off]
                self.off = 0
                self.rem_ts = ts
            else:
                self.off = off
        elif off < n:
            self.buf = bytearray(work[off:])
            self.off = 0
            self.rem_ts = ts

    def line_too_long(self, excerpt: bytes, ts: float, discard: bool = True) -> None:
        st = self.state
        if not self.resyncing:
            self.an.weird(R.W_LINE, ts, excerpt)
            if self.head is not None:
                self.head.incomplete = True
        if st in (CHUNK_SIZE, CHUNK_END):  # framing lost
            self.an.bad_chunk(self, ts, b"line too long")
            st = self.state
        if discard and st != DISCARD:
            self.saved = st
            self.state = DISCARD

    # -- lines -------------------------------------------------------------------------------
    def on_line(self, line: bytes, lts: float, ts: float, raw_len: int) -> None:
        st = self.state
        an = self.an
        if st == START:
            if not line.strip():
                if self.resyncing:
                    self.skipped += raw_len
                return  # leading empty lines are tolerated (RFC 9112 2.2)
            if self.resyncing and (line[:5] != b"HTTP/" if not self.is_req else
                                   not (65 <= line[0] <= 90 and b" HTTP/" in line)):
                self.skipped += raw_len   # cheap rejection while resynchronising
                return
            head = an.parse_start(self, line, lts, ts)
            if head is None:
                if self.resyncing:
                    self.skipped += raw_len
                return
            if self.resyncing:
                self.resyncing = False
                if self.skipped:
                    an.weird(R.W_RESYNC_SKIP, ts, f"{self.skipped} bytes skipped")
                self.skipped = 0
            self.head = head
            head.size = raw_len
            self.hdr_count = 0
            self.state = BLOCK
        elif st == HEADERS or st == TRAILERS:
            if not line:
                if st == HEADERS:
                    self.head.size += raw_len
                    self.head_done(ts)
                else:
                    self.end_message(ts)
                return
            self.header_line(line, ts, raw_len, st == TRAILERS)
        elif st == CHUNK_SIZE:
            if not line.strip():
                return  # tolerate stray blank lines between chunks
            semi = line.find(b";")
            size = (line if semi < 0 else line[:semi]).strip(b" \t")
            if not _HEX.fullmatch(size):
                an.bad_chunk(self, ts, line)
                return
            n = int(size, 16)
            if n >= 1 << 62:
                an.bad_chunk(self, ts, line)
                return
            if n == 0:
                self.state = TRAILERS
                self.trailer_index = 0
            else:
                self.remaining = n
                self.state = CHUNK_DATA
        elif st == CHUNK_END:
            if line.strip():
                # missing CRLF after the chunk data: take the line as the next size line
                an.weird(R.W_BAD_CHUNK, ts, b"missing CRLF after chunk: " + line[:60])
                self.state = CHUNK_SIZE
                self.on_line(line, lts, ts, raw_len)
            else:
                self.state = CHUNK_SIZE

    def header_block(self, block: bytes, ts: float) -> None:
        """A complete header block (ending with its empty line), same rules as header_line."""
        if self._plain_block(block):
            self.head_done(ts)
            return
        lines = block.split(b"\n")
        lines.pop()                      # after the last LF
        last = lines.pop()               # the empty line (b"" or b"\r")
        line_len = self.line_len
        an = self.an
        head = self.head
        headers, hmap = head.headers, head.hmap
        hc, hb = an.caps.header_count, an.caps.header_bytes
        for line in lines:
            raw_len = len(line) + 1
            if line[-1:] == b"\r":
                line = line[:-1]
            elif not self.bare_lf:
                self.bare_lf = True
                an.weird(R.W_BARE_LF, ts, line[:80])
            if raw_len > line_len + 1:
                an.weird(R.W_LINE, ts, line[:64])
                head.incomplete = True
                continue
            # fast path for an ordinary "Name: value" line; anything else takes header_line
            size = head.size + raw_len
            cnt = self.hdr_count + 1
            name, sep, value = line.partition(b":")
            if (not sep or not name or head.capped or cnt > hc or size > hb
                    or name[-1:] in (b" ", b"\t") or name[:1] in (b" ", b"\t")):
                self.header_line(line, ts, raw_len, False)
                continue
            head.size = size
            self.hdr_count = cnt
            sname = name.decode("utf-8", "backslashreplace")
            svalue = value.strip(b" \t").decode("utf-8", "backslashreplace")
            _add_header(headers, hmap, sname, svalue)
        if last != b"\r" and not self.bare_lf:
            self.bare_lf = True
            an.weird(R.W_BARE_LF, ts, b"")
        self.head.size += len(last) + 1
        self.head_done(ts)

    def _plain_block(self, block: bytes) -> bool:
        """The common block, all at once: CRLF line ends, within every cap, only "Name: value"
        lines. Takes it (same headers, sizes and counts as line by line) or returns False
        without changing anything."""
        head = self.head
        an = self.an
        if len(block) <= 2 or not block.endswith(b"\r\n\r\n") or head.capped or len(block) > self.line_len:
            return False
        k = block.count(b"\n") - 1               # header lines
        if (block.count(b"\r\n") != k + 1 or self.hdr_count + k > an.caps.header_count
                or head.size + len(block) - 2 > an.caps.header_bytes):
            return False
        # decoded once: the split points (CR LF ':' SP HT) are ASCII bytes, never part of a
        # multi-byte or invalid sequence, so each piece is the piece's own decoding
        fields = [line.partition(":") for line in
                  block[:-4].decode("utf-8", "backslashreplace").split("\r\n")]
        for name, sep, _ in fields:
            if not sep or not name or name[0] in " \t" or name[-1] in " \t":
                return False
        headers, hmap = head.headers, head.hmap
        for name, _, value in fields:
            _add_header(headers, hmap, name, value.strip(" \t"))
        self.hdr_count += k
        head.size += len(block)
        return True

    def header_line(self, line: bytes, ts: float, raw_len: int, trailer: bool) -> None:
        an = self.an
        head = self.head
        if line[:1] in (b" ", b"\t"):  # obs-fold: continuation of the previous header
            if not trailer:
                head.size += raw_len
            if head.headers and not trailer and not head.capped:
                name, value = head.headers[-1]
                value = (value + " " + _s(line.strip(b" \t"))).strip()
                head.headers[-1] = (name, value)
                vals = head.hmap[name.lower()]
                vals[-1] = value
                an.weird(R.W_OBS_FOLD, ts, line[:80])
            return
        if not trailer:
            head.size += raw_len
            self.hdr_count += 1
            if head.capped:
                return
            if self.hdr_count > an.caps.header_count or head.size > an.caps.header_bytes:
                head.capped = True
                head.incomplete = True
                an.weird(R.W_HEADER_CAP, ts, f"{self.hdr_count} headers, {head.size} bytes")
                return
        else:
            self.trailer_index += 1
            if self.trailer_index > an.caps.header_count:
                return
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            an.weird(R.W_BAD_HEADER, ts, line[:80])
            return
        if name[-1:] in (b" ", b"\t"):
            an.weird(R.W_BAD_HEADER, ts, b"whitespace before colon: " + line[:60])
            name = name.rstrip(b" \t")
        sname, svalue = _s(name), _s(value.strip(b" \t"))
        if trailer:
            an.trailer(self, sname, svalue)
        else:
            head.add(sname, svalue)

    def head_done(self, ts: float) -> None:
        head = self.head
        self.head = None
        if self.is_req:
            self.an.request_head(self, head, ts)
        else:
            self.an.response_head(self, head, ts)

    def start_body(self, mode: int, length: int, ts: float) -> None:
        if mode == LENGTH and length == 0:
            mode = START
        if mode == START:
            self.end_message(ts)
            return
        self.state = mode
        self.remaining = length

    def end_message(self, ts: float) -> None:
        self.state = START
        self.an.message_done(self, ts, complete=True)

    def reset(self) -> None:
        self.buf.clear()
        self.off = 0
        self.scan = 0
        self.head = None
        self.body = None
        self.txn = None


class HttpAnalyzer(Analyzer):
    source = "http"

    def __init__(self, ctx: FlowContext):
        super().__init__(ctx)
        opts = ctx.options
        if opts is None:
            from dissect.options import Options
            opts = Options()
        self.caps = opts.caps
        self.want_headers = bool(getattr(opts, "http_headers", False))
        self.body_bytes = int(getattr(opts, "http_body_bytes", 0) or 0)
        self.want_creds = bool(getattr(opts, "credentials", False))
        self.sides = (_Side(self, True), _Side(self, False))
        # plain lists, not deques: an empty deque costs ~600 bytes and every flow has two; the
        # queues are short (pipelining depth, capped by http_pending), so pop(0) stays cheap
        self.txns: list[_Txn] = []           # not yet emitted, in order
        self.wait: list[_Txn] = []           # requests waiting for their final response
        self.depth = 0
        self.gap_reported = False
        self.closed = False
        self.dead_reason = None
        self.tunnel_rest: list[bytes] | None = None   # set when a CONNECT turned the flow into a tunnel

    # -- analyzer contract ---------------------------------------------------------------------
    def feed(self, direction: int, data: bytes, ts: float) -> None:
        if not data or self.closed:
            return
        self.sides[1 if direction == RESP else 0].feed(data, ts)

    def gap(self, direction: int, n: int, ts: float) -> None:
        if self.closed or n <= 0:
            return
        side = self.sides[1 if direction == RESP else 0]
        st = side.state
        if st == DEAD:
            return
        if not self.gap_reported:
            self.gap_reported = True
            self.weird(R.W_GAP, ts, f"{n} bytes missing ({'response' if side is self.sides[1] else 'request'} side)")
        if side.off < len(side.buf):
            pending = len(side.buf) - side.off
        else:
            pending = 0
        if st in (LENGTH, CHUNK_DATA) and pending == 0 and n <= side.remaining:
            side.body.gap(n)
            self._mark_gap(side)
            side.remaining -= n
            if side.remaining == 0:
                if st == LENGTH:
                    side.end_message(ts)
                else:
                    side.state = CHUNK_END
            return
        if st == CLOSE and pending == 0:
            side.body.gap(n)
            self._mark_gap(side)
            return
        if st == HOLD:
            side.state = START
        # framing lost: end what was in progress as incomplete and resynchronise
        if side.head is not None:
            side.head.incomplete = True
            head = side.head
            side.head = None
            if side.is_req:
                self.request_head(side, head, ts, lost=True)
            else:
                self.response_head(side, head, ts, lost=True)
        if side.body is not None:
            side.body.gap(n)
            self._mark_gap(side)
            self.message_done(side, ts, complete=False)
        side.reset()
        side.state = START
        side.resyncing = True
        side.skipped = 0

    def close(self, ts: float) -> None:
        if self.closed:
            return
        for side in self.sides:
            st = side.state
            if st == CLOSE:
                self.message_done(side, ts, complete=True)
            elif side.head is not None:
                head = side.head
                head.incomplete = True
                side.head = None
                if side.is_req:
                    self.request_head(side, head, ts, lost=True)
                else:
                    self.response_head(side, head, ts, lost=True)
                if side.body is not None:
                    self.message_done(side, ts, complete=False)
            elif side.body is not None and st not in (START, DEAD, HOLD):
                self.weird(R.W_TRUNCATED, ts, f"{'request' if side.is_req else 'response'} body cut at {side.body.len} bytes")
                self.message_done(side, ts, complete=False)
        self.closed = True
        for t in self.txns:
            if not t.resp_done:
                t.incomplete = True
                if t.resp is None and t.req is not None and "tunnel" not in t.tags:
                    t.tag("no_response")
            if not t.req_done:
                t.incomplete = True
            t.req_done = t.resp_done = True
        self._flush()
        for side in self.sides:     # side.an -> self is a reference cycle: break it, so the flow's
            side.an = None          # objects go with reference counting, not the cyclic GC

    # -- helpers -------------------------------------------------------------------------------
    def _mark_gap(self, side: _Side) -> None:
        t = side.txn
        if t is not None:
            t.incomplete = True
            t.tag("gap")

    def bad_chunk(self, side: _Side, ts: float, line: bytes) -> None:
        self.weird(R.W_BAD_CHUNK, ts, line[:80])
        if side.txn is not None:
            side.txn.incomplete = True
        self.message_done(side, ts, complete=False)
        side.state = START
        side.resyncing = True
        side.skipped = 0

    def parse_start(self, side: _Side, line: bytes, lts: float, ts: float) -> _Head | None:
        if side.is_req:
            if line.startswith(_H2_PREFACE):
                h = _Head(lts)
                h.method, h.uri, h.version = "PRI", "*", "2.0"
                return h
            parts = line.split()
            if len(parts) >= 3 and parts[-1][:5] == b"HTTP/":
                method = parts[0]
                ok = (_RESYNC_METHOD if side.resyncing else _TOKEN).fullmatch(method)
                m = _VERSION.fullmatch(parts[-1])
                if ok and (m or _LAX_VERSION.fullmatch(parts[-1])):
                    h = _Head(lts)
                    h.method = _s(method)
                    h.uri = _s(b" ".join(parts[1:-1]))
                    if m:
                        h.version = m.group(1).decode()
                    else:  # "HTTP/1." and the like: keep what was sent
                        h.version = _s(parts[-1][5:])
                        if not side.resyncing:
                            self.weird(R.W_BAD_REQ, ts, b"malformed version: " + line[:80])
                    if len(parts) > 3:
                        self.weird(R.W_BAD_REQ, ts, b"spaces in request target: " + line[:80])
                    return h
            elif len(parts) == 2 and _RESYNC_METHOD.fullmatch(parts[0]) and _VERSION.fullmatch(parts[1]):
                # "OPTIONS HTTP/1.1": no request target
                h = _Head(lts)
                h.method, h.uri, h.version = _s(parts[0]), "", _VERSION.fullmatch(parts[1]).group(1).decode()
                if not side.resyncing:
                    self.weird(R.W_BAD_REQ, ts, b"no request target: " + line[:80])
                return h
            elif 1 <= len(parts) <= 2 and _RESYNC_METHOD.fullmatch(parts[0]) and (
                    len(parts) == 1 or parts[1][:1] in (b"/", b"*") or b"://" in parts[1]):
                # no HTTP version (HTTP/0.9 style, or a broken client): keep it, parse headers anyway
                h = _Head(lts)
                h.method = _s(parts[0])
                h.uri = _s(parts[1]) if len(parts) > 1 else ""
                h.version = "0.9"
                if not side.resyncing:
                    self.weird(R.W_BAD_REQ, ts, b"no HTTP version: " + line[:80])
                return h
            if not side.resyncing:
                self.weird(R.W_BAD_REQ, ts, line[:100])
                side.resyncing = True
                side.skipped = len(line)
            return None
        # status line
        if line[:5] == b"HTTP/":
            parts = line.split(None, 2)
            m = _VERSION.fullmatch(parts[0])
            if m and len(parts) >= 2 and len(parts[1]) == 3 and parts[1].isdigit():
                h = _Head(lts)
                h.version = m.group(1).decode()
                h.code = int(parts[1])
                h.reason = _s(parts[2].strip()) if len(parts) > 2 else ""
                return h
        if not side.resyncing:
            self.weird(R.W_BAD_STATUS, ts, line[:100])
            side.resyncing = True
            side.skipped = len(line)
        return None

    def _new_txn(self) -> _Txn:
        self.depth += 1
        t = _Txn(self.depth)
        self.txns.append(t)
        return t

    def _emit_headers(self, t: _Txn, head: _Head, direction: str) -> None:
        if not self.want_headers:
            return
        uid = self.ctx.uid
        emit = self.ctx.emit
        for i, (k, v) in enumerate(head.headers):
            emit(R.HttpHeader(uid=uid, trans_depth=t.depth, direction=direction, index=i, name=k, value=v))

    def trailer(self, side: _Side, name: str, value: str) -> None:
        t = side.txn
        if t is None:
            return
        if self.want_headers:
            self.ctx.emit(R.HttpHeader(uid=self.ctx.uid, trans_depth=t.depth,
                                       direction="request_trailer" if side.is_req else "response_trailer",
                                       index=side.trailer_index - 1, name=name, value=value))

    def _lengths(self, head: _Head, ts: float, t: _Txn) -> tuple[str, int]:
        """('chunked'|'length'|'close'|'none'|'bad_te', n) from Transfer-Encoding/Content-Length."""
        te = head.hmap.get("transfer-encoding")
        cl = head.hmap.get("content-length")
        if te:
            codings = parse_codings(", ".join(te))
            real = [c for c in codings if c != "identity"]
            if real != codings or len(te) > 1:
                t.tag("smuggling")
                self.weird(R.W_BAD_TE, ts, ", ".join(te))
            if cl:
                t.tag("smuggling")
                self.weird(R.W_TE_CL, ts, f"Transfer-Encoding: {', '.join(te)}; Content-Length: {', '.join(cl)}")
            if real and real[-1] == "chunked":
                return "chunked", 0
            if real:  # ("identity" alone falls through to Content-Length)
                if head.code is None:  # a request: must end in chunked (RFC 9112 6.3 rule 3)
                    self.weird(R.W_BAD_TE, ts, ", ".join(te))
                    t.tag("smuggling")
                return "bad_te", 0
        if cl:
            vals = set()
            for v in cl:
                for item in v.split(","):
                    item = item.strip()
                    if item:
                        vals.add(item)
            nums = []
            for v in vals:
                if v.isdigit() and len(v) <= 18:
                    nums.append(int(v))
                else:
                    self.weird(R.W_BAD_CL, ts, v)
            if len(vals) > 1:
                t.tag("smuggling")
                self.weird(R.W_CL_MISMATCH, ts, ", ".join(cl))
            if nums:
                first = None
                for v in cl:  # the first valid value as sent
                    for item in v.split(","):
                        item = item.strip()
                        if item.isdigit() and len(item) <= 18:
                            first = int(item)
                            break
                    if first is not None:
                        break
                return "length", first
            return "bad_cl", 0
        return "none", 0

    def _te_codings(self, head: _Head) -> list[str]:
        te = head.hmap.get("transfer-encoding")
        if not te:
            return []
        real = [c for c in parse_codings(", ".join(te)) if c not in ("identity", "chunked")]
        return real

    def _make_body(self, side: _Side, t: _Txn, head: _Head, is_req: bool, ts: float) -> _Body:
        ce = head.hmap.get("content-encoding")
        ce_list = parse_codings(", ".join(ce)) if ce else []
        te_extra = self._te_codings(head)
        # content codings were applied first, then transfer codings: undo TE extras, then CE
        codings = ce_list + te_extra
        unknown = [c for c in codings if c not in KNOWN_CODINGS]
        if unknown:
            self.weird(R.W_UNKNOWN_CODING, ts, ", ".join(unknown))
            t.tag("unknown_coding")
            codings = []
        ctype = (head.get("content-type") or "").lower()
        mime = None
        base = ctype.split(";", 1)[0].strip()
        if base.startswith("multipart/form-data") or base.startswith("message/"):
            mime = self._mime(t, head, is_req, ts)
        keep = self.ctx.extractor is not None and mime is None
        body = _Body(self, codings, keep, mime, ranges=(not is_req and base == "multipart/byteranges"))
        if not is_req and head.code == 206 and not codings and isinstance(self.ctx.shared, RangeStore):
            body.stitch = self._stitcher(t, head, base, ts)
        if is_req:
            t.req_body = body
            t.mime_req = mime
        else:
            t.resp_body = body
            t.mime_resp = mime
        side.body = body
        return body

    def _stitcher(self, t: _Txn, head: _Head, base: str, ts: float) -> Any:
        """A writer that puts this 206 body (or its byteranges parts) into the run's range store."""
        store: RangeStore = self.ctx.shared
        req = t.req
        if req is None or not req.uri:
            return None
        if self.ctx.extractor is not None and store.extractor is None:
            store.extractor = self.ctx.extractor
        host, uri, uid = req.get("host"), req.uri, self.ctx.uid
        fname = self._filename(t, head)
        ctype = head.get("content-type")

        def get(total: int):
            obj = store.get(host, uri, total, uid, ts)
            if obj is not None:
                obj.filename = obj.filename or fname
                if base != "multipart/byteranges":
                    obj.ctype = obj.ctype or ctype
            return obj

        if base == "multipart/byteranges":
            m = _BOUNDARY.search(ctype or "")
            if not m:
                return None
            return ByteRangesParser(m.group(1).encode("latin-1", "replace"), get)
        cr = parse_content_range(head.get("content-range"))
        if cr is None:
            return None
        obj = get(cr[2])
        return RangeWriter(obj, cr[0], cr[1]) if obj is not None else None

    def _mime(self, t: _Txn, head: _Head, is_req: bool, ts: float) -> Any:
        try:
            from dissect.mime import MimeStream
        except ImportError:
            return None
        return MimeStream(self.ctx, source="http", trans_depth=t.depth, ts=ts,
                          content_type=head.get("content-type"),
                          direction="request" if is_req else "response",
                          extract_name=f"{self.ctx.uid}-{t.depth}")

    # -- message events --------------------------------------------------------------------------
    def request_head(self, side: _Side, head: _Head, ts: float, lost: bool = False) -> None:
        t = self._new_txn()
        t.req = head
        side.txn = t
        if head.incomplete:
            t.incomplete = True
        self._emit_headers(t, head, "request")
        self.wait.append(t)
        if len(self.wait) > self.caps.http_pending:
            old = self.wait.pop(0)
            old.resp_done = True
            old.incomplete = True
            old.tag("no_response")
            self.weird(R.W_PENDING, ts, f"{len(self.wait)} requests pending")
        if lost:
            t.req_done = True
            t.req_end_ts = ts
            return
        if head.method == "PRI" and head.version == "2.0":
            t.tag("h2_preface")
            self.weird(R.W_H2, ts, "PRI * HTTP/2.0")
            t.req_done = True
            t.req_end_ts = ts
            t.resp_done = True
            self.wait.remove(t)
            self._go_dead("h2")
            self._flush()
            return
        up = (head.get("upgrade") or "").lower()
        if "h2c" in up:
            t.tag("h2c")
        if len(head.hmap.get("host", ())) > 1:
            self.weird(R.W_MULTI_HOST, ts, ", ".join(head.hmap["host"]))
        if head.version == "1.0" and "keep-alive" in (head.get("connection") or "").lower():
            t.tag("keep_alive_1.0")
        if len(self.wait) > 1:
            t.tag("pipelined")
        mode, n = self._lengths(head, ts, t)
        hold = head.method == "CONNECT" or bool(up)
        if mode == "chunked":
            self._make_body(side, t, head, True, ts)
            side.start_body(CHUNK_SIZE, 0, ts)
        elif mode == "length" and n > 0:
            self._make_body(side, t, head, True, ts)
            side.start_body(LENGTH, n, ts)
        elif mode == "bad_te":
            # RFC 9112 6.3: a server answers 400 and closes; we resynchronise on the next request
            t.incomplete = True
            side.end_message(ts)
            side.resyncing = True
            side.skipped = 0
            return
        else:
            side.end_message(ts)
        if hold and side.state == START:
            side.state = HOLD

    def response_head(self, side: _Side, head: _Head, ts: float, lost: bool = False) -> None:
        code = head.code or 0
        if self.wait:
            t = self.wait[0]
        else:
            t = None
        if 100 <= code < 200 and code != 101:
            side.state = START
            if t is None:
                self.weird(R.W_UNMATCHED, ts, f"{code} {head.reason}")
                return
            if t.first_resp_ts is None:
                t.first_resp_ts = head.ts
            t.info_code = code
            t.info_msg = head.reason
            self._emit_headers(t, head, "interim")
            return  # no body; the final response is still to come
        if t is None:
            self.weird(R.W_UNMATCHED, ts, f"{code} {head.reason}")
            t = self._new_txn()
            t.tag("orphan_response")
            t.req_done = True
        else:
            self.wait.pop(0)
        t.resp = head
        side.txn = t
        if t.first_resp_ts is None:
            t.first_resp_ts = head.ts
        if head.incomplete:
            t.incomplete = True
        self._emit_headers(t, head, "response")
        if lost:
            t.resp_done = True
            t.resp_end_ts = ts
            self._flush()
            return
        req = t.req
        method = req.method if req is not None else None
        req_side = self.sides[0]
        if method == "CONNECT" and 200 <= code < 300:
            t.tag("tunnel")
            t.resp_body = _Body(self, [], False, None, False)
            self._finish_resp(t, ts)
            self._go_dead("tunnel")
            self._flush()
            return
        if code == 101:
            up = (head.get("upgrade") or (req.get("upgrade") if req else None) or "").lower()
            t.tag("upgrade")
            if "websocket" in up:
                t.tag("websocket")
            if "h2c" in up:
                t.tag("h2c")
            t.resp_body = _Body(self, [], False, None, False)
            self._finish_resp(t, ts)
            self._go_dead("upgrade")
            self._flush()
            return
        if req_side.state == HOLD and t.depth == self.depth:  # the response to the holding request
            # the CONNECT/Upgrade was refused: parse what the client sent meanwhile
            req_side.state = START
            held = bytes(req_side.buf[req_side.off:])
            req_side.buf.clear()
            req_side.off = 0
            if held:
                req_side.feed(held, req_side.rem_ts or ts)
        self._make_body(side, t, head, False, ts)
        if method == "HEAD" or code in (204, 304) or (100 <= code < 200):
            side.start_body(START, 0, ts)
            return
        mode, n = self._lengths(head, ts, t)
        if mode == "chunked":
            side.start_body(CHUNK_SIZE, 0, ts)
        elif mode == "length":
            side.start_body(LENGTH, n, ts)
        else:  # no length, a bad one, or TE without chunked last: read until close
            side.start_body(CLOSE, 0, ts)

    def message_done(self, side: _Side, ts: float, complete: bool) -> None:
        t = side.txn
        side.txn = None
        side.body = None
        if t is None:
            return
        if side.is_req:
            if t.req_done:
                return
            t.req_done = True
            t.req_end_ts = ts
            if not complete:
                t.incomplete = True
            self._finish_body(t, t.req_body, t.mime_req, ts, complete, "request")
        else:
            if not complete:
                t.incomplete = True
            self._finish_resp(t, ts, complete)
        self._flush()

    def _finish_resp(self, t: _Txn, ts: float, complete: bool = True) -> None:
        if t.resp_done:
            return
        t.resp_done = True
        t.resp_end_ts = ts
        self._finish_body(t, t.resp_body, t.mime_resp, ts, complete, "response")

    def _finish_body(self, t: _Txn, body: _Body | None, mime: Any, ts: float, complete: bool, which: str) -> None:
        if body is None:
            return
        body.finish()
        ch = body.chain
        if ch is not None and not body.reported and ch.state != "ok":
            body.reported = True
            if ch.state == "bomb":
                self.weird(R.W_BOMB, ts, ch.detail)
                t.tag("decompression_bomb")
                t.incomplete = True
            elif ch.state == "error":
                self.weird(R.W_DECODE, ts, ch.detail)
                t.tag("decode_error")
        if body.keep_max == 0 and body.kept == -1:
            self.weird(R.W_BODY_CAP, ts, f"{which} body over {self.caps.message_bytes} bytes")
        if mime is not None:
            mime.close(ts, complete=complete and not body.gapped)
        ex = self.ctx.extractor
        if ex is not None and mime is None and body.decoded:
            data = body.chunks()
            if data is not None:
                head = t.resp if which == "response" else t.req
                ex.write("http-object", f"{self.ctx.uid}-{t.depth}" + ("" if which == "response" else "-request"),
                         self._filename(t, head), data)

    def _filename(self, t: _Txn, head: _Head | None) -> str | None:
        if head is not None:
            fn = _cd_filename(head.get("content-disposition"))
            if fn:
                return fn
        if t.req is not None and t.req.uri:
            path = t.req.uri.split("?", 1)[0].split("#", 1)[0]
            last = path.rstrip("/").rsplit("/", 1)[-1]
            return last or None
        return None

    def _go_dead(self, why: str) -> None:
        self.dead_reason = why
        if why == "tunnel":
            # the bytes after the CONNECT exchange belong to the tunnelled protocol: the flow table
            # hands them and the rest of the flow to a content probe (flows.FlowTable._tunnel). Called
            # while the response side is being fed: its rest is collected by _Side.feed (DEAD state).
            req = self.sides[0]
            self.tunnel_rest = [bytes(req.buf[req.off:]), b""]
            req.state = DEAD
            req.buf.clear()
            req.off = 0
            self.sides[1].state = DEAD
            return
        for s in self.sides:
            s.state = DEAD
            s.buf.clear()
            s.off = 0

    def _flush(self) -> None:
        txns = self.txns
        while txns and txns[0].req_done and txns[0].resp_done:
            self._emit(txns.pop(0))

    def _emit(self, t: _Txn) -> None:
        ctx = self.ctx
        req, resp = t.req, t.resp
        rb, sb = t.req_body, t.resp_body
        start = req.ts if req is not None else (resp.ts if resp is not None else None)
        if start is None:
            return
        ttfb = None
        if t.first_resp_ts is not None and req is not None:
            ref = t.req_end_ts if (t.req_end_ts is not None and t.req_end_ts <= t.first_resp_ts) else req.ts
            ttfb = max(0.0, t.first_resp_ts - ref)
        duration = None
        if t.resp_end_ts is not None and req is not None:
            duration = max(0.0, t.resp_end_ts - req.ts)
        host = req.get("host") if req is not None else None
        if host is None and req is not None and req.uri and "://" in req.uri:
            host = req.uri.split("://", 1)[1].split("/", 1)[0]
        rng = req.get("range") if req is not None else None
        cr = resp.get("content-range") if resp is not None else None
        parts = [cr] if cr else []
        if sb is not None and sb.ranges:
            parts.extend(sb.ranges)
        if parts:
            rng = f"{rng or ''} -> {'; '.join(parts)}".strip()
        sha = sb.digest() if sb is not None else None
        rsha = rb.digest() if rb is not None else None
        rec = R.HttpTransaction(
            uid=ctx.uid, trans_depth=t.depth, ts=start,
            method=req.method if req else None, host=host, uri=req.uri if req else None,
            version=(req.version if req else resp.version if resp else None),
            user_agent=req.get("user-agent") if req else None,
            referrer=req.get("referer") if req else None,
            status_code=resp.code if resp else None, status_msg=resp.reason if resp else None,
            request_content_type=req.get("content-type") if req else None,
            response_content_type=resp.get("content-type") if resp else None,
            request_body_len=rb.len if rb else 0,
            response_body_len=sb.len if sb else 0,
            response_decoded_len=sb.decoded if sb else (0 if resp else None),
            response_body_sha256=sha,
            content_encoding=resp.get("content-encoding") if resp else None,
            range=rng, info_code=t.info_code, info_msg=t.info_msg, ttfb=ttfb, duration=duration,
            incomplete=bool(t.incomplete or (req is not None and req.incomplete) or (resp is not None and resp.incomplete)),
            tags=tuple(t.tags),
            orig_h=ctx.orig_h, orig_p=ctx.orig_p, resp_h=ctx.resp_h, resp_p=ctx.resp_p,
            request_body_sha256=rsha,
            response_filename=_cd_filename(resp.get("content-disposition")) if resp else None,
            location=resp.get("location") if resp else None,
            transfer_encoding=resp.get("transfer-encoding") if resp else None,
            request_headers_len=req.size if req else None,
            response_headers_len=resp.size if resp else None,
            response_ts=resp.ts if resp else None,
            origin=req.get("origin") if req else None,
            **_auth(req.get("authorization") if req else None, self.want_creds),
        )
        ctx.emit(rec)
        if self.body_bytes > 0:
            for which, b in (("request", rb), ("response", sb)):
                if b is not None and b.small and not b.gapped:
                    ctx.emit(R.HttpBody(uid=ctx.uid, trans_depth=t.depth, direction=which, size=len(b.small),
                                        data_b64=base64.b64encode(bytes(b.small)).decode("ascii")))


_DIGEST_USER = re.compile(r'username\s*=\s*"((?:[^"\\]|\\.)*)"|username\s*=\s*([^\s,]+)', re.I)


def _auth(value: str | None, want_password: bool) -> dict:
    """auth_scheme / username / password from an Authorization header value."""
    if not value:
        return {}
    scheme, _, rest = value.strip().partition(" ")
    out: dict = {"auth_scheme": scheme[:32]}
    rest = rest.strip()
    if scheme.lower() == "basic":
        try:
            raw = base64.b64decode(rest + "=" * (-len(rest) % 4), validate=False)
        except (ValueError, TypeError):
            return out
        text = raw.decode("utf-8", "backslashreplace")
        user, sep, pw = text.partition(":")
        out["username"] = user[:256]
        if want_password and sep:
            out["password"] = pw[:256]
    elif scheme.lower() == "digest":
        m = _DIGEST_USER.search(rest)
        if m:
            out["username"] = (m.group(1) if m.group(1) is not None else m.group(2))[:256]
    return out


def _cd_filename(value: str | None) -> str | None:
    if not value:
        return None
    m = _FILENAME.search(value)
    if not m:
        return None
    fn = m.group(1) if m.group(1) is not None else m.group(2).strip()
    if "''" in fn[:40] and m.group(0).split("=", 1)[0].strip().endswith("*"):
        # RFC 5987 ext-value: charset'lang'pct-encoded
        from urllib.parse import unquote
        charset, _, rest = fn.partition("'")
        _, _, enc = rest.partition("'")
        try:
            fn = unquote(enc, encoding=charset or "utf-8", errors="replace")
        except (LookupError, ValueError):    # unknown charset, or a name the codec registry refuses (NUL)
            fn = unquote(enc, errors="replace")
    return fn or None
