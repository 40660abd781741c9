"""Coverage-guided fuzz target for the MIME parser and the extraction name sanitiser (atheris).

    .venv/bin/python fuzz/fuzz_mime.py -max_total_time=60 [corpus_dir]

``target(data)`` is the one-input function (also usable by a shared runner); ``seeds()`` gives
starting inputs from the shared corpus's exported messages and generated mail. Any exception is a
bug (the parser runs with strict=True so nothing is swallowed).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def target(data: bytes) -> None:
    from dissect.analyzer import FlowContext
    from dissect.extract import sanitize_component
    from dissect.mime import MimeStream
    from dissect.options import Caps, Options

    sink: list = []
    ctx = FlowContext.for_test(sink, options=Options(strict=True, caps=Caps(mime_parts=200, mime_depth=8)))
    split = data[0] if data else 0
    ms = MimeStream(ctx, source="smtp", trans_depth=1, ts=0.0)
    cut = min(len(data), split * 7)
    ms.feed(data[:cut])
    ms.feed(data[cut:])
    ms.close(1.0, complete=bool(split & 1))
    name = sanitize_component(data[:300].decode("utf-8", "replace"))
    assert "/" not in name and "\x00" not in name and name not in (".", "..")


def seeds() -> list[bytes]:
    out = []
    base = (ROOT / ".." / "shared" / "corpus" / "tshark").resolve()
    if base.is_dir():
        for p in sorted(base.rglob("*.eml")):
            data = p.read_bytes()
            if len(data) <= 64 * 1024:
                out.append(data)
    return out


def main() -> None:
    import atheris

    with atheris.instrument_imports():
        import dissect.mime  # noqa: F401
        import dissect.extract  # noqa: F401

    def one(data: bytes) -> None:
        target(data)

    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):
        seed_dir = ROOT / "fuzz" / "artifacts" / "mime-seeds"
        seed_dir.mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(seeds()):
            (seed_dir / f"seed{i}").write_bytes(s)
        args.append(str(seed_dir))
    if not any(a.startswith("-artifact_prefix=") for a in args):
        (ROOT / "fuzz" / "artifacts").mkdir(parents=True, exist_ok=True)
        args.insert(1, f"-artifact_prefix={ROOT / 'fuzz' / 'artifacts'}/mime-")
    atheris.Setup(args, one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
