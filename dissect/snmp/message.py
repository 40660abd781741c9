"""SNMP message and PDU decoding: v1 (RFC 1157), v2c (RFC 1901/3416), v3 (RFC 3412/3414).

:func:`decode_message` turns one serialised message (a UDP datagram, or one framed message of a
TCP stream) into a :class:`Message`. It never raises: structural damage to the message envelope
is reported in ``Message.error`` (a weird name + detail), damage inside one varbind is confined
to that varbind (type ``"error"``) and noted in ``Message.weirds``.

For v3, nothing cryptographic happens here: the decoder records *where* the authentication
parameters sit in the message (``auth_offset``/``auth_len``, so that the HMAC can be checked by
zeroing those bytes in place, never by re-encoding), and keeps the encrypted ScopedPDU as bytes.
:func:`decode_scoped_pdu` decodes a ScopedPDU once the analyzer has a plaintext, and
:func:`valid_scoped_pdu` is the cheap validator handed to the key store to recognise a correct
decryption (a SEQUENCE{OCTET STRING, OCTET STRING, PDU with a known tag}, trailing padding allowed).
"""

from __future__ import annotations

import ipaddress

import struct

from dissect.snmp.ber import (INTEGER, NULL, OCTET_STRING, OID, SEQUENCE, BerError, expect,
                              oid_str, read_int, read_oid, read_uint, tlv, walk)

__all__ = ["Message", "Pdu", "Varbind", "decode_message", "decode_scoped_pdu", "valid_scoped_pdu",
           "PDU_TYPES", "REQUEST_TYPES", "ERROR_STATUS", "GENERIC_TRAPS", "engine_id_info",
           "report_reason", "looks_like_snmp", "Limits"]

PDU_TYPES = {0xA0: "get", 0xA1: "getnext", 0xA2: "response", 0xA3: "set", 0xA4: "trap",
             0xA5: "getbulk", 0xA6: "inform", 0xA7: "trapv2", 0xA8: "report"}
#: PDUs that expect a Response (confirmed class, RFC 3411 2.8)
REQUEST_TYPES = frozenset({"get", "getnext", "set", "getbulk", "inform"})
VERSIONS = {0: "1", 1: "2c", 3: "3"}

ERROR_STATUS = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
                "wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation",
                "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
                "authorizationError", "notWritable", "inconsistentName")
GENERIC_TRAPS = ("coldStart", "warmStart", "linkDown", "linkUp", "authenticationFailure",
                 "egpNeighborLoss", "enterpriseSpecific")
SECURITY_LEVELS = {0: "noAuthNoPriv", 1: "authNoPriv", 3: "authPriv", 2: "invalid(priv without auth)"}

# varbind value tags -> type names
_APP_UNSIGNED = {0x41: ("counter32", 32), 0x42: ("gauge32", 32), 0x43: ("timeticks", 32),
                 0x46: ("counter64", 64), 0x47: ("uinteger32", 32)}
_EXCEPTIONS = {0x80: "noSuchObject", 0x81: "noSuchInstance", 0x82: "endOfMibView"}

SYS_UPTIME_0 = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID_0 = "1.3.6.1.6.3.1.1.4.1.0"

# Report counters (RFC 3414 usmStats, RFC 3412 snmpMPDStats, RFC 3413 snmpTarget/contexts)
_REPORTS = {
    "1.3.6.1.6.3.15.1.1.1": "unsupportedSecLevels",
    "1.3.6.1.6.3.15.1.1.2": "notInTimeWindows",
    "1.3.6.1.6.3.15.1.1.3": "unknownUserNames",
    "1.3.6.1.6.3.15.1.1.4": "unknownEngineIDs",
    "1.3.6.1.6.3.15.1.1.5": "wrongDigests",
    "1.3.6.1.6.3.15.1.1.6": "decryptionErrors",
    "1.3.6.1.6.3.11.2.1.1": "unknownSecurityModels",
    "1.3.6.1.6.3.11.2.1.2": "invalidMsgs",
    "1.3.6.1.6.3.11.2.1.3": "unknownPDUHandlers",
    "1.3.6.1.6.3.12.1.4": "unavailableContexts",
    "1.3.6.1.6.3.12.1.5": "unknownContexts",
}


