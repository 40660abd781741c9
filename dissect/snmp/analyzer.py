"""The SNMP analyzer (sans-IO): UDP datagrams whole, SNMP over TCP (RFC 3430) framed by BER.

One analyzer per flow. Each message is decoded (:mod:`dissect.snmp.message`); v3 messages are
authenticated and decrypted through the run's key store (:mod:`dissect.snmp.keys`, optional);
then requests are paired with their responses:

* key: ``(version, request-id)`` for v1/v2c, ``(3, msgID)`` for v3 (RFC 3412: a Response or Report
  carries the msgID of the request, and this works even when the PDU stays encrypted);
* the response comes back to the request's source (request src:port == response dst:port; an
  Inform is answered by its receiver the same way): in the same flow, or, for an agent that
  answers from another address or port, in another flow found through the run-wide index of
  pending requests by manager endpoint;
* a request row is emitted when its response arrives (``answered=True``, ``response_time``), or
  when the flow closes, or when the pending map is full (``answered=False``). A retransmitted
  request (same key, same direction) closes the earlier copy as unanswered.

Per-run shared state (:class:`SnmpShared`, built once by ``Protocol.make_shared``): the key store,
the ``pdu_index`` counter, the engines learned from authoritative messages (discovery), and the
"auth samples" of every authenticated v3 message for the audit's offline password check and
hashcat export.
"""

from __future__ import annotations

import functools
import itertools

from dissect.analyzer import Analyzer, FlowContext
from dissect.snmp.ber import BerError, frame_header
from dissect.snmp.message import (REQUEST_TYPES, GENERIC_TRAPS, Limits, Message, decode_message,
                                  decode_scoped_pdu, engine_id_info, looks_like_snmp, octets_value,
                                  report_reason, valid_scoped_pdu)
from dissect.snmp.records import SnmpPdu, SnmpVarbind
from dissect.weird import declare, excerpt

__all__ = ["SnmpAnalyzer", "SnmpShared", "make_shared", "merge_shared", "probe", "AuthSample"]

W_PENDING_CAP = declare("snmp_pending_cap", "Too many SNMP requests awaiting a response in one flow; the oldest was closed as unanswered", "warning")
W_AUTH_SAMPLES_CAP = declare("snmp_auth_samples_cap", "The number of authenticated SNMPv3 messages kept for the audit hit its cap", "info")
W_TCP_RESYNC = declare("snmp_tcp_resync", "SNMP over TCP: bytes that do not start a message were skipped to the next message", "warning")
W_TCP_NOT_SNMP = declare("snmp_tcp_not_snmp", "SNMP over TCP: too much data without a message; the rest of this direction is ignored", "warning")
W_NOT_SNMP = declare("snmp_flow_not_snmp", "Many undecodable messages in a row on one flow; the rest are not reported one by one", "info")
W_UNMATCHED = declare("snmp_unmatched_response", "An SNMP Response/Report matched no pending request of the flow", "info")
W_USM_ERROR = declare("snmp_usm_error", "The SNMPv3 key store failed on a message (authentication or decryption not done)", "error")
W_DECRYPTED_BAD = declare("snmp_decrypted_bad_pdu", "A decrypted ScopedPDU passed the check but its PDU is malformed", "warning")
declare("snmp_bad_ber", "An SNMP message is not valid BER (the message was not decoded)", "warning")
declare("snmp_bad_ber_length", "A BER length runs past its container or the message is truncated", "warning")
declare("snmp_ber_indefinite_length", "BER indefinite length, forbidden in SNMP", "warning")
declare("snmp_ber_length_cap", "A BER length is above caps.ber_length; the element was not decoded", "warning")
declare("snmp_unexpected_tag", "An SNMP field has an unexpected BER tag", "warning")
declare("snmp_bad_ber_integer", "A BER INTEGER or unsigned value is empty, too long or out of range", "warning")
declare("snmp_bad_oid", "A malformed OBJECT IDENTIFIER (empty, or ends inside a subidentifier)", "warning")
declare("snmp_oid_subidentifier_too_long", "An OID subidentifier is encoded in more than 10 octets (decoded exactly)", "info")
declare("snmp_ber_depth_cap", "BER nesting deeper than caps.ber_depth; the element was not decoded", "warning")
declare("snmp_ber_element_cap", "More BER elements than caps.ber_elements; the element was not decoded", "warning")
declare("snmp_oid_too_long", "An OID has more arcs than caps.oid_arcs", "warning")
declare("snmp_bad_ipaddress", "An IpAddress value is not 4 octets", "warning")
declare("snmp_bad_varbind", "A varbind is not a SEQUENCE{OID, value} (it failed alone)", "warning")
declare("snmp_too_many_varbinds", "A PDU has more varbinds than caps.ber_elements; the rest was not decoded", "warning")
declare("snmp_unknown_pdu_type", "An SNMP PDU with an unknown tag", "warning")
declare("snmp_unknown_version", "An SNMP message with a version other than 0 (v1), 1 (v2c) or 3", "warning")
declare("snmp_trailing_bytes", "Octets after the end of an SNMP element", "info")
declare("snmp_v1_trap_in_v2c", "A v1 Trap-PDU inside a v2c message", "info")
declare("snmp_negative_integer", "A non-negative SNMPv3 field (msgID, boots, time) was encoded as a negative INTEGER; read unsigned", "info")
declare("snmp_bad_msg_flags", "SNMPv3 msgFlags is not one octet", "warning")
declare("snmp_unknown_security_model", "SNMPv3 security model other than USM (3); parameters not decoded", "info")
declare("snmp_unexpected_encrypted", "An SNMPv3 encryptedPDU without the privacy flag", "warning")
declare("snmp_plaintext_with_priv_flag", "An SNMPv3 plaintext ScopedPDU although the privacy flag is set", "warning")

