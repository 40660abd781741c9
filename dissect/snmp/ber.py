"""A bounded BER reader for SNMP (X.690 subset used by RFC 1157/3416/3412/3414).

Design: the reader never copies the message. :func:`tlv` reads one tag-length header at an offset
of a ``bytes`` object and returns ``(tag, value_start, value_end)``; the callers walk the fixed
SNMP structure with it and slice only the values they keep. Everything is checked against the
enclosing element's end, so a lying length can never make us read outside the datagram.

Rules (see PROTOCOL_NOTES "SNMP v1/v2c" 2):

* definite lengths only: the indefinite form (``0x80``) is an error in SNMP;
* long-form lengths may be non-minimal (``0x82 0x00 0x05``): accepted, as agents emit them;
* a length larger than ``caps.ber_length`` or than what is left of the enclosing element is an
  error; a high-tag-number form tag is read (a low number written that way is that tag);
* INTEGER is two's complement; the unsigned application types (Counter32, Gauge32, TimeTicks,
  UInteger32, Counter64) may carry a leading 0x00 (5 or 9 octets) and are read as unsigned;
* OID: the first subidentifier is 40*X+Y with X in 0..2 (X=2 allows Y >= 40, e.g. 2.999),
  subidentifiers are base-128 and may exceed 32 or 64 bits: they are kept exactly (Python int).
  The number of arcs is capped by ``caps.oid_arcs``.

Errors raise :class:`BerError` (with a weird name); the message decoder catches them at the level
where they can be contained (one varbind, or the whole message).
"""

from __future__ import annotations

__all__ = ["BerError", "tlv", "frame_header", "walk", "read_int", "read_uint", "read_oid", "oid_str", "expect",
           "SEQUENCE", "INTEGER", "OCTET_STRING", "NULL", "OID"]

INTEGER, OCTET_STRING, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30

#: longest single OID subidentifier we decode (in octets): 32 octets = 224 bits. Longer ones
#: are pathological and become an error.
MAX_SUBID_OCTETS = 32
#: a subidentifier encoded in more octets than this (more than 64 bits, or padded with
#: non-minimal 0x80 octets) is decoded exactly but reported (Zeek's
#: ``asn_oid_subidentifier_too_long`` trace)
LONG_SUBID_OCTETS = 10

_from_bytes = int.from_bytes


class BerError(Exception):
    """Malformed BER. ``name`` is the weird to report, ``args[0]`` a short detail."""

    def __init__(self, detail: str, name: str = "snmp_bad_ber"):
        super().__init__(detail)
        self.name = name


