"""pcapng block walker.

Why not ``dpkt.pcapng.Reader``: it reads only the first section and the first Interface
Description Block (one link type, one timestamp resolution for the whole file), ignores Simple
Packet Blocks, does not return the original (wire) length, reads block by block with small
``read`` calls and builds option objects per packet. Captures from ``dumpcap`` with several
interfaces, files merged by ``mergecap`` (several sections) and captures written on big-endian
machines need more. This walker handles:

* several sections, each Section Header Block choosing its own byte order, interfaces reset
  per section;
* Interface Description Blocks with their link type, snap length, ``if_tsresol`` (power of 10 or
  of 2) and ``if_tsoffset``;
* Enhanced (EPB), Simple (SPB, which has no timestamp: the previous frame's time is used) and
  the obsolete Packet Block (OPB);
* every other block (name resolution, statistics, decryption secrets, custom) is skipped;
* a malformed block whose length is sane is skipped with a ``pcapng_bad_block`` weird; an
  impossible block length stops the file (``capture_bad_record``), keeping what came before;
* a block cut by the end of the file: everything before it is kept, ``capture_truncated``.

Like the classic reader, the file is read in large chunks on regular files and with partial
reads on pipes, so a live capture's frames are yielded as soon as their block is complete.
"""

from __future__ import annotations

import struct
from math import inf

from dissect.io.stream import CaptureInfo, Source, refill

__all__ = ["walk_pcapng"]

SHB, IDB, PB, SPB, NRB, ISB, EPB = 0x0A0D0D0A, 1, 2, 3, 4, 5, 6
BOM = 0x1A2B3C4D
#: largest block we buffer (a hostile length cannot make us hold more)
MAX_BLOCK = 64 << 20

_U32 = {"<": struct.Struct("<I").unpack_from, ">": struct.Struct(">I").unpack_from}
_HDR = {"<": struct.Struct("<II").unpack_from, ">": struct.Struct(">II").unpack_from}
_EPB = {"<": struct.Struct("<IIIII").unpack_from, ">": struct.Struct(">IIIII").unpack_from}
_OPB = {"<": struct.Struct("<HHIIII").unpack_from, ">": struct.Struct(">HHIIII").unpack_from}
_IDB = {"<": struct.Struct("<HHI").unpack_from, ">": struct.Struct(">HHI").unpack_from}
_OPT = {"<": struct.Struct("<HH").unpack_from, ">": struct.Struct(">HH").unpack_from}
_SHBV = {"<": struct.Struct("<HHq").unpack_from, ">": struct.Struct(">HHq").unpack_from}
_I64 = {"<": struct.Struct("<q").unpack_from, ">": struct.Struct(">q").unpack_from}


def _interface(buf: bytes, off: int, blen: int, order: str):
    """Parse an IDB body -> (linktype, snaplen, units, tsoffset, name). Raises ValueError."""
    if blen < 20:
        raise ValueError("interface block too short")
    linktype, _res, snaplen = _IDB[order](buf, off + 8)
    units = 1000000
    tsoffset = 0
    name = None
    p = off + 16
    end = off + blen - 4
    ounpack = _OPT[order]
    while p + 4 <= end:
        code, olen = ounpack(buf, p)
        if code == 0:
            break
        v = p + 4
        if v + olen > end:
            raise ValueError("interface option runs past the block")
        if code == 9 and olen >= 1:          # if_tsresol
            r = buf[v]
            units = (2 ** (r & 0x7F)) if r & 0x80 else (10 ** min(r, 30))
        elif code == 14 and olen >= 8:       # if_tsoffset (seconds)
            tsoffset = _I64[order](buf, v)[0]
        elif code == 2 and olen:             # if_name
            name = buf[v:v + min(olen, 256)].decode("utf-8", "replace")
        p = v + ((olen + 3) & ~3)
    return linktype, snaplen, units, tsoffset, name


