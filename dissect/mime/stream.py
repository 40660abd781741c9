"""MimeStream: incremental parse of one message (RFC 5322 + MIME), fed in chunks.

Why not ``email.feedparser.BytesFeedParser`` for the structure: it keeps the whole message tree
(every payload) in memory, and its per-line work grows with the nesting depth (each line is
checked against every open boundary through a stack of generators). Hostile captures make both
matter (100k parts, deep nesting, 256 MB bodies). So the *structure* is scanned here, once, with a
scan offset: candidate delimiter lines are found with ``bytes.find(b"\\n--")`` and looked up in a
dict of open boundaries (O(1) per line, whatever the depth); everything between two candidates is
handed to the part in bulk. Bodies are decoded as they stream (``dissect.mime.decoders``) into a
SHA-256 and, only when extracting, into a spool file. The *headers* of every entity go through
the one guarded helper :func:`dissect.mime.headers.parse_header_block`, the only caller of the
stdlib (``policy.default``), which decodes RFC 2047/2231 (see its docstring for where and why the
stdlib is bounded).

Boundary rules follow RFC 2046 (and the stdlib's feedparser): a delimiter line is ``--boundary``
optionally followed by ``--`` (close) and linear white space; the line end *before* it belongs to
the delimiter, not to the body; preamble and epilogue are ignored; an outer boundary closes inner
parts (missing close delimiters are a defect). The default content type is text/plain, and
message/rfc822 inside multipart/digest.

Part ids (``mime_parts.part_id``) are RFC 3501 numbers: the children of the top-level multipart
are 1, 2, ...; the children of a multipart numbered N are N.1, N.2; a message/rfc822 part N
contains the embedded message, whose body is N.1 when it is not multipart, or whose multipart
body (N.0) has children N.1, N.2. The top-level multipart itself, having no IMAP number, is 0; a
non-multipart message's single part is 1.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from typing import Any

from dissect.mime import records as R
from dissect.mime.decoders import decoder_for
from dissect.mime.headers import (STDLIB_BLOCKS, STRUCTURED_LIMIT, HeaderBlock, parse_fields,
                                  parse_header_block)

__all__ = ["MimeStream"]

_CANDIDATE_MAX = 1024      # a delimiter line is short: longer lines starting with "--" are body
_DSN_KEEP = 1 << 20        # bytes of a message/delivery-status body kept for parsing
_RFC822_HEADERS_KEEP = 256 * 1024
_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
_RETURNED_HEADERS = ("text/rfc822-headers", "message/global-headers")
_MESSAGE_TYPES = ("message/rfc822", "message/global")

HEADERS, BODY, SKIP = 0, 1, 2        # entity states
_HEADER_RE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")


class _Entity:
    __slots__ = ("kind", "part_id", "parent_id", "depth", "num_base", "child_prefix", "nchildren",
                 "hdr", "hlines", "hbytes", "hcapped", "boundary", "digest", "decoder", "sha",
                 "size", "spool", "keep", "keep_limit", "truncated", "extracted", "parent",
                 "closed", "state", "msg_body", "order", "shadow")

    def __init__(self, parent: "_Entity | None", depth: int, *, msg_body: bool, num_base: str,
                 part_id: str | None, digest_child: bool):
        self.parent = parent
        self.depth = depth
        self.msg_body = msg_body          # the body entity of a message (root or message/rfc822)
        self.num_base = num_base          # for msg_body entities: the message part's number ("" at root)
        self.part_id = part_id            # known now for multipart children, at header end otherwise
        self.parent_id: str | None = None
        self.child_prefix = ""
        self.nchildren = 0
        self.kind = "leaf"                # leaf | multipart | message
        self.hdr: HeaderBlock | None = None
        self.hlines: list[bytes] = []
        self.hbytes = 0
        self.hcapped = False
        self.boundary: bytes | None = None
        self.digest = digest_child        # default content type message/rfc822
        self.decoder = None
        self.sha = None
        self.size = 0
        self.spool = None
        self.keep: bytearray | None = None
        self.keep_limit = 0
        self.truncated = False
        self.extracted: str | None = None
        self.closed = False
        self.state = HEADERS
        self.order = 0
        self.shadow: "_Entity | None" = None     # outer multipart using the same boundary


class MimeStream:
    """Incremental parse of one message; see the module docstring. Never raises on input."""

    def __init__(self, ctx: Any, *, source: str, trans_depth: int | None, ts: float,
                 content_type: str | None = None, direction: str | None = None,
                 extract_name: str | None = None):
        self.ctx = ctx
        self.source = source
        self.trans_depth = trans_depth
        self.ts0 = ts
        self.direction = direction
        opts = getattr(ctx, "options", None)
        caps = getattr(opts, "caps", None)
        if caps is None:
            from dissect.options import Caps
            caps = Caps()
        self.caps = caps
        self.extractor = getattr(ctx, "extractor", None)
        uid = getattr(ctx, "uid", None) or "msg"
        self.extract_name = extract_name or (f"{uid}-{trans_depth}" if trans_depth is not None else str(uid))
        self._sha = hashlib.sha256()
        self._size = 0
        self._limit = int(caps.message_bytes)
        self._buf = bytearray()
        self._bol = True
        self._hint = 0
        self._hdr_skip = False
        self._linelen = 0
        self._held = b""                  # line end of the last consumed line (may precede a delimiter)
        self._sinks: list[_Entity] = []   # entities whose body receives consumed bytes
        self._bounds: dict[bytes, _Entity] = {}
        self._entities: list[_Entity] = []
        self._stopped = False             # a cap was hit: bytes are hashed, not parsed
        self._truncated = False
        self._defects = 0
        self._weirds_seen: set[str] = set()
        self._std_budget = [STDLIB_BLOCKS]   # header blocks the stdlib may still parse (see headers)
        self._ts = ts
        self._closed = False
        self._summary: R.MessageSummary | None = None
        self._eml = None
        if self.extractor is not None and source == "smtp":
            self._eml = tempfile.SpooledTemporaryFile(max_size=int(caps.body_memory))
        root = self._new_entity(None, msg_body=True, num_base="", part_id=None)
        self._cur = root
        self._root = root
        if content_type:
            ct = content_type.replace("\r", " ").replace("\n", " ").encode("utf-8", "replace")
            try:
                self._parse(b"Content-Type: " + ct[:STRUCTURED_LIMIT] + b"\r\n\r\n")
            except Exception as e:  # noqa: BLE001
                self._guard(e)

    # --- public API --------------------------------------------------------------------------

    def feed(self, chunk: bytes, ts: float | None = None) -> None:
        """Bytes of the message as sent; ``ts`` (optional) dates the weirds they cause."""
        if self._closed or not chunk:
            return
        if ts is not None:
            self._ts = ts
        self._sha.update(chunk)
        before = self._size
        self._size += len(chunk)
        if self._stopped:
            return
        if self._size > self._limit:
            chunk = chunk[: max(0, self._limit - before)]
            self._hit("mime_message_cap", f"message larger than {self._limit} bytes")
            if chunk:
                self._feed_parse(chunk)
            self._stop()
            return
        self._feed_parse(chunk)

    def close(self, ts: float, complete: bool = True) -> R.MessageSummary:
        if self._closed:
            return self._summary  # type: ignore[return-value]
        self._closed = True
        self._ts = ts
        if not complete:
            self._truncated = True
            self._hit("mime_truncated_message", "message cut before its end")
        try:
            if not self._stopped:
                self._parse(b"", final=True)
            # close every open entity; the final line end belongs to the last part
            self._push_held()
            self._close_chain(None, truncated=not complete or self._stopped)
        except Exception as e:  # noqa: BLE001 - last line of defence, never raise on input
            self._guard(e)
        self._summary = self._emit_all()
        return self._summary

    def _guard(self, e: Exception) -> None:
        """An unexpected exception: a weird (keep what parsed) or, under --strict/tests, raise."""
        if getattr(getattr(self.ctx, "options", None), "strict", False):
            raise e
        self._hit("mime_parser_exception", f"{type(e).__name__}: {e}")
        self._stop()

    # --- bookkeeping -------------------------------------------------------------------------

    def _hit(self, name: str, addl: str = "", once: bool = True) -> None:
        if once and name in self._weirds_seen:
            return
        self._weirds_seen.add(name)
        try:
            self.ctx.weird(name, self._ts, addl, "mime")
        except TypeError:
            self.ctx.weird(name, self._ts, addl)

    def _stop(self) -> None:
        self._stopped = True
        self._truncated = True
        self._buf = bytearray()

    def _feed_parse(self, chunk: bytes) -> None:
        if self._eml is not None:
            try:
                self._eml.write(chunk)
            except OSError:
                self._eml = None
        try:
            self._parse(chunk)
        except Exception as e:  # noqa: BLE001 - never raise on input; keep what parsed
            self._guard(e)

    def _new_entity(self, parent: _Entity | None, *, msg_body: bool, num_base: str,
                    part_id: str | None, digest_child: bool = False) -> _Entity:
        depth = 0 if parent is None else parent.depth + 1
        ent = _Entity(parent, depth, msg_body=msg_body, num_base=num_base, part_id=part_id,
                      digest_child=digest_child)
        ent.order = len(self._entities)
        self._entities.append(ent)
        return ent

    # --- the scanner -------------------------------------------------------------------------

    def _consume(self, data: bytes, eol: bytes) -> None:
        """Hand consumed bytes to the active sinks, holding back the line end."""
        if self._sinks:
            payload = self._held + data if self._held else data
            if payload:
                for ent in self._sinks:
                    self._sink_write(ent, payload)
        self._held = eol

    def _push_held(self) -> None:
        if self._held and self._sinks:
            for ent in self._sinks:
                self._sink_write(ent, self._held)
        self._held = b""

    def _parse(self, chunk: bytes, final: bool = False) -> None:
        buf = self._buf
        if chunk:
            buf += chunk
        pos = 0
        n = len(buf)
        line_cap = max(int(self.caps.line_length), _CANDIDATE_MAX + 1)
        # bytes at the start of the buffer already scanned and known to hold no b"\n": never
        # rescanned, so feeding a long line in tiny chunks stays linear
        hint = min(self._hint, n)
        self._hint = 0
        while pos < n and not self._stopped:
            cur = self._cur
            skip = hint if pos == 0 else 0
            if cur.state == HEADERS:
                nl = buf.find(b"\n", pos + skip)
                if self._hdr_skip:
                    # the rest of an over-long header line: counted into the raw sinks, not parsed
                    end = nl if nl >= 0 else n
                    self._consume(bytes(buf[pos:end]), b"\n" if nl >= 0 else b"")
                    pos = end + 1 if nl >= 0 else n
                    self._hdr_skip = nl < 0
                    continue
                if nl < 0:
                    if not final and n - pos <= line_cap:
                        self._hint = n - pos
                        break
                    if n - pos > line_cap:
                        self._hit("mime_long_line", f"header line longer than {line_cap} bytes")
                        self._defects += 1
                        self._hdr_skip = not final
                    line = bytes(buf[pos:n])
                    eol = b""
                    pos = n
                else:
                    if nl - pos > line_cap:   # whole in one chunk: the same weird as when split
                        self._hit("mime_long_line", f"header line longer than {line_cap} bytes")
                        self._defects += 1
                    line = bytes(buf[pos:nl])
                    eol = b"\n"
                    pos = nl + 1
                if line.endswith(b"\r"):
                    line = line[:-1]
                    eol = b"\r\n" if eol else b"\r"
                if line[:2] == b"--" and self._bounds and self._delimiter(line, eol):
                    continue
                self._bol = True
                if line and line[:1] not in b" \t" and not _HEADER_RE.match(line) and not (
                        not cur.hlines and cur.parent is None and line.startswith(b"From ")):
                    # not a header line: the body started without the empty line (a defect
                    # unless the entity simply has no headers)
                    if cur.hlines:
                        self._defects += 1
                        self._hit("mime_header_defect", line[:80])
                    self._end_headers(cur)
                    self._consume(line, eol)
                    continue
                self._consume(line, eol)
                self._header_line(cur, line)
                continue
            # body / preamble / epilogue / skipped content
            if self._bol and self._bounds:
                if n - pos < 2 and not final:
                    break
                if buf[pos:pos + 2] == b"--":
                    nl = buf.find(b"\n", pos + skip, pos + _CANDIDATE_MAX)
                    if nl < 0 and not final and n - pos < _CANDIDATE_MAX:
                        self._hint = n - pos
                        break                       # wait for the end of a possible delimiter
                    end = nl if nl >= 0 else n
                    line = bytes(buf[pos:end])
                    eol = b"\n" if nl >= 0 else b""
                    if line.endswith(b"\r"):
                        line = line[:-1]
                        eol = b"\r" + eol
                    if nl >= 0 or final:
                        if self._delimiter(line, eol):
                            pos = nl + 1 if nl >= 0 else n
                            continue
                        self._consume(line, eol)
                        pos = nl + 1 if nl >= 0 else n
                        self._bol = True
                        continue
            if self._bounds:
                idx = buf.find(b"\n--", pos + skip)
            else:
                idx = -1
            if idx >= 0:
                end = idx
                eol = b"\n"
                if end > pos and buf[end - 1] == 13:
                    end -= 1
                    eol = b"\r\n"
                self._consume(bytes(buf[pos:end]), eol)
                pos = idx + 1
                self._bol = True
                continue
            last = buf.rfind(b"\n", pos + skip)
            if last >= 0:
                end = last
                eol = b"\n"
                if end > pos and buf[end - 1] == 13:
                    end -= 1
                    eol = b"\r\n"
                self._consume(bytes(buf[pos:end]), eol)
                pos = last + 1
                self._bol = True
                continue
            # a partial line without its end
            rest = n - pos
            if final:
                self._consume(bytes(buf[pos:n]), b"")
                pos = n
                self._bol = False
                break
            if rest > _CANDIDATE_MAX:
                # a long partial line cannot be a delimiter: hand it on without waiting
                end = n - 1 if buf[n - 1] == 13 else n   # keep a trailing CR: it may start a CRLF
                self._linelen = (0 if self._bol else self._linelen) + end - pos
                if self._linelen > line_cap:
                    self._hit("mime_long_line", f"line longer than {line_cap} bytes")
                self._consume(bytes(buf[pos:end]), b"")
                pos = end
                self._bol = False
            self._hint = n - pos
            break
        if pos:
            del buf[:pos]

    # --- headers -----------------------------------------------------------------------------

    def _header_line(self, ent: _Entity, line: bytes) -> None:
        if not line:
            self._end_headers(ent)
            return
        if ent.hcapped:
            return
        ent.hbytes += len(line) + 2
        if (len(ent.hlines) >= self.caps.header_count and line[:1] not in (b" ", b"\t")) \
                or ent.hbytes > self.caps.header_bytes:
            ent.hcapped = True
            self._defects += 1
            self._hit("mime_header_cap", f"header block over {self.caps.header_count} headers / {self.caps.header_bytes} bytes")
            return
        ent.hlines.append(line)

    def _end_headers(self, ent: _Entity) -> None:
        top = ent.msg_body
        default_ct = "message/rfc822" if ent.digest else "text/plain"
        hdr = parse_header_block(ent.hlines, top=top, default_ct=default_ct, budget=self._std_budget)
        ent.hlines = []
        hdr.raw = []          # every value needed was read out; don't keep 10k header lists
        ent.hdr = hdr
        if hdr.errors:
            self._defects += len(hdr.errors)
            self._hit("mime_parser_exception", hdr.errors[0])
        self._defects += hdr.defects
        if hdr.defects and top:
            self._hit("mime_header_defect", "malformed header in " + (ent.part_id or "message"))
        ct = hdr.content_type
        kind = "leaf"
        if ct.startswith("multipart/"):
            if hdr.boundary:
                kind = "multipart"
            else:
                self._defects += 1
                self._hit("mime_multipart_no_boundary", ct)
        elif ct in _MESSAGE_TYPES and (hdr.cte or "7bit") in ("7bit", "8bit", "binary"):
            kind = "message"
        if kind != "leaf" and ent.depth >= self.caps.mime_depth:
            self._hit("mime_depth_cap", f"nesting deeper than {self.caps.mime_depth}")
            self._defects += 1
            kind = "leaf"
        ent.kind = kind
        # numbering (RFC 3501)
        if ent.msg_body:
            base = ent.num_base
            if kind == "multipart":
                ent.part_id = f"{base}.0" if base else "0"
                ent.child_prefix = f"{base}." if base else ""
            else:
                ent.part_id = f"{base}.1" if base else "1"
                ent.child_prefix = ent.part_id + "."
            par = ent.parent
            ent.parent_id = par.part_id if par is not None else None
        else:
            ent.child_prefix = ent.part_id + "."
            ent.parent_id = ent.parent.part_id if ent.parent is not None else None
        # the body starts after the empty line: the held line end belongs to the outer sinks
        self._push_held()
        ent.state = BODY
        if kind == "multipart":
            b = hdr.boundary.encode("utf-8", "surrogateescape") if isinstance(hdr.boundary, str) else bytes(hdr.boundary)
            b = b.rstrip(b" \t")     # delimiter lines are matched with trailing white space removed
            ent.boundary = b
            prev = self._bounds.get(b)
            if prev is not None:
                self._defects += 1      # the same boundary nested: the innermost wins until it closes
                ent.shadow = prev
            self._bounds[b] = ent
            ent.decoder = None
        elif kind == "message":
            self._open_sink(ent, raw=True)
            child = self._new_entity(ent, msg_body=True, num_base=ent.part_id, part_id=None)
            if len(self._entities) > self.caps.mime_parts:
                self._parts_cap()
                return
            self._cur = child
            return
        else:
            self._open_sink(ent, raw=False)

    def _want_extract(self, ent: _Entity) -> bool:
        if self.extractor is None:
            return False
        hdr = ent.hdr
        if not (hdr and (hdr.filename or hdr.disposition == "attachment")):
            return False
        if ent.kind == "message":
            # a forwarded message inside a message already being written whole is not written
            # again (deep nesting would otherwise cost depth x size of disk)
            p = ent.parent
            while p is not None:
                if p.kind == "message" and p.spool is not None:
                    return False
                p = p.parent
        return True

    def _open_sink(self, ent: _Entity, raw: bool) -> None:
        ent.sha = hashlib.sha256()
        ent.decoder = None if raw else decoder_for(ent.hdr.cte if ent.hdr else None)
        if self._want_extract(ent):
            ent.spool = tempfile.SpooledTemporaryFile(max_size=int(self.caps.body_memory))
        ct = ent.hdr.content_type if ent.hdr else ""
        if ct in _DSN_TYPES:
            ent.keep, ent.keep_limit = bytearray(), _DSN_KEEP
        elif ct in _RETURNED_HEADERS:
            ent.keep, ent.keep_limit = bytearray(), _RFC822_HEADERS_KEEP
        self._sinks.append(ent)

    def _sink_write(self, ent: _Entity, data: bytes) -> None:
        if ent.decoder is not None:
            data = ent.decoder.feed(data)
            if not data:
                return
        self._out(ent, data)

    def _out(self, ent: _Entity, data: bytes) -> None:
        ent.sha.update(data)
        ent.size += len(data)
        if ent.spool is not None:
            try:
                ent.spool.write(data)
            except OSError:
                ent.spool = None
        if ent.keep is not None and len(ent.keep) < ent.keep_limit:
            ent.keep += data[: ent.keep_limit - len(ent.keep)]

    # --- delimiters and closing ----------------------------------------------------------------

    def _delimiter(self, line: bytes, eol: bytes) -> bool:
        body = line[2:].rstrip(b" \t")
        close = False
        mp = self._bounds.get(body)
        if mp is None and body.endswith(b"--"):
            mp = self._bounds.get(body[:-2])
            close = mp is not None
        if mp is None:
            return False
        # close everything nested inside mp (their sinks do not get the held line end)
        self._close_chain(until=mp, truncated=False)
        # the delimiter line belongs to the still-open outer sinks
        self._consume(line, eol)
        self._bol = True
        if close:
            self._unregister(mp)
            mp.state = SKIP       # its epilogue follows; nothing of it is kept
            mp.closed = True      # closed normally
            self._cur = mp
            return True
        if len(self._entities) >= self.caps.mime_parts:
            self._parts_cap()
            return True
        mp.nchildren += 1
        child = self._new_entity(mp, msg_body=False, num_base="", part_id=f"{mp.child_prefix}{mp.nchildren}",
                                 digest_child=(mp.hdr is not None and mp.hdr.content_type == "multipart/digest"))
        self._cur = child
        return True

    def _unregister(self, mp: _Entity) -> None:
        if self._bounds.get(mp.boundary) is mp:
            if mp.shadow is not None and not mp.shadow.closed:
                self._bounds[mp.boundary] = mp.shadow
            else:
                del self._bounds[mp.boundary]

    def _close_chain(self, until: _Entity | None, truncated: bool) -> None:
        """Finish the open entities from the current one up to (not including) ``until``.

        The open entities are always the chain from the current entity to the root, so this is
        O(depth), never O(parts)."""
        ent = self._cur
        while ent is not None and ent is not until:
            if not ent.closed:
                self._finish(ent, truncated)
            ent = ent.parent
        if until is not None:
            self._cur = until

    def _parts_cap(self) -> None:
        self._hit("mime_parts_cap", f"more than {self.caps.mime_parts} MIME parts")
        self._defects += 1
        self._close_chain(None, truncated=True)
        self._stop()

    def _finish(self, ent: _Entity, truncated: bool) -> None:
        if ent.closed:
            return
        ent.closed = True
        if ent.state == HEADERS:
            # never got past its headers (cut): parse what we have
            if ent.hlines or ent.hdr is None:
                hdr = parse_header_block(ent.hlines, top=ent.msg_body, budget=self._std_budget,
                                         default_ct="message/rfc822" if ent.digest else "text/plain")
                ent.hdr = hdr
                self._defects += hdr.defects + len(hdr.errors)
                ent.hlines = []
                if ent.part_id is None:
                    base = ent.num_base
                    ent.part_id = f"{base}.1" if base else "1"
                    ent.parent_id = ent.parent.part_id if ent.parent is not None else None
            ent.sha = hashlib.sha256()
            truncated = truncated or self._truncated
        if ent.kind == "multipart":
            if self._bounds.get(ent.boundary) is ent:
                self._unregister(ent)
                self._defects += 1
                self._hit("mime_missing_close_boundary", (ent.boundary or b"")[:80])
                truncated = True
        if ent in self._sinks:
            if ent.decoder is not None:
                tail = ent.decoder.finish()
                if tail:
                    self._out(ent, tail)
                if ent.decoder.bad:
                    self._defects += 1
                    self._hit("mime_bad_base64", ent.part_id or "")
            self._sinks.remove(ent)
        ent.truncated = truncated
        if ent.spool is not None and self.extractor is not None:
            self._extract(ent)

    def _extract(self, ent: _Entity) -> None:
        spool, ent.spool = ent.spool, None
        hdr = ent.hdr
        kind = "eml" if ent.kind == "message" else f"{self.source}-part"
        hint = hdr.filename if hdr and hdr.filename else None
        try:
            spool.seek(0)
            path = self.extractor.write(kind, f"{self.extract_name}-{ent.part_id}", hint,
                                        iter(lambda: spool.read(1 << 20), b""))
            if path is not None:
                ent.extracted = self._rel(path)
        except Exception as e:  # noqa: BLE001 - disk full etc. must not stop the analysis
            self._hit("extract_failed", f"{type(e).__name__}: {e}")
        finally:
            spool.close()

    def _rel(self, path) -> str:
        base = getattr(self.extractor, "out_dir", None)
        try:
            return str(path.relative_to(base)) if base is not None else str(path)
        except ValueError:
            return str(path)

    # --- results -----------------------------------------------------------------------------

    def _emit_all(self) -> R.MessageSummary:
        emit = self.ctx.emit
        root_hdr = self._root.hdr or HeaderBlock()
        parts: list[R.MimePart] = []
        leaves = 0
        attachments: list[R.Attachment] = []
        dsn_blocks: list[bytes] = []
        returned_ids: list[str] = []
        is_dsn = False
        for ent in self._entities:
            hdr = ent.hdr
            if hdr is None or ent.part_id is None:
                continue
            ct = hdr.content_type
            if ct == "multipart/report" and (hdr.report_type or "") == "delivery-status":
                is_dsn = True
            is_leaf = ent.kind == "leaf"
            has_body = ent.sha is not None
            is_att = bool(ent.kind != "multipart" and (hdr.disposition == "attachment" or (is_leaf and hdr.filename)))
            if is_leaf:
                leaves += 1
            if ct in _DSN_TYPES and ent.keep is not None:
                dsn_blocks.append(bytes(ent.keep))
            elif ct in _RETURNED_HEADERS and ent.keep is not None:
                lines = bytes(ent.keep).replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].split(b"\n")
                h = parse_header_block(lines, top=False, budget=self._std_budget)
                mid = h.get("message-id")
                if mid:
                    returned_ids.append(mid)
            elif ent.msg_body and ent.parent is not None and ent.parent.kind == "message" and hdr.message_id:
                returned_ids.append(hdr.message_id)
            sha = ent.sha.hexdigest() if has_body else None
            size = ent.size if has_body else None
            rec = R.MimePart(uid=self.ctx.uid, trans_depth=self.trans_depth, source=self.source,
                             part_id=ent.part_id, parent_id=ent.parent_id, depth=ent.depth,
                             direction=self.direction, content_type=ct, charset=hdr.charset,
                             transfer_encoding=hdr.cte or "7bit",
                             disposition=hdr.disposition, filename=hdr.filename,
                             filename_raw=hdr.filename_raw, form_name=hdr.form_name, size=size,
                             sha256=sha, is_attachment=is_att, truncated=ent.truncated,
                             extracted=ent.extracted)
            parts.append(rec)
            if is_att:
                attachments.append(R.Attachment(hdr.filename, ct, size, sha))
        try:
            dsn = self._dsn_rows(dsn_blocks, returned_ids)
        except Exception as e:  # noqa: BLE001
            self._guard(e)
            dsn = []
        extracted = self._write_eml()
        truncated = self._truncated
        msg = R.MimeMessage(
            uid=self.ctx.uid, trans_depth=self.trans_depth, source=self.source, ts=self._ts,
            direction=self.direction, message_id=root_hdr.message_id, subject=root_hdr.subject,
            subject_raw=root_hdr.subject_raw, header_from=root_hdr.header_from,
            header_to=root_hdr.header_to, cc=root_hdr.cc, date=root_hdr.date,
            in_reply_to=root_hdr.in_reply_to, received=root_hdr.received,
            received_count=len(root_hdr.received), user_agent=root_hdr.user_agent,
            content_type=self._root.hdr.content_type if self._root.hdr else None,
            size=self._size, sha256=self._sha.hexdigest(), parts=leaves,
            attachments=tuple(a.filename or "" for a in attachments), is_dsn=is_dsn,
            truncated=truncated, defects=self._defects, extracted=extracted)
        for rec in parts:
            emit(rec)
        emit(msg)
        for rec in dsn:
            emit(rec)
        return R.MessageSummary(
            message_id=msg.message_id, subject=msg.subject, subject_raw=msg.subject_raw,
            header_from=msg.header_from, header_to=msg.header_to, cc=msg.cc, date=msg.date,
            in_reply_to=msg.in_reply_to, received=msg.received, size=msg.size, sha256=msg.sha256,
            parts=leaves, attachments=tuple(attachments), is_dsn=is_dsn, dsn=tuple(dsn),
            truncated=truncated, defects=self._defects, content_type=msg.content_type,
            user_agent=msg.user_agent, extracted=extracted, part_records=tuple(parts))

    def _dsn_rows(self, dsn_blocks: list[bytes], returned_ids: list[str]) -> list[R.DsnRecipient]:
        dsn: list[R.DsnRecipient] = []
        if not dsn_blocks:
            return dsn
        orig_id = returned_ids[0] if returned_ids else None
        for text in dsn_blocks:
            blocks = parse_fields(text)
            if not blocks:
                continue
            per_msg = dict(blocks[0])
            rmta = _strip_type(per_msg.get("reporting-mta"))
            for blk in blocks[1:]:
                f = dict(blk)
                if not any(k in f for k in ("final-recipient", "original-recipient", "action", "status")):
                    continue
                dsn.append(R.DsnRecipient(
                    uid=self.ctx.uid, trans_depth=self.trans_depth, reporting_mta=rmta,
                    final_recipient=_strip_type(f.get("final-recipient")),
                    original_recipient=_strip_type(f.get("original-recipient")),
                    action=(f.get("action") or "").strip().lower() or None,
                    status=(f.get("status") or "").split(" ", 1)[0].strip() or None,
                    diagnostic_code=f.get("diagnostic-code"),
                    remote_mta=_strip_type(f.get("remote-mta")),
                    original_message_id=orig_id, source=self.source, ts=self._ts))
        return dsn

    def _write_eml(self) -> str | None:
        extracted = None
        if self._eml is not None:
            try:
                self._eml.seek(0)
                path = self.extractor.write("eml", self.extract_name, None,
                                            iter(lambda: self._eml.read(1 << 20), b""))
                if path is not None:
                    extracted = self._rel(path)
            except Exception as e:  # noqa: BLE001
                self._hit("extract_failed", f"{type(e).__name__}: {e}")
            finally:
                self._eml.close()
                self._eml = None
        return extracted


def _strip_type(v: str | None) -> str | None:
    """``rfc822; user@example.com`` -> ``user@example.com`` (RFC 3464 address/MTA types)."""
    if v is None:
        return None
    t, sep, rest = v.partition(";")
    out = rest.strip() if sep else v.strip()
    return out or None
