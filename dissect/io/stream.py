"""Opening capture inputs: paths, stdin, pipes, transparent decompression, format sniffing.

A :class:`Source` is an opened input with one ``read(n)`` function that the record walkers
(:mod:`dissect.io.pcap`, :mod:`dissect.io.pcapng`) call once per chunk:

* regular files are read in large chunks (16 MB by default) for speed;
* pipes, sockets and stdin are read with ``read1``-style partial reads, so a frame is handed on
  as soon as its bytes have arrived (live capture from ``dumpcap -w -``);
* gzip, zstd, xz and bzip2 compression is detected by magic bytes (never by file name) and
  removed transparently; a damaged or cut compressed stream ends the capture as *truncated*.

Errors a user can cause (missing file, permission denied, a directory, an empty file, a file
that is not a capture) raise :class:`dissect.errors.CaptureError` with one clear line.
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
import stat
import sys
import zlib

from dissect.errors import CaptureError

__all__ = ["Source", "open_path", "open_fileobj", "describe_bytes", "CHUNK", "STREAM_CHUNK"]

CHUNK = 16 << 20          # read size for regular files
STREAM_CHUNK = 1 << 20    # largest partial read on a pipe

# Capture magics (first four bytes as stored)
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4",    # microseconds, little / big endian
    b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",    # nanoseconds
    b"\x34\xcd\xb2\xa1", b"\xa1\xb2\xcd\x34",    # Kuznetzov's "modified" pcap (24-byte records)
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

_COMPRESSION = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
)

_KNOWN_FILES = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x7fELF", "an ELF executable"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3", "an SQLite database"),
    (b"MZ", "a Windows executable"),
    (b"\x00\x00\x01\xba", "an MPEG stream"),
    (b"RIFF", "a RIFF (WAV/AVI) file"),
    (b"{", "JSON or text"),
    (b"<", "HTML/XML or text"),
    (b"XCP\x00", "a NetXRay/Sniffer capture (not supported)"),
    (b"\x52\x54\x53\x53", "a Windows Network Monitor capture (not supported)"),
    (b"\x47\x4d\x42\x55", "a Windows Network Monitor capture (not supported)"),
    (b"snoop\x00", "a Solaris snoop capture (not supported)"),
    (b"ETL", "an ETW trace (not supported)"),
)


def describe_bytes(head: bytes) -> str:
    """A short, safe description of a file's first bytes, for 'not a capture' errors."""
    if not head:
        return "no data"
    shown = head[:8]
    hexs = " ".join("%02x" % b for b in shown)
    txt = "".join(chr(b) if 32 <= b < 127 else "." for b in shown)
    what = None
    for magic, name in _KNOWN_FILES:
        if magic and head.startswith(magic):
            what = name
            break
    if what is None:
        sample = head[:64]
        if all(32 <= b < 127 or b in (9, 10, 13) for b in sample):
            what = "text"
        elif not any(sample):
            what = "zero bytes"
        else:
            what = "unknown binary data"
    return f"starts with {hexs} '{txt}': looks like {what}"


class _PrefixReader(io.RawIOBase):
    """A file-like object that first returns ``prefix`` then reads on with ``read``.

    Used to hand the bytes consumed while sniffing back to a decompressor without seeking
    (stdin and pipes cannot seek).
    """

    def __init__(self, prefix: bytes, read):
        self._prefix = prefix
        self._read = read

    def readable(self):
        return True

    def read(self, n=-1):
        p = self._prefix
        if p:
            if n is None or n < 0 or n >= len(p):
                self._prefix = b""
                return p
            self._prefix = p[n:]
            return p[:n]
        if n is None or n < 0:
            n = STREAM_CHUNK
        return self._read(n)

    def readinto(self, b):  # pragma: no cover - not used by the decompressors we wrap
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


class Source:
    """An opened capture input: ``read(n)`` returns up to n bytes, ``b''`` at the end.

    Read errors (I/O errors, a damaged compressed stream) end the input: ``error`` says why and
    the walker reports the capture as truncated.
    """

    def __init__(self, name: str, fileobj, *, regular: bool, owned: bool):
        self.name = name
        self.fileobj = fileobj
        self.regular = regular
        self.owned = owned
        self.chunk = CHUNK if regular else STREAM_CHUNK
        self.compression: str | None = None
        self.error: str | None = None
        self._closers = [fileobj] if owned else []
        self._raw_read = self._pick_read(fileobj, regular)

    @staticmethod
    def _pick_read(obj, regular):
        if regular:
            return obj.read
        r1 = getattr(obj, "read1", None)
        return r1 if r1 is not None else obj.read

    def read(self, n: int) -> bytes:
        try:
            return self._raw_read(n)
        except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as e:
            # a damaged stream raises zlib.error / LZMAError / OSError, a cut one EOFError
            self.error = _reason(e, self.compression)
            self._raw_read = _eof
            return b""
        except Exception as e:  # zstandard.ZstdError and other decompressor failures
            self.error = _reason(e, self.compression)
            self._raw_read = _eof
            return b""

    def read_at_least(self, n: int) -> bytes:
        """Read until ``n`` bytes or the end (sniffing the header)."""
        parts = []
        have = 0
        while have < n:
            c = self.read(max(n - have, 4096) if not self.regular else n - have)
            if not c:
                break
            parts.append(c)
            have += len(c)
        return b"".join(parts)

    def decompress(self, kind: str, prefix: bytes) -> None:
        """Put a decompressor for ``kind`` in front of the raw input (``prefix`` already read)."""
        raw_read = self._raw_read
        if kind == "zstd":
            import zstandard
            inner = _PrefixReader(prefix, raw_read)
            obj = zstandard.ZstdDecompressor().stream_reader(inner, read_across_frames=True)
            self._closers.insert(0, obj)
            # bounded reads: what was decompressed before a damaged/cut end is kept
            self._raw_read = lambda n: obj.read(min(n, STREAM_CHUNK)) if self.regular else obj.read1(n)
        else:
            self._raw_read = _Decompressor(kind, prefix, raw_read, STREAM_CHUNK).read
        self.compression = kind

    def close(self) -> None:
        for c in self._closers:
            try:
                c.close()
            except Exception:
                pass
        self._closers = []