_INT64 = (1 << 63) - 1

# Memoised pure functions of message bytes that repeat from message to message (communities,
# user and context names; engine ids): bounded caches of column values, no state of a run. Called
# with bytes (hashable, and not a view that would keep a whole buffer alive in the cache)


@functools.lru_cache(maxsize=4096)
def _text(b: bytes) -> str:
    """``octets_value`` of a community, user or context name."""
    return octets_value(b)


@functools.lru_cache(maxsize=4096)
def _engine_info(eid: bytes | None) -> tuple:
    """``engine_id_info(eid) + (hex of eid,)``."""
    return engine_id_info(eid) + (None if eid is None else eid.hex(),)


class AuthSample(tuple):
    """(ts, uid, user, engine_id, whole_msg, auth_offset, auth_len, src, dst) of one authenticated v3 message.

    ``src``/``dst`` are ``"host:port"``. Fields are also readable by name.
    """

    __slots__ = ()
    _fields = ("ts", "uid", "user", "engine_id", "whole_msg", "auth_offset", "auth_len", "src", "dst")

    def __new__(cls, *values):
        return tuple.__new__(cls, values)

    def __getnewargs__(self):     # pickling (parallel runs return the shared state)
        return tuple(self)

    ts = property(lambda s: s[0])
    uid = property(lambda s: s[1])
    user = property(lambda s: s[2])
    engine_id = property(lambda s: s[3])
    whole_msg = property(lambda s: s[4])
    auth_offset = property(lambda s: s[5])
    auth_len = property(lambda s: s[6])
    src = property(lambda s: s[7])
    dst = property(lambda s: s[8])


def _load_keystore(options):
    """The run's KeyStore, or None when dissect.snmp.keys is not available."""
    try:
        from dissect.snmp.keys import KeyStore
    except ImportError:
        return None
    return KeyStore.from_options(options)  # KeysFileError propagates: the CLI reports it


class SnmpShared:
    """Per-run SNMP state shared by every flow's analyzer."""

    AUTH_SAMPLES_CAP = 10_000          # authenticated v3 messages kept for the audit...
    AUTH_SAMPLES_BYTES = 32 << 20      # ...and their total size
    ENGINES_CAP = 65_536

    def __init__(self, options=None):
        if options is None:
            from dissect.options import Options
            options = Options()
        self.options = options
        self.limits = Limits.from_caps(options.caps)
        self.pending_cap = options.caps.snmp_pending_requests
        self.keys = _load_keystore(options)
        self.auth_samples: list[AuthSample] = []
        self.auth_samples_dropped = 0
        self.auth_samples_bytes = 0
        #: (manager host, manager port, pairing key) -> analyzer holding that pending request;
        #: pairs answers that come back from another agent address/port (another flow).
        #: Bounded by the per-flow pending cap times the live flows.
        self.by_manager: dict[tuple, "SnmpAnalyzer"] = {}
        #: engine id (bytes) -> (boots, time, ts) learned from authoritative messages
        self.engines: dict[bytes, tuple[int, int, float]] = {}
        self._index = itertools.count()

    def next_index(self) -> int:
        return next(self._index)


