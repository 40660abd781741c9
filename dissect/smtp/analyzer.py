"""Sans-IO SMTP/LMTP analyzer (RFC 5321, 2920, 3030, 4954, 3207, 2033).

One instance per TCP flow. The client (originator) direction is framed into command lines,
message bytes after DATA (ended by CRLF.CRLF, dot-unstuffed) or exact BDAT chunks, and opaque TLS
after a successful STARTTLS. The server direction is framed into replies (multi-line replies are
one reply). Replies are matched to commands through a FIFO of pending commands, so PIPELINING
works; intermediate replies (334 to AUTH, 354 to DATA) keep their command at the head.

Nothing here raises on hostile input: malformed input becomes a declared weird and the parser
resynchronises on the next recognisable line. Every buffer is capped (``Caps.line_length``,
``Caps.smtp_pending_commands``) and no byte is scanned twice (each direction keeps at most one
partial line, and the DATA scanner keeps at most 4 bytes of look-behind).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections import deque

from dissect.analyzer import ORIG, RESP, Analyzer
from dissect.smtp.records import SmtpCredential, SmtpRecipient, SmtpSession, SmtpTransaction
from dissect.weird import declare

W_UNMATCHED = declare("smtp_unmatched_reply", "A server reply arrived while no command was waiting for one")
W_OUT_OF_SEQ = declare("smtp_command_out_of_sequence",
                       "A command came out of the RFC 5321 order (RCPT before MAIL, DATA without RCPT, "
                       "DATA and BDAT mixed, nested MAIL...)", "info")
W_BARE_LF = declare("smtp_bare_lf", "A command or reply line ended with a bare LF instead of CRLF", "info")
W_DATA_BARE_LF = declare("smtp_data_bare_lf_dot",
                         "Message data holds <LF>.<LF> or <LF>.<CR><LF> with a bare LF: an end-of-data marker "
                         "that some servers accept (SMTP smuggling pattern); not taken as the end", "warning")
W_LINE_LONG = declare("smtp_line_too_long", "A command or reply line exceeded Caps.line_length; skipped to the next line")
W_PENDING = declare("smtp_too_many_pending",
                    "More unanswered commands than Caps.smtp_pending_commands; the oldest was dropped")
W_BAD_REPLY = declare("smtp_bad_reply", "A server line is not a reply (no 3-digit code)")
W_REPLY_CODE = declare("smtp_reply_code_mismatch", "Lines of one multi-line reply carry different codes", "info")
W_UNKNOWN_CMD = declare("smtp_unknown_command", "The client sent a verb that is not an SMTP command", "info")
W_INJECTION = declare("smtp_starttls_injection",
                      "The client sent clear text after STARTTLS before the server's reply "
                      "(command injection pattern, CVE-2011-0411 class)", "error")
W_BAD_AUTH = declare("smtp_bad_auth_encoding", "An AUTH exchange line is not valid base64 (or PLAIN lacks its NULs)")
W_DATA_NO_END = declare("smtp_data_end_missing",
                        "The server answered the message before the end-of-data marker was seen "
                        "(marker lost in a gap, or a non-standard terminator)")
W_BDAT_BAD = declare("smtp_bad_bdat", "BDAT without a valid chunk size")
W_UNANSWERED = declare("smtp_command_unanswered",
                       "The server answered a later command (221 to QUIT) without answering this one")
W_RCPT_CAP = declare("smtp_too_many_recipients",
                     "A transaction has more RCPT commands than are kept as rows (100000); the rest are counted only")
W_REPLY_LINES = declare("smtp_reply_too_long",
                        "A multi-line reply has more than 256 lines; the rest were counted, not kept", "info")
W_OTHER_CAP = declare("smtp_too_many_other_commands",
                      "More than 100 VRFY/EXPN/NOOP/HELP/unknown commands in a session; the rest are only counted",
                      "info")
W_GAP = declare("smtp_content_gap", "Bytes of the SMTP session are missing; the analyzer resynchronised", "info")
W_MIDSTREAM = declare("smtp_midstream", "The session was picked up after its start (no greeting seen before "
                      "client data); parsing starts at the next recognisable command", "info")
W_MSG_CAP = declare("smtp_message_too_big", "A message exceeded Caps.message_bytes; the rest was counted, not parsed")

# client modes
_CMD, _DATA, _BDAT, _STARTTLS_WAIT, _TLS = range(5)

_KNOWN = frozenset((
    b"HELO", b"EHLO", b"LHLO", b"MAIL", b"RCPT", b"DATA", b"BDAT", b"RSET", b"QUIT", b"VRFY",
    b"EXPN", b"NOOP", b"HELP", b"STARTTLS", b"AUTH", b"TURN", b"ETRN", b"ATRN", b"XCLIENT",
    b"XFORWARD", b"BURL", b"SEND", b"SOML", b"SAML", b"VERB", b"ONEX", b"XEXCH50", b"X-EXPS",
    b"X-LINK2STATE", b"XSHADOW", b"XQUE", b"XUSR", b"XTRN", b"XEXPS",
))
_OTHER = frozenset((b"VRFY", b"EXPN", b"NOOP", b"HELP", b"TURN", b"ETRN", b"ATRN", b"XCLIENT",
                    b"XFORWARD", b"SEND", b"SOML", b"SAML", b"VERB", b"ONEX"))
_ENH = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")
_PATH_END = re.compile(r">(?=\s|$)")
_MAX_OTHER = 100
_MAX_REPLY_LINES = 256
_MAX_RCPT_ROWS = 100_000


def _text(b: bytes) -> str:
    """Captured bytes -> str: UTF-8 if valid, else Latin-1 (never raises)."""
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


def _b64(s: bytes) -> bytes | None:
    s = s.strip()
    if s == b"=":
        return b""
    try:
        return base64.b64decode(s + b"=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _bare_lf_dot(chk: bytes) -> bool:
    """``chk`` holds <LF>.<LF>, or <LF>.<CR><LF> with no CR before the LF (``find`` runs at C
    speed over message data; a look-behind regex stops at every line end)."""
    if b"\n.\n" in chk:
        return True
    i = chk.find(b"\n.\r\n")
    while i >= 0:
        if i == 0 or chk[i - 1] != 13:
            return True
        i = chk.find(b"\n.\r\n", i + 1)
    return False


def _path_and_params(arg: str, prefix: str) -> tuple[str | None, tuple[str, ...]]:
    """``FROM:<a@b> SIZE=10`` -> ("a@b", ("SIZE=10",)). Lenient: spaces after the colon, no <>."""
    a = arg
    if a[:len(prefix)].upper() == prefix:
        a = a[len(prefix):]
    else:
        i = a.find(":")
        if i < 0:
            return None, ()
        a = a[i + 1:]
    a = a.lstrip()
    if a.startswith("<"):
        # the closing '>' is the one followed by a space or the end (a '>' inside the path, hostile
        # or quoted, does not end it)
        m = _PATH_END.search(a, 1)
        j = m.start() if m else a.find(">")
        if j < 0:
            return a[1:].strip(), ()
        path, rest = a[1:j], a[j + 1:]
    else:
        path, _, rest = a.partition(" ")
    # source routes (@a,@b:user@c) -> user@c
    if path.startswith("@") and ":" in path:
        path = path.rsplit(":", 1)[1]
    return path.strip(), tuple(p for p in rest.split() if p)


class _Reply:
    __slots__ = ("code", "lines", "ts", "first")

    def __init__(self, code: int, lines: list[str], ts: float):
        self.code = code
        self.lines = lines      # not changed after the reply is made
        self.ts = ts
        # code and last line (the line Zeek's ``last_reply`` shows for a multi-line reply); read
        # for every reply, so made once
        self.first = "%d %s" % (code, lines[-1]) if lines and lines[-1] else str(code)

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def enhanced(self) -> str | None:
        c = str(self.code)[0]
        for ln in self.lines[:8]:
            m = _ENH.match(ln)
            if m and m.group(1) == c:
                return "%s.%s.%s" % m.groups()
        return None


class _Cmd:
    __slots__ = ("verb", "arg", "ts", "txn", "rcpt", "stage", "last", "auth", "lmtp_left")

    def __init__(self, verb: bytes, arg: str, ts: float, txn=None):
        self.verb = verb
        self.arg = arg
        self.ts = ts
        self.txn = txn
        self.rcpt = None
        self.stage = 0          # DATA: 0 = waiting for 354, 1 = waiting for the final reply
        self.last = False       # BDAT ... LAST
        self.auth = None
        self.lmtp_left = None   # LMTP: recipients still owed a reply after the data


class _Rcpt:
    __slots__ = ("ts", "address", "params", "reply", "final")

    def __init__(self, ts, address, params):
        self.ts = ts
        self.address = address
        self.params = params
        self.reply: _Reply | None = None
        self.final: _Reply | None = None


class _Auth:
    __slots__ = ("ts", "mech", "user", "authzid", "password", "challenge", "response", "steps",
                 "result", "code")

    def __init__(self, ts, mech):
        self.ts = ts
        self.mech = mech
        self.user = None
        self.authzid = None
        self.password = None
        self.challenge = None
        self.response = None
        self.steps = 0
        self.result = "unanswered"
        self.code = None


class _Txn:
    __slots__ = ("depth", "ts", "helo", "mail_from", "params", "mail_reply", "rcpts", "data_mode",
                 "data_reply", "data_refused", "data_started", "data_done", "end_ts",
                 "end_reason", "incomplete", "mime", "hash", "size", "summary", "refs", "tls",
                 "last_reply", "emitted", "feeding", "smuggle", "hold", "prev")

    def __init__(self, depth, ts, helo):
        self.depth = depth
        self.ts = ts
        self.helo = helo
        self.mail_from = None
        self.params = ()
        self.mail_reply: _Reply | None = None
        self.rcpts: list[_Rcpt] = []
        self.data_mode = None
        self.data_reply: _Reply | None = None
        self.data_refused = False
        self.data_started = False
        self.data_done = False
        self.end_ts = None
        self.end_reason = None      # "rset", "mail", "quit", "helo", "starttls", "close"
        self.incomplete = False
        self.mime = None
        self.hash = None
        self.size = 0
        self.summary = None
        self.refs = 0               # pending commands referring to this transaction
        self.tls = False
        self.last_reply = None
        self.emitted = False
        self.feeding = True         # message bytes still go to MIME (False after a gap or the size cap)
        self.smuggle = False
        self.hold = False           # kept open until the reply to a later MAIL says whether it ended
        self.prev = None            # the transaction this MAIL interrupted (see _c_mail)


class SmtpAnalyzer(Analyzer):
    source = "smtp"

    def __init__(self, ctx):
        super().__init__(ctx)
        opts = ctx.options
        caps = getattr(opts, "caps", None)
        self._line_cap = getattr(caps, "line_length", 64 * 1024)
        self._pending_cap = getattr(caps, "smtp_pending_commands", 512)
        self._msg_cap = getattr(caps, "message_bytes", 256 << 20)
        self._want_creds = bool(getattr(opts, "credentials", False))
        self._ts0 = None
        self._ts_last = 0.0
        # framing
        self._cmode = _CMD
        self._cbuf = bytearray()
        self._cskip = False          # skipping the rest of an over-long / damaged client line
        self._cresync = False        # after a gap: ignore lines until a known verb
        self._sbuf = bytearray()
        self._sskip = False
        self._sresync = False
        self._stls = False
        self._dhold = b"\r\n"        # DATA look-behind (a prefix of CRLF.CRLF); starts at a line start
        self._dpseudo = True
        self._dprev = b"\r\n"
        self._dcount = 0             # raw bytes of the current DATA body seen
        self._bdat_left = 0
        self._bdat_last = False
        self._tls_wait_held = bytearray()
        self._bare_lf_seen = [False, False]
        # protocol state
        self._pending: deque[_Cmd] = deque()
        self._reply_lines: list[str] = []
        self._reply_code = 0
        self._reply_ts = 0.0
        self._reply_mismatch = False
        self._greeted = False
        self._txn: _Txn | None = None
        self._txns: list[_Txn] = []   # not yet emitted
        self._depth = 0
        self._auth: _Auth | None = None
        self._auth_expect = 0
        self._ext: list[str] = []
        self._lost_client = False     # client bytes were lost: unmatched replies are expected
        self._closed = False
        # session record fields
        self.s_banner = None
        self.s_banner_code = None
        self.s_helo = None
        self.s_helo_verb = None
        self.s_ext: tuple = ()
        self.s_tls = False
        self.s_tls_bytes = 0
        self.s_inject = False
        self.s_auth_attempts = 0
        self.s_commands = 0
        self.s_other: list[str] = []
        self.s_cbytes = 0
        self.s_sbytes = 0
        self.s_last_reply = None
        self.s_quit = False
        self.s_lmtp = False
        self.s_incomplete = False
        self._auth_last: _Auth | None = None

    # ------------------------------------------------------------------ contract
    def feed(self, direction: int, data: bytes, ts: float) -> None:
        if self._closed or not data:
            return
        if self._ts0 is None:
            self._ts0 = ts
        self._ts_last = ts
        if direction == ORIG:
            self.s_cbytes += len(data)
            self._feed_client(bytes(data), ts)
        else:
            self.s_sbytes += len(data)
            self._feed_server(bytes(data), ts)

    def gap(self, direction: int, n: int, ts: float) -> None:
        if self._closed:
            return
        if self._ts0 is None:
            self._ts0 = ts
        self.s_incomplete = True
        if direction == ORIG:
            self.s_cbytes += n
            mode = self._cmode
            if mode == _TLS:
                self.s_tls_bytes += n
                return
            self.weird(W_GAP, ts, "client gap of %d bytes" % n)
            if mode == _BDAT:
                txn = self._txn
                if txn is not None:
                    txn.incomplete = True
                    txn.feeding = False
                    txn.size += min(n, self._bdat_left)
                if n <= self._bdat_left:
                    self._bdat_left -= n
                    if self._bdat_left == 0:
                        self._cmode = _CMD
                        if self._bdat_last:
                            self._bdat_done(ts)
                    return
                self._bdat_left = 0
                self._cmode = _CMD
                if self._bdat_last:
                    self._bdat_done(ts)
            elif mode == _DATA:
                txn = self._txn
                if txn is not None:
                    txn.incomplete = True
                    txn.feeding = False
                    txn.size += n
                self._dhold = b""
                return
            # the next bytes may start mid-line: lines are ignored until one starts with a known verb
            self._cbuf.clear()
            self._cskip = False
            self._cresync = True
            self._lost_client = True
            if self._auth_expect:
                self._auth_expect = 0
        else:
            self.s_sbytes += n
            if self._stls:
                self.s_tls_bytes += n
                return
            self.weird(W_GAP, ts, "server gap of %d bytes" % n)
            self._sbuf.clear()
            self._reply_lines = []
            self._sskip = False
            self._sresync = True      # lines are ignored until one looks like a reply
            # the replies to the pending commands may be in the gap: they stay unanswered
            for cmd in self._pending:
                if cmd.txn is not None:
                    cmd.txn.incomplete = True
                    cmd.txn.refs -= 1
                if cmd.auth is not None:
                    self._emit_cred(cmd.auth)
            self._pending.clear()
            self._flush_txns()

    def close(self, ts: float) -> None:
        if self._closed:
            return
        try:
            self._finish(ts)
        finally:
            self._closed = True

    # ------------------------------------------------------------------ client side
    def _feed_client(self, data: bytes, ts: float) -> None:
        pos, n = 0, len(data)
        while pos < n:
            mode = self._cmode
            if mode == _CMD:
                pos = self._client_lines(data, pos, ts)
            elif mode == _DATA:
                pos = self._data_bytes(data, pos, ts)
            elif mode == _BDAT:
                take = min(self._bdat_left, n - pos)
                self._message_bytes(data[pos:pos + take], ts)
                self._bdat_left -= take
                pos += take
                if self._bdat_left == 0:
                    self._cmode = _CMD
                    if self._bdat_last:
                        self._bdat_done(ts)
            elif mode == _TLS:
                self.s_tls_bytes += n - pos
                return
            else:  # _STARTTLS_WAIT
                rest = data[pos:]
                if not self._tls_wait_held and rest[:1] == b"\x16" and rest[1:2] == b"\x03":
                    # a TLS ClientHello: the reply to STARTTLS was not captured (one side only)
                    self._enter_tls(ts)
                    continue
                if not self.s_inject:
                    self.s_inject = True
                    self.weird(W_INJECTION, ts, rest)
                if len(self._tls_wait_held) < self._line_cap:
                    self._tls_wait_held += rest[:self._line_cap - len(self._tls_wait_held)]
                return

    def _line_at(self, d: int, buf: bytearray, data: bytes, pos: int, nl: int, ts: float) -> bytes | None:
        """The line of direction ``d`` ending at ``data[nl]`` (with the start ``buf`` held from
        earlier segments), without its CR; None when it is over the line cap (reported as a weird).
        Both directions' framers share it."""
        if buf:
            if len(buf) + nl - pos > self._line_cap:
                self.weird(W_LINE_LONG, ts, bytes(buf[:100]))
                buf.clear()
                return None
            buf += data[pos:nl]
            line = bytes(buf)
            buf.clear()
        else:
            if nl - pos > self._line_cap:
                self.weird(W_LINE_LONG, ts, data[pos:pos + 100])
                return None
            line = data[pos:nl]
        if line.endswith(b"\r"):
            return line[:-1]
        if not self._bare_lf_seen[d]:
            self._bare_lf_seen[d] = True
            self.weird(W_BARE_LF, ts, line)
        return line

    def _client_lines(self, data: bytes, pos: int, ts: float) -> int:
        n = len(data)
        while pos < n and self._cmode == _CMD:
            nl = data.find(b"\n", pos)
            if self._cskip:
                if nl < 0:
                    return n
                self._cskip = False
                pos = nl + 1
                continue
            if nl < 0:
                room = self._line_cap - len(self._cbuf)
                if n - pos > room:
                    self.weird(W_LINE_LONG, ts, bytes(self._cbuf[:100]) + data[pos:pos + 100])
                    self._cbuf.clear()
                    self._cskip = True
                    return n
                self._cbuf += data[pos:]
                return n
            line = self._line_at(0, self._cbuf, data, pos, nl, ts)
            pos = nl + 1
            if line is None:
                continue
            self._command_line(line, ts)
        return pos

    def _command_line(self, line: bytes, ts: float) -> None:
        if self._auth_expect > 0:
            # an AUTH response is one base64 token; a line with a space or ':' after a known verb is
            # a command (the server ended the exchange without us seeing it: one-sided capture)
            verb = line.split(b" ", 1)[0].upper()
            if not (verb in _KNOWN and (b" " in line or b":" in line)):
                self._auth_line(line, ts)
                return
            self._auth_expect = 0
        verb, _, rest = line.partition(b" ")
        verb = verb.upper()
        known = verb in _KNOWN
        if self._cresync or (not self._greeted and self.s_commands == 0 and not known and self.s_sbytes == 0
                             and self._ts0 is not None):
            if not known:
                if not self._cresync:
                    self._cresync = True
                    self._lost_client = True
                    self.s_incomplete = True
                    self.weird(W_MIDSTREAM, ts, line)
                return
            self._cresync = False
        arg = _text(rest).strip()
        self.s_commands += 1
        if not known:
            self.weird(W_UNKNOWN_CMD, ts, line)
            self._other(_text(line))
            self._push(_Cmd(verb, arg, ts), ts)
            return
        handler = _HANDLERS.get(verb)
        if handler is not None:
            handler(self, verb, arg, ts)
        else:
            if verb in _OTHER:
                self._other(_text(verb) + (" " + arg if arg else ""))
            self._push(_Cmd(verb, arg, ts), ts)

    def _other(self, s: str) -> None:
        if len(self.s_other) < _MAX_OTHER:
            self.s_other.append(s[:200])
        elif len(self.s_other) == _MAX_OTHER:
            self.s_other.append("...")
            self.weird(W_OTHER_CAP, self._ts_last, s[:100])

    def _push(self, cmd: _Cmd, ts: float) -> None:
        if cmd.txn is not None:
            cmd.txn.refs += 1
        self._pending.append(cmd)
        if len(self._pending) > self._pending_cap:
            old = self._pending.popleft()
            self.weird(W_PENDING, ts, "%d pending; dropped %s" % (len(self._pending), _text(old.verb)))
            self.s_incomplete = True
            if old.txn is not None:
                old.txn.incomplete = True
                old.txn.refs -= 1
                self._flush_txns()

    # --- command handlers
    def _c_helo(self, verb, arg, ts):
        self._end_txn(ts, "helo")
        self.s_helo = arg
        self.s_helo_verb = _text(verb)
        if verb == b"LHLO":
            self.s_lmtp = True
        self._push(_Cmd(verb, arg, ts), ts)

    def _c_mail(self, verb, arg, ts):
        old = self._txn
        if old is not None:
            # a MAIL inside a transaction: most servers refuse it (503) and keep the old one open;
            # the reply decides (see _reply)
            self.weird(W_OUT_OF_SEQ, ts, "MAIL inside a transaction")
            old.hold = True
            self._txn = None
        self._depth += 1
        txn = _Txn(self._depth, ts, self.s_helo)
        txn.prev = old
        txn.tls = self.s_tls
        path, params = _path_and_params(arg, "FROM:")
        txn.mail_from = path
        txn.params = params
        self._txn = txn
        self._txns.append(txn)
        self._push(_Cmd(verb, arg, ts, txn), ts)

    def _c_rcpt(self, verb, arg, ts):
        txn = self._txn
        if txn is None:
            self.weird(W_OUT_OF_SEQ, ts, "RCPT without MAIL")
            self._push(_Cmd(verb, arg, ts), ts)
            return
        path, params = _path_and_params(arg, "TO:")
        params = tuple(("ORCPT=" + p[6:].split(";", 1)[1]) if p[:6].upper() == "ORCPT=" and ";" in p
                       and p[6:].split(";", 1)[0].lower() == "rfc822" else p for p in params)
        r = _Rcpt(ts, path or "", params)
        if len(txn.rcpts) < _MAX_RCPT_ROWS:
            txn.rcpts.append(r)
        elif not txn.incomplete:
            txn.incomplete = True
            self.weird(W_RCPT_CAP, ts, arg)
        cmd = _Cmd(verb, arg, ts, txn)
        cmd.rcpt = r
        self._push(cmd, ts)

    def _c_data(self, verb, arg, ts):
        txn = self._txn
        if txn is None:
            self.weird(W_OUT_OF_SEQ, ts, "DATA without MAIL")
            self._push(_Cmd(verb, arg, ts), ts)
            # the server will refuse it; the client does not send a body (it waits for 354)
            return
        if txn.data_mode == "BDAT":
            self.weird(W_OUT_OF_SEQ, ts, "DATA after BDAT in one transaction")
        if not txn.rcpts:
            self.weird(W_OUT_OF_SEQ, ts, "DATA without RCPT")
        txn.data_mode = txn.data_mode or "DATA"
        self._push(_Cmd(verb, arg, ts, txn), ts)
        # optimistic: the body follows once 354 arrives; a refusal before any body byte undoes it
        self._start_message(txn, ts)
        self._cmode = _DATA
        self._dhold = b"\r\n"
        self._dpseudo = True
        self._dprev = b"\r\n"
        self._dcount = 0

    def _c_bdat(self, verb, arg, ts):
        parts = arg.split()
        size = None
        if parts and parts[0].isdigit() and len(parts[0]) <= 18:
            size = int(parts[0])
        last = len(parts) > 1 and parts[1].upper() == "LAST"
        if size is None:
            self.weird(W_BDAT_BAD, ts, arg)
            self._push(_Cmd(verb, arg, ts), ts)
            return
        txn = self._txn
        cmd = _Cmd(verb, arg, ts)
        cmd.last = last
        if txn is None:
            self.weird(W_OUT_OF_SEQ, ts, "BDAT without MAIL")
        else:
            if txn.data_mode == "DATA":
                self.weird(W_OUT_OF_SEQ, ts, "BDAT after DATA in one transaction")
            txn.data_mode = "BDAT"
            cmd.txn = txn
            self._start_message(txn, ts)
        self._push(cmd, ts)
        self._bdat_last = last and txn is not None
        if size:
            self._bdat_left = size
            self._cmode = _BDAT
        elif self._bdat_last:
            self._bdat_done(ts)

    def _bdat_done(self, ts):
        """The bytes of ``BDAT n LAST`` are all in: the message is complete."""
        self._bdat_last = False
        txn = self._txn
        if txn is not None:
            self._end_message(txn, ts, not txn.incomplete)
            self._txn = None

    def _c_rset(self, verb, arg, ts):
        self._end_txn(ts, "rset")
        self._push(_Cmd(verb, arg, ts), ts)

    def _c_quit(self, verb, arg, ts):
        self._end_txn(ts, "quit")
        self.s_quit = True
        self._push(_Cmd(verb, arg, ts), ts)

    def _c_starttls(self, verb, arg, ts):
        self._end_txn(ts, "starttls")
        self._push(_Cmd(verb, arg, ts), ts)
        self._cmode = _STARTTLS_WAIT
        self._tls_wait_held = bytearray()

    def _c_auth(self, verb, arg, ts):
        self.s_auth_attempts += 1
        mech, _, initial = arg.partition(" ")
        a = _Auth(ts, mech.upper())
        self._auth = a
        self._auth_last = a
        cmd = _Cmd(verb, arg, ts)
        cmd.auth = a
        self._push(cmd, ts)
        initial = initial.strip()
        m = a.mech
        if m == "PLAIN":
            if initial:
                self._auth_step(a, initial.encode("latin-1", "replace"), ts)
                self._auth_expect = 0
            else:
                self._auth_expect = 1
        elif m == "LOGIN":
            if initial:
                self._auth_step(a, initial.encode("latin-1", "replace"), ts)
                self._auth_expect = 1
            else:
                self._auth_expect = 2
        elif m == "CRAM-MD5":
            self._auth_expect = 1
        elif m in ("ANONYMOUS", "EXTERNAL", "XOAUTH2", "OAUTHBEARER") and initial:
            self._auth_step(a, initial.encode("latin-1", "replace"), ts)
            self._auth_expect = 0
        else:
            # unknown / multi-step mechanism: responses until the server's final reply
            self._auth_expect = 1 << 30
            if initial:
                self._auth_step(a, initial.encode("latin-1", "replace"), ts)

    def _auth_line(self, line: bytes, ts: float) -> None:
        a = self._auth
        self._auth_expect -= 1
        if a is None:
            return
        if line.strip() == b"*":
            a.result = "cancelled"
            self._auth_expect = 0
            return
        self._auth_step(a, line, ts)

    def _auth_step(self, a: _Auth, raw: bytes, ts: float) -> None:
        dec = _b64(raw)
        step = a.steps
        a.steps += 1
        if dec is None:
            self.weird(W_BAD_AUTH, ts, raw[:60])
            return
        m = a.mech
        if m == "PLAIN":
            parts = dec.split(b"\x00")
            if len(parts) != 3:
                self.weird(W_BAD_AUTH, ts, "PLAIN response without two NULs")
                if len(parts) == 2:
                    a.user, a.password = _text(parts[0]), _text(parts[1])
                return
            a.authzid, a.user, a.password = _text(parts[0]), _text(parts[1]), _text(parts[2])
        elif m == "LOGIN":
            if step == 0:
                a.user = _text(dec)
            elif step == 1:
                a.password = _text(dec)
        elif m == "CRAM-MD5":
            user, _, digest = dec.rpartition(b" ")
            a.user = _text(user) if user else _text(dec)
            a.response = _text(digest)
        elif m in ("XOAUTH2", "OAUTHBEARER"):
            # user=<u>\x01auth=Bearer <token>  /  n,a=<u>,\x01...
            s = _text(dec)
            mm = re.search(r"(?:^|\x01|,)(?:user|a)=([^\x01,]*)", s)
            if mm:
                a.user = mm.group(1)
            a.password = s
        elif m == "ANONYMOUS":
            a.user = _text(dec)
        elif step == 0 and a.user is None:
            pass

    # --- message bytes
    def _start_message(self, txn: _Txn, ts: float) -> None:
        if txn.data_started:
            return
        txn.data_started = True
        txn.hash = hashlib.sha256()
        try:
            from dissect.mime import MimeStream
        except ImportError:  # MIME not available: sizes and hashes only
            MimeStream = None
        if MimeStream is not None:
            try:
                txn.mime = MimeStream(self.ctx, source="smtp", trans_depth=txn.depth, ts=ts,
                                      extract_name="%s-%d" % (self.ctx.uid, txn.depth))
            except Exception:  # pragma: no cover - defensive: MIME must not take SMTP down
                if getattr(self.ctx.options, "strict", False):
                    raise
                txn.mime = None

    def _message_bytes(self, chunk: bytes, ts: float) -> None:
        txn = self._txn
        if txn is None or not chunk:
            return
        txn.size += len(chunk)
        if txn.feeding:
            if txn.size > self._msg_cap:
                txn.feeding = False
                txn.incomplete = True
                self.weird(W_MSG_CAP, ts, "message beyond %d bytes" % self._msg_cap)
            else:
                txn.hash.update(chunk)
                if txn.mime is not None:
                    txn.mime.feed(chunk)

    def _data_bytes(self, data: bytes, pos: int, ts: float) -> int:
        """Consume message bytes after DATA up to CRLF.CRLF; returns the position after it."""
        s = self._dhold + data[pos:] if self._dhold else data[pos:]
        base = len(self._dhold)
        e = s.find(b"\r\n.\r\n")
        if e >= 0:
            content = s[:e + 2]
            consumed = e + 5 - base          # bytes of data[pos:] used
            hold = b""
        else:
            consumed = len(s) - base
            if s.endswith(b"\r\n.\r"):
                hold = b"\r\n.\r"
            elif s.endswith(b"\r\n."):
                hold = b"\r\n."
            elif s.endswith(b"\r\n"):
                hold = b"\r\n"
            elif s.endswith(b"\r"):
                hold = b"\r"
            else:
                hold = b""
            content = s[:len(s) - len(hold)]
        txn = self._txn
        if txn is not None and not txn.smuggle:
            chk = self._dprev + s[base:]
            if b"\n." in chk and _bare_lf_dot(chk):
                txn.smuggle = True
                i = chk.find(b"\n.")
                self.weird(W_DATA_BARE_LF, ts, chk[max(0, i - 20):i + 20])
            self._dprev = chk[-4:]
        if content:
            if b"\r\n." in content:
                content = content.replace(b"\r\n.", b"\r\n")
            if self._dpseudo:
                if len(content) >= 2:
                    content = content[2:]
                    self._dpseudo = False
            if content:
                self._dcount += len(content)
                self._message_bytes(content, ts)
        self._dhold = hold
        if e >= 0:
            self._cmode = _CMD
            if txn is not None:
                self._end_message(txn, ts, not txn.incomplete)
                self._txn = None      # no more commands belong to it; the final reply comes via the FIFO
            return pos + consumed
        return len(data)

    def _end_message(self, txn: _Txn, ts: float, complete: bool) -> None:
        txn.data_done = True
        if txn.summary is not None:
            return
        if txn.mime is not None:
            try:
                txn.summary = txn.mime.close(ts, complete=complete and txn.feeding)
            except Exception:  # pragma: no cover - defensive
                if getattr(self.ctx.options, "strict", False):
                    raise
                txn.summary = False
            txn.mime = None
        else:
            txn.summary = False

    # --- transactions
    def _end_txn(self, ts: float, reason: str) -> None:
        txn = self._txn
        if txn is None:
            return
        self._txn = None
        txn.end_reason = reason
        txn.end_ts = txn.end_ts or ts
        self._flush_txns()

    def _flush_txns(self) -> None:
        keep = []
        for t in self._txns:
            if t is not self._txn and t.refs <= 0 and not t.hold:
                self._emit_txn(t)
            else:
                keep.append(t)
        self._txns = keep

    # ------------------------------------------------------------------ server side
    def _feed_server(self, data: bytes, ts: float) -> None:
        if self._stls:
            self.s_tls_bytes += len(data)
            return
        pos, n = 0, len(data)
        while pos < n:
            if self._stls:
                self.s_tls_bytes += n - pos
                return
            nl = data.find(b"\n", pos)
            if self._sskip:
                if nl < 0:
                    return
                self._sskip = False
                pos = nl + 1
                continue
            if nl < 0:
                room = self._line_cap - len(self._sbuf)
                if n - pos > room:
                    self.weird(W_LINE_LONG, ts, bytes(self._sbuf[:100]) + data[pos:pos + 100])
                    self._sbuf.clear()
                    self._sskip = True
                    return
                self._sbuf += data[pos:]
                return
            line = self._line_at(1, self._sbuf, data, pos, nl, ts)
            pos = nl + 1
            if line is None:
                continue
            self._reply_line(line, ts)
            if self._stls and pos < n:
                self.s_tls_bytes += n - pos
                return

    def _reply_line(self, line: bytes, ts: float) -> None:
        ok = len(line) >= 3 and line[:3].isdigit() and (len(line) == 3 or line[3:4] in b" -")
        if not ok:
            if self._sresync:
                return
            if self._reply_lines:
                # junk inside a multi-line reply: keep it as text
                self.weird(W_BAD_REPLY, ts, line)
                if len(self._reply_lines) < _MAX_REPLY_LINES:
                    self._reply_lines.append(_text(line))
                return
            self.weird(W_BAD_REPLY, ts, line)
            return
        self._sresync = False
        code = int(line[:3])
        text = _text(line[4:]).strip() if len(line) > 4 else ""
        if not self._reply_lines:
            self._reply_code = code
            self._reply_ts = ts
            self._reply_mismatch = False
        elif code != self._reply_code and not self._reply_mismatch:
            self._reply_mismatch = True
            self.weird(W_REPLY_CODE, ts, line)
        if len(self._reply_lines) < _MAX_REPLY_LINES:
            self._reply_lines.append(text)
        elif len(self._reply_lines) == _MAX_REPLY_LINES:
            self._reply_lines.append("...")
            self.weird(W_REPLY_LINES, ts, line)
        if line[3:4] == b"-":
            return
        reply = _Reply(self._reply_code, self._reply_lines, self._reply_ts)
        self._reply_lines = []
        self._reply(reply, ts)

    def _reply(self, r: _Reply, ts: float) -> None:
        self.s_last_reply = r.first
        if not self._greeted:
            self._greeted = True
            # the greeting belongs to no command (even when the client spoke first: PIPE_CONNECT)
            if r.code in (220, 421, 554):
                self.s_banner = r.text
                self.s_banner_code = r.code
                return
            # no greeting: the capture started after it
            self.s_incomplete = True
            if not self._pending:
                self._lost_client = True
        if not self._pending:
            if r.code == 421:  # service closing: may come unsolicited
                return
            if not self._lost_client:
                self.weird(W_UNMATCHED, ts, r.first)
            return
        cmd = self._pending[0]
        verb = cmd.verb
        if r.code == 221 and verb != b"QUIT" and any(c.verb == b"QUIT" for c in self._pending):
            # 221 only answers QUIT: the replies before it never came (e.g. a server that stays
            # silent after a failed AUTH); those commands stay unanswered
            while self._pending and self._pending[0].verb != b"QUIT":
                lost = self._pending.popleft()
                self.weird(W_UNANSWERED, ts, _text(lost.verb))
                if lost.txn is not None:
                    lost.txn.refs -= 1
                    lost.txn.incomplete = True
                if lost.auth is not None:
                    if self._auth is lost.auth:
                        self._auth, self._auth_expect = None, 0
                    self._emit_cred(lost.auth)
            cmd = self._pending[0]
            verb = cmd.verb
        if verb == b"DATA":
            self._r_data(cmd, r, ts)
            return
        if verb == b"AUTH" and r.code == 334:
            a = cmd.auth
            if a is not None and a.mech == "CRAM-MD5" and a.challenge is None:
                dec = _b64(r.lines[0].encode("latin-1", "replace")) if r.lines else None
                a.challenge = _text(dec) if dec is not None else (r.lines[0] if r.lines else "")
            return  # intermediate: the command stays at the head
        self._pending.popleft()
        txn = cmd.txn
        if txn is not None:
            txn.refs -= 1
            txn.last_reply = r.first
        if verb == b"MAIL":
            if txn is not None:
                txn.mail_reply = r
                prev, txn.prev = txn.prev, None
                if r.code >= 400:
                    # the server refused the transaction: it is over (an interrupted one goes on)
                    if self._txn is txn:
                        if self._cmode in (_DATA, _BDAT) and txn.data_started:
                            if self._cmode == _DATA and self._dcount == 0 and txn.size == 0:
                                # the DATA pipelined after it will be refused too: no body
                                # follows (what comes is commands), undo the optimistic start
                                self._cmode = _CMD
                                txn.data_started = False
                                txn.mime = None
                                txn.hash = None
                                self._txn = prev
                            # else the body is already flowing into this transaction: it
                            # stays current until the body ends
                        else:
                            self._txn = prev
                    txn.end_ts = r.ts
                elif prev is not None:
                    prev.end_reason = prev.end_reason or "mail"
                    prev.end_ts = prev.end_ts or r.ts
                if prev is not None:
                    prev.hold = False
        elif verb == b"RCPT":
            if cmd.rcpt is not None:
                cmd.rcpt.reply = r
        elif verb == b"BDAT":
            if txn is not None and (cmd.last or r.code >= 400):
                if txn.data_reply is None or txn.data_reply.code < 400:
                    txn.data_reply = r
                if cmd.last:
                    txn.end_ts = r.ts
                    if not txn.data_done:
                        txn.incomplete = True
                    if self._txn is txn:
                        self._txn = None
        elif verb in (b"EHLO", b"LHLO"):
            if 200 <= r.code < 300:
                self._ext = [ln for ln in r.lines[1:]]
                self.s_ext = tuple(self._ext)
        elif verb == b"STARTTLS":
            if r.code == 220:
                self._enter_tls(ts)
            else:
                if self._cmode == _STARTTLS_WAIT:
                    held = bytes(self._tls_wait_held)
                    self._cmode = _CMD
                    self._tls_wait_held = bytearray()
                    if held:
                        self._feed_client(held, ts)
        elif verb == b"AUTH":
            a = cmd.auth
            if a is not None:
                a.code = r.code
                if a.result != "cancelled":
                    a.result = "success" if 200 <= r.code < 300 else "failure"
            if self._auth is a:
                self._auth_expect = 0
                self._auth = None
            if a is not None:
                self._emit_cred(a)
        if txn is not None:
            self._flush_txns()

    def _r_data(self, cmd: _Cmd, r: _Reply, ts: float) -> None:
        txn = cmd.txn
        if cmd.stage == 0:
            if r.code == 354:
                cmd.stage = 1
                if txn is not None:
                    txn.data_refused = False
                return
            # DATA refused: no body follows. The transaction is not reset (RFC 5321 3.3: only
            # RSET, EHLO/HELO and the end of data do that); the client may still add recipients.
            self._pending.popleft()
            if txn is not None:
                txn.refs -= 1
                txn.last_reply = r.first
                txn.data_reply = r
                txn.data_refused = True
                txn.end_ts = r.ts
                if self._cmode == _DATA and self._dcount == 0 and txn.size == 0:
                    self._cmode = _CMD
                    txn.data_started = False
                    if txn.mime is not None:
                        txn.mime = None
                    txn.hash = None
                self._flush_txns()
            elif self._cmode == _DATA and self._dcount == 0:
                self._cmode = _CMD
            return
        # final reply after the data
        if self._cmode == _DATA and txn is not None and self._txn is txn:
            # the server answered but we never saw CRLF.CRLF: it was lost or non-standard
            self.weird(W_DATA_NO_END, ts, r.first)
            txn.incomplete = True
            self._cmode = _CMD
            self._cresync = True
            self._end_message(txn, ts, False)
            self._txn = None
        if txn is not None and self.s_lmtp:
            if cmd.lmtp_left is None:
                cmd.lmtp_left = [x for x in txn.rcpts if x.reply is not None and 200 <= x.reply.code < 300]
            if cmd.lmtp_left:
                cmd.lmtp_left.pop(0).final = r
            if txn.data_reply is None or (r.code >= 400 and txn.data_reply.code < 400):
                txn.data_reply = r
            txn.last_reply = r.first
            if cmd.lmtp_left:
                return
        self._pending.popleft()
        if txn is None:
            return
        txn.refs -= 1
        txn.last_reply = r.first
        if not self.s_lmtp:
            txn.data_reply = r
        txn.end_ts = r.ts
        if self._txn is txn:
            self._txn = None
        self._flush_txns()

    def _enter_tls(self, ts: float) -> None:
        self.s_tls = True
        self._stls = True
        self._cmode = _TLS
        self._ext = []           # RFC 3207: capabilities from before TLS are void
        held = len(self._tls_wait_held)
        self.s_tls_bytes += held + len(self._cbuf)
        self._tls_wait_held = bytearray()
        self._cbuf.clear()
        self.s_tls_bytes += len(self._sbuf)
        self._sbuf.clear()
        self._auth_expect = 0

    # ------------------------------------------------------------------ records
    def _emit_cred(self, a: _Auth) -> None:
        if not self._want_creds or a.mech is None:
            return
        self.ctx.emit(SmtpCredential(uid=self.ctx.uid, ts=a.ts, mechanism=a.mech, user=a.user,
                                     authzid=a.authzid, password=a.password, challenge=a.challenge,
                                     response=a.response, result=a.result, reply_code=a.code))

    def _emit_txn(self, t: _Txn) -> None:
        if t.emitted:
            return
        t.emitted = True
        if t.data_started and not t.data_done:
            t.incomplete = True
        if t.data_started and t.summary is None:
            self._end_message(t, t.end_ts or self._ts_last, False)
        dr = t.data_reply
        mr = t.mail_reply
        answered = [r for r in t.rcpts if r.reply is not None]
        accepted = [r for r in answered if 200 <= r.reply.code < 300]

        def klass(code: int) -> str:
            return "accepted" if 200 <= code < 300 else ("tempfail" if 400 <= code < 500 else "rejected")

        finals = [r.final for r in accepted if r.final is not None] if self.s_lmtp else []
        if finals:
            # LMTP: one final reply per recipient; the message was accepted if any recipient got it
            # (smtp_recipients.delivery has each one's result)
            codes = [f.code for f in finals]
            outcome = ("accepted" if any(200 <= c < 300 for c in codes) else
                       "tempfail" if any(400 <= c < 500 for c in codes) else "rejected")
        elif dr is not None:
            outcome = klass(dr.code)
        elif mr is not None and mr.code >= 400:
            outcome = klass(mr.code)
        elif t.rcpts and len(answered) == len(t.rcpts) and not accepted:
            outcome = "tempfail" if any(400 <= r.reply.code < 500 for r in answered) else "rejected"
        elif t.end_reason in ("rset", "mail", "quit", "helo", "starttls") and not t.data_done:
            outcome = "aborted"
        else:
            outcome = "incomplete"
            t.incomplete = True
        if outcome == "incomplete":
            t.incomplete = True
        summ = t.summary or None
        size = t.size if t.data_started else None
        sha = t.hash.hexdigest() if (t.hash is not None and t.data_started and t.feeding) else None
        g = (lambda name: getattr(summ, name, None)) if summ else (lambda name: None)
        parts = g("parts")
        atts = g("attachments")
        if isinstance(parts, (list, tuple)):
            parts = len(parts)
        if isinstance(atts, (list, tuple)):
            atts = len(atts)

        def joined(v):
            if v is None:
                return None
            if isinstance(v, (list, tuple)):
                return ", ".join(str(x) for x in v)
            return str(v)

        uid = self.ctx.uid
        emit = self.ctx.emit
        emit(SmtpTransaction(
            uid=uid, trans_depth=t.depth, ts=t.ts, end_ts=t.end_ts, helo=t.helo, mail_from=t.mail_from,
            mail_params=t.params, mail_reply_code=mr.code if mr else None,
            rcpt_to=tuple(r.address for r in t.rcpts), rcpt_count=len(t.rcpts),
            accepted_count=len(accepted), data_mode=t.data_mode,
            data_reply_code=dr.code if dr else None, data_reply_text=dr.text if dr else None,
            enhanced_status=dr.enhanced if dr else None, last_reply=t.last_reply, outcome=outcome,
            is_bounce=t.mail_from == "", message_id=joined(g("message_id")), subject=joined(g("subject")),
            header_from=joined(g("header_from")), header_to=joined(g("header_to")), cc=joined(g("cc")),
            date=joined(g("date")), in_reply_to=joined(g("in_reply_to")), size=size,
            parts=parts, attachments=atts, sha256=sha, tls=t.tls, incomplete=t.incomplete))
        for r in t.rcpts:
            rep = r.reply
            if rep is None:
                routcome = "unanswered"
            else:
                routcome = klass(rep.code)
            fin = r.final if self.s_lmtp else (dr if (rep is not None and 200 <= rep.code < 300) else None)
            if routcome != "accepted":
                delivery = routcome if routcome != "unanswered" else ("aborted" if outcome == "aborted" else "incomplete")
            elif fin is not None:
                delivery = klass(fin.code)
            elif outcome in ("aborted", "incomplete"):
                delivery = outcome
            else:
                delivery = outcome if outcome != "accepted" else "incomplete"
            emit(SmtpRecipient(
                uid=uid, trans_depth=t.depth, ts=r.ts, address=r.address, params=r.params,
                reply_code=rep.code if rep else None, enhanced_status=rep.enhanced if rep else None,
                reply_text=rep.text if rep else None, outcome=routcome,
                final_reply_code=fin.code if fin else None,
                final_enhanced_status=fin.enhanced if fin else None,
                final_reply_text=fin.text if fin else None, delivery=delivery))

    def _finish(self, ts: float) -> None:
        # what is still open is incomplete (flow ended mid-exchange)
        if self._cmode == _DATA and self._txn is not None:
            self._txn.incomplete = True
            self._end_message(self._txn, ts, False)
        if self._cmode in (_DATA, _BDAT) or self._cbuf or self._reply_lines:
            self.s_incomplete = True
        if self._pending:
            # commands without a reply: a one-sided capture or a flow cut short
            for cmd in self._pending:
                if cmd.txn is not None:
                    cmd.txn.refs -= 1
                    if cmd.verb in (b"DATA", b"BDAT"):
                        cmd.txn.incomplete = True
                if cmd.auth is not None and cmd.auth.result == "unanswered":
                    self._emit_cred(cmd.auth)
            if any(c.verb != b"QUIT" for c in self._pending):
                self.s_incomplete = True
            self._pending.clear()
        if self._txn is not None:
            self._txn.end_reason = self._txn.end_reason or "close"
            self._txn.end_ts = self._txn.end_ts or ts
            self._txn = None
        for t in self._txns:
            if t.hold and t.end_reason is None:
                t.end_reason = "mail"
            self._emit_txn(t)
        self._txns = []
        if self._ts0 is None:
            return  # no byte and no gap ever reached us (e.g. a scan of port 25): no session
        a = self._auth_last
        ctx = self.ctx
        self.ctx.emit(SmtpSession(
            uid=ctx.uid, ts=self._ts0 if self._ts0 is not None else ts, client=ctx.orig_h,
            client_port=ctx.orig_p, server=ctx.resp_h, server_port=ctx.resp_p,
            end_ts=self._ts_last if self._ts0 is not None else ts, banner=self.s_banner,
            banner_code=self.s_banner_code, helo=self.s_helo, helo_verb=self.s_helo_verb,
            extensions=self.s_ext, tls=self.s_tls, tls_bytes=self.s_tls_bytes,
            starttls_injection=self.s_inject, auth_mechanism=a.mech if a else None,
            auth_user=a.user if a else None, auth_result=a.result if a else None,
            auth_attempts=self.s_auth_attempts, transactions=self._depth, commands=self.s_commands,
            other_commands=tuple(self.s_other), client_bytes=self.s_cbytes, server_bytes=self.s_sbytes,
            last_reply=self.s_last_reply, quit=self.s_quit, lmtp=self.s_lmtp,
            incomplete=self.s_incomplete))