def tlv(buf: bytes, off: int, end: int, max_len: int = 1 << 20) -> tuple[int, int, int]:
    """Read the tag and length at ``buf[off]``; the element must end at or before ``end``.

    Returns ``(tag, value_start, value_end)``.
    """
    if off + 2 > end:
        raise BerError(f"truncated header at {off}", "snmp_bad_ber_length")
    tag = buf[off]
    n = buf[off + 1]
    if n < 0x80 and tag & 0x1F != 0x1F and n <= max_len and off + 2 + n <= end:
        # the common case (low tag number, short-form length, inside its container)
        return tag, off + 2, off + 2 + n
    if tag & 0x1F == 0x1F:
        # High-tag-number form. SNMP never needs it, but a low number written this way
        # (``bf 04`` for [4]) is still that tag (Wireshark agrees); other numbers give a tag
        # value above 0xff that matches nothing we know.
        num = 0
        i = off + 1
        while True:
            if i >= end or i - off > 4:
                raise BerError(f"bad high tag number at {off}")
            b = buf[i]
            num = (num << 7) | (b & 0x7F)
            i += 1
            if not b & 0x80:
                break
        tag = (tag & 0xE0) | num if num < 31 else ((tag & 0xE0) << 24) | num
        off = i - 1
        if off + 2 > end:
            raise BerError(f"truncated header at {off}", "snmp_bad_ber_length")
    n = buf[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise BerError(f"indefinite length at {off - 2}", "snmp_ber_indefinite_length")
        if off + k > end:
            raise BerError(f"truncated long length at {off - 2}", "snmp_bad_ber_length")
        if k > 8:
            # Non-minimal is fine, but more than 8 length octets can only hide leading zeros
            # of something larger than any cap; refuse without building a huge int.
            if any(buf[off:off + k - 8]):
                raise BerError(f"length of {k} octets at {off - 2}", "snmp_bad_ber_length")
        n = _from_bytes(buf[off:off + k], "big")
        off += k
    if n > max_len:
        raise BerError(f"length {n} above cap {max_len}", "snmp_ber_length_cap")
    vend = off + n
    if vend > end:
        raise BerError(f"length {n} at {off} runs past its container ({end - off} left)",
                       "snmp_bad_ber_length")
    return tag, off, vend


def frame_header(buf, max_len: int = 1 << 20) -> tuple[int, int] | None:
    """Header of the message at the start of a stream buffer (SNMP over TCP): ``(header length,
    content length)``, or None when more bytes are needed. Only SEQUENCE starts a message."""
    n = len(buf)
    if n < 2:
        return None
    if buf[0] != SEQUENCE:
        raise BerError(f"stream data starts with 0x{buf[0]:02x}, not a SEQUENCE", "snmp_unexpected_tag")
    k = buf[1]
    if k < 0x80:
        return 2, k
    k &= 0x7F
    if k == 0:
        raise BerError("indefinite length", "snmp_ber_indefinite_length")
    if k > 8:
        raise BerError(f"length of {k} octets", "snmp_bad_ber_length")
    if n < 2 + k:
        return None
    return 2 + k, int.from_bytes(buf[2:2 + k], "big")


def expect(buf: bytes, off: int, end: int, tag: int, what: str, max_len: int = 1 << 20) -> tuple[int, int]:
    """Read an element that must have ``tag``; returns ``(value_start, value_end)``."""
    t, vs, ve = tlv(buf, off, end, max_len)
    if t != tag:
        raise BerError(f"{what}: expected tag 0x{tag:02x}, got 0x{t:02x} at {off}", "snmp_unexpected_tag")
    return vs, ve


def read_int(buf: bytes, vs: int, ve: int) -> int:
    """INTEGER (two's complement)."""
    if ve <= vs:
        raise BerError("empty INTEGER", "snmp_bad_ber_integer")
    if ve - vs > 64:
        raise BerError(f"INTEGER of {ve - vs} octets", "snmp_bad_ber_integer")
    return _from_bytes(buf[vs:ve], "big", signed=True)


def read_uint(buf: bytes, vs: int, ve: int, bits: int = 32) -> int:
    """Unsigned application type (Counter32...): a leading 0x00 is allowed (5 or 9 octets).

    Encoders that forget the 0x00 (a negative-looking value) are read as unsigned, like
    net-snmp and Wireshark do.
    """
    n = ve - vs
    if n <= 0:
        raise BerError("empty unsigned integer", "snmp_bad_ber_integer")
    limit = bits // 8 + 1
    if n > limit:
        # tolerate extra leading zero octets (non-minimal), nothing else
        if any(buf[vs:ve - limit + 1]):
            raise BerError(f"unsigned{bits} of {n} octets", "snmp_bad_ber_integer")
    v = _from_bytes(buf[vs:ve], "big")
    if v >> bits:
        raise BerError(f"unsigned{bits} value out of range", "snmp_bad_ber_integer")
    return v


def read_oid(buf: bytes, vs: int, ve: int, max_arcs: int = 128, weirds: list | None = None) -> tuple[int, ...]:
    """OBJECT IDENTIFIER contents -> tuple of arcs (exact ints).

    Non-fatal findings (a subidentifier longer than 10 octets) are appended to ``weirds`` as
    ``(name, detail)`` when a list is given.
    """
    if ve <= vs:
        raise BerError("empty OID", "snmp_bad_oid")
    if buf[ve - 1] & 0x80:
        raise BerError("OID ends inside a subidentifier", "snmp_bad_oid")
    arcs: list[int] = []
    v = 0
    start = vs
    longest = 0
    for i in range(vs, ve):
        if i - start >= MAX_SUBID_OCTETS:
            raise BerError(f"OID subidentifier longer than {MAX_SUBID_OCTETS} octets",
                           "snmp_oid_subidentifier_too_long")
        b = buf[i]
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            if i - start >= longest:
                longest = i - start + 1
            if not arcs:
                if v < 40:
                    arcs.append(0)
                    arcs.append(v)
                elif v < 80:
                    arcs.append(1)
                    arcs.append(v - 40)
                else:
                    arcs.append(2)
                    arcs.append(v - 80)
            else:
                arcs.append(v)
            if len(arcs) > max_arcs:
                raise BerError(f"OID with more than {max_arcs} arcs", "snmp_oid_too_long")
            v = 0
            start = i + 1
    if longest > LONG_SUBID_OCTETS and weirds is not None:
        weirds.append(("snmp_oid_subidentifier_too_long", f"subidentifier of {longest} octets"))
    return tuple(arcs)


def oid_str(arcs: tuple[int, ...]) -> str:
    return ".".join(map(str, arcs))


def walk(buf: bytes, off: int, end: int, max_depth: int = 32, max_elements: int = 10_000,
         max_len: int = 1 << 20) -> list[tuple[int, int, int, int]]:
    """Every element of the BER tree(s) in ``buf[off:end]``, depth first, without recursion:
    ``[(depth, tag, value_start, value_end)]`` (top level is depth 1). Constructed elements
    (tag bit 0x20) are descended. Caps: ``max_depth`` levels (``snmp_ber_depth_cap``) and
    ``max_elements`` elements (``snmp_ber_element_cap``).

    The SNMP message grammar itself nests at most 6 levels and is walked field by field by
    :mod:`dissect.snmp.message`; this generic walk serves values whose structure is not fixed
    (a constructed value where a simple type belongs, nested Opaque contents).
    """
    out: list[tuple[int, int, int, int]] = []
    ends = [end]
    while True:
        while ends and off >= ends[-1]:
            ends.pop()
        if not ends:
            return out
        t, vs, ve = tlv(buf, off, ends[-1], max_len)
        if len(out) >= max_elements:
            raise BerError(f"more than {max_elements} BER elements", "snmp_ber_element_cap")
        depth = len(ends)
        out.append((depth, t, vs, ve))
        if t < 0x100 and t & 0x20:
            if depth >= max_depth:
                raise BerError(f"BER nesting deeper than {max_depth}", "snmp_ber_depth_cap")
            ends.append(ve)
            off = vs
        else:
            off = ve