class Limits:
    """The BER caps of one run (from :class:`dissect.options.Caps`)."""

    __slots__ = ("depth", "length", "elements", "oid_arcs", "oid_cache")

    def __init__(self, depth: int = 32, length: int = 1 << 20, elements: int = 10_000, oid_arcs: int = 128):
        self.depth = depth
        self.length = length
        self.elements = elements
        self.oid_arcs = oid_arcs
        self.oid_cache: dict[bytes, str] = {}  # OID contents -> dotted text (bounded, per run)

    @classmethod
    def from_caps(cls, caps) -> "Limits":
        if caps is None:
            return cls()
        return cls(caps.ber_depth, caps.ber_length, caps.ber_elements, caps.oid_arcs)


DEFAULT_LIMITS = Limits()


class Varbind:
    __slots__ = ("oid", "type", "value", "value_int")

    def __init__(self, oid: str, type: str, value: str | None, value_int: int | None = None):
        self.oid = oid
        self.type = type
        self.value = value
        self.value_int = value_int

    def __repr__(self):  # pragma: no cover
        return f"Varbind({self.oid} {self.type} {self.value!r})"


class Pdu:
    __slots__ = ("tag", "type", "request_id", "error_status", "error_index", "non_repeaters",
                 "max_repetitions", "enterprise", "agent_addr", "generic_trap", "specific_trap",
                 "time_stamp", "varbinds", "truncated")

    def __init__(self, tag: int):
        self.tag = tag
        self.type = PDU_TYPES.get(tag) or f"unknown-0x{tag:02x}"  # (no f-string for known tags)
        self.request_id = None
        self.error_status = None
        self.error_index = None
        self.non_repeaters = None
        self.max_repetitions = None
        self.enterprise = None
        self.agent_addr = None
        self.generic_trap = None
        self.specific_trap = None
        self.time_stamp = None
        self.varbinds: list[Varbind] = []
        self.truncated = False

    @property
    def error_name(self) -> str | None:
        e = self.error_status
        if e is None:
            return None
        return ERROR_STATUS[e] if 0 <= e < len(ERROR_STATUS) else str(e)

    @property
    def trap_oid(self) -> str | None:
        """snmpTrapOID: the second varbind of a v2 trap/inform, or the RFC 3584 mapping of a v1 trap."""
        if self.tag == 0xA4:
            g = self.generic_trap
            if g is None:
                return None
            if 0 <= g < 6:
                return f"1.3.6.1.6.3.1.1.5.{g + 1}"
            if self.enterprise is not None and self.specific_trap is not None:
                return f"{self.enterprise}.0.{self.specific_trap}"
            return None
        if self.tag in (0xA6, 0xA7):
            for vb in self.varbinds[:3]:
                if vb.oid == SNMP_TRAP_OID_0 and vb.type == "oid":
                    return vb.value
        return None


class Message:
    """One decoded SNMP message. Fields not applicable to its version stay None."""

    __slots__ = ("version", "version_num", "community", "pdu", "error", "weirds",
                 # v3 header
                 "msg_id", "max_size", "flags", "security_model",
                 # USM
                 "engine_id", "engine_boots", "engine_time", "user", "auth_params", "priv_params",
                 "auth_offset", "auth_len",
                 # scoped PDU
                 "context_engine_id", "context_name", "encrypted", "size")

    def __init__(self):
        self.version = None
        self.version_num = None
        self.community: bytes | None = None
        self.pdu: Pdu | None = None
        self.error: tuple[str, str] | None = None
        self.weirds: list[tuple[str, str]] = []
        self.msg_id = None
        self.max_size = None
        self.flags = None
        self.security_model = None
        self.engine_id: bytes | None = None
        self.engine_boots = None
        self.engine_time = None
        self.user: bytes | None = None
        self.auth_params: bytes | None = None
        self.priv_params: bytes | None = None
        self.auth_offset = None
        self.auth_len = None
        self.context_engine_id: bytes | None = None
        self.context_name: bytes | None = None
        self.encrypted: bytes | None = None
        self.size = 0

    @property
    def auth_flag(self) -> bool:
        return bool(self.flags is not None and self.flags & 1)

    @property
    def priv_flag(self) -> bool:
        return bool(self.flags is not None and self.flags & 2)

    @property
    def reportable(self) -> bool:
        return bool(self.flags is not None and self.flags & 4)

    @property
    def security_level(self) -> str | None:
        if self.flags is None:
            return None
        return SECURITY_LEVELS[self.flags & 3]


