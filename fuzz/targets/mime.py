"""MIME (MimeStream): any message bytes, cut at a fuzzer-chosen point, give mime_parts records and
weirds; plus the extraction name sanitiser. Target in ``fuzz/fuzz_mime.py``; seeds here add the
messages carried by the sample and corpus SMTP captures (DATA contents), which the tshark .eml
exports alone do not cover (DSNs, rfc822, RFC 2231)."""

from __future__ import annotations

from _common import captures, stream_events
import fuzz_mime

INSTRUMENT = ("dissect.mime.stream", "dissect.mime.headers", "dissect.mime.decoders", "dissect.extract")

target = fuzz_mime.target


def seeds() -> list[bytes]:
    out = [s[:32 * 1024] for s in fuzz_mime.seeds()]
    for p in captures("smtp/*.pcap", corpus_globs=("*smtp*.pcap",)):
        try:
            flows = stream_events(p)
        except Exception:
            continue
        for events in flows.values():
            client = b"".join(d for dr, d, _ in events if dr == 0 and not isinstance(d, int))
            i = client.find(b"\r\nDATA\r\n")
            if i < 0:
                continue
            body = client[i + 8:]
            j = body.find(b"\r\n.\r\n")
            if j > 0:
                out.append(b"\x00" + body[:min(j, 32 * 1024)])
    return out
