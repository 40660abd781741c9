"""Header blocks: the ONE place where the stdlib ``email`` package (``policy.default``) is called.

:func:`parse_header_block` unfolds a header block and reads what the tables need. The stdlib
(``BytesHeaderParser(policy=policy.default)``) parses the Content-Type / Content-Disposition
parameters whenever they are not plain ASCII ``name=value`` pairs (RFC 2231 ``*``, RFC 2047
``=?``, comments, quoted-pairs, 8-bit), each access guarded on its own: an exception becomes an
error string (the caller turns it into a ``mime_parser_exception`` weird) and what parsed is kept.

Measured limits of the stdlib on hostile input decide where it is *not* used:

* its address/unstructured parsers are quadratic on quote runs (8 kB of ``"a`` in From/To: ~10 s)
  and slow in general (~0.1 ms per byte), so Subject, From, To and Cc are decoded by the linear
  lenient decoder below (raw value with encoded-words decoded, as tshark and Suricata show them);
  ``tests/test_mime.py`` checks that it means what ``policy.default`` gives on real mail;
* its parameter parser recurses on nested comments (RecursionError at ~500 ``(``) and costs up
  to ~20 ms per kB of pathological quoting, so only values up to ``STDLIB_VALUE_LIMIT`` with few
  comments, and at most ``STDLIB_BLOCKS`` header blocks per message, go to it; the rest are read
  by :class:`_Params` (RFC 2231 by index, charset from the first segment, 2047 in quoted values);
* plain ASCII parameters are read by hand (the fast path: 10k parts would cost 10 s otherwise);
  the tests check that both paths give the same rows on the corpus.

RFC 2047/2231 results were checked against the corpus and the PROTOCOL_NOTES traps (split
multi-byte encoded-words, encoded-words inside quoted parameters, RFC 2231 segments out of order,
charset only in ``*0*``, unquoted encoded-words): see ``test_filename_traps`` and friends.
The header count/size caps are enforced by the caller before a block gets here.
"""

from __future__ import annotations

import binascii
import functools
import re
from dataclasses import dataclass, field
from email import policy as _policy
from email.parser import BytesHeaderParser
from urllib.parse import unquote_to_bytes

__all__ = ["HeaderBlock", "parse_header_block", "decode_rfc2047", "split_header_lines",
           "parse_fields"]

STRUCTURED_LIMIT = 16 * 1024          # longest header value handed to the stdlib structured parser
_PARSER = BytesHeaderParser(policy=_policy.default)


@dataclass
class HeaderBlock:
    """Plain data read from one header block (a message's or a body part's)."""

    raw: list[tuple[str, str]] = field(default_factory=list)   # (lower-case name, unfolded value) in order
    content_type: str = "text/plain"
    has_content_type: bool = False
    boundary: str | None = None
    charset: str | None = None
    report_type: str | None = None
    cte: str | None = None
    disposition: str | None = None
    filename: str | None = None
    filename_raw: str | None = None
    form_name: str | None = None
    defects: int = 0
    errors: list[str] = field(default_factory=list)
    capped: bool = False
    # message-level (top=True) fields
    message_id: str | None = None
    subject: str | None = None
    subject_raw: str | None = None
    header_from: str | None = None
    header_to: str | None = None
    cc: str | None = None
    date: str | None = None
    in_reply_to: str | None = None
    received: tuple[str, ...] = ()
    user_agent: str | None = None

    def get(self, name: str) -> str | None:
        for n, v in self.raw:
            if n == name:
                return v
        return None


