"""HTTP/1.x analyzer: request and response streams interleaved, segmented and with gaps as the
fuzzer says (chunk script as for SMTP: bit 0 direction, bit 1 gap), with small caps so that the
cap paths (line, header count/bytes, pending requests, decompression) are reachable, extraction of
bodies on (http_body_bytes) and every header kept. Any exception is a bug (strict=True)."""

from __future__ import annotations

from _common import captures, chunk_script, encode_chunks, stream_events

INSTRUMENT = ("dissect.http.parser", "dissect.http.codings", "dissect.http.ranges", "dissect.http.records",
              "dissect.http", "dissect.mime.stream", "dissect.mime.headers")


def target(data: bytes) -> None:
    from dissect.analyzer import FlowContext
    from dissect.http import HttpAnalyzer
    from dissect.options import Caps, Options
    from dissect.weird import WEIRDS, Weird

    caps = Caps(line_length=512, header_count=16, header_bytes=2048, decompressed_bytes=1 << 16,
                decompression_ratio=50, http_pending=8, mime_parts=20, mime_depth=4, message_bytes=1 << 15,
                body_memory=4096)
    sink: list = []
    ctx = FlowContext.for_test(sink, resp=("10.0.0.2", 80),
                               options=Options(strict=True, http_headers=True, http_body_bytes=256, caps=caps))
    an = HttpAnalyzer(ctx)
    for k, (d, chunk) in enumerate(chunk_script(data)):
        if isinstance(chunk, int):
            an.gap(d, chunk, float(k))
        else:
            an.feed(d, chunk, float(k))
    an.close(1e6)
    for r in sink:
        if isinstance(r, Weird):
            assert r.name in WEIRDS, r.name


def seeds() -> list[bytes]:
    out = []
    for p in captures("http/*.pcap", corpus_globs=("*http*.pcap",)):
        try:
            flows = stream_events(p)
        except Exception:
            continue
        for events in list(flows.values())[:4]:
            script = [(d, data) for d, data, _ts in events if not isinstance(data, int)]
            if script:
                out.append(encode_chunks(script)[:32 * 1024])
    return out
