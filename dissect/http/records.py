"""HTTP tables (``http_transactions``, ``http_headers``, ``http_bodies``) and the HTTP weird names.

Semantics follow Zeek's ``http.log`` where the meaning is the same (``trans_depth``, ``method``,
``host``, ``uri``, ``status_code``, ``info_code``, ``request_body_len``, ``response_body_len``), with
the differences documented on each column.
"""

from __future__ import annotations

from dissect.schema import col, record
from dissect.weird import declare

__all__ = ["HttpTransaction", "HttpHeader", "HttpBody"]


@record("http_transactions",
        "One HTTP/1.x request and its response (Zeek's http.log), paired in order on persistent "
        "connections (pipelining included). Interim 1xx responses stay with their request.")
class HttpTransaction:
    uid: str = col("Flow id (flows.uid)")
    trans_depth: int = col("1-based position of the transaction in its connection (Zeek's trans_depth); "
                           "a response without a request gets the next number")
    ts: float = col("Time of the first byte of the request (of the response when there was no request)")
    method: str | None = col("Request method as sent (GET, POST, CONNECT, PRI for the HTTP/2 preface...)")
    host: str | None = col("Host header of the request (authority of an absolute-form URI if no Host)")
    uri: str | None = col("Request target exactly as sent (origin-, absolute-, authority- or asterisk-form)")
    version: str | None = col("HTTP version of the request (of the response when there was no request): 1.0, 1.1, 2.0")
    user_agent: str | None = col("User-Agent request header")
    referrer: str | None = col("Referer request header")
    status_code: int | None = col("Final (non-1xx, or 101) status code of the response")
    status_msg: str | None = col("Reason phrase of the final response")
    request_content_type: str | None = col("Content-Type of the request")
    response_content_type: str | None = col("Content-Type of the response")
    request_body_len: int = col("Request body bytes after transfer decoding (chunked removed), before content decoding; "
                                "includes bytes lost in capture gaps")
    response_body_len: int = col("Response body bytes after transfer decoding (chunked removed), before content "
                                 "decoding; includes bytes lost in capture gaps")
    response_decoded_len: int | None = col("Response body bytes after content decoding (gzip/deflate/br/zstd); equals "
                                           "response_body_len without Content-Encoding; as far as decoded when decoding "
                                           "stopped (bomb, error, gap)")
    response_body_sha256: str | None = col("SHA-256 (hex) of the content-decoded response body; empty when there is "
                                           "no body, when bytes are missing (gap) or when decoding stopped (bomb, "
                                           "corrupt data)")
    content_encoding: str | None = col("Content-Encoding of the response as sent (e.g. gzip, 'gzip, br')")
    range: str | None = col("Requested Range, and the response's Content-Range(s) after '->' (multipart/byteranges: "
                            "every part's range, ';'-separated), e.g. 'bytes=0-99 -> bytes 0-99/1000'")
    info_code: int | None = col("Last interim 1xx status code seen before the final response (100, 102, 103)")
    info_msg: str | None = col("Reason phrase of that 1xx response")
    ttfb: float | None = col("Seconds from the end of the request (its last byte) to the first byte of the "
                             "(first, possibly interim) response; from the start of the request when the server "
                             "answered before the request was complete", kind="duration")
    duration: float | None = col("Seconds from the first byte of the request to the last byte of the response",
                                 kind="duration")
    incomplete: bool = col("True when part of the transaction is missing: capture gap, connection closed "
                           "mid-message, no response seen, header/body cap hit")
    tags: tuple = col("Notable properties: smuggling, tunnel, websocket, h2c, h2_preface, upgrade, "
                      "pipelined, orphan_response, decompression_bomb, decode_error, gap, keep_alive_1.0 ...",
                      kind="list")
    orig_h: str | None = col("Client address", default=None)
    orig_p: int | None = col("Client port", default=None)
    resp_h: str | None = col("Server address", default=None)
    resp_p: int | None = col("Server port", default=None)
    request_body_sha256: str | None = col("SHA-256 (hex) of the content-decoded request body", default=None)
    response_filename: str | None = col("filename from the response's Content-Disposition", default=None)
    location: str | None = col("Location header of the response (redirect target)", default=None)
    transfer_encoding: str | None = col("Transfer-Encoding of the response as sent", default=None)
    request_headers_len: int | None = col("Bytes of the request line and headers (HAR headersSize)", default=None)
    response_headers_len: int | None = col("Bytes of the status line and headers (HAR headersSize)", default=None)
    response_ts: float | None = col("Time of the first byte of the final response", default=None)
    origin: str | None = col("Origin request header", default=None)
    auth_scheme: str | None = col("Scheme of the request's Authorization header (Basic, Digest, Bearer, NTLM...)",
                                  default=None)
    username: str | None = col("User name from Basic or Digest Authorization (Zeek's username)", default=None)
    password: str | None = col("Password from Basic Authorization; filled only with --credentials "
                               "(Options.credentials)", default=None, secret=True)


