"""SMTP analyzer (both directions, segmentation and gaps under the fuzzer's control).

The target itself lives in ``fuzz/fuzz_smtp.py`` (written with the analyzer); this module adapts it
to the runner and adds the seeds' shape check. Any exception is a bug (strict=True)."""

from __future__ import annotations

import _common  # noqa: F401  (sys.path)
import fuzz_smtp

INSTRUMENT = ("dissect.smtp.analyzer", "dissect.smtp.codes", "dissect.mime.stream", "dissect.mime.headers",
              "dissect.mime.decoders")

target = fuzz_smtp.target


def seeds() -> list[bytes]:
    return fuzz_smtp.seeds()