def _text(raw: bytes) -> str:
    """Raw header bytes as text: UTF-8 (RFC 6532) when valid, else Latin-1 (8-bit legacy mail)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def split_header_lines(lines: list[bytes]) -> tuple[list[tuple[str, str]], int]:
    """Unfold header lines (each without its line end) into (lower name, value); returns defects."""
    out: list[tuple[str, str]] = []
    defects = 0
    for line in lines:
        if not line:
            continue
        if line[0] == 32 or line[0] == 9:      # a continuation line (SP or HT first)
            if out:
                name, value = out[-1]
                out[-1] = (name, value + " " + _text(line.strip()))
            else:
                defects += 1
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or b" " in name:
            defects += 1
            continue
        out.append((name.decode("latin-1").lower(), _text(value.strip())))
    return out, defects


# --- lenient RFC 2047 -------------------------------------------------------------------------

_EW = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*?)\?=")
_WS_ONLY = re.compile(r"^[ \t\r\n]*$")


def _ew_bytes(enc: str, text: str) -> bytes:
    raw = text.encode("ascii", "replace")
    if enc in "bB":
        raw = re.sub(rb"[^A-Za-z0-9+/]", b"", raw)
        raw = raw[: len(raw) - len(raw) % 4] if len(raw) % 4 == 1 else raw + b"=" * (-len(raw) % 4)
        try:
            return binascii.a2b_base64(raw)
        except (binascii.Error, ValueError):
            return b""
    return binascii.a2b_qp(raw.replace(b"_", b" "), header=False)


def _to_str(data: bytes, charset: str) -> str:
    cs = charset.split("*", 1)[0].strip().lower() or "us-ascii"   # RFC 2231 §5 language suffix
    try:
        return data.decode(cs, "replace")
    except (LookupError, ValueError):      # unknown charset, or a name the codec registry refuses (NUL)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def decode_rfc2047(value: str | None) -> str | None:
    """Decode encoded-words leniently (also inside quoted strings); adjacent words of the same
    charset are joined as bytes before decoding, so split multi-byte characters survive."""
    if not value or "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    pend_cs: str | None = None
    pend: bytearray = bytearray()
    for m in _EW.finditer(value):
        between = value[pos:m.start()]
        if between and not (pend_cs is not None and _WS_ONLY.match(between)):
            if pend_cs is not None:
                out.append(_to_str(bytes(pend), pend_cs))
                pend_cs, pend = None, bytearray()
            out.append(between)
        cs = m.group(1)
        if pend_cs is not None and cs.lower() != pend_cs.lower():
            out.append(_to_str(bytes(pend), pend_cs))
            pend = bytearray()
        pend_cs = cs
        pend += _ew_bytes(m.group(2), m.group(3))
        pos = m.end()
    if pend_cs is not None:
        out.append(_to_str(bytes(pend), pend_cs))
    out.append(value[pos:])
    return "".join(out)


# --- raw parameters (for filename_raw and the fallback) ----------------------------------------

_PARAM = re.compile(r';\s*([A-Za-z0-9_.\-]+(?:\*\d+)?\*?)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def raw_params(value: str) -> list[tuple[str, str]]:
    return [(m.group(1).lower(), m.group(2).strip()) for m in _PARAM.finditer(value[:STRUCTURED_LIMIT])]


def _raw_param(value: str | None, name: str) -> str | None:
    if not value:
        return None
    segs = [(k, v) for k, v in raw_params(value) if k == name or k.startswith(name + "*")]
    if not segs:
        return None
    return "; ".join(f"{k}={v}" if k != name else v for k, v in segs)


class _Params:
    """All parameters of one header value, read once: RFC 2231 segments reassembled by index
    (charset and language from the first segment, encoded and plain segments mixed), quoted
    strings unescaped, RFC 2047 encoded-words in plain values decoded. Linear in the value."""

    __slots__ = ("value", "cache", "raw")

    def __init__(self, value: str | None):
        self.value = value
        self.cache: dict[str, str] | None = None
        self.raw: dict[str, str] = {}

    def __call__(self, name: str) -> str | None:
        if not self.value:
            return None
        if self.cache is None:
            self.cache = self._parse()
        return self.cache.get(name)

    def _parse(self) -> dict[str, str]:
        plain: dict[str, str] = {}
        segs: dict[str, dict[int, tuple[bool, str]]] = {}
        for k, v in raw_params(self.value or ""):
            if k not in self.raw:
                self.raw[k] = v
            if len(v) >= 2 and v[0] == v[-1] == '"':
                v = _unescape(v[1:-1])
            if "*" in k:
                name, _, rest = k.partition("*")
                idx = rest.rstrip("*")
                seg = int(idx) if idx.isdigit() and len(idx) < 9 else 0
                segs.setdefault(name, {}).setdefault(seg, (rest.endswith("*") or rest == "", v))
            elif k not in plain:
                plain[k] = v
        out: dict[str, str] = {}
        for name, sg in segs.items():
            charset = "utf-8"
            buf = bytearray()
            first = min(sg)
            for i in sorted(sg):
                enc, v = sg[i]
                if enc:
                    if i == first and v.count("'") >= 2:
                        charset, _lang, v = v.split("'", 2)
                        charset = charset or "utf-8"
                    buf += unquote_to_bytes(v)
                else:
                    buf += v.encode("utf-8", "replace")
            out[name] = _to_str(bytes(buf), charset)
        for name, v in plain.items():
            if name not in out:
                out[name] = decode_rfc2047(v) if "=?" in v else v
        return out


def _unescape(v: str) -> str:
    """Undo quoted-pairs (``\\x`` -> ``x``) without a regex callback per pair."""
    if "\\" not in v:
        return v
    out = []
    i = 0
    n = len(v)
    while i < n:
        j = v.find("\\", i)
        if j < 0 or j + 1 >= n:
            out.append(v[i:] if j < 0 else v[i:j])
            break
        out.append(v[i:j])
        out.append(v[j + 1])
        i = j + 2
    return "".join(out)


def _lenient_param(value: str | None, name: str) -> str | None:
    """Fallback parameter decoder (see :class:`_Params`)."""
    return _Params(value)(name)


_CTYPE = re.compile(r"[a-z0-9!#$&^_.+\-]+/[a-z0-9!#$&^_.+\-]+")
_NOT_SIMPLE = re.compile(r"[^\x20-\x7e]|[*\\(]|=\?")


def _simple(v: str) -> bool:
    return len(v) < 4096 and not _NOT_SIMPLE.search(v)


STDLIB_VALUE_LIMIT = 512      # longest parameter header handed to the stdlib (else lenient)
STDLIB_BLOCKS = 64            # stdlib-parsed header blocks per message (else lenient)


def _stdlib_ok(v: str) -> bool:
    """The stdlib's parameter parser recurses on nested comments (RecursionError at ~500 '(')
    and costs up to ~20 ms on 1 kB of pathological quoting: only short, sane values go to it."""
    return len(v) <= STDLIB_VALUE_LIMIT and v.count("(") <= 16


# --- the guarded helper -----------------------------------------------------------------------

def _try(block: HeaderBlock, fn, default=None):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - hostile input must never escape (see module doc)
        block.errors.append(f"{type(e).__name__}: {e}"[:200])
        return default


def _clean(s: str | None) -> str | None:
    """A value for a table: never empty, never a lone surrogate (the stdlib keeps undecodable
    bytes as surrogates; they would break CSV/Parquet exports)."""
    if s is None:
        return None
    s = str(s)
    if not s.strip():
        return None
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if _ok_se(s) else \
            s.encode("utf-8", "replace").decode("utf-8")
    return s


def _ok_se(s: str) -> bool:
    try:
        s.encode("utf-8", "surrogateescape")
        return True
    except UnicodeEncodeError:
        return False


def _parse_once(msg) -> None:
    """Store each header of ``msg`` as its parsed header object (``policy.default`` parses a
    stored string again on every access, and the readers below access each header 3-5 times).
    A header whose parse raises is left as it was: every access raises the same as before."""
    seen = set()
    for name, value in msg.raw_items():
        key = name.lower()
        if key in seen:     # a repeated name: accesses read the first one
            continue
        seen.add(key)
        try:
            msg.replace_header(name, _parsed_header(name, value))
        except Exception:  # noqa: BLE001 - reported by the _try around each access
            pass


@functools.lru_cache(maxsize=256)
def _parsed_header(name: str, value: str):
    """``policy.default``'s header object for a stored (name, value): a pure function of them,
    kept for the same value seen again (one attachment mailed to many); header objects are not
    changed by the readers. Values are at most STDLIB_VALUE_LIMIT long (see _stdlib_ok)."""
    return _policy.default.header_fetch_parse(name, value)


def parse_header_block(lines: list[bytes], *, top: bool, default_ct: str = "text/plain",
                       budget: list[int] | None = None) -> HeaderBlock:
    """Parse one header block given as its lines (no line ends). Never raises.

    ``budget`` (a one-item list, per message) bounds how many header blocks may still go through
    the stdlib's structured parser; when it is spent, the lenient reader is used.
    """
    blk = HeaderBlock(content_type=default_ct)
    raw, blk.defects = split_header_lines(lines)
    blk.raw = raw
    get_raw = dict(reversed(raw)).get          # what blk.get gives (the first value), no list scans
    ctype_raw = get_raw("content-type")
    cd_raw = get_raw("content-disposition")
    blk.has_content_type = ctype_raw is not None
    # Fast path: plain ASCII parameters without RFC 2231/2047, comments or escapes parse the same
    # way by hand (the stdlib's structured parse costs ~1 ms per header: 10k parts = 10 s).
    simple = (ctype_raw is None or _simple(ctype_raw)) and (cd_raw is None or _simple(cd_raw))
    fn_raw: str | None = None
    msg = None
    if not simple and all(v is None or _stdlib_ok(v) for v in (ctype_raw, cd_raw)) \
            and (budget is None or budget[0] > 0):
        if budget is not None:
            budget[0] -= 1
        block = b"".join(n.encode("latin-1") + b": " + v.encode("utf-8", "surrogateescape") + b"\r\n"
                         for n, v in (("content-type", ctype_raw), ("content-disposition", cd_raw)) if v is not None)
        msg = _try(blk, lambda: _PARSER.parsebytes(block + b"\r\n"))
        if msg is not None:
            _parse_once(msg)
    if msg is not None:
        if blk.has_content_type:
            ct = _try(blk, msg.get_content_type)
            if ct and ct != "text/plain" or (ct == "text/plain" and ctype_raw.lower().lstrip().startswith("text/plain")):
                blk.content_type = ct
            else:
                # stdlib falls back to text/plain on an unparsable type; keep a lenient reading
                main = ctype_raw.split(";", 1)[0].strip().lower()
                blk.content_type = main if _CTYPE.fullmatch(main) else default_ct
                blk.defects += 1
            blk.boundary = _try(blk, lambda: msg.get_param("boundary"))
            if isinstance(blk.boundary, tuple):   # RFC 2231-encoded boundary
                blk.boundary = _try(blk, lambda: msg.get_boundary())
            blk.charset = _try(blk, msg.get_content_charset)
            rt = _try(blk, lambda: msg.get_param("report-type"))
            blk.report_type = rt.lower() if isinstance(rt, str) else None
        cte = get_raw("content-transfer-encoding")
        blk.cte = cte.strip().lower() if cte else None
        if get_raw("content-disposition") is not None:
            blk.disposition = _try(blk, msg.get_content_disposition)
            fn = _try(blk, lambda: msg.get_param("filename", header="content-disposition"))
            if fn is not None and not isinstance(fn, str):
                fn = _try(blk, msg.get_filename)
            blk.filename = fn
            nm = _try(blk, lambda: msg.get_param("name", header="content-disposition"))
            if nm is not None and not isinstance(nm, str):
                from email.utils import collapse_rfc2231_value
                nm = _try(blk, lambda: collapse_rfc2231_value(nm))
            blk.form_name = nm
        if blk.filename is None and blk.has_content_type:
            nm = _try(blk, lambda: msg.get_param("name"))
            if nm is not None and not isinstance(nm, str):
                from email.utils import collapse_rfc2231_value
                nm = _try(blk, lambda: collapse_rfc2231_value(nm))
            blk.filename = nm
    else:  # simple values, or the stdlib refused the block: our own reading
        # one pass over each header's parameters (simple values need no RFC 2231 reassembly)
        ct_p = _Params(ctype_raw)
        cd_p = _Params(cd_raw)
        if ctype_raw:
            main = ctype_raw.split(";", 1)[0].strip().lower()
            if _CTYPE.fullmatch(main):
                blk.content_type = main
            else:
                blk.defects += 1
            blk.boundary = ct_p("boundary")
            cs = ct_p("charset")
            blk.charset = cs.lower() if cs else None
            rt = ct_p("report-type")
            blk.report_type = rt.lower() if rt else None
        cte = get_raw("content-transfer-encoding")
        blk.cte = cte.strip().lower() if cte else None
        if cd_raw:
            blk.disposition = cd_raw.split(";", 1)[0].strip().lower() or None
            blk.filename = cd_p("filename")
            blk.form_name = cd_p("name")
        if blk.filename is None:
            blk.filename = ct_p("name")
        if simple:   # the raw parameter is the (quoted) value as sent
            fn_raw = cd_p.raw.get("filename") if cd_p("filename") is not None else \
                (ct_p.raw.get("name") if ct_p("name") is not None else "")
    if msg is not None:
        blk.defects += len(getattr(msg, "defects", ()) or ())
    if blk.filename is None and (cd_raw or ctype_raw) and "name" in (cd_raw or "") + (ctype_raw or ""):
        # the stdlib drops values it cannot tokenise (an unquoted encoded-word: '?' and '=' are
        # not token characters), which Outlook-style mailers send: read them leniently
        blk.filename = _Params(cd_raw)("filename") or _Params(ctype_raw)("name")
        if blk.filename:
            blk.defects += 1
    if blk.filename is not None:
        blk.filename = _clean(decode_rfc2047(str(blk.filename)))   # encoded-words left in quoted values
    blk.form_name = _clean(blk.form_name)
    if blk.charset is not None:
        blk.charset = _clean(str(blk.charset))
    if fn_raw is not None:
        blk.filename_raw = fn_raw or None
    else:
        blk.filename_raw = _raw_param(cd_raw, "filename") or _raw_param(ctype_raw, "name")

    if top:
        # Subject and address fields: encoded-words decoded leniently over the raw value (the
        # stdlib's address parser is quadratic on quote/comment runs and recurses on nested
        # comments: 8 kB of '"a' costs seconds); the result is the raw form with decoded words,
        # as tshark and Suricata show it. tests/test_mime.py checks it against policy.default.
        def hdr(name: str) -> str | None:
            raw_v = get_raw(name)
            return None if raw_v is None else _clean(decode_rfc2047(raw_v[:STRUCTURED_LIMIT]).strip())

        blk.subject_raw = get_raw("subject")
        blk.subject = hdr("subject")
        blk.header_from = hdr("from")
        blk.header_to = hdr("to")
        blk.cc = hdr("cc")
        blk.date = get_raw("date")
        blk.message_id = _clean(get_raw("message-id"))
        blk.in_reply_to = _clean(get_raw("in-reply-to"))
        blk.received = tuple(v for n, v in raw if n == "received")
        blk.user_agent = get_raw("user-agent") or get_raw("x-mailer")
    return blk


def parse_fields(text: bytes, limit: int = 1000) -> list[list[tuple[str, str]]]:
    """Blocks of ``Name: value`` fields separated by empty lines (message/delivery-status)."""
    blocks: list[list[tuple[str, str]]] = []
    cur: list[bytes] = []
    for line in text.replace(b"\r\n", b"\n").split(b"\n"):
        if not line.strip():
            if cur:
                blocks.append(split_header_lines(cur)[0])
                cur = []
                if len(blocks) >= limit:
                    return blocks
            continue
        cur.append(line.rstrip(b"\r"))
    if cur:
        blocks.append(split_header_lines(cur)[0])
    return blocks