# ---------------------------------------------------------------------------------------------
# value rendering

def _printable(b: bytes) -> str | None:
    """The text of an OCTET STRING when it is printable (UTF-8 allowed), else None."""
    if not b:
        return ""
    if b.isascii():
        # allow TAB/CR/LF, refuse other controls and a trailing NUL (C strings)
        s = b.decode("ascii")
        if s.isprintable() or s.translate(_WS).isprintable():
            return s
        return None
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return s if s.translate(_WS).isprintable() else None


_WS = {9: None, 10: None, 13: None}


def octets_value(b: bytes) -> str:
    """An OCTET STRING as shown in tables: its text when printable, else ``0x`` + hex."""
    s = _printable(b)
    return s if s is not None else "0x" + b.hex()


def _decode_value(buf: bytes, tag: int, vs: int, ve: int, lim: Limits, weirds: list) -> tuple[str, str | None, int | None]:
    """(type, value text, value_int) of one varbind value."""
    if tag == INTEGER:
        v = read_int(buf, vs, ve)
        return "integer", str(v), v
    if tag == OCTET_STRING:
        return "octet-string", octets_value(buf[vs:ve]), None
    if tag == NULL:
        if ve != vs:
            raise BerError("NULL with contents", "snmp_bad_ber")
        return "null", None, None
    if tag == OID:
        return "oid", _oid_text(buf, vs, ve, lim, weirds), None
    u = _APP_UNSIGNED.get(tag)
    if u is not None:
        v = read_uint(buf, vs, ve, u[1])
        return u[0], str(v), v
    if tag == 0x40:
        if ve - vs == 4:
            return "ipaddress", _ipv4(buf, vs), None
        if ve - vs == 16:  # not standard, but seen (IpAddress carrying IPv6)
            return "ipaddress", str(ipaddress.IPv6Address(buf[vs:ve])), None
        raise BerError(f"IpAddress of {ve - vs} octets", "snmp_bad_ipaddress")
    if tag == 0x44:
        return "opaque", _opaque(buf, vs, ve), None
    if tag == 0x45:
        return "nsapaddress", "0x" + buf[vs:ve].hex(), None
    exc = _EXCEPTIONS.get(tag)
    if exc is not None:
        return exc, None, None
    if tag < 0x100 and tag & 0x20:
        # a constructed value where SNMP only has simple types: it must at least be sound BER
        # within the depth/element caps (a hostile deep nest fails this varbind alone)
        walk(buf, vs, ve, lim.depth, lim.elements, lim.length)
    name = f"unknown-0x{tag:02x}" if tag < 0x100 else f"unknown-0x{tag:x}"
    return name, "0x" + buf[vs:ve].hex(), None


def _ipv4(buf: bytes, off: int) -> str:
    """Dotted quad of the 4 octets at ``off`` (``str(IPv4Address(...))`` without the object)."""
    return "%d.%d.%d.%d" % (buf[off], buf[off + 1], buf[off + 2], buf[off + 3])


def _opaque(buf: bytes, vs: int, ve: int) -> str:
    """Opaque: net-snmp's wrapped float/double (RFC draft 'opaque types') shown as numbers."""
    b = buf[vs:ve]
    if len(b) == 7 and b[:3] == b"\x9f\x78\x04":
        return "float:" + repr(struct.unpack(">f", b[3:])[0])
    if len(b) == 11 and b[:3] == b"\x9f\x79\x08":
        return "double:" + repr(struct.unpack(">d", b[3:])[0])
    return "0x" + b.hex()


_OID_CACHE_MAX = 8192


