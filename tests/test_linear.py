"""No quadratic paths: work grows linearly with hostile input sizes.

Each case runs the same hostile shape at size N and 2N in this process and compares the process
CPU time (``time.process_time``, best of two runs): linear work gives a ratio near 2, a quadratic
rescan near 4. The bound (< 3) is on the *ratio* within one run, never an absolute time, so a slow
or busy machine does not make it fail. Cases (issue 9): a 50 MB single-line stream to SMTP and to
HTTP (a line without its end, fed as TCP segments), a 100k-part MIME message, and 1M out-of-order
TCP segments.
"""

from __future__ import annotations

import time

import pytest

from dissect.analyzer import ORIG, RESP, FlowContext
from dissect.options import Caps, Options

SEG = 1460            # bytes per feed: what TCP reassembly hands on for full-size segments
MAX_RATIO = 3.0


def cpu(fn, n, reps=2) -> float:
    best = None
    for _ in range(reps):
        t = time.process_time()
        fn(n)
        dt = time.process_time() - t
        best = dt if best is None or dt < best else best
    return max(best, 1e-3)


def assert_linear(fn, n, reps=2):
    fn(max(1, n // 16))                   # warm up (imports, caches)
    t1, t2 = cpu(fn, n, reps), cpu(fn, 2 * n, reps)
    assert t2 / t1 < MAX_RATIO, f"{fn.__name__}: N={n} {t1:.3f}s, 2N {t2:.3f}s, ratio {t2 / t1:.2f}"
    return t1, t2


def _feed_line(an, prefix: bytes, total: int, direction=ORIG):
    an.feed(direction, prefix, 1.0)
    chunk = b"a" * SEG
    for _ in range(total // SEG):
        an.feed(direction, chunk, 1.0)


def smtp_single_line(total):
    from dissect.smtp import SmtpAnalyzer
    sink: list = []
    an = SmtpAnalyzer(FlowContext.for_test(sink, options=Options(strict=True)))
    an.feed(RESP, b"220 mx ESMTP\r\n", 1.0)
    _feed_line(an, b"EHLO ", total)
    an.feed(ORIG, b"\r\nQUIT\r\n", 2.0)
    an.close(3.0)
    assert "smtp_line_too_long" in [getattr(r, "name", "") for r in sink]


def smtp_single_line_data(total):
    """Inside DATA: a message body that is one endless line (MIME and the SMTP dot scanner)."""
    from dissect.smtp import SmtpAnalyzer
    sink: list = []
    an = SmtpAnalyzer(FlowContext.for_test(sink, options=Options(strict=True)))
    an.feed(RESP, b"220 mx ESMTP\r\n", 1.0)
    an.feed(ORIG, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", 1.0)
    an.feed(RESP, b"250 ok\r\n250 ok\r\n354 go\r\n", 1.0)
    _feed_line(an, b"Subject: x\r\n\r\n", total)
    an.feed(ORIG, b"\r\n.\r\n", 2.0)
    an.close(3.0)


def http_single_line(total):
    from dissect.http import HttpAnalyzer
    sink: list = []
    an = HttpAnalyzer(FlowContext.for_test(sink, resp=("10.0.0.2", 80), options=Options(strict=True)))
    _feed_line(an, b"GET /", total)
    an.feed(ORIG, b" HTTP/1.1\r\nHost: h\r\n\r\n", 2.0)
    an.close(3.0)


def http_single_header_line(total):
    from dissect.http import HttpAnalyzer
    sink: list = []
    an = HttpAnalyzer(FlowContext.for_test(sink, resp=("10.0.0.2", 80), options=Options(strict=True)))
    an.feed(ORIG, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1.0)
    _feed_line(an, b"HTTP/1.1 200 OK\r\nX-Long: ", total, RESP)
    an.close(3.0)


def mime_many_parts(parts):
    from dissect.mime import MimeStream
    sink: list = []
    caps = Caps(mime_parts=10 ** 6)
    ms = MimeStream(FlowContext.for_test(sink, options=Options(strict=True, caps=caps)), source="smtp",
                    trans_depth=1, ts=1.0)
    ms.feed(b"From: a@b\r\nContent-Type: multipart/mixed; boundary=P\r\n\r\n")
    part = b"--P\r\nContent-Type: text/plain\r\n\r\nsome text\r\n"
    block = part * 1000
    for _ in range(parts // 1000):
        ms.feed(block)
    ms.feed(b"--P--\r\n")
    ms.close(2.0, complete=True)
    n = sum(1 for r in sink if getattr(r, "__table__", "") == "mime_parts")
    assert n >= parts // 1000 * 1000


def tcp_out_of_order(nseg):
    """Segments sent in reverse order in windows of 1000: each window is buffered out of order and
    drained when its first segment arrives; every 7th window loses a segment (a gap at the ack)."""
    from dissect.tcp import Reassembler
    got = [0, 0]

    def out(flow, d, data, ts):
        got[0] += len(data)

    def gap(flow, d, n, ts):
        got[1] += n

    r = Reassembler(None, 0, Caps(), True, out, gap, lambda *a: None)
    payload = b"p" * 10
    seq = 1000
    r.segment(0x02, seq - 1, b"", 0, 0.0)
    w = 1000
    nseg = nseg // w * w
    for base in range(0, nseg, w):
        lost = (base // w) % 7 == 3
        for k in range(w - 1, -1, -1):
            if lost and k == 0:
                continue
            r.segment(0x10, seq + (base + k) * 10, payload, 10, 1.0)
        if lost:
            r.acked(seq + (base + w) * 10, 1.0)
    r.flush(2.0)
    assert got[0] + got[1] == nseg * 10


@pytest.mark.slow
def test_smtp_50mb_single_line_is_linear():
    assert_linear(smtp_single_line, 25 << 20)


@pytest.mark.slow
def test_smtp_single_line_message_body_is_linear():
    assert_linear(smtp_single_line_data, 8 << 20)


@pytest.mark.slow
def test_http_50mb_single_line_is_linear():
    assert_linear(http_single_line, 25 << 20)


@pytest.mark.slow
def test_http_long_header_line_is_linear():
    assert_linear(http_single_header_line, 8 << 20)


@pytest.mark.slow
def test_mime_100k_parts_is_linear():
    assert_linear(mime_many_parts, 50_000, reps=1)


@pytest.mark.slow
def test_tcp_1m_out_of_order_segments_is_linear():
    assert_linear(tcp_out_of_order, 500_000, reps=1)
