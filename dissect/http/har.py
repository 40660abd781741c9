"""HTTP Archive (HAR 1.2) from the HTTP tables.

HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/): ``log.version``, ``log.creator``,
``log.entries[]`` with ``startedDateTime``, ``time`` (= send + wait + receive, in ms), ``request``,
``response``, ``cache`` and ``timings``. Browsers' devtools (Chromium, Firefox) and HAR viewers open
it. Timings from the capture: ``send`` = first to last request byte, ``wait`` = ttfb, ``receive``
= first to last response byte; an unknown phase is 0 (HAR requires non-negative send/wait/receive).

Needs the ``http_headers`` table (Options.http_headers) for headers and cookies, and the
``http_bodies`` table (Options.http_body_bytes) for ``content.text``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
from typing import Any, Iterable
from urllib.parse import parse_qsl

__all__ = ["build_har", "HAR_BODY_BYTES"]

HAR_BODY_BYTES = 256 * 1024   # bodies up to this size are embedded (base64) in content.text


def _num(v: Any, default: float = -1) -> float:
    if v is None:
        return default
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    if math.isnan(f):
        return default
    return f


def _int(v: Any, default: int = -1) -> int:
    f = _num(v, None)
    return default if f is None else int(f)


def _str(v: Any) -> str:
    if v is None:
        return ""
    try:
        if v != v:  # NaN / NA
            return ""
    except (TypeError, ValueError):
        return ""
    return str(v)


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _url(t: Any) -> str:
    uri = _str(t.uri)
    if "://" in uri[:16]:
        return uri
    host = _str(t.host) or _str(t.resp_h)
    if t.method == "CONNECT":
        return "http://" + (uri or host)
    port = _int(t.resp_p, 80)
    if host and ":" not in host.rsplit("]", 1)[-1] and port not in (80, -1):
        host = f"{host}:{port}"
    if not uri.startswith("/"):
        uri = "/" + uri if uri != "*" else "/*"
    return f"http://{host}{uri}"


def _cookies_req(headers: list[tuple[str, str]]) -> list[dict]:
    out = []
    for k, v in headers:
        if k.lower() == "cookie":
            for item in v.split(";"):
                name, sep, value = item.strip().partition("=")
                if name:
                    out.append({"name": name, "value": value})
    return out


def _cookies_resp(headers: list[tuple[str, str]]) -> list[dict]:
    out = []
    for k, v in headers:
        if k.lower() == "set-cookie":
            first, *attrs = v.split(";")
            name, _, value = first.strip().partition("=")
            if not name:
                continue
            c: dict[str, Any] = {"name": name, "value": value}
            for a in attrs:
                an, _, av = a.strip().partition("=")
                al = an.lower()
                if al == "path":
                    c["path"] = av
                elif al == "domain":
                    c["domain"] = av
                elif al == "expires":
                    c["expires"] = av
                elif al == "httponly":
                    c["httpOnly"] = True
                elif al == "secure":
                    c["secure"] = True
            out.append(c)
    return out


def _version(v: Any) -> str:
    v = _str(v)
    return f"HTTP/{v}" if v else "HTTP/1.1"


def build_har(transactions: Iterable[Any], headers: Iterable[Any] = (), bodies: Iterable[Any] = (),
              creator_version: str = "") -> dict:
    """The HAR document (a dict ready for json.dump) for these http_transactions records."""
    hdrs: dict[tuple[str, int, str], list[tuple[str, str]]] = {}
    for h in headers:
        hdrs.setdefault((h.uid, int(h.trans_depth), h.direction), []).append((h.name, h.value))
    bods: dict[tuple[str, int, str], Any] = {}
    for b in bodies:
        bods[(b.uid, int(b.trans_depth), b.direction)] = b
    entries = []
    for t in sorted(transactions, key=lambda r: (r.ts, r.uid, r.trans_depth)):
        key = (t.uid, int(t.trans_depth))
        rq_h = hdrs.get(key + ("request",), [])
        rs_h = hdrs.get(key + ("response",), [])
        start = float(t.ts)
        resp_ts = _num(t.response_ts, None)
        ttfb = _num(t.ttfb, None)
        dur = _num(t.duration, None)
        wait = max(0.0, ttfb * 1000) if ttfb is not None else 0.0
        send = 0.0
        receive = 0.0
        if dur is not None:
            total = dur * 1000
            if resp_ts is not None and ttfb is not None:
                # request end = first response byte - ttfb
                send = max(0.0, (resp_ts - start) * 1000 - wait)
            receive = max(0.0, total - send - wait)
        url = _url(t)
        qs = []
        if "?" in url:
            q = url.split("?", 1)[1].split("#", 1)[0]
            qs = [{"name": k, "value": v} for k, v in parse_qsl(q, keep_blank_values=True)]
        req: dict[str, Any] = {
            "method": _str(t.method) or "GET",
            "url": url,
            "httpVersion": _version(t.version),
            "cookies": _cookies_req(rq_h),
            "headers": [{"name": k, "value": v} for k, v in rq_h],
            "queryString": qs,
            "headersSize": _int(t.request_headers_len, -1),
            "bodySize": _int(t.request_body_len, 0),
        }
        if _int(t.request_body_len, 0) > 0:
            pd: dict[str, Any] = {"mimeType": _str(t.request_content_type), "params": []}
            b = bods.get(key + ("request",))
            if b is not None:
                raw = base64.b64decode(b.data_b64)
                try:
                    pd["text"] = raw.decode("utf-8")
                except UnicodeDecodeError:
                    pd["text"] = raw.decode("latin-1")
            else:
                pd["text"] = ""
            req["postData"] = pd
        status = _int(t.status_code, 0)
        content: dict[str, Any] = {
            "size": _int(t.response_decoded_len, 0) if _int(t.response_decoded_len, -1) >= 0 else 0,
            "mimeType": _str(t.response_content_type),
        }
        body_len = _int(t.response_body_len, 0)
        if content["size"] and body_len >= 0 and content["size"] != body_len:
            content["compression"] = content["size"] - body_len
        b = bods.get(key + ("response",))
        if b is not None:
            content["text"] = b.data_b64
            content["encoding"] = "base64"
        resp = {
            "status": status,
            "statusText": _str(t.status_msg),
            "httpVersion": _version(t.version),
            "cookies": _cookies_resp(rs_h),
            "headers": [{"name": k, "value": v} for k, v in rs_h],
            "content": content,
            "redirectURL": _str(t.location),
            "headersSize": _int(t.response_headers_len, -1),
            "bodySize": body_len if status else -1,
        }
        entry = {
            "startedDateTime": _iso(start),
            "time": round(send + wait + receive, 3),
            "request": req,
            "response": resp,
            "cache": {},
            "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": round(send, 3),
                        "wait": round(wait, 3), "receive": round(receive, 3), "ssl": -1},
            "connection": f"{t.uid}",
        }
        if _str(t.resp_h):
            entry["serverIPAddress"] = _str(t.resp_h)
        tags = list(t.tags or ())
        comment = []
        if t.incomplete:
            comment.append("incomplete")
        if tags:
            comment.append("tags: " + ", ".join(tags))
        if comment:
            entry["comment"] = "; ".join(comment)
        entries.append(entry)
    return {"log": {"version": "1.2",
                    "creator": {"name": "pcap-dissect", "version": creator_version or "0"},
                    "pages": [],
                    "entries": entries}}