def _oid_text(buf: bytes, vs: int, ve: int, lim: Limits, weirds: list) -> str:
    """Dotted text of the OID at ``buf[vs:ve]``: cached (walks repeat the same names), with a
    C-speed path for the common case where every subidentifier is below 128."""
    body = buf[vs:ve]
    cache = lim.oid_cache
    got = cache.get(body)
    if got is not None:
        return got
    n = len(body)
    if n and body.isascii() and n < lim.oid_arcs:
        f = body[0]
        x = 0 if f < 40 else (1 if f < 80 else 2)
        txt = f"{x}.{f - 40 * x}" + ("." + ".".join(map(str, body[1:])) if n > 1 else "")
    else:
        w: list = []
        txt = oid_str(read_oid(buf, vs, ve, lim.oid_arcs, w))
        if w:
            weirds.extend(w)
            return txt  # not cached: the weird must be reported every time
    if len(cache) >= _OID_CACHE_MAX:
        cache.clear()
    cache[body] = txt
    return txt


def _decode_varbinds(buf: bytes, vs: int, ve: int, pdu: Pdu, lim: Limits, weirds: list) -> None:
    """VarBindList; a malformed varbind fails alone (type "error") and decoding goes on when the
    list's framing still holds."""
    off = vs
    out = pdu.varbinds
    maxlen = lim.length
    while off < ve:
        if len(out) >= lim.elements:
            weirds.append(("snmp_too_many_varbinds", f"more than {lim.elements} varbinds"))
            pdu.truncated = True
            return
        try:
            t, bs, be = tlv(buf, off, ve, maxlen)
        except BerError as e:
            weirds.append((e.name, "varbind list: " + str(e)))
            pdu.truncated = True
            return
        off = be
        if t != SEQUENCE:
            weirds.append(("snmp_bad_varbind", f"varbind with tag 0x{t:02x}"))
            out.append(Varbind("", "error", f"tag 0x{t:02x}: 0x{buf[bs:be][:64].hex()}"))
            continue
        oid = ""
        try:
            os_, oe = expect(buf, bs, be, OID, "varbind name", maxlen)
            oid = _oid_text(buf, os_, oe, lim, weirds)
            t2, xs, xe = tlv(buf, oe, be, maxlen)
            if xe != be:
                weirds.append(("snmp_bad_varbind", f"{oid}: {be - xe} trailing octets"))
            typ, val, vint = _decode_value(buf, t2, xs, xe, lim, weirds)
            out.append(Varbind(oid, typ, val, vint))
        except BerError as e:
            weirds.append((e.name, f"varbind {len(out)} {oid}: {e}"))
            out.append(Varbind(oid, "error", f"{e.name}: {e}"))


def _decode_pdu(buf: bytes, off: int, end: int, lim: Limits, weirds: list) -> Pdu:
    """A PDU at ``off``; raises BerError only when its tag is unusable (a damaged header gives a
    partial PDU marked ``truncated``, with a weird)."""
    tag, vs, ve = tlv(buf, off, end, lim.length)
    if tag not in PDU_TYPES:
        raise BerError(f"unknown PDU tag 0x{tag:02x}", "snmp_unknown_pdu_type")
    pdu = Pdu(tag)
    try:
        nxt = _decode_pdu_header(buf, tag, vs, ve, pdu, lim, weirds)
    except BerError as e:
        # the PDU type is known; keep what was read of its header (a partial row is better
        # than none for pairing and the audit) and report the damage
        weirds.append((e.name, f"{pdu.type} header: {e}"))
        pdu.truncated = True
        return pdu
    try:
        ls, le = expect(buf, nxt, ve, SEQUENCE, "variable-bindings", lim.length)
    except BerError as e:
        weirds.append((e.name, str(e)))
        pdu.truncated = True
        return pdu
    _decode_varbinds(buf, ls, le, pdu, lim, weirds)
    if le != ve:
        weirds.append(("snmp_trailing_bytes", f"{ve - le} octets after the varbind list"))
    return pdu