def make_shared(options) -> SnmpShared:
    return SnmpShared(options)


def merge_shared(parts: list) -> SnmpShared:
    """``Protocol.merge_shared``: one state from the workers' (parallel runs; dissect.parallel).

    Auth samples are concatenated and put in canonical order (ts, flow uid; stable, so a flow's
    samples keep their order) and cut to the caps again; engines keep their latest entry; the key
    store is the first worker's (the same keys file) with the budget hits summed.
    """
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    out = parts[0]
    if len(parts) > 1:
        samples = []
        for p in parts:
            samples.extend(p.auth_samples)
        out.auth_samples = samples
        out.auth_samples_dropped = sum(p.auth_samples_dropped for p in parts)
        for p in parts[1:]:
            for k, v in p.engines.items():
                cur = out.engines.get(k)
                if cur is None or v[2] > cur[2]:
                    out.engines[k] = v
            hits = getattr(p.keys, "budget_hits", 0)
            if out.keys is not None and isinstance(hits, int):
                out.keys.budget_hits += hits
    out.auth_samples.sort(key=lambda s: (s[0], s[1] or ""))
    if len(parts) > 1:
        kept, nbytes = [], 0
        for smp in out.auth_samples:
            if len(kept) >= out.AUTH_SAMPLES_CAP or nbytes + len(smp[4]) > out.AUTH_SAMPLES_BYTES:
                out.auth_samples_dropped += 1
                continue
            nbytes += len(smp[4])
            kept.append(smp)
        out.auth_samples = kept
        out.auth_samples_bytes = nbytes
    out.by_manager = {}
    return out


def probe(direction: int, data: bytes, proto: str) -> bool | None:
    """Content probe for any port: SEQUENCE{INTEGER 0|1|3, OCTET STRING | SEQUENCE}. Never raises."""
    r = looks_like_snmp(bytes(data[:64]))
    if r is None and proto == "udp":
        return False
    return r


class _Dir:
    __slots__ = ("buf", "skip", "synced", "reported", "junk", "dead")

    def __init__(self):
        self.buf = bytearray()
        self.skip = 0          # octets of an over-cap message still to discard
        self.synced = True     # False after a gap or bad framing, until a message start is found
        self.reported = False  # the current desync was reported (one weird per episode)
        self.junk = 0          # octets skipped since the last good message
        self.dead = False      # too much that is not SNMP: stop parsing this direction