def walk_pcapng(src: Source, buf: bytes, info: CaptureInfo, weird):
    """Yield ``(ts, linktype, frame, wire_len)`` for each packet block of a pcapng stream."""
    info.format = "pcapng"
    read = src.read
    chunk = src.chunk
    name = src.name
    order = "<"
    hdr = _HDR[order]
    epb = _EPB[order]
    # interfaces of the current section: list of (linktype, units, tsoffset, snaplen)
    ifaces: list[tuple[int, int, int, int]] = []
    off = 0
    n = len(buf)
    packets = nbytes = 0
    tmin = inf
    tmax = -inf
    ts = 0.0
    nblock = 0
    try:
        while True:
            need = 12
            while off + 12 <= n:
                btype, blen = hdr(buf, off)
                if btype == EPB and 32 <= blen <= MAX_BLOCK and not blen & 3:
                    # fast path: a well-formed enhanced packet block
                    end = off + blen
                    if end > n:
                        need = blen
                        break
                    ifid, hi, lo, caplen, orig = epb(buf, off + 8)
                    if caplen <= blen - 32 and ifid < len(ifaces):
                        nblock += 1
                        lt, units, tsoff, _snap = ifaces[ifid]
                        sec, frac = divmod((hi << 32) | lo, units)
                        ts = sec + frac / units
                        if tsoff:
                            ts += tsoff
                        if ts < tmin:
                            tmin = ts
                        if ts > tmax:
                            tmax = ts
                        packets += 1
                        nbytes += orig
                        yield (ts, lt, buf[off + 28:off + 28 + caplen], orig)
                        off = end
                        continue
                if btype == SHB:
                    bom = buf[off + 8:off + 12]
                    if bom == b"\x4d\x3c\x2b\x1a":
                        order = "<"
                    elif bom == b"\x1a\x2b\x3c\x4d":
                        order = ">"
                    else:
                        info.error = f"block {nblock + 1}: section header with a bad byte-order magic; reading stopped"
                        info.truncated = True
                        weird(ts, "capture_bad_record", f"{name}: {info.error}")
                        return
                    hdr = _HDR[order]
                    epb = _EPB[order]
                    btype, blen = hdr(buf, off)
                if blen < 12 or blen & 3 or blen > MAX_BLOCK:
                    info.error = (f"block {nblock + 1} (type {btype:#x}) has an impossible length {blen}; "
                                  "reading stopped")
                    info.truncated = True
                    weird(ts, "capture_bad_record", f"{name}: {info.error}")
                    return
                if off + blen > n:
                    need = blen
                    break
                nblock += 1
                if btype == EPB:
                    if blen < 32:
                        weird(ts, "pcapng_bad_block", f"{name}: block {nblock}: enhanced packet block too short")
                    else:
                        ifid, hi, lo, caplen, orig = epb(buf, off + 8)
                        if caplen > blen - 32 or ifid >= len(ifaces):
                            weird(ts, "pcapng_bad_block",
                                  f"{name}: block {nblock}: " + (f"captured length {caplen} exceeds the block"
                                                                 if caplen > blen - 32 else
                                                                 f"unknown interface {ifid}"))
                        else:
                            lt, units, tsoff, _snap = ifaces[ifid]
                            sec, frac = divmod((hi << 32) | lo, units)
                            ts = sec + frac / units
                            if tsoff:
                                ts += tsoff
                            if ts < tmin:
                                tmin = ts
                            if ts > tmax:
                                tmax = ts
                            packets += 1
                            nbytes += orig
                            yield (ts, lt, buf[off + 28:off + 28 + caplen], orig)
                elif btype == SPB:
                    if not ifaces or blen < 16:
                        weird(ts, "pcapng_bad_block",
                              f"{name}: block {nblock}: simple packet block " +
                              ("without an interface" if not ifaces else "too short"))
                    else:
                        lt, _units, _tsoff, snap = ifaces[0]
                        orig = _U32[order](buf, off + 8)[0]
                        caplen = min(orig, blen - 16)
                        if snap:
                            caplen = min(caplen, snap)
                        packets += 1
                        nbytes += orig
                        if ts < tmin:
                            tmin = ts
                        if ts > tmax:
                            tmax = ts
                        yield (ts, lt, buf[off + 12:off + 12 + caplen], orig)
                elif btype == PB:
                    if blen < 32:
                        weird(ts, "pcapng_bad_block", f"{name}: block {nblock}: packet block too short")
                    else:
                        ifid, _drops, hi, lo, caplen, orig = _OPB[order](buf, off + 8)
                        if caplen > blen - 32 or ifid >= len(ifaces):
                            weird(ts, "pcapng_bad_block", f"{name}: block {nblock}: bad packet block")
                        else:
                            lt, units, tsoff, _snap = ifaces[ifid]
                            sec, frac = divmod((hi << 32) | lo, units)
                            ts = sec + frac / units
                            if tsoff:
                                ts += tsoff
                            if ts < tmin:
                                tmin = ts
                            if ts > tmax:
                                tmax = ts
                            packets += 1
                            nbytes += orig
                            yield (ts, lt, buf[off + 28:off + 28 + caplen], orig)
                elif btype == IDB:
                    try:
                        lt, snap, units, tsoff, ifname = _interface(buf, off, blen, order)
                    except ValueError as e:
                        weird(ts, "pcapng_bad_block", f"{name}: block {nblock}: {e}")
                        # keep interface numbering aligned: an unusable interface
                        lt, snap, units, tsoff, ifname = 0xFFFF, 0, 1000000, 0, None
                    ifaces.append((lt, units, tsoff, snap))
                    info.linktypes.add(lt)
                    info.interfaces.append({"section": info.sections - 1, "linktype": lt, "snaplen": snap,
                                            "tsresol": units, "tsoffset": tsoff, "name": ifname})
                    if info.snaplen is None:
                        info.snaplen = snap
                    if units > 1000000:
                        info.nanosecond = True
                elif btype == SHB:
                    if blen < 28:
                        weird(ts, "pcapng_bad_block", f"{name}: block {nblock}: section header too short")
                    else:
                        vmaj, vmin, _slen = _SHBV[order](buf, off + 12)
                        if info.version is None:
                            info.version = f"{vmaj}.{vmin}"
                            info.byte_order = "little" if order == "<" else "big"
                    info.sections += 1
                    ifaces = []
                # every other block type (NRB, ISB, DSB, custom, ...) is skipped
                off += blen
            info._add(packets, nbytes, tmin, tmax)
            packets = nbytes = 0
            tmin = inf
            tmax = -inf
            buf, complete = refill(buf, off, need, read, chunk)
            off = 0
            n = len(buf)
            if not complete:
                if n:
                    info.truncated = True
                    why = f" ({src.error})" if src.error else ""
                    info.error = info.error or f"file ends inside a block ({n} bytes left){why}"
                    weird(ts, "capture_truncated",
                          f"{name}: last block cut short ({n} bytes left) after {info.packets} frames{why}")
                elif src.error:
                    info.truncated = True
                    info.error = src.error
                    weird(ts, "capture_truncated", f"{name}: {src.error} after {info.packets} frames")
                return
    finally:
        info._add(packets, nbytes, tmin, tmax)
