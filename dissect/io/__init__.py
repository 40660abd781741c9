"""Capture sources: pcap, pcapng, gzip/zstd/xz/bzip2, stdin, several files merged in time order.

Public API::

    read_frames(paths, infos=None, on_weird=None) -> iterator of (ts, linktype, frame, wire_len)
    open_stream(fileobj, name="<stream>", infos=None, on_weird=None) -> the same for an open stream

Errors a user can cause raise :class:`dissect.errors.CaptureError` with one clear line, *when
``read_frames``/``open_stream`` is called* (every file is opened and its header checked before the
first frame is returned). Damage inside a capture is not an error: frames up to the damage are
yielded, ``CaptureInfo.truncated`` is set and a ``capture_truncated`` (or ``capture_bad_record``,
``pcapng_bad_block``) weird goes to ``on_weird``.

Several files are merged by timestamp (stable within a file). Rotated captures (files that
follow each other in time) are read one after the other: a file is opened only when the merge
reaches its first timestamp, so a directory of thousands of files needs a handful of open files.
"""

from __future__ import annotations

import heapq
import os
from math import inf
from typing import Callable, Iterable, Iterator

from dissect.errors import CaptureError
from dissect.io.pcap import walk_pcap
from dissect.io.pcapng import walk_pcapng
from dissect.io.stream import CHUNK, CaptureInfo, Source, describe_bytes, open_fileobj, open_path, sniff
from dissect.weird import Weird

__all__ = ["CaptureInfo", "read_frames", "open_stream", "CaptureError", "Frame", "describe_bytes"]

Frame = tuple  # (ts: float, linktype: int, frame: bytes, wire_len: int)


#: capture-level weirds of one name reported per file; the rest are counted in CaptureInfo.weirds_suppressed
WEIRD_LIMIT = 100


def _weird_fn(on_weird: Callable[[Weird], None] | None, info: CaptureInfo):
    counts: dict[str, int] = {}

    def weird(ts, name, addl):
        c = counts[name] = counts.get(name, 0) + 1
        if c > WEIRD_LIMIT:
            info.weirds_suppressed[name] = info.weirds_suppressed.get(name, 0) + 1
            return
        if on_weird is not None:
            on_weird(Weird(ts=ts, uid=None, name=name, source="capture", addl=addl[:200]))
    return weird


def _start(src: Source, info: CaptureInfo, on_weird) -> Iterator[Frame]:
    """Sniff ``src`` (raises CaptureError) and return its frame generator."""
    try:
        fmt, head = sniff(src)
    except BaseException:
        src.close()
        raise
    info.format = fmt
    info.compression = src.compression
    info.compressed = src.compression is not None
    walker = walk_pcap if fmt == "pcap" else walk_pcapng
    return _closing(walker(src, head, info, _weird_fn(on_weird, info)), src)


def _closing(gen, src: Source):
    try:
        yield from gen
    finally:
        src.close()


def open_stream(fileobj, name: str = "<stream>", infos: list | None = None,
                on_weird=None) -> Iterator[Frame]:
    """Frames of an already-open binary stream (stdin, a pipe from dumpcap, a BytesIO).

    On pipes every frame is yielded as soon as its bytes have arrived. The stream is not closed.
    """
    info = CaptureInfo(name)
    if infos is not None:
        infos.append(info)
    return _start(open_fileobj(fileobj, name), info, on_weird)


def _open(path: str, info: CaptureInfo, on_weird, chunk: int | None = None) -> Iterator[Frame]:
    src = open_path(path)
    if chunk and src.regular:
        src.chunk = chunk
    return _start(src, info, on_weird)


def _first_ts(path: str) -> float | None:
    """Timestamp of the first frame of a regular file (None: no frame), or raise CaptureError."""
    it = _open(path, CaptureInfo(path), None, chunk=1 << 16)
    try:
        for fr in it:
            return fr[0]
        return None
    finally:
        it.close()


def read_frames(paths: str | os.PathLike | Iterable, infos: list | None = None,
                on_weird=None) -> Iterator[Frame]:
    """Frames of one or several captures (``"-"`` = stdin), merged in timestamp order.

    ``infos`` (if given) receives one :class:`CaptureInfo` per path, in the order of ``paths``,
    filled in while the frames are read. Raises CaptureError before the first frame when a file
    is missing, unreadable, empty or not a capture.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        return iter(())
    my_infos = [CaptureInfo(p) for p in paths]
    if len(paths) == 1:
        it = _open(paths[0], my_infos[0], on_weird)
        if infos is not None:
            infos.extend(my_infos)
        return it
    # Several inputs: find where each starts in time; streams ("-", pipes) start at once.
    chunk = max(1 << 20, CHUNK // len(paths))
    plan = []          # (first_ts, index, path)
    streams = {}
    for i, p in enumerate(paths):
        if p == "-" or not _is_regular(p):
            streams[i] = _open(p, my_infos[i], on_weird)
            plan.append((float("-inf"), i, p))
        else:
            t = _first_ts(p)
            plan.append((float("-inf") if t is None else t, i, p))
    if infos is not None:
        infos.extend(my_infos)
    plan.sort()
    return _merge(plan, streams, my_infos, on_weird, chunk)


def _is_regular(p: str) -> bool:
    import stat
    try:
        return stat.S_ISREG(os.stat(p).st_mode)
    except OSError:
        return True     # let open_path produce the clear error


def _merge(plan, streams, infos, on_weird, chunk) -> Iterator[Frame]:
    """Merge per-file iterators by timestamp; a file is opened when the merge reaches its start."""
    heap: list = []
    pending = list(reversed(plan))     # pop() gives the earliest start
    push = heapq.heappush
    replace = heapq.heapreplace
    pop = heapq.heappop
    opened = []
    try:
        while heap or pending:
            while pending and (not heap or pending[-1][0] <= heap[0][0]):
                _t, i, p = pending.pop()
                it = streams.pop(i, None)
                if it is None:
                    it = _open(p, infos[i], on_weird, chunk)
                opened.append(it)
                fr = next(it, None)
                if fr is not None:
                    push(heap, (fr[0], i, fr, it))
            if not heap:
                continue
            if len(heap) == 1:
                # One active file (rotated captures): pass its frames straight through until the
                # next file's first timestamp is reached.
                _ts, i, fr, it = heap[0]
                limit = pending[-1][0] if pending else inf
                yield fr
                for fr in it:
                    if fr[0] >= limit:
                        heap[0] = (fr[0], i, fr, it)
                        break
                    yield fr
                else:
                    heap.clear()
                continue
            top = heap[0]
            yield top[2]
            it = top[3]
            fr = next(it, None)
            if fr is None:
                pop(heap)
            else:
                replace(heap, (fr[0], top[1], fr, it))
    finally:
        for it in opened:
            it.close()
        for it in streams.values():
            it.close()