class SnmpAnalyzer(Analyzer):
    source = "snmp"
    BAD_REPORTED = 16   # undecodable messages in a row reported per flow before going quiet

    def __init__(self, ctx: FlowContext):
        super().__init__(ctx)
        sh = ctx.shared
        if sh is None:
            sh = ctx.shared = SnmpShared(ctx.options)
        self.shared: SnmpShared = sh
        self.lim = sh.limits
        self.tcp = ctx.proto == "tcp"
        self.ends = ((ctx.orig_h, ctx.orig_p), (ctx.resp_h, ctx.resp_p))
        self.pending: dict[tuple, tuple[int, float, dict]] = {}
        self.dirs = (_Dir(), _Dir()) if self.tcp else None
        self.strict = bool(getattr(ctx.options, "strict", False))
        self.bad_streak = 0

    # -- transport ------------------------------------------------------------------------------

    def feed(self, direction: int, data: bytes, ts: float) -> None:
        if not self.tcp:
            self._message(direction, bytes(data), ts)
            return
        d = self.dirs[direction]
        if d.dead:
            return
        if d.skip:
            k = min(d.skip, len(data))
            d.skip -= k
            data = data[k:]
            if not data:
                return
        d.buf += data
        self._frame(direction, d, ts)

    def _frame(self, direction: int, d: _Dir, ts: float) -> None:
        """Cut whole messages off the direction's buffer. Works with an offset and compacts the
        buffer once per call, so many small messages in one segment cost linear time."""
        buf = d.buf
        cap = self.lim.length
        n = len(buf)
        pos = 0
        try:
            while pos < n:
                if not d.synced or buf[pos] != 0x30:
                    pos, ok = self._resync(d, pos, ts)
                    if not ok:
                        return
                    continue
                try:
                    h = frame_header(buf[pos:pos + 12])
                except BerError as e:
                    self.weird(e.name, ts, "TCP framing: " + str(e))
                    pos += 1
                    d.synced = False
                    continue
                if h is None:
                    return  # header incomplete
                ve = h[0] + h[1]
                if ve > cap + 16:
                    self.weird("snmp_ber_length_cap", ts, f"TCP message of {ve} octets (cap {cap}) skipped")
                    left = ve - (n - pos)
                    if left > 0:
                        d.skip = left
                        pos = n
                    else:
                        pos += ve
                    continue
                if pos + ve > n:
                    return  # wait for the rest
                msg = bytes(buf[pos:pos + ve])
                pos += ve
                if self._message(direction, msg, ts):
                    d.junk = 0
                    d.reported = False
                else:  # framed but not SNMP: look for the next real message start
                    d.synced = False
                    d.junk += ve
                    if d.junk > cap:
                        d.dead = True
                        self.weird(W_TCP_NOT_SNMP, ts, f"{d.junk} octets without an SNMP message")
                        pos = n
                        return
        finally:
            if pos:
                del buf[:pos]

    def _resync(self, d: _Dir, pos: int, ts: float) -> tuple[int, bool]:
        """Skip to the next plausible message start at or after ``pos``.

        Returns ``(new position, True)`` when one was found, ``(position, False)`` when more
        data is needed to tell (the bytes before it are dropped) or nothing is left. One weird
        per desynchronised stretch; after ``caps.ber_length`` octets without a message the
        direction is given up (it is not SNMP).
        """
        buf = d.buf
        n = len(buf)
        start = pos
        while True:
            i = buf.find(b"\x30", start)
            r = False if i < 0 else looks_like_snmp(bytes(buf[i:i + 64]))
            if i < 0 or r is not False:
                end = n if i < 0 else i
                if end > pos:
                    d.junk += end - pos
                    if not d.reported:
                        d.reported = True
                        self.weird(W_TCP_RESYNC, ts, f"skipped octets: {excerpt(bytes(buf[pos:min(end, pos + 48)]))}")
                    if d.junk > self.lim.length:
                        d.dead = True
                        self.weird(W_TCP_NOT_SNMP, ts, f"{d.junk} octets without an SNMP message")
                        return n, False
                if r:
                    d.synced = True
                return end, bool(r)
            start = i + 1

    def gap(self, direction: int, n: int, ts: float) -> None:
        if self.tcp:
            d = self.dirs[direction]
            d.buf.clear()
            d.skip = 0
            d.synced = False
            d.reported = False

    def close(self, ts: float) -> None:
        emit = self.ctx.emit
        for key, (_dir, _ts, row) in self.pending.items():
            self._unindex(key, row)
            row["answered"] = False
            emit(SnmpPdu(**row))
        self.pending.clear()

    # -- messages -------------------------------------------------------------------------------

    def _message(self, direction: int, buf: bytes, ts: float) -> bool:
        """Decode one message and emit its records; False when it was not SNMP at all."""
        msg = decode_message(buf, self.lim)
        if msg.error is not None:
            if msg.version is None:
                # not SNMP at all: report the first ones, then stay quiet for this flow (a
                # non-SNMP service on 161/162 must not flood the weirds table)
                self.bad_streak += 1
                if self.bad_streak <= self.BAD_REPORTED:
                    self.weird(msg.error[0], ts, msg.error[1])
                elif self.bad_streak == self.BAD_REPORTED + 1:
                    self.weird(W_NOT_SNMP, ts, f"{self.BAD_REPORTED} malformed messages in a row; "
                               "further ones of this flow are not reported")
                return False
            self.weird(msg.error[0], ts, msg.error[1])
        self.bad_streak = 0
        v3 = msg.version == "3"
        auth = auth_proto = privacy = priv_proto = None
        if v3:
            auth, auth_proto, privacy, priv_proto = self._usm(msg, buf, direction, ts)
        for name, addl in msg.weirds:
            self.weird(name, ts, addl)

        sh = self.shared
        pdu = msg.pdu
        idx = sh.next_index()
        ends = self.ends
        src, dst = ends[direction], ends[1 - direction]
        uid = self.ctx.uid
        if pdu is not None:
            ptype = pdu.type
            is_req = ptype in REQUEST_TYPES
        else:
            ptype = "encrypted" if msg.encrypted is not None else None
            # confirmed-class PDUs set the reportable flag (RFC 3412 6.4); some agents set it on
            # responses too, but nothing sent from the agent port 161 is a request
            is_req = (msg.reportable and src[1] != 161) if v3 and msg.error is None else None
        row = {
            "ts": ts, "uid": uid, "pdu_index": idx, "src_h": src[0], "src_p": src[1],
            "dst_h": dst[0], "dst_p": dst[1], "transport": "tcp" if self.tcp else "udp",
            "version": msg.version, "pdu_type": ptype, "is_request": is_req, "size": msg.size,
        }
        if msg.community is not None:
            row["community"] = _text(bytes(msg.community))
        if pdu is not None:
            tag = pdu.tag
            vbs = pdu.varbinds
            row["request_id"] = pdu.request_id
            row["error_status"] = pdu.error_name
            row["error_index"] = pdu.error_index
            row["non_repeaters"] = pdu.non_repeaters
            row["max_repetitions"] = pdu.max_repetitions
            row["varbind_count"] = len(vbs)
            if tag == 0xA4:
                row["enterprise"] = pdu.enterprise
                row["agent_addr"] = pdu.agent_addr
                g = pdu.generic_trap
                row["generic_trap"] = GENERIC_TRAPS[g] if g is not None and 0 <= g < 7 else (None if g is None else str(g))
                row["specific_trap"] = pdu.specific_trap
                row["time_stamp"] = pdu.time_stamp
            elif (tag == 0xA6 or tag == 0xA7) and vbs and vbs[0].type == "timeticks":
                row["time_stamp"] = vbs[0].value_int  # sysUpTime.0 of a v2 trap/inform
            row["trap_oid"] = pdu.trap_oid
            if tag == 0xA8:
                row["report_reason"] = report_reason(pdu)
            if vbs:
                emit = self.ctx.emit
                for i, vb in enumerate(vbs):
                    vi = vb.value_int
                    if vi is not None and not (-_INT64 - 1 <= vi <= _INT64):
                        vi = None
                    emit(SnmpVarbind(ts, uid, idx, i, vb.oid, vb.type, vb.value, vi))
        if v3:
            eid = msg.engine_id
            boots = msg.engine_boots
            fmt, ent, val, eid_hex = _engine_info(None if eid is None else bytes(eid))
            row.update({
                "msg_id": msg.msg_id, "max_size": msg.max_size, "flags": msg.flags,
                "security_model": msg.security_model,
                "security_level": msg.security_level,
                "user": None if msg.user is None else _text(bytes(msg.user)),
                "engine_id": eid_hex, "engine_id_format": fmt, "engine_enterprise": ent,
                "engine_id_value": val, "engine_boots": boots, "engine_time": msg.engine_time,
                "context_engine_id": None if msg.context_engine_id is None else msg.context_engine_id.hex(),
                "context_name": None if msg.context_name is None else _text(bytes(msg.context_name)),
                "auth": auth, "auth_proto": auth_proto, "privacy": privacy, "priv_proto": priv_proto})
            if (eid and boots is not None and not is_req and msg.error is None
                    and (eid in sh.engines or len(sh.engines) < sh.ENGINES_CAP)):
                sh.engines[eid] = (boots, msg.engine_time, ts)
        self._pair(direction, msg, row, ts)
        return True

    def _usm(self, msg: Message, buf: bytes, direction: int, ts: float):
        """Authenticate and decrypt a v3 message through the key store."""
        sh = self.shared
        ks = sh.keys
        auth = auth_proto = priv_proto = None
        if msg.auth_flag:
            auth = "unchecked"
            if msg.auth_offset is not None and msg.auth_len:
                if (len(sh.auth_samples) < sh.AUTH_SAMPLES_CAP
                        and sh.auth_samples_bytes + len(buf) <= sh.AUTH_SAMPLES_BYTES):
                    sh.auth_samples_bytes += len(buf)
                    s, d = self.ends[direction], self.ends[1 - direction]
                    sh.auth_samples.append(AuthSample(ts, self.ctx.uid, msg.user, msg.engine_id, buf,
                                                      msg.auth_offset, msg.auth_len,
                                                      f"{s[0]}:{s[1]}", f"{d[0]}:{d[1]}"))
                else:
                    if not sh.auth_samples_dropped:
                        self.weird(W_AUTH_SAMPLES_CAP, ts, f"{len(sh.auth_samples)} samples "
                                   f"({sh.auth_samples_bytes} octets) kept")
                    sh.auth_samples_dropped += 1
                if ks is not None and msg.user is not None:
                    try:
                        status, auth_proto = ks.authenticate(msg.user, msg.engine_id or b"", buf,
                                                             msg.auth_offset, msg.auth_len)
                    except Exception as e:
                        if self.strict:
                            raise
                        self.weird(W_USM_ERROR, ts, f"authenticate: {type(e).__name__}: {e}")
                        status = "no_key"
                    if status == "ok":
                        auth = "ok"
                    elif status == "bad":
                        auth = "bad"
                    if auth != "ok":
                        auth_proto = None
        else:
            auth = "none"
        if msg.encrypted is None:
            return auth, auth_proto, "none", None
        privacy = "no_key"
        if ks is not None and msg.user is not None and msg.priv_params is not None:
            lim = self.lim
            try:
                plain, status, priv_proto = ks.decrypt(msg.user, msg.engine_id or b"", msg.engine_boots or 0,
                                                       msg.engine_time or 0, msg.priv_params, msg.encrypted,
                                                       valid_scoped_pdu)
            except Exception as e:
                if self.strict:
                    raise
                self.weird(W_USM_ERROR, ts, f"decrypt: {type(e).__name__}: {e}")
                plain, status, priv_proto = None, "no_key", None
            if plain is not None and status == "decrypted":
                privacy = "decrypted"
                plain = bytes(plain)
                try:
                    decode_scoped_pdu(plain, 0, len(plain), msg, lim, padded=True)
                except BerError as e:
                    self.weird(W_DECRYPTED_BAD, ts, f"{e.name}: {e}")
            else:
                privacy = status if status in ("no_key", "decrypt_failed") else "decrypt_failed"
                priv_proto = None
        return auth, auth_proto, privacy, priv_proto

    # -- pairing --------------------------------------------------------------------------------

    def _unindex(self, key: tuple, row: dict) -> None:
        """Forget a pending request in the run-wide index (it was answered or closed)."""
        k = (row["src_h"], row["src_p"], key)
        if self.shared.by_manager.get(k) is self:
            del self.shared.by_manager[k]

    def _answer(self, owner: "SnmpAnalyzer", key: tuple, row: dict, ts: float) -> None:
        _d, rts, req = owner.pending.pop(key)
        owner._unindex(key, req)
        rt = max(0.0, ts - rts)
        req["answered"] = True
        req["response_time"] = rt
        if row.get("pdu_type") == "report":
            req["outcome"] = "report:" + (row.get("report_reason") or "?")
        elif row.get("pdu_type") == "response":
            req["outcome"] = row.get("error_status")
        else:
            req["outcome"] = row.get("pdu_type")
        emit = self.ctx.emit
        emit(SnmpPdu(**req))
        row["response_time"] = rt
        row["request_index"] = req["pdu_index"]
        emit(SnmpPdu(**row))

    def _pair(self, direction: int, msg: Message, row: dict, ts: float) -> None:
        emit = self.ctx.emit
        pdu = msg.pdu
        if msg.version == "3":
            key = (3, msg.msg_id) if msg.msg_id is not None else None
        else:
            key = (msg.version, pdu.request_id) if pdu is not None and pdu.request_id is not None else None
        if key is None:
            emit(SnmpPdu(**row))
            return
        is_req = row.get("is_request")
        answer_like = not is_req or pdu is None
        pend = self.pending.get(key)
        if pend is not None and pend[0] != direction and answer_like:
            # the answer (Response, Report, or an encrypted non-reportable message)
            self._answer(self, key, row, ts)
            return
        if answer_like and pend is None:
            # an agent that answers from another address or port (multi-homed, or a reply
            # socket of its own): the request waits in another flow, found by the manager's
            # endpoint (the request's source is the response's destination)
            other = self.shared.by_manager.get((row["dst_h"], row["dst_p"], key))
            if other is not None and other is not self and key in other.pending:
                self._answer(other, key, row, ts)
                return
        if is_req:
            if pend is not None:  # retransmission (or a reused id): the earlier copy went unanswered
                del self.pending[key]
                self._unindex(key, pend[2])
                pend[2]["answered"] = False
                emit(SnmpPdu(**pend[2]))
            elif len(self.pending) >= self.shared.pending_cap:
                oldest = next(iter(self.pending))
                _d, _t, old = self.pending.pop(oldest)
                self._unindex(oldest, old)
                old["answered"] = False
                emit(SnmpPdu(**old))
                self.weird(W_PENDING_CAP, ts, f"{self.shared.pending_cap} pending requests")
            self.pending[key] = (direction, ts, row)
            self.shared.by_manager[(row["src_h"], row["src_p"], key)] = self
            return
        if pdu is not None and pdu.type in ("response", "report"):
            self.weird(W_UNMATCHED, ts, f"{pdu.type} {key[1]}")
        emit(SnmpPdu(**row))
