"""Range stitching: rebuild objects downloaded in pieces (206 Partial Content), across transactions and
connections of one run, into the ``http_range_objects`` table (and extracted files).

Each 206 response names its piece with ``Content-Range: bytes FIRST-LAST/TOTAL``, or carries several
pieces as ``multipart/byteranges`` parts each with their own Content-Range (RFC 9110 §14.4, §14.6).
Pieces of the same object (same Host, request target and TOTAL) are written at their offsets into one
sparse temporary file per object; the covered intervals are tracked, and at the end of the run a
fully covered object gets its SHA-256 (and is extracted when extraction is on).

Bounds: at most ``MAX_OBJECTS`` objects per run (further ones are only listed in the transactions'
``range`` column); objects larger than ``caps.message_bytes`` have their coverage counted but their
bytes are not kept (no hash, no file); at most ``MAX_INTERVALS``
separate intervals per object. Bytes lost in a capture gap are simply not covered.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import tempfile
from typing import Any, Iterable

from dissect.schema import col, record

__all__ = ["RangeStore", "RangeWriter", "ByteRangesParser", "HttpRangeObject", "parse_content_range",
           "make_shared", "merge_shared", "finalize"]

MAX_OBJECTS = 256
MAX_INTERVALS = 10_000
_CR = re.compile(r"\s*bytes\s+(\d{1,18})-(\d{1,18})/(\d{1,18})\s*$", re.I)


@record("http_range_objects",
        "Objects downloaded in pieces (206 Partial Content, multipart/byteranges), stitched by Host, "
        "request target and total size across transactions and connections.")
class HttpRangeObject:
    host: str | None = col("Host of the requests")
    uri: str = col("Request target of the requests")
    total_size: int = col("Object size from Content-Range (bytes a-b/TOTAL)")
    covered_bytes: int = col("Bytes of the object seen in the capture")
    parts: int = col("Number of pieces (single 206 bodies or multipart/byteranges parts)")
    complete: bool = col("Every byte of the object was seen")
    sha256: str | None = col("SHA-256 (hex) of the rebuilt object when complete (and not larger than "
                             "caps.message_bytes, beyond which pieces are only counted)")
    uids: tuple = col("Flows (flows.uid) that carried pieces", kind="list")
    filename: str | None = col("File name from Content-Disposition or the last path component", default=None)
    content_type: str | None = col("Content-Type of the pieces (of a single-range response)", default=None)


def parse_content_range(value: str | None) -> tuple[int, int, int] | None:
    """'bytes 0-99/1000' -> (0, 99, 1000); None for anything else (unsatisfied, '*' total...)."""
    if not value:
        return None
    m = _CR.match(value)
    if not m:
        return None
    a, b, total = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if a > b or b >= total:
        return None
    return a, b, total


class _Obj:
    __slots__ = ("file", "total", "starts", "ends", "parts", "uids", "filename", "ctype", "full", "ts",
                 "uid_ts")

    def __init__(self, total: int, keep: bool = True):
        # objects larger than caps.message_bytes are tracked (coverage) but not kept
        self.file = tempfile.TemporaryFile() if keep else None
        self.total = total
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.parts = 0
        self.uids: list[str] = []
        self.uid_ts: list[float] = []      # first time of each uid (canonical order after a merge)
        self.filename = None
        self.ctype = None
        self.full = False      # interval list hit MAX_INTERVALS: stop tracking
        self.ts = 0.0

    def __getstate__(self):
        """Picklable (parallel runs return the shared state): the temporary file travels as bytes."""
        st = {k: getattr(self, k) for k in self.__slots__ if k != "file"}
        if self.file is not None:
            self.file.seek(0)
            st["data"] = self.file.read()
        return st

    def __setstate__(self, st):
        data = st.pop("data", None)
        for k, v in st.items():
            setattr(self, k, v)
        self.file = None
        if data is not None:
            self.file = tempfile.TemporaryFile()
            self.file.write(data)

    def merge(self, other: "_Obj") -> None:
        """Add the pieces another worker saw of the same object."""
        for s, e in zip(other.starts, other.ends):
            if other.file is not None and self.file is not None:
                other.file.seek(s)
                self.write(s, other.file.read(e - s))
            else:
                self._cover(s, e)
        self.parts += other.parts
        for u, t in zip(other.uids, other.uid_ts):
            if u not in self.uids:
                self.uids.append(u)
                self.uid_ts.append(t)
        self.filename = self.filename or other.filename
        self.ctype = self.ctype or other.ctype
        self.full = self.full or other.full
        self.ts = min(self.ts, other.ts)

    def write(self, pos: int, data: bytes) -> None:
        n = len(data)
        if n == 0 or pos >= self.total:
            return
        if pos + n > self.total:
            data = data[: self.total - pos]
            n = len(data)
        if self.file is not None:
            self.file.seek(pos)
            self.file.write(data)
        self._cover(pos, pos + n)

    def _cover(self, s: int, e: int) -> None:
        starts, ends = self.starts, self.ends
        if ends and ends[-1] == s:             # the sequential case: extend the last interval
            ends[-1] = e
            return
        i = bisect.bisect_left(starts, s)
        # merge with the previous interval when it touches
        if i > 0 and ends[i - 1] >= s:
            i -= 1
            s = starts[i]
            e = max(e, ends[i])
            del starts[i], ends[i]
        while i < len(starts) and starts[i] <= e:
            e = max(e, ends[i])
            del starts[i], ends[i]
        if len(starts) >= MAX_INTERVALS:
            self.full = True
            return
        starts.insert(i, s)
        ends.insert(i, e)

    def covered(self) -> int:
        return sum(e - s for s, e in zip(self.starts, self.ends))

    def chunks(self) -> Iterable[bytes]:
        f = self.file
        f.seek(0)
        while True:
            b = f.read(1 << 20)
            if not b:
                return
            yield b


class RangeStore:
    """Per-run state (``Protocol.make_shared``): the objects being stitched."""

    def __init__(self, options: Any = None):
        caps = getattr(options, "caps", None)
        self.max_size = getattr(caps, "message_bytes", 256 << 20)
        self.objects: dict[tuple, _Obj] = {}
        self.extractor = None
        self.refused = 0

    def get(self, host: str | None, uri: str, total: int, uid: str, ts: float) -> _Obj | None:
        key = ((host or "").lower(), uri, total)
        obj = self.objects.get(key)
        if obj is None:
            if len(self.objects) >= MAX_OBJECTS:
                self.refused += 1
                return None
            obj = self.objects[key] = _Obj(total, keep=total <= self.max_size)
            obj.ts = ts
        if uid not in obj.uids:
            obj.uids.append(uid)
            obj.uid_ts.append(ts)
        return obj

    def finalize(self) -> list[HttpRangeObject]:
        out = []
        for (host, uri, total), obj in self.objects.items():
            if not obj.parts:
                if obj.file is not None:
                    obj.file.close()
                continue
            covered = obj.covered()
            complete = not obj.full and covered == total
            sha = None
            if complete and obj.file is not None:
                h = hashlib.sha256()
                for b in obj.chunks():
                    h.update(b)
                sha = h.hexdigest()
                if self.extractor is not None:
                    self.extractor.write("http-object", f"{obj.uids[0]}-range", obj.filename, obj.chunks())
            if obj.file is not None:
                obj.file.close()
            out.append(HttpRangeObject(host=host or None, uri=uri, total_size=total, covered_bytes=covered,
                                       parts=obj.parts, complete=complete, sha256=sha, uids=tuple(obj.uids),
                                       filename=obj.filename, content_type=obj.ctype))
        self.objects.clear()
        return out


class RangeWriter:
    """Writes one 206 body (single range) into its object."""

    __slots__ = ("obj", "pos", "end")

    def __init__(self, obj: _Obj, first: int, last: int):
        self.obj = obj
        self.pos = first
        self.end = last + 1
        obj.parts += 1

    def feed(self, data: bytes) -> None:
        if self.pos >= self.end:
            return
        take = data[: self.end - self.pos]
        self.obj.write(self.pos, take)
        self.pos += len(take)

    def close(self) -> None:
        pass


class ByteRangesParser:
    """Streams a multipart/byteranges body, writing each part at its Content-Range offset."""

    __slots__ = ("store_get", "delim", "buf", "state", "writer", "hdr")

    def __init__(self, boundary: bytes, store_get):
        self.store_get = store_get          # callable(total) -> _Obj | None
        self.delim = b"--" + boundary
        self.buf = bytearray()
        self.state = 0                      # 0 preamble, 1 part headers, 2 part data, 3 epilogue
        self.writer: RangeWriter | None = None
        self.hdr: list[bytes] = []

    def feed(self, data: bytes) -> None:
        if self.state == 3:
            return
        buf = self.buf
        buf += data
        d = self.delim
        while True:
            st = self.state
            if st == 0:                       # find the first delimiter line
                i = buf.find(d)
                if i < 0:
                    del buf[: max(0, len(buf) - len(d))]
                    return
                del buf[: i + len(d)]
                self.state = 4                # after a delimiter: "--" (close) or line end
            elif st == 4:
                if len(buf) < 2:
                    return
                if buf[:2] == b"--":
                    self.state = 3
                    buf.clear()
                    return
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > 1024:
                        self.state = 3
                    return
                del buf[: nl + 1]
                self.state = 1
                self.hdr = []
            elif st == 1:                     # part headers up to the empty line
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > 8192:
                        self.state = 3
                    return
                line = bytes(buf[:nl]).rstrip(b"\r")
                del buf[: nl + 1]
                if line:
                    if len(self.hdr) < 64:
                        self.hdr.append(line)
                    continue
                self.writer = None
                for h in self.hdr:
                    name, _, value = h.partition(b":")
                    if name.strip().lower() == b"content-range":
                        cr = parse_content_range(value.decode("latin-1"))
                        if cr is not None:
                            obj = self.store_get(cr[2])
                            if obj is not None:
                                self.writer = RangeWriter(obj, cr[0], cr[1])
                self.state = 2
            elif st == 2:                     # part data up to CRLF--boundary
                i = buf.find(b"\n" + d)
                if i < 0:
                    keep = len(d) + 2
                    if len(buf) > keep:
                        cut = len(buf) - keep
                        if self.writer is not None:
                            self.writer.feed(bytes(buf[:cut]))
                        del buf[:cut]
                    return
                end = i - 1 if i > 0 and buf[i - 1] == 13 else i
                if self.writer is not None:
                    self.writer.feed(bytes(buf[:end]))
                del buf[: i + 1 + len(d)]
                self.state = 4
            else:
                return

    def close(self) -> None:
        self.buf.clear()


def make_shared(options: Any) -> RangeStore:
    return RangeStore(options)


def merge_shared(parts: list) -> RangeStore | None:
    """``Protocol.merge_shared`` (parallel runs): the objects of every worker, pieces of the same
    object merged; objects in canonical order (first piece's time, then key)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out.refused += p.refused
        for key, obj in p.objects.items():
            cur = out.objects.get(key)
            if cur is not None:
                cur.merge(obj)
            elif len(out.objects) < MAX_OBJECTS:
                out.objects[key] = obj
            else:
                out.refused += 1
    out.objects = dict(sorted(out.objects.items(), key=lambda kv: (kv[1].ts, kv[0])))
    for obj in out.objects.values():
        if len(obj.uids) > 1:
            pairs = sorted(zip(obj.uid_ts, obj.uids))
            obj.uid_ts = [t for t, _ in pairs]
            obj.uids = [u for _, u in pairs]
    return out


def finalize(shared: RangeStore | None, records: dict) -> list[HttpRangeObject]:
    if shared is None:
        return []
    return shared.finalize()
