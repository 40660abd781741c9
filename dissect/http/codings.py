"""Streamed content decoding (gzip, x-gzip, deflate zlib/raw, br, zstd) with bomb caps.

Each decoder turns input chunks into bounded output pieces: zlib through ``max_length`` and
``unconsumed_tail``, brotli through ``output_buffer_limit``, zstd by feeding small input slices
(the zstd API has no output bound; a slice of ``_ZSTD_SLICE`` bytes expands to at most a few MB).
:class:`DecoderChain` stacks them (codings undone in reverse order of application) and enforces
``caps.decompressed_bytes`` and ``caps.decompression_ratio`` on the total output. Never raises.
"""

from __future__ import annotations

import zlib
from typing import Callable, Iterator

try:  # both are project dependencies; be defensive anyway
    import brotli
except Exception:  # pragma: no cover
    brotli = None
try:
    import zstandard
except Exception:  # pragma: no cover
    zstandard = None

__all__ = ["DecoderChain", "parse_codings", "KNOWN_CODINGS", "DecodeError"]

_PIECE = 64 * 1024          # largest output piece produced per decoder step
_ZSTD_SLICE = 256           # input slice for zstd when output grows fast
_RATIO_FLOOR = 1 << 20      # the ratio cap applies once output exceeds 1 MiB


class DecodeError(Exception):
    pass


class _Zlib:
    def __init__(self, kind: str):
        self.kind = kind
        self.d = None
        self.head = b""

    def _start(self, data: bytes) -> None:
        if self.kind == "gzip":
            self.d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:  # deflate: RFC 9110 says zlib-wrapped; many servers send raw deflate. Detect.
            b0, b1 = data[0], data[1]
            zwrapped = (b0 & 0x0F) == 8 and (b0 >> 4) <= 7 and ((b0 << 8) | b1) % 31 == 0
            self.d = zlib.decompressobj(zlib.MAX_WBITS if zwrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.d is None:
            data = self.head + data
            if len(data) < 2:
                self.head = data
                return
            self.head = b""
            self._start(data)
        d = self.d
        while data:
            if d.eof:
                rest = d.unused_data + data
                if self.kind == "gzip" and rest[:2] == b"\x1f\x8b":   # concatenated gzip members
                    self.d = d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    data = rest
                    continue
                return  # trailing garbage after the stream: ignored
            try:
                out = d.decompress(data, _PIECE)
            except zlib.error as e:
                raise DecodeError(f"{self.kind}: {e}") from None
            data = d.unconsumed_tail
            if out:
                yield out

    def flush(self) -> Iterator[bytes]:
        if self.d is None or self.d.eof:
            return
        try:
            out = self.d.flush()
        except zlib.error:
            return
        if out:
            yield out


class _Brotli:
    def __init__(self):
        if brotli is None:
            raise DecodeError("brotli module missing")
        self.d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self.d
        try:
            if d.is_finished():
                return
            out = d.process(data, output_buffer_limit=_PIECE)
            if out:
                yield out
            while True:  # drain what the output limit held back (can_accept_more_data lies in 1.2)
                out = d.process(b"", output_buffer_limit=_PIECE)
                if not out:
                    break
                yield out
        except brotli.error as e:
            raise DecodeError(f"br: {e}") from None

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Zstd:
    def __init__(self):
        if zstandard is None:
            raise DecodeError("zstandard module missing")
        self.dctx = zstandard.ZstdDecompressor()
        self.d = self.dctx.decompressobj()
        self.slice = _ZSTD_SLICE

    def feed(self, data: bytes) -> Iterator[bytes]:
        mv = memoryview(data)
        i, n = 0, len(data)
        while i < n:
            piece = mv[i:i + self.slice]
            i += len(piece)
            try:
                if self.d.eof:
                    rest = self.d.unused_data + bytes(piece) if hasattr(self.d, "unused_data") else bytes(piece)
                    self.d = self.dctx.decompressobj()
                    out = self.d.decompress(rest)
                else:
                    out = self.d.decompress(piece)
            except zstandard.ZstdError as e:
                raise DecodeError(f"zstd: {e}") from None
            # adapt the slice: small while output grows fast, bigger for ordinary ratios
            self.slice = _ZSTD_SLICE if len(out) > 64 * len(piece) else min(self.slice * 2, 64 * 1024)
            if out:
                yield out

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> Iterator[bytes]:
        return iter(())


_FACTORIES: dict[str, Callable[[], object]] = {
    "gzip": lambda: _Zlib("gzip"), "x-gzip": lambda: _Zlib("gzip"),
    "deflate": lambda: _Zlib("deflate"), "br": _Brotli, "zstd": _Zstd,
    "identity": _Identity,
}
KNOWN_CODINGS = frozenset(_FACTORIES)


def parse_codings(value: str | None) -> list[str]:
    """``"gzip, br"`` -> ``["gzip", "br"]`` (lower case, parameters dropped, empty items skipped)."""
    if not value:
        return []
    out = []
    for item in value.split(","):
        item = item.split(";", 1)[0].strip().lower()
        if item:
            out.append(item)
    return out


class DecoderChain:
    """Undo ``codings`` (in the order they were applied) on a stream of chunks.

    ``sink(piece)`` receives the decoded output. ``state`` becomes ``"bomb"`` or ``"error"``
    when decoding stops; after that input is only counted.
    """

    __slots__ = ("stages", "sink", "in_bytes", "out_bytes", "max_out", "ratio", "state", "detail")

    def __init__(self, codings: list[str], sink: Callable[[bytes], None], max_out: int, ratio: int):
        self.stages = []
        self.state = "ok"
        self.detail = ""
        for c in reversed(codings):
            if c == "identity":
                continue
            try:
                self.stages.append(_FACTORIES[c]())
            except KeyError:
                self.state, self.detail = "unknown", c
            except DecodeError as e:
                self.state, self.detail = "error", str(e)
        self.sink = sink
        self.in_bytes = 0
        self.out_bytes = 0
        self.max_out = max_out
        self.ratio = ratio

    def _run(self, data: bytes, level: int) -> None:
        if level == len(self.stages):
            self._emit(data)
            return
        for piece in self.stages[level].feed(data):
            self._run(piece, level + 1)
            if self.state != "ok":
                return

    def _emit(self, piece: bytes) -> None:
        if not piece:
            return
        n = self.out_bytes + len(piece)
        if n > self.max_out or (n > _RATIO_FLOOR and n > self.ratio * max(self.in_bytes, 1)):
            keep = max(0, self.max_out - self.out_bytes) if n > self.max_out else 0
            if keep:
                self.sink(piece[:keep])
                self.out_bytes += keep
            self.state = "bomb"
            self.detail = (f"decoded {n} bytes from {self.in_bytes} "
                           f"(caps: {self.max_out} bytes, ratio {self.ratio})")
            return
        self.out_bytes = n
        self.sink(piece)

    def feed(self, data: bytes) -> None:
        self.in_bytes += len(data)
        if self.state != "ok" or not data:
            return
        try:
            self._run(bytes(data), 0)
        except DecodeError as e:
            self.state, self.detail = "error", str(e)
        except (MemoryError, RecursionError):  # pragma: no cover - defensive
            self.state, self.detail = "error", "decoder resource error"

    def finish(self) -> None:
        if self.state != "ok":
            return
        try:
            for i, st in enumerate(self.stages):
                for piece in st.flush():
                    self._run(piece, i + 1)
                    if self.state != "ok":
                        return
        except DecodeError as e:
            self.state, self.detail = "error", str(e)
