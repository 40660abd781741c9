"""Coverage-guided fuzz target for the SMTP analyzer (atheris).

    .venv/bin/python fuzz/fuzz_smtp.py -max_total_time=60 [corpus_dir]

``target(data)`` is the one-input function (also usable by a shared runner): the input is read as a
script of chunks, each introduced by one control byte (bit 0: direction, bit 1: a gap instead of
bytes, bits 2-7: chunk length - 1, or gap length / 16 - 1), so the fuzzer controls both directions, segmentation and
gaps. ``seeds()`` gives the client and server streams of the sample captures and of the shared
corpus's SMTP captures, encoded the same way. Any exception is a bug (strict=True).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def decode(data: bytes) -> list[tuple[int, bytes | int]]:
    out: list = []
    i, n = 0, len(data)
    while i < n:
        h = data[i]
        i += 1
        size = (h >> 2) + 1                    # 1..64
        if h & 2:
            out.append((h & 1, size * 16))     # a gap of 16..1024 bytes
            continue
        out.append((h & 1, data[i:i + size]))
        i += size
    return out


def encode(script: list[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for d, chunk in script:
        for j in range(0, len(chunk), 64):
            part = chunk[j:j + 64]
            out.append(((len(part) - 1) << 2) | d)
            out += part
    return bytes(out)


def target(data: bytes) -> None:
    from dissect.analyzer import FlowContext
    from dissect.options import Caps, Options
    from dissect.smtp import SmtpAnalyzer

    sink: list = []
    ctx = FlowContext.for_test(sink, options=Options(strict=True, credentials=True,
                                                     caps=Caps(line_length=512, smtp_pending_commands=16,
                                                               mime_parts=100, mime_depth=8)))
    an = SmtpAnalyzer(ctx)
    for k, (d, chunk) in enumerate(decode(data)):
        if isinstance(chunk, int):
            an.gap(d, chunk, float(k))
        else:
            an.feed(d, chunk, float(k))
    an.close(1e6)
    assert sum(1 for r in sink if r.__table__ == "smtp_sessions") <= 1


def seeds() -> list[bytes]:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_smtp_support import tcp_events  # noqa: E402

    paths = sorted((ROOT / "samples" / "smtp").glob("*.pcap"))
    corpus = (ROOT / ".." / "shared" / "corpus" / "captures").resolve()
    if corpus.is_dir():
        paths += sorted(p for p in corpus.rglob("*smtp*.pcap"))
    out = []
    for p in paths:
        try:
            flows = tcp_events(p)
        except Exception:
            continue
        for events in flows.values():
            script = [(d, data) for d, data, _ts in events if not isinstance(data, int)]
            if script:
                out.append(encode(script)[:64 * 1024])
    return out


def main() -> None:  # pragma: no cover - needs atheris
    import atheris

    args = sys.argv[:]
    dirs = [a for a in args[1:] if not a.startswith("-")]
    if not dirs:
        d = ROOT / "fuzz" / "artifacts" / "smtp-seeds"
        d.mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(seeds()):
            (d / f"seed-{i:03d}").write_bytes(s)
        args.append(str(d))
    atheris.instrument_all()
    atheris.Setup(args, target)
    atheris.Fuzz()


if __name__ == "__main__":  # pragma: no cover
    main()