def _decode_pdu_header(buf: bytes, tag: int, vs: int, ve: int, pdu: Pdu, lim: Limits, weirds: list) -> int:
    """The fields before the varbind list; returns the offset of the list."""
    if tag == 0xA4:  # v1 Trap-PDU
        s, e = expect(buf, vs, ve, OID, "enterprise", lim.length)
        # through the OID text cache; a long subidentifier is not reported for the enterprise
        pdu.enterprise = _oid_text(buf, s, e, lim, [])
        t, s, e2 = tlv(buf, e, ve, lim.length)
        if t == 0x40 and e2 - s == 4:
            pdu.agent_addr = _ipv4(buf, s)
        else:
            weirds.append(("snmp_bad_ipaddress", f"agent-addr tag 0x{t:02x} len {e2 - s}"))
            pdu.agent_addr = "0x" + buf[s:e2].hex()
        s, e = expect(buf, e2, ve, INTEGER, "generic-trap", lim.length)
        pdu.generic_trap = read_int(buf, s, e)
        s, e = expect(buf, e, ve, INTEGER, "specific-trap", lim.length)
        pdu.specific_trap = read_int(buf, s, e)
        t, s, e = tlv(buf, e, ve, lim.length)
        if t not in (0x43, INTEGER):
            weirds.append(("snmp_unexpected_tag", f"time-stamp tag 0x{t:02x}"))
        pdu.time_stamp = read_uint(buf, s, e, 32) if t == 0x43 else read_int(buf, s, e)
        nxt = e
    else:
        s, e = expect(buf, vs, ve, INTEGER, "request-id", lim.length)
        pdu.request_id = read_int(buf, s, e)
        s, e = expect(buf, e, ve, INTEGER, "error-status", lim.length)
        a = read_int(buf, s, e)
        if tag == 0xA5:
            pdu.non_repeaters = a
        else:
            pdu.error_status = a
        s, e = expect(buf, e, ve, INTEGER, "error-index", lim.length)
        b = read_int(buf, s, e)
        if tag == 0xA5:
            pdu.non_repeaters, pdu.max_repetitions = a, b
        else:
            pdu.error_status, pdu.error_index = a, b
        nxt = e
    return nxt


def decode_scoped_pdu(buf: bytes, off: int, end: int, msg: Message, lim: Limits = DEFAULT_LIMITS,
                      *, padded: bool = False) -> None:
    """ScopedPDU ::= SEQUENCE{contextEngineID, contextName, data}; fills ``msg``.

    ``padded``: the bytes come from a block-cipher plaintext; octets after the SEQUENCE are padding.
    """
    s, e = expect(buf, off, end, SEQUENCE, "ScopedPDU", lim.length)
    if e != end and not padded:
        msg.weirds.append(("snmp_trailing_bytes", f"{end - e} octets after the ScopedPDU"))
    a, b = expect(buf, s, e, OCTET_STRING, "contextEngineID", lim.length)
    msg.context_engine_id = buf[a:b]
    a, b2 = expect(buf, b, e, OCTET_STRING, "contextName", lim.length)
    msg.context_name = buf[a:b2]
    msg.pdu = _decode_pdu(buf, b2, e, lim, msg.weirds)


def valid_scoped_pdu(plain: bytes) -> bool:
    """Does ``plain`` start with a well-formed ScopedPDU header (the decryption check)?

    A wrong key gives random bytes: requiring SEQUENCE{OCTET STRING, OCTET STRING, [A0..A8]}
    with consistent lengths rejects them with a probability far above 1 - 2^-40.
    """
    try:
        n = len(plain)
        s, e = expect(plain, 0, n, SEQUENCE, "ScopedPDU")
        a, b = expect(plain, s, e, OCTET_STRING, "contextEngineID")
        a, b = expect(plain, b, e, OCTET_STRING, "contextName")
        t, ps, pe = tlv(plain, b, e)
        if t not in PDU_TYPES or pe != e:
            return False
        # the request-id INTEGER (or the v1-trap enterprise OID) must follow
        t2, _, _ = tlv(plain, ps, pe)
        return t2 in (INTEGER, OID)
    except BerError:
        return False
    except Exception:  # pragma: no cover - defensive: the key store calls this with anything
        return False


def _nonneg(buf: bytes, a: int, b: int, msg: Message, what: str) -> int:
    """An INTEGER (0..2147483647) field. Some encoders drop the 0x00 before a high bit
    (``02 01 dd`` for 221); Zeek, Wireshark and agents read it unsigned, and so do we (weird)."""
    v = read_int(buf, a, b)
    if v < 0:
        v = int.from_bytes(buf[a:b], "big")
        msg.weirds.append(("snmp_negative_integer", f"{what} encoded as negative, read as {v}"))
    return v


