"""HTTP/1.x analyzer: lenient, incremental, sans-IO (see :mod:`dissect.http.parser`).

Tables: ``http_transactions`` (one row per request/response pair) and the optional
``http_headers`` child table. ``PROTOCOL`` describes the analyzer to the flow table.
"""

from __future__ import annotations

import re

from dissect.analyzer import ORIG, Protocol
from dissect.http.records import HttpBody, HttpHeader, HttpTransaction
from dissect.http.parser import HttpAnalyzer
from dissect.http.ranges import HttpRangeObject, finalize, make_shared, merge_shared

__all__ = ["PROTOCOL", "HttpAnalyzer", "HttpTransaction", "HttpHeader", "HttpBody", "HttpRangeObject", "probe"]

_STATUS_LINE = re.compile(rb"HTTP/\d\.\d(?: \d{0,3}|$)")
_KNOWN = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"CONNECT ", b"TRACE ",
          b"PATCH ", b"PRI * HTTP/2.0", b"PROPFIND ", b"PROPPATCH ", b"MKCOL ", b"COPY ", b"MOVE ",
          b"LOCK ", b"UNLOCK ", b"REPORT ", b"SEARCH ", b"SUBSCRIBE ", b"NOTIFY ", b"M-SEARCH ")


def probe(direction: int, data: bytes, proto: str = "tcp") -> bool | None:
    """Does this look like HTTP/1.x? A request line from the client or a status line from the
    server. None while undecided (too few bytes); never raises."""
    try:
        if proto != "tcp":
            return False
        d = bytes(data[:8192]).lstrip(b"\r\n")
        if not d:
            return None
        if direction == ORIG:
            for k in _KNOWN:
                if d.startswith(k) or k.startswith(d):
                    if len(d) < len(k):
                        return None
                    nl = d.find(b"\n")
                    if nl < 0:
                        return None if len(d) < 8192 else False
                    line = d[:nl].rstrip(b"\r")
                    return line.rsplit(b" ", 1)[-1][:5] == b"HTTP/" or k.startswith(b"PRI")
            sp = d.find(b" ")
            if sp < 0:
                return None if len(d) < 20 and d.isalpha() and d.isupper() else False
            if not (2 <= sp <= 20 and d[:sp].isalpha() and d[:sp].isupper()):
                return False
            nl = d.find(b"\n")
            if nl < 0:
                return None if len(d) < 8192 else False
            return d[:nl].rstrip(b"\r").rsplit(b" ", 1)[-1][:7] in (b"HTTP/1.", b"HTTP/0.")
        if len(d) < 12:
            return None if b"HTTP/1."[:len(d)] == d[:7] else False
        return _STATUS_LINE.match(d) is not None and d[9:12].isdigit()
    except Exception:  # a probe never raises
        return False


PROTOCOL = Protocol(
    name="http",
    factory=HttpAnalyzer,
    tcp_ports=frozenset({80, 81, 591, 3128, 8000, 8008, 8080, 8081, 8088, 8888, 8118, 3132, 591}),
    probe=probe,
    record_types=(HttpTransaction, HttpHeader, HttpBody, HttpRangeObject),
    make_shared=make_shared,
    finalize=finalize,
    merge_shared=merge_shared,
)