_HANDLERS = {
    b"HELO": SmtpAnalyzer._c_helo, b"EHLO": SmtpAnalyzer._c_helo, b"LHLO": SmtpAnalyzer._c_helo,
    b"MAIL": SmtpAnalyzer._c_mail, b"RCPT": SmtpAnalyzer._c_rcpt, b"DATA": SmtpAnalyzer._c_data,
    b"BDAT": SmtpAnalyzer._c_bdat, b"RSET": SmtpAnalyzer._c_rset, b"QUIT": SmtpAnalyzer._c_quit,
    b"STARTTLS": SmtpAnalyzer._c_starttls, b"AUTH": SmtpAnalyzer._c_auth,
}


# ---------------------------------------------------------------------- detection
_CLIENT_HELLO = (b"EHLO", b"HELO", b"LHLO")


def probe(direction: int, data: bytes, proto: str = "tcp") -> bool | None:
    """Content probe: a ``220`` greeting from the responder, ``EHLO/HELO/LHLO`` from the originator.

    Called with the first bytes of one direction. The responder side alone never decides
    ``True`` (FTP and others greet with 220 too): it answers ``None`` while it looks like a
    greeting and ``False`` otherwise. The originator side answers ``True`` on EHLO/HELO/LHLO
    (possibly after the greeting in a one-sided capture), ``False`` on any other complete line.
    Never raises.
    """
    try:
        if proto != "tcp" or not data:
            return None
        d = bytes(data[:512])
        if direction == RESP:
            if len(d) < 4:
                return None if b"220"[:len(d)] == d[:3] else False
            if d[:3] == b"220" and d[3:4] in (b" ", b"-"):
                return None
            return False
        head = d[:5].upper()
        if len(d) < 5:
            return None if any(v.startswith(head) for v in _CLIENT_HELLO) else False
        if head[:4] in _CLIENT_HELLO and head[4:5] in (b" ", b"\r", b"\n"):
            return True
        return False
    except Exception:  # pragma: no cover - probes never raise
        return False
