"""Byte builders for hand-made edge-case captures and packets (used by the io/decode/defrag tests).

Real captures come first (the shared corpus, editcap variants of them); these builders only make
the edge cases no real file in the corpus has: big-endian files, several pcapng sections of
different byte order, odd link types, fragments, malformed headers.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def corpus(rel: str) -> Path:
    p = CORPUS / rel
    if not p.exists():
        pytest.skip(f"shared corpus not available ({p} missing)")
    return p


# -- capture files -------------------------------------------------------------------------
def pcap_bytes(frames, linktype=1, order="<", nano=False, snaplen=262144, magic=None) -> bytes:
    """frames: iterable of (ts, data) or (ts, data, wire_len)."""
    if magic is None:
        magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    div = 10 ** 9 if nano else 10 ** 6
    extra = b"\0" * 8 if magic == 0xA1B2CD34 else b""     # modified pcap: ifindex, protocol, pkt_type
    for fr in frames:
        ts, data = fr[0], fr[1]
        wl = fr[2] if len(fr) > 2 else len(data)
        sec = int(ts)
        frac = round((ts - sec) * div)
        out.append(struct.pack(order + "IIII", sec, frac, len(data), wl) + extra)
        out.append(data)
    return b"".join(out)


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def ng_block(order: str, btype: int, body: bytes) -> bytes:
    body = _pad4(body)
    blen = len(body) + 12
    return struct.pack(order + "II", btype, blen) + body + struct.pack(order + "I", blen)


def ng_option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + _pad4(value)


def ng_shb(order="<") -> bytes:
    return ng_block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def ng_idb(order="<", linktype=1, snaplen=0, tsresol=None, tsoffset=None, name=None) -> bytes:
    opts = b""
    if name is not None:
        opts += ng_option(order, 2, name.encode())
    if tsresol is not None:
        opts += ng_option(order, 9, bytes([tsresol]))
    if tsoffset is not None:
        opts += ng_option(order, 14, struct.pack(order + "q", tsoffset))
    if opts:
        opts += ng_option(order, 0, b"")
    return ng_block(order, 1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts)


def ng_epb(order, ifid, ticks, data, wire_len=None) -> bytes:
    wl = len(data) if wire_len is None else wire_len
    return ng_block(order, 6, struct.pack(order + "IIIII", ifid, ticks >> 32, ticks & 0xFFFFFFFF,
                                          len(data), wl) + data)


def ng_opb(order, ifid, ticks, data, wire_len=None) -> bytes:
    wl = len(data) if wire_len is None else wire_len
    return ng_block(order, 2, struct.pack(order + "HHIIII", ifid, 0, ticks >> 32, ticks & 0xFFFFFFFF,
                                          len(data), wl) + data)


def ng_spb(order, data, wire_len=None) -> bytes:
    wl = len(data) if wire_len is None else wire_len
    return ng_block(order, 3, struct.pack(order + "I", wl) + data)


# -- packets ---------------------------------------------------------------------------------
def ip4a(s: str) -> bytes:
    return socket.inet_pton(socket.AF_INET, s)


def ip6a(s: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, s)


def tcp(sport=1234, dport=80, seq=1000, ack=0, flags=0x18, payload=b"", win=65535, options=b"") -> bytes:
    options = _pad4(options)
    offx = ((20 + len(options)) // 4) << 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offx, flags, win, 0, 0) + options + payload


def udp(sport=5353, dport=53, payload=b"", length=None) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length, 0) + payload


def ipv4(payload: bytes, proto=6, src="10.0.0.1", dst="10.0.0.2", ident=1, frag=0, tlen=None, ihl=5,
         options=b"", version=4) -> bytes:
    hdr_len = ihl * 4
    total = hdr_len + len(payload) if tlen is None else tlen
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total, ident, frag, 64, proto, 0,
                      ip4a(src), ip4a(dst))
    return hdr + options + payload


def ipv6(payload: bytes, nxt=6, src="2001:db8::1", dst="2001:db8::2", plen=None) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload) if plen is None else plen, nxt, 64,
                       ip6a(src), ip6a(dst)) + payload


def ext6(nxt: int, body_len8: int = 0) -> bytes:
    """A generic IPv6 extension header (hop-by-hop / routing / destination options)."""
    return bytes([nxt, body_len8]) + b"\x01" * (6 + 8 * body_len8)


def ah6(nxt: int) -> bytes:
    """An authentication header with a 12-byte ICV (payload len field = 4 -> (4+2)*4 = 24 bytes)."""
    return bytes([nxt, 4]) + b"\0\0" + b"\0\0\0\x01" + b"\0\0\0\x01" + b"\xaa" * 12


def frag6(nxt: int, offset: int, more: bool, ident: int) -> bytes:
    return struct.pack("!BBHI", nxt, 0, offset | (1 if more else 0), ident)


def eth(payload: bytes, ethertype=0x0800, vlans=(), src=b"\x02" * 6, dst=b"\x04" * 6) -> bytes:
    out = dst + src
    for tpid, vid in vlans:
        out += struct.pack("!HH", tpid, vid)
    return out + struct.pack("!H", ethertype) + payload


def sll(payload: bytes, proto=0x0800) -> bytes:
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 6 + b"\0\0", proto) + payload


def sll2(payload: bytes, proto=0x0800) -> bytes:
    return struct.pack("!HHIHBB8s", proto, 0, 1, 1, 0, 6, b"\x02" * 6 + b"\0\0") + payload


def test_builders_roundtrip():
    p = ipv4(tcp(payload=b"hello"))
    assert len(p) == 20 + 20 + 5 and p[0] == 0x45
    assert struct.unpack("!H", p[2:4])[0] == 45
    blk = ng_epb("<", 0, 1, b"abc")
    assert len(blk) % 4 == 0 and struct.unpack("<I", blk[-4:])[0] == len(blk)