@record("http_headers",
        "Every request and response header (trailers too) in order; filled only with the http_headers option "
        "(`--http-headers`, always on for `dissect http --har`).")
class HttpHeader:
    uid: str = col("Flow id (flows.uid)")
    trans_depth: int = col("http_transactions.trans_depth")
    direction: str = col("request, response, interim (1xx), request_trailer or response_trailer")
    index: int = col("0-based position of the header in its message")
    name: str = col("Header name as sent")
    value: str = col("Header value (obs-fold joined with a space)")


@record("http_bodies",
        "Small decoded bodies (request and response), kept only when Options.http_body_bytes > 0 "
        "(`dissect http --har` uses them for the HAR content text).")
class HttpBody:
    uid: str = col("Flow id (flows.uid)")
    trans_depth: int = col("http_transactions.trans_depth")
    direction: str = col("request or response")
    size: int = col("Decoded body size in bytes")
    data_b64: str = col("The decoded body, base64-encoded")


W_TE_CL = declare("http_te_cl_conflict", "Both Transfer-Encoding and Content-Length: TE wins (RFC 9112 6.3), a request smuggling sign", "warning")
W_CL_MISMATCH = declare("http_content_length_mismatch", "Several Content-Length values that differ (the first is used)", "warning")
W_BAD_CL = declare("http_bad_content_length", "Content-Length is not a decimal number", "warning")
W_BAD_TE = declare("http_bad_transfer_encoding", "Transfer-Encoding of a request without chunked last, or an unknown transfer coding", "warning")
W_BAD_CHUNK = declare("http_bad_chunk", "Malformed chunk size line or chunk terminator (non-hex, overflow, missing CRLF)", "warning")
W_BOMB = declare("http_decompression_bomb", "Content decoding hit caps.decompressed_bytes or caps.decompression_ratio; decoding stopped", "warning")
W_DECODE = declare("http_content_decoding_error", "A gzip/deflate/br/zstd body failed to decode; decoding stopped", "info")
W_UNKNOWN_CODING = declare("http_unknown_content_coding", "A Content-Encoding we do not decode (body kept as sent)", "info")
W_HEADER_CAP = declare("http_header_cap", "More headers than caps.header_count or bigger than caps.header_bytes; the rest ignored", "warning")
W_LINE = declare("http_line_too_long", "A start or header line longer than caps.line_length; skipped", "warning")
W_UNMATCHED = declare("http_unmatched_response", "A response with no outstanding request", "warning")
W_BAD_REQ = declare("http_bad_request_line", "Unparseable request line; resynchronised on the next request line", "warning")
W_BAD_STATUS = declare("http_bad_status_line", "Unparseable status line; resynchronised on the next status line", "warning")
W_BAD_HEADER = declare("http_bad_header_line", "Header line without a colon, or whitespace before the colon", "info")
W_OBS_FOLD = declare("http_obs_fold", "Obsolete line folding in a header (joined with a space)", "info")
W_BARE_LF = declare("http_bare_lf", "Line ended with a bare LF instead of CRLF", "info")
W_PENDING = declare("http_pending_cap", "Too many requests waiting for responses (caps.http_pending); the oldest was reported without response", "warning")
W_BODY_CAP = declare("http_body_cap", "Body larger than caps.message_bytes: counted and hashed, not kept for extraction/MIME", "info")
W_TRUNCATED = declare("http_body_truncated", "The connection ended before the end of a message body", "info")
W_GAP = declare("http_content_gap", "Bytes missing inside an HTTP stream; affected transactions are incomplete and parsing resynchronised", "info")
W_RESYNC_SKIP = declare("http_resync_skipped", "Bytes skipped while looking for the next request/status line", "info")
W_H2 = declare("http2_preface", "HTTP/2 prior-knowledge connection preface; the flow is not dissected further", "info")
W_MULTI_HOST = declare("http_multiple_host", "Several Host headers in a request", "warning")
