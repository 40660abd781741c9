"""Micro-benchmark of MimeStream (not a test): throughput and peak traced memory.

    python bench/bench_mime.py [--mb 30]

Cases: a message with one large base64 attachment, a large quoted-printable text, a 10k-part
multipart (cap raised), 32-deep nesting, and the stdlib's ``email.message_from_bytes`` + decoding
every leaf on the same bytes for reference (it holds the whole tree and every payload).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from email import policy
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dissect.analyzer import FlowContext  # noqa: E402
from dissect.mime import MimeStream  # noqa: E402
from dissect.options import Caps, Options  # noqa: E402


def cases(mb: int) -> dict[str, bytes]:
    att = random.Random(1).randbytes(mb * 1_000_000 * 3 // 4)
    m = EmailMessage()
    m["Subject"] = "big"
    m.set_content("hi\n")
    m.add_attachment(att, maintype="application", subtype="octet-stream", filename="big.bin")
    qp = EmailMessage()
    qp.set_content(("x" * 70 + "=é\n") * (mb * 1_000_000 // 80), cte="quoted-printable")
    many = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            + b"--b\r\nContent-Type: text/plain; name=a.txt\r\n\r\nhello\r\n" * 10_000 + b"--b--\r\n")
    deep = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1) for i in range(40)) + b"x\r\n" * 100_000
    return {"base64 attachment": m.as_bytes(policy=policy.SMTP), "quoted-printable text": qp.as_bytes(policy=policy.SMTP),
            "10k parts": many, "40-deep nesting": deep}


def run_ours(data: bytes) -> int:
    sink: list = []
    ctx = FlowContext.for_test(sink, options=Options(caps=Caps(mime_parts=20_000)))
    ms = MimeStream(ctx, source="smtp", trans_depth=1, ts=0.0)
    for i in range(0, len(data), 65536):
        ms.feed(data[i:i + 65536])
    return ms.close(1.0).parts


def run_stdlib(data: bytes) -> int:
    import email

    msg = email.message_from_bytes(data, policy=policy.default)
    n = 0
    for part in msg.walk():
        if not part.is_multipart():
            part.get_payload(decode=True)
            n += 1
    return n


def measure(fn, data: bytes) -> tuple[float, float, int]:
    tracemalloc.start()
    t = time.perf_counter()
    n = fn(data)
    dt = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dt, peak / 1e6, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=30)
    args = ap.parse_args()
    print("(timed under tracemalloc, which slows both sides; compare the columns, not absolute speed)")
    print(f"{'case':24} {'MB':>6} {'ours s':>8} {'ours peak MB':>13} {'stdlib s':>9} {'stdlib peak MB':>15} parts")
    for name, data in cases(args.mb).items():
        size = len(data) / 1e6
        t1, p1, n1 = measure(run_ours, data)
        t2, p2, n2 = measure(run_stdlib, data)
        print(f"{name:24} {size:6.1f} {t1:8.2f} {p1:13.1f} {t2:9.2f} {p2:15.1f} {n1}/{n2}")


if __name__ == "__main__":
    main()
