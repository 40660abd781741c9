"""pcap / pcapng reader (+ gzip) and the frame decoder: any file bytes give frames and weirds, or a
one-line CaptureError when the header is not a capture; never another exception."""

from __future__ import annotations

import io

from _common import captures

INSTRUMENT = ("dissect.io", "dissect.io.pcap", "dissect.io.pcapng", "dissect.io.stream", "dissect.decode",
              "dissect.defrag")


def target(data: bytes) -> None:
    from dissect.decode import PacketDecoder
    from dissect.errors import CaptureError
    from dissect.io import open_stream
    from dissect.options import Caps

    weirds: list = []
    try:
        it = open_stream(io.BytesIO(data), "fuzz", None, weirds.append)
    except CaptureError as e:
        msg = str(e)
        assert "\n" not in msg and msg.startswith("fuzz"), msg
        return
    dec = PacketDecoder(Caps(frag_pending=8, frag_bytes=1 << 16), weirds.append)
    n = 0
    for ts, lt, frame, wl in it:
        assert isinstance(frame, bytes) and isinstance(ts, float) and isinstance(lt, int)
        dec.decode(ts, lt, frame, wl)
        n += 1
        if n > 5000:
            break
    dec.flush(0.0)


def seeds() -> list[bytes]:
    out = []
    for p in captures("*/*.pcap", "*/*.pcapng",
                      corpus_globs=("*.pcapng", "*sll*.pcap", "*vlan*.pcap", "*frag*.pcap", "*ipv6*.pcap")):
        data = p.read_bytes()
        out.append(data[:4096])
    return out