def _decode_usm(buf: bytes, vs: int, ve: int, msg: Message, lim: Limits) -> None:
    """UsmSecurityParameters inside the msgSecurityParameters OCTET STRING (offsets stay absolute)."""
    s, e = expect(buf, vs, ve, SEQUENCE, "UsmSecurityParameters", lim.length)
    a, b = expect(buf, s, e, OCTET_STRING, "msgAuthoritativeEngineID", lim.length)
    msg.engine_id = buf[a:b]
    a, b = expect(buf, b, e, INTEGER, "msgAuthoritativeEngineBoots", lim.length)
    msg.engine_boots = _nonneg(buf, a, b, msg, "msgAuthoritativeEngineBoots")
    a, b = expect(buf, b, e, INTEGER, "msgAuthoritativeEngineTime", lim.length)
    msg.engine_time = _nonneg(buf, a, b, msg, "msgAuthoritativeEngineTime")
    a, b = expect(buf, b, e, OCTET_STRING, "msgUserName", lim.length)
    msg.user = buf[a:b]
    a, b = expect(buf, b, e, OCTET_STRING, "msgAuthenticationParameters", lim.length)
    msg.auth_params = buf[a:b]
    msg.auth_offset, msg.auth_len = a, b - a
    a, b = expect(buf, b, e, OCTET_STRING, "msgPrivacyParameters", lim.length)
    msg.priv_params = buf[a:b]


def decode_message(buf: bytes, lim: Limits = DEFAULT_LIMITS) -> Message:
    """Decode one whole SNMP message. Never raises."""
    msg = Message()
    msg.size = len(buf)
    try:
        _decode_message(buf, msg, lim)
    except BerError as e:
        msg.error = (e.name, str(e))
    except (ValueError, IndexError, OverflowError) as e:  # pragma: no cover - defensive
        msg.error = ("snmp_bad_ber", f"{type(e).__name__}: {e}")
    return msg


def _decode_message(buf: bytes, msg: Message, lim: Limits) -> None:
    n = len(buf)
    s, e = expect(buf, 0, n, SEQUENCE, "Message", lim.length)
    if e != n:
        msg.weirds.append(("snmp_trailing_bytes", f"{n - e} octets after the message"))
    a, b = expect(buf, s, e, INTEGER, "version", lim.length)
    v = read_int(buf, a, b)
    msg.version_num = v
    if v not in VERSIONS:
        raise BerError(f"version {v}", "snmp_unknown_version")
    msg.version = VERSIONS[v]
    if v in (0, 1):
        a, c = expect(buf, b, e, OCTET_STRING, "community", lim.length)
        msg.community = buf[a:c]
        msg.pdu = _decode_pdu(buf, c, e, lim, msg.weirds)
        if msg.pdu.tag == 0xA4 and v != 0:
            msg.weirds.append(("snmp_v1_trap_in_v2c", "Trap-PDU in a v2c message"))
        return
    # v3: HeaderData
    hs, he = expect(buf, b, e, SEQUENCE, "msgGlobalData", lim.length)
    a, c = expect(buf, hs, he, INTEGER, "msgID", lim.length)
    msg.msg_id = _nonneg(buf, a, c, msg, "msgID")
    a, c = expect(buf, c, he, INTEGER, "msgMaxSize", lim.length)
    msg.max_size = _nonneg(buf, a, c, msg, "msgMaxSize")
    a, c = expect(buf, c, he, OCTET_STRING, "msgFlags", lim.length)
    if c - a != 1:
        msg.weirds.append(("snmp_bad_msg_flags", f"msgFlags of {c - a} octets"))
    msg.flags = buf[a] if c > a else 0
    a, c = expect(buf, c, he, INTEGER, "msgSecurityModel", lim.length)
    msg.security_model = read_int(buf, a, c)
    a, c = expect(buf, he, e, OCTET_STRING, "msgSecurityParameters", lim.length)
    if msg.security_model == 3:
        try:
            _decode_usm(buf, a, c, msg, lim)
        except BerError as err:
            # without the USM parameters we still know the header; the data stays undecoded
            msg.weirds.append((err.name, "USM parameters: " + str(err)))
            msg.auth_offset = msg.auth_len = None
    else:
        msg.weirds.append(("snmp_unknown_security_model", str(msg.security_model)))
    t, ds, de = tlv(buf, c, e, lim.length)
    if t == OCTET_STRING:  # encryptedPDU
        msg.encrypted = buf[ds:de]
        if not msg.priv_flag:
            msg.weirds.append(("snmp_unexpected_encrypted", "encryptedPDU without the priv flag"))
        return
    if t != SEQUENCE:
        raise BerError(f"msgData with tag 0x{t:02x}", "snmp_unexpected_tag")
    if msg.priv_flag:
        msg.weirds.append(("snmp_plaintext_with_priv_flag", "plaintext ScopedPDU with the priv flag set"))
    decode_scoped_pdu(buf, c, de, msg, lim)


