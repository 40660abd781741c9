"""The whole pipeline on one capture file's bytes: reader, decoder, defrag, flow table, detection,
every analyzer (strict: an analyzer exception is re-raised instead of becoming a weird), the
protocols' finalize step and the tables. Seeds: the first kilobytes of every sample capture."""

from __future__ import annotations

import io

from _common import captures

INSTRUMENT = ("dissect.pipeline", "dissect.flows", "dissect.detect", "dissect.tcp", "dissect.smtp.analyzer",
              "dissect.http.parser", "dissect.snmp.analyzer", "dissect.mime.stream")


def target(data: bytes) -> None:
    from dissect.errors import CaptureError
    from dissect.io import open_stream
    from dissect.options import Caps, Options
    from dissect.pipeline import Pipeline

    try:
        frames = open_stream(io.BytesIO(data), "fuzz")
    except CaptureError:
        return
    caps = Caps(max_flows=16, tcp_ooo_bytes=4096, tcp_ooo_segments=16, frag_pending=8, line_length=1024,
                header_count=32, header_bytes=4096, mime_parts=50, mime_depth=6, message_bytes=1 << 16,
                decompressed_bytes=1 << 16, body_memory=4096)
    pl = Pipeline(Options(strict=True, caps=caps, credentials=True, http_headers=True))
    pl.run(frames)
    an = pl.finish()
    assert an.stats.packets >= 0


def seeds() -> list[bytes]:
    return [p.read_bytes()[:6000] for p in captures("*/*.pcap")]