def refill(buf: bytes, off: int, need: int, read, chunk: int) -> tuple[bytes, bool]:
    """The unread tail ``buf[off:]`` followed by reads until it holds ``need`` bytes (reading
    ``chunk`` at a time, more when one record is larger). Returns the new buffer and whether it
    reached ``need`` (False: end of input). Both record walkers (pcap, pcapng) refill with it."""
    rest = buf[off:]
    parts = [rest]
    have = len(rest)
    while have < need:
        c = read(chunk if need - have < chunk else need - have)
        if not c:
            break
        parts.append(c)
        have += len(c)
    return (b"".join(parts) if len(parts) > 1 else rest), have >= need


def _eof(n):
    return b""


class _Decompressor:
    """Incremental gzip (multi-member) / xz / bzip2 decompression with a bounded output per call.

    Unlike ``gzip.GzipFile.read``, which raises on a cut stream and loses what it had decompressed
    in that call, every byte decompressed before the damage is returned; the damage is then
    raised (EOFError / zlib.error) and turned into a truncated capture by :meth:`Source.read`.
    """

    def __init__(self, kind: str, prefix: bytes, read, rawchunk: int):
        self.kind = kind
        self._read = read
        self._rawchunk = rawchunk
        self._in = prefix
        self._zlib = kind == "gzip"
        self._d = self._make()
        self._ended = False
        self._err: Exception | None = None

    def _make(self):
        if self.kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.kind == "xz":
            return lzma.LZMADecompressor()
        return bz2.BZ2Decompressor()

    def _raw(self) -> bytes:
        if self._in:
            b, self._in = self._in, b""
            return b
        return self._read(self._rawchunk)

    def read(self, n: int) -> bytes:
        n = max(n, 1 << 16)
        while True:
            d = self._d
            if self._ended:
                if self._err is not None:
                    e, self._err = self._err, None
                    raise e
                return b""
            if d.eof:
                rest = d.unused_data or self._in
                self._in = b""
                while True:
                    if not rest:
                        rest = self._read(self._rawchunk)
                        if not rest:
                            self._ended = True     # clean end after a complete member
                            return b""
                    if self._zlib:
                        rest = rest.lstrip(b"\0")  # zero padding after a gzip member
                        if not rest:
                            continue
                    break
                self._d = self._make()
                self._in = rest
                continue
            if self._zlib:
                data = self._in or self._read(self._rawchunk)
                self._in = b""
                if not data:
                    out = d.flush()
                    self._ended = True
                    err = EOFError("compressed data ends before the end-of-stream marker")
                    if out:
                        self._err = err
                        return out
                    raise err
                out = d.decompress(data, n)
                self._in = d.unconsumed_tail
            else:
                if d.needs_input:
                    data = self._raw()
                    if not data:
                        self._ended = True
                        raise EOFError("compressed data ends before the end-of-stream marker")
                else:
                    data = b""
                out = d.decompress(data, n)
            if out:
                return out


def _reason(e: BaseException, compression: str | None) -> str:
    what = f"{compression} stream" if compression else "read"
    if isinstance(e, EOFError):
        return f"{what} ended early ({e})" if compression else f"read ended early ({e})"
    return f"{what} error: {e}"


def _fileobj_is_regular(fileobj) -> bool:
    try:
        fd = fileobj.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        # In-memory streams (BytesIO) hold everything already: treat as regular (big reads).
        return isinstance(fileobj, (io.BytesIO,))
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False