# ---------------------------------------------------------------------------------------------
# engine ids, reports, probe

_ENGINE_FORMATS = {1: "ipv4", 2: "ipv6", 3: "mac", 4: "text", 5: "octets"}


def engine_id_info(eid: bytes | None) -> tuple[str | None, int | None, str | None]:
    """RFC 3411 SnmpEngineID -> (format, enterprise number, value text).

    Formats: ipv4, ipv6, mac, text, octets, reserved-N, enterprise-N (enterprise-specific formats
    128..255), netsnmp-random (net-snmp 8072 format 128: random + boot time), rfc1910 (top bit
    clear: enterprise + 8 octets), invalid (shorter than 5 or longer than 32 octets), empty.
    """
    if eid is None:
        return None, None, None
    if not eid:
        return "empty", None, None
    ent = int.from_bytes(eid[:4], "big") & 0x7FFFFFFF if len(eid) >= 4 else None
    if len(eid) < 5 or len(eid) > 32:
        return "invalid", ent, "0x" + eid.hex()
    if not eid[0] & 0x80:
        return "rfc1910", ent, "0x" + eid[4:].hex()
    fmt = eid[4]
    val = eid[5:]
    name = _ENGINE_FORMATS.get(fmt)
    try:
        if fmt == 1 and len(val) == 4:
            return name, ent, str(ipaddress.IPv4Address(val))
        if fmt == 2 and len(val) == 16:
            return name, ent, str(ipaddress.IPv6Address(val))
        if fmt == 3 and len(val) == 6:
            return name, ent, ":".join("%02x" % x for x in val)
        if fmt == 4:
            return name, ent, octets_value(val)
    except ValueError:  # pragma: no cover
        pass
    if name is not None:
        # ipv4/ipv6/mac with a value of the wrong length
        return (name if fmt == 5 else name + "-invalid"), ent, "0x" + val.hex()
    if fmt >= 128:
        if ent == 8072 and fmt == 128:
            return "netsnmp-random", ent, "0x" + val.hex()
        return f"enterprise-{fmt}", ent, "0x" + val.hex()
    return f"reserved-{fmt}", ent, "0x" + val.hex()


def report_reason(pdu: Pdu | None) -> str | None:
    """The meaning of a Report: the name of the counter in its first varbind."""
    if pdu is None or pdu.tag != 0xA8 or not pdu.varbinds:
        return None
    oid = pdu.varbinds[0].oid
    base = oid[:-2] if oid.endswith(".0") else oid
    r = _REPORTS.get(base)
    if r is None:
        return "other:" + oid
    return r


def looks_like_snmp(data: bytes) -> bool | None:
    """Probe: SEQUENCE{INTEGER version 0/1/3, OCTET STRING community | SEQUENCE header ...}.

    True/False, or None when more bytes are needed (TCP). Never raises.
    """
    try:
        n = len(data)
        if n < 2:
            return None
        if data[0] != SEQUENCE:
            return False
        try:
            t, s, e = tlv(data, 0, 1 << 40)
        except BerError as err:
            return None if err.name == "snmp_bad_ber_length" and n < 8 else False
        if e - s > (1 << 20) + 64:
            return False
        end = min(e, n)
        try:
            a, b = expect(data, s, end, INTEGER, "version")
        except BerError:
            return None if n < 8 else False
        if b - a != 1 or data[a] not in (0, 1, 3):
            return False
        if b >= end:
            return None
        nxt = data[b]
        if data[a] == 3:
            return True if nxt == SEQUENCE else False
        return True if nxt == OCTET_STRING else False
    except Exception:  # pragma: no cover - a probe never raises
        return False
