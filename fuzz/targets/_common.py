"""Helpers shared by the fuzz targets (not a target itself: names starting with ``_`` are skipped).

Every target module defines ``target(data: bytes) -> None`` (one input; any exception is a bug),
``seeds() -> list[bytes]`` (starting inputs built from ``samples/`` and ``../shared/corpus``) and
``INSTRUMENT`` (the modules atheris instruments for coverage). Inputs are decoded with small,
self-describing "scripts" so the fuzzer controls chunking, directions and gaps.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = (ROOT / ".." / "shared" / "corpus").resolve()
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
for extra in (ROOT / "fuzz", ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.append(str(extra))


def captures(*globs: str, corpus_globs: tuple[str, ...] = ()) -> list[Path]:
    """Sample captures matching ``globs`` (relative to samples/) plus corpus captures."""
    out: list[Path] = []
    for g in globs:
        out += sorted((ROOT / "samples").glob(g))
    if CORPUS.is_dir():
        for g in corpus_globs:
            out += sorted((CORPUS / "captures").rglob(g))
    return out


def stream_events(path: Path):
    """{flow: [(direction, bytes|gap int, ts)]} of a capture's TCP flows (tests helper)."""
    from test_smtp_support import tcp_events
    return tcp_events(path)


def chunk_script(data: bytes) -> list[tuple[int, bytes | int]]:
    """Control byte per chunk: bit 0 direction, bit 1 gap, bits 2-7 length-1 (gap: (len)*16)."""
    out: list = []
    i, n = 0, len(data)
    while i < n:
        h = data[i]
        i += 1
        size = (h >> 2) + 1
        if h & 2:
            out.append((h & 1, size * 16))
            continue
        out.append((h & 1, data[i:i + size]))
        i += size
    return out


def encode_chunks(script) -> bytes:
    out = bytearray()
    for d, chunk in script:
        for j in range(0, len(chunk), 64):
            part = chunk[j:j + 64]
            out.append(((len(part) - 1) << 2) | d)
            out += part
    return bytes(out)


def frames_of(path: Path, limit: int = 64):
    """The first frames of a capture: [(ts, linktype, frame, wire_len)]."""
    from dissect.io import read_frames
    out = []
    try:
        for fr in read_frames([str(path)]):
            out.append(fr)
            if len(out) >= limit:
                break
    except Exception:
        pass
    return out