def open_path(path: str) -> Source:
    """Open ``path`` (``"-"`` = stdin) as a :class:`Source`; user errors -> CaptureError."""
    if path == "-":
        if sys.stdin is None:
            raise CaptureError("-: no standard input")
        try:
            tty = sys.stdin.isatty()
        except (ValueError, OSError):
            tty = False
        if tty:
            raise CaptureError("-: standard input is a terminal; pipe a capture into it (e.g. `cat x.pcap | ...`)")
        stdin = sys.stdin.buffer
        return Source("<stdin>", stdin, regular=_fileobj_is_regular(stdin), owned=False)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such file") from None
    except PermissionError:
        raise CaptureError(f"{path}: permission denied") from None
    except OSError as e:
        raise CaptureError(f"{path}: cannot open ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise CaptureError(f"{path}: is a directory, not a capture file")
    try:
        f = open(path, "rb", buffering=0 if stat.S_ISREG(st.st_mode) else io.DEFAULT_BUFFER_SIZE)
    except PermissionError:
        raise CaptureError(f"{path}: permission denied") from None
    except OSError as e:
        raise CaptureError(f"{path}: cannot open ({e.strerror or e})") from None
    return Source(path, f, regular=stat.S_ISREG(st.st_mode), owned=True)


def open_fileobj(fileobj, name: str) -> Source:
    if isinstance(fileobj, io.TextIOBase):          # sys.stdin instead of sys.stdin.buffer
        fileobj = getattr(fileobj, "buffer", None)
        if fileobj is None:
            raise CaptureError(f"{name}: a text stream cannot carry a capture (open it in binary mode)")
    return Source(name, fileobj, regular=_fileobj_is_regular(fileobj), owned=False)


def sniff(src: Source) -> tuple[str, bytes]:
    """Detect compression and format; returns (format, first bytes). Raises CaptureError."""
    name = src.name
    head = src.read_at_least(24)
    if not head:
        if src.error:
            raise CaptureError(f"{name}: cannot read ({src.error})")
        raise CaptureError(f"{name}: empty file (0 bytes)")
    for magic, kind in _COMPRESSION:
        if head.startswith(magic):
            src.decompress(kind, head)
            inner = src.read_at_least(24)
            if not inner:
                if src.error:
                    raise CaptureError(f"{name}: damaged {kind} data ({src.error})")
                raise CaptureError(f"{name}: empty file (nothing inside the {kind} compression)")
            head = inner
            break
    magic = head[:4]
    if magic in PCAP_MAGICS:
        if len(head) < 24:
            raise CaptureError(f"{name}: truncated pcap file header ({len(head)} of 24 bytes)")
        return "pcap", head
    if magic == PCAPNG_MAGIC:
        if len(head) < 12:
            raise CaptureError(f"{name}: truncated pcapng section header ({len(head)} bytes)")
        return "pcapng", head
    inside = f" inside the {src.compression} compression" if src.compression else ""
    raise CaptureError(f"{name}: not a pcap or pcapng capture{inside} ({describe_bytes(head)})")


class CaptureInfo:
    """What we learnt about one input file while reading it (filled in as frames are read).

    path, format ("pcap" | "pcapng"), compressed (bool) and compression ("gzip", "zstd", "xz",
    "bzip2" or None), linktypes (set of link types declared by the file header or the pcapng
    interfaces), interfaces (pcapng: list of dicts linktype/snaplen/tsresol/tsoffset/name),
    sections (pcapng section count), packets, bytes (sum of original wire lengths), first_ts /
    last_ts (earliest / latest timestamp), truncated (the file ends inside a record, or could
    not be read to its end), error (why reading stopped early, else None), snaplen, nanosecond
    (timestamps finer than microseconds), version ("2.4", "1.0"), byte_order, weirds_suppressed
    (name -> count of capture weirds beyond the per-file limit).
    """

    __slots__ = ("path", "format", "compressed", "compression", "linktypes", "interfaces",
                 "sections", "packets", "bytes", "first_ts", "last_ts", "truncated", "error",
                 "snaplen", "nanosecond", "version", "byte_order", "weirds_suppressed")

    def __init__(self, path: str):
        self.path = path
        self.format: str | None = None
        self.compressed = False
        self.compression: str | None = None
        self.linktypes: set[int] = set()
        self.interfaces: list[dict] = []
        self.sections = 0
        self.packets = 0
        self.bytes = 0
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.truncated = False
        self.error: str | None = None
        self.snaplen: int | None = None
        self.nanosecond = False
        self.version: str | None = None
        self.byte_order: str | None = None
        self.weirds_suppressed: dict[str, int] = {}

    def _add(self, packets: int, nbytes: int, tmin: float, tmax: float) -> None:
        """Fold a batch of frames (counted by a walker in local variables) into the info."""
        if not packets:
            return
        self.packets += packets
        self.bytes += nbytes
        if self.first_ts is None or tmin < self.first_ts:
            self.first_ts = tmin
        if self.last_ts is None or tmax > self.last_ts:
            self.last_ts = tmax

    @property
    def duration(self) -> float:
        if self.first_ts is None or self.last_ts is None:
            return 0.0
        return self.last_ts - self.first_ts

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__slots__}
        d["linktypes"] = sorted(self.linktypes)
        return d

    def __repr__(self):  # pragma: no cover - debugging aid
        return (f"CaptureInfo({self.path!r}, {self.format}, packets={self.packets}, bytes={self.bytes}, "
                f"linktypes={sorted(self.linktypes)}, truncated={self.truncated})")
