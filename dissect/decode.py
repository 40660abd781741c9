"""Frame decoding: link layer -> IPv4/IPv6 (+ defragmentation) -> TCP/UDP/ICMP header.

:class:`PacketDecoder` turns ``(ts, linktype, frame, wire_len)`` from :mod:`dissect.io` into one
:class:`dissect.packet.Packet` per IP packet (or reassembled datagram), or ``None`` for frames that
carry no IP (ARP, STP, ...), unknown link types, malformed headers and fragments still waiting for
their siblings.

Why not dpkt here: ``dpkt.ethernet.Ethernet(frame)`` builds an object per layer (Ethernet, IP,
TCP: about 20 µs per packet with the flow lookup, see issue 8) and on a malformed layer silently
falls back to raw bytes. The hot path below does one ``struct.unpack_from`` per layer on the
frame ``bytes`` and creates exactly one object per packet; every malformed header is a named weird
(``bad_link_header``, ``bad_ip_header``, ``bad_tcp_header``, ``bad_udp_header``) and ``None``,
never an exception. dpkt is used only for its link-type constants (``dpkt.pcap.DLT_*``).

Link types: Ethernet (1) with stacked 802.1Q / 802.1ad / QinQ tags, MPLS label stacks, PPPoE
sessions and 802.3 LLC/SNAP; Linux cooked SLL (113) and SLL2 (276); raw IP (12, 14, 101, 228 IPv4, 229 IPv6); BSD null
(0, host byte order) and loopback (108, network order) with AF_INET6 as 10, 24, 28 or 30; PPP (9,
50 PPP-HDLC); Linux NFLOG (239); Apple PKTAP (258, and 149 as macOS writes it). Other link types are counted in ``unknown_linktypes`` with one ``unknown_link_type``
weird per type.

Tunnels: IP-in-IP (IPv4/IPv6 in IPv4/IPv6) and GRE (version 0) carrying IPv4, IPv6 or Ethernet are
opened, up to three levels deep, and the inner packet is returned (as Zeek and tshark do); the outer
protocol is still counted in ``ip_protos``.

Snaplen-truncated packets are decoded as far as captured: ``Packet.truncated`` is True,
``payload`` is the captured part and ``payload_len`` what the headers claim, so the flow table
counts the right bytes and declares the missing ones as a gap. Checksums are not verified (tshark
does not by default either).

Counters for ``dissect summary``: ``frames``, ``linktypes`` (link type -> frames),
``unknown_linktypes``, ``ip_protos`` (IP protocol -> packets, reassembled datagrams counted once),
``non_ip`` (ethertype, or a string such as ``"null-af:7"`` / ``"ppp:0xc021"``, -> frames),
``truncated`` (frames cut by the snap length; ``undecodable``: of those, cut before the transport
header so no Packet was made), ``fragments`` (IP fragments seen),
``reassembled`` (datagrams completed), ``malformed`` (frames dropped for a bad header).
"""

from __future__ import annotations

import ipaddress
import struct
from collections import Counter

from dpkt import pcap as _dlt

from dissect.defrag import Defragmenter
from dissect.packet import Packet
from dissect.weird import Weird

__all__ = ["PacketDecoder", "ETHERNET", "SLL", "SLL2", "RAW_LINKTYPES", "NULL", "LOOP"]

ETHERNET = _dlt.DLT_EN10MB            # 1
NULL = _dlt.DLT_NULL                  # 0
LOOP = _dlt.DLT_LOOP                  # 108 (pcap linktype; OpenBSD's DLT value 12 is raw IP in files)
SLL = _dlt.DLT_LINUX_SLL              # 113
SLL2 = 276
PPP = _dlt.DLT_PPP                    # 9
PPP_HDLC = 50
RAW_LINKTYPES = frozenset((12, 14, 101, 228, 229))
NFLOG = 239                           # Linux netfilter log (tcpdump -i nflog:N)
PKTAP = 258                           # Apple PKTAP (macOS tcpdump -i pktap / -k); 149 in some files

ETH_IP4, ETH_IP6 = 0x0800, 0x86DD
VLAN_TAGS = frozenset((0x8100, 0x88A8, 0x9100, 0x9200, 0x9300))
MPLS = frozenset((0x8847, 0x8848))
PPPOE_SESSION = 0x8864
AF_INET6 = frozenset((10, 24, 28, 30))
ETHERTYPE_NAMES = {0x0806: "ARP", 0x8035: "RARP", 0x88CC: "LLDP", 0x888E: "EAPOL", 0x8863: "PPPoE discovery",
                   0x88F7: "PTP", 0x8809: "slow protocols (LACP)", 0x88E5: "MACsec", 0x8906: "FCoE",
                   0x9000: "loopback", 0x22F0: "AVTP", 0x893A: "IEEE 1905", 0x22EA: "SRP", 0x88B8: "GOOSE",
                   0x8892: "PROFINET", 0x88A4: "EtherCAT", 0x8137: "IPX", 0x809B: "AppleTalk",
                   0x6003: "DECnet", 0x8870: "jumbo LLC", 0x88E1: "HomePlug AV", 0x8915: "RoCE"}

# IPv6 extension headers we skip (hop-by-hop, routing, destination options, mobility, HIP, shim6,
# experimental); 44 (fragment) and 51 (AH) are handled separately.
IP6_EXT = frozenset((0, 43, 60, 135, 139, 140, 253, 254))

_IP4 = struct.Struct("!BBHHHBBH4s4s").unpack_from
# Ethernet fast path: ethertype; IPv4 version/ihl, total length, frag, proto, src, dst at 14;
# TCP ports, seq, ack, offset, flags, window at 34
_ETH_IP4_TCP = struct.Struct("!12xHBxH2xHxB2x4s4sHHIIBBH").unpack_from
_IP6 = struct.Struct("!IHBB16s16s").unpack_from
_TCP = struct.Struct("!HHIIBBH").unpack_from
_UDP = struct.Struct("!HHH").unpack_from
_H = struct.Struct("!H").unpack_from
_HI = struct.Struct("!HI").unpack_from
_I_LE = struct.Struct("<I").unpack_from
_I_BE = struct.Struct("!I").unpack_from
_III_LE = struct.Struct("<III").unpack_from

#: IP-in-IP / GRE tunnels opened inside one frame (deeper ones are handed on as the outer packet)
MAX_TUNNEL_DEPTH = 3

#: at most this many weirds of one name per decoder (the rest are counted in weirds_suppressed)
WEIRD_LIMIT = 1000


def _addr(b: bytes) -> str:
    try:
        return str(ipaddress.ip_address(b))
    except ValueError:
        return b.hex()


class PacketDecoder:
    """Decode frames into :class:`Packet` objects; reassembles IP fragments on the way."""

    def __init__(self, caps=None, on_weird=None):
        if caps is None:
            from dissect.options import Caps
            caps = Caps()
        self.caps = caps
        self.on_weird = on_weird
        self._eth = 0                          # Ethernet frames (counted apart: the hot path)
        self._lt: dict[int, int] = {}          # other link types -> frames
        self._protos = [0] * 256               # IP protocol -> packets
        self.unknown_linktypes: Counter = Counter()
        self.non_ip: Counter = Counter()
        self.truncated = 0                     # frames cut by the snap length
        self.undecodable = 0                   # ... so short that no Packet could be made
        self.malformed = 0
        self.weirds_suppressed: Counter = Counter()
        self._depth = 0                        # tunnel nesting while decoding one frame
        self._wcount: dict[str, int] = {}
        self.defrag = Defragmenter(caps, self._frag_weird)
        self._link = {
            ETHERNET: self._ether,
            SLL: self._sll,
            SLL2: self._sll2,
            NULL: self._null,
            LOOP: self._loop,
            PPP: self._ppp,
            PPP_HDLC: self._ppp,
            NFLOG: self._nflog,
            PKTAP: self._pktap,
            149: self._user2,
        }
        for lt in RAW_LINKTYPES:
            self._link[lt] = self._raw

    # -- counters ----------------------------------------------------------------------
    @property
    def frames(self) -> int:
        return self._eth + sum(self._lt.values())

    @property
    def linktypes(self) -> Counter:
        c = Counter(self._lt)
        if self._eth:
            c[1] += self._eth
        return c

    @property
    def ip_protos(self) -> Counter:
        return Counter({p: n for p, n in enumerate(self._protos) if n})

    @property
    def fragments(self) -> int:
        return self.defrag.fragments

    @property
    def reassembled(self) -> int:
        return self.defrag.reassembled

    @property
    def non_ip_frames(self) -> int:
        """Frames that carried no IP (sum of ``non_ip``)."""
        return sum(self.non_ip.values())

    def non_ip_labels(self) -> dict[str, int]:
        """``non_ip`` with printable keys, e.g. ``{"ARP (0x0806)": 6, "802.3-llc": 4}``."""
        out: dict[str, int] = {}
        for k, v in self.non_ip.most_common():
            label = f"{ETHERTYPE_NAMES.get(k, 'ethertype')} ({k:#06x})" if isinstance(k, int) else str(k)
            out[label] = out.get(label, 0) + v
        return out

    def stats(self) -> dict:
        return {"frames": self.frames, "linktypes": dict(self.linktypes),
                "unknown_linktypes": dict(self.unknown_linktypes), "ip_protos": dict(self.ip_protos),
                "non_ip": self.non_ip_labels(), "non_ip_frames": self.non_ip_frames, "truncated": self.truncated, "undecodable": self.undecodable, "malformed": self.malformed,
                "fragments": self.fragments, "reassembled": self.reassembled,
                "fragments_pending": self.defrag.pending}

    # -- weirds ------------------------------------------------------------------------
    def _weird(self, ts, name, addl, source="ip", src=None, dst=None):
        c = self._wcount.get(name, 0) + 1
        self._wcount[name] = c
        if c > WEIRD_LIMIT:
            self.weirds_suppressed[name] += 1
            return
        if self.on_weird is not None:
            self.on_weird(Weird(ts=ts, uid=None, name=name, source=source, addl=addl[:200],
                                orig_h=_addr(src) if src else None, resp_h=_addr(dst) if dst else None))

    def _frag_weird(self, ts, name, addl, key):
        self._weird(ts, name, addl, "ip", key[1], key[2])

    def _bad(self, ts, name, addl, source="ip", src=None, dst=None):
        self.malformed += 1
        self._weird(ts, name, addl, source, src, dst)
        return None

    def _cut(self, ts, what):
        """A snap length cut the packet before ``what`` could be decoded (counted in decode())."""
        self.undecodable += 1
        return None

    def expire(self, now: float) -> None:
        """Time out pending IP fragments (``ip_fragment_timeout`` weirds)."""
        self.defrag.expire(now)

    def flush(self, now: float) -> None:
        """End of input: report every incomplete datagram."""
        self.defrag.flush(now)

    # -- entry point -------------------------------------------------------------------
    def decode(self, ts: float, linktype: int, data: bytes, wire_len: int):
        """One frame -> a Packet, or None (not IP, malformed, or a fragment still pending)."""
        n = len(data)
        if n < wire_len:
            self.truncated += 1
            if self.truncated == 1:
                self._weird(ts, "truncated_packet", f"first frame cut by the snap length: {n} of "
                            f"{wire_len} bytes captured (later ones are only counted)", "capture")
        if linktype == 1:
            self._eth += 1
            # Ethernet fast path, inlined; first the commonest shape of all: IPv4 without options,
            # not a fragment, carrying TCP (or UDP), entirely captured. One unpack reads the
            # ethertype, the IPv4 header and the 16 bytes after it (the TCP header's fields)
            if n >= 54:
                (et, vhl, tlen, frag, proto, src, dst,
                 sport, dport, seq, ack, offx, flags, win) = _ETH_IP4_TCP(data)
                if et == ETH_IP4:
                    if vhl == 0x45 and not frag & 0x3FFF and 28 <= tlen <= n - 14:
                        if proto == 6:
                            doff = (offx >> 4) << 2
                            if 20 <= doff <= tlen - 20:
                                self._protos[6] += 1
                                return Packet(ts, 4, src, dst, 6, sport, dport, flags, seq, ack, win,
                                              data[34 + doff:14 + tlen], tlen - 20 - doff, tlen, wire_len,
                                              False)
                        elif proto == 17:
                            ulen = seq >> 16        # the UDP length field
                            if ulen == tlen - 20:
                                self._protos[17] += 1
                                return Packet(ts, 4, src, dst, 17, sport, dport, 0, 0, 0, 0,
                                              data[42:14 + tlen], ulen - 8, tlen, wire_len, False)
                    return self._ip4(ts, data, 14, wire_len)
                if et == ETH_IP6 and n >= 74:
                    # IPv6 without extension headers, carrying TCP, entirely captured
                    vtcfl, plen, nxt, _hlim, src, dst = _IP6(data, 14)
                    if nxt == 6 and vtcfl >> 28 == 6 and 20 <= plen <= n - 54:
                        sport, dport, seq, ack, offx, flags, win = _TCP(data, 54)
                        doff = (offx >> 4) << 2
                        if 20 <= doff <= plen:
                            self._protos[6] += 1
                            return Packet(ts, 6, src, dst, 6, sport, dport, flags, seq, ack, win,
                                          data[54 + doff:54 + plen], plen - doff, plen + 40, wire_len, False)
                    return self._ip6(ts, data, 14, wire_len)
            if n >= 14:
                et = (data[12] << 8) | data[13]
                if et == 0x0800:
                    return self._ip4(ts, data, 14, wire_len)
                if et == 0x86DD:
                    return self._ip6(ts, data, 14, wire_len)
                return self._ether_type(ts, data, 14, et, wire_len)
            if len(data) < wire_len:
                return self._cut(ts, "Ethernet header")
            return self._bad(ts, "bad_link_header", f"Ethernet frame of {len(data)} bytes", "capture")
        lt = self._lt
        lt[linktype] = lt.get(linktype, 0) + 1
        fn = self._link.get(linktype)
        if fn is None:
            self.unknown_linktypes[linktype] += 1
            if self.unknown_linktypes[linktype] == 1:
                self._weird(ts, "unknown_link_type", f"link type {linktype}: frames counted and skipped",
                            "capture")
            return None
        return fn(ts, data, wire_len)

    # -- link layers -------------------------------------------------------------------
    def _ether(self, ts, data, wire_len):     # pragma: no cover - inlined in decode()
        et = (data[12] << 8) | data[13]
        return self._ether_type(ts, data, 14, et, wire_len)

    def _ether_type(self, ts, data, off, et, wire_len):
        """Dispatch on an ethertype at ``off``: VLAN tags, MPLS, PPPoE, IPv4, IPv6, others."""
        n = len(data)
        while et in VLAN_TAGS:
            if off + 4 > n:
                return self._cut(ts, "VLAN tag") if n < wire_len else \
                    self._bad(ts, "bad_link_header", "VLAN tag cut short", "capture")
            et = (data[off + 2] << 8) | data[off + 3]
            off += 4
        if et == ETH_IP4:
            return self._ip4(ts, data, off, wire_len)
        if et == ETH_IP6:
            return self._ip6(ts, data, off, wire_len)
        if et in MPLS:
            while True:
                if off + 4 > n:
                    return self._cut(ts, "MPLS label") if n < wire_len else \
                        self._bad(ts, "bad_link_header", "MPLS label stack cut short", "capture")
                bos = data[off + 2] & 1
                off += 4
                if bos:
                    break
            return self._by_version(ts, data, off, wire_len, f"mpls:{et:#06x}")
        if et == PPPOE_SESSION:
            if off + 8 > n:
                return self._cut(ts, "PPPoE header") if n < wire_len else \
                    self._bad(ts, "bad_link_header", "PPPoE header cut short", "capture")
            proto = (data[off + 6] << 8) | data[off + 7]
            return self._ppp_proto(ts, data, off + 8, proto, wire_len)
        if et <= 1500 and off + 8 <= n and data[off] == 0xAA and data[off + 1] == 0xAA and data[off + 2] == 3:
            # 802.3 + LLC/SNAP with an ethertype (e.g. from some routers and Token Ring bridges)
            inner = (data[off + 6] << 8) | data[off + 7]
            if inner == ETH_IP4 or inner == ETH_IP6:
                return self._ether_type(ts, data, off + 8, inner, wire_len)
        self.non_ip[et if et > 1500 else "802.3-llc"] += 1
        return None

    def _by_version(self, ts, data, off, wire_len, label):
        if off >= len(data):
            if len(data) < wire_len:
                return self._cut(ts, "IP header")
            self.non_ip[label] += 1
            return None
        v = data[off] >> 4
        if v == 4:
            return self._ip4(ts, data, off, wire_len)
        if v == 6:
            return self._ip6(ts, data, off, wire_len)
        self.non_ip[label] += 1
        return None

    def _sll(self, ts, data, wire_len):
        if len(data) < 16:
            return self._cut(ts, "Linux SLL header") if len(data) < wire_len else \
                self._bad(ts, "bad_link_header", f"Linux SLL frame of {len(data)} bytes", "capture")
        et = (data[14] << 8) | data[15]
        if et == ETH_IP4:
            return self._ip4(ts, data, 16, wire_len)
        if et == ETH_IP6:
            return self._ip6(ts, data, 16, wire_len)
        return self._ether_type(ts, data, 16, et, wire_len)

    def _sll2(self, ts, data, wire_len):
        if len(data) < 20:
            return self._cut(ts, "Linux SLL2 header") if len(data) < wire_len else \
                self._bad(ts, "bad_link_header", f"Linux SLL2 frame of {len(data)} bytes", "capture")
        et = (data[0] << 8) | data[1]
        if et == ETH_IP4:
            return self._ip4(ts, data, 20, wire_len)
        if et == ETH_IP6:
            return self._ip6(ts, data, 20, wire_len)
        return self._ether_type(ts, data, 20, et, wire_len)

    def _raw(self, ts, data, wire_len):
        return self._by_version(ts, data, 0, wire_len, "raw-not-ip")

    def _af(self, ts, data, af, wire_len, label):
        if af == 2:
            return self._ip4(ts, data, 4, wire_len)
        if af in AF_INET6:
            return self._ip6(ts, data, 4, wire_len)
        self.non_ip[f"{label}-af:{af}"] += 1
        return None

    def _null(self, ts, data, wire_len):
        if len(data) < 4:
            return self._cut(ts, "loopback header") if len(data) < wire_len else \
                self._bad(ts, "bad_link_header", f"null/loopback frame of {len(data)} bytes", "capture")
        af = _I_LE(data, 0)[0]
        if af > 0xFFFF:                     # written by a big-endian host
            af = _I_BE(data, 0)[0]
        return self._af(ts, data, af, wire_len, "null")

    def _loop(self, ts, data, wire_len):
        if len(data) < 4:
            return self._cut(ts, "loopback header") if len(data) < wire_len else \
                self._bad(ts, "bad_link_header", f"loopback frame of {len(data)} bytes", "capture")
        return self._af(ts, data, _I_BE(data, 0)[0], wire_len, "loop")

    def _ppp(self, ts, data, wire_len):
        n = len(data)
        off = 0
        if n >= 2 and data[0] == 0xFF and data[1] == 0x03:   # HDLC address/control
            off = 2
        if off + 1 > n:
            return self._cut(ts, "PPP header") if n < wire_len else \
                self._bad(ts, "bad_link_header", "PPP frame too short", "capture")
        if data[off] & 1:                                     # compressed 1-byte protocol field
            return self._ppp_proto(ts, data, off + 1, data[off], wire_len)
        if off + 2 > n:
            return self._cut(ts, "PPP header") if n < wire_len else \
                self._bad(ts, "bad_link_header", "PPP frame too short", "capture")
        return self._ppp_proto(ts, data, off + 2, (data[off] << 8) | data[off + 1], wire_len)

    def _nflog(self, ts, data, wire_len):
        """NFLOG: a 4-byte header (address family, version, group) then TLVs in host byte order
        (little-endian in practice: length, type); type 9 (NFULA_PAYLOAD) holds the IP packet."""
        n = len(data)
        if n < 4:
            return self._cut(ts, "NFLOG header") if n < wire_len else \
                self._bad(ts, "bad_link_header", f"NFLOG frame of {n} bytes", "capture")
        off = 4
        while off + 4 <= n:
            tlen, ttype = data[off] | (data[off + 1] << 8), data[off + 2] | (data[off + 3] << 8)
            if tlen < 4:
                return self._bad(ts, "bad_link_header", f"NFLOG TLV length {tlen}", "capture")
            if ttype == 9:
                # the payload ends the frame as far as our decoding goes (the IP length trims it)
                return self._by_version(ts, data[:off + tlen] if off + tlen <= n else data, off + 4,
                                        wire_len, "nflog-not-ip")
            off += (tlen + 3) & ~3
        if n < wire_len:
            return self._cut(ts, "NFLOG payload")
        self.non_ip["nflog-no-payload"] += 1
        return None

    def _user2(self, ts, data, wire_len):
        """Link type 149 (USER2) is PKTAP in files written on macOS; anything else is unknown."""
        if len(data) >= 12:
            hlen, tnext, _dlt = _III_LE(data, 0)
            if tnext == 1 and 12 <= hlen <= 1024:
                return self._pktap(ts, data, wire_len)
        self.unknown_linktypes[149] += 1
        if self.unknown_linktypes[149] == 1:
            self._weird(ts, "unknown_link_type", "link type 149: frames counted and skipped", "capture")
        return None

    def _pktap(self, ts, data, wire_len):
        """Apple PKTAP: a little-endian header (length, type of what follows, inner DLT, interface
        name, ...) then the packet with its own link layer."""
        n = len(data)
        if n < 12:
            return self._cut(ts, "PKTAP header") if n < wire_len else \
                self._bad(ts, "bad_link_header", f"PKTAP frame of {n} bytes", "capture")
        hlen, tnext, dlt = _III_LE(data, 0)
        if hlen < 12 or tnext != 1 or dlt == PKTAP or dlt == 149:
            if hlen > n and n < wire_len:
                return self._cut(ts, "PKTAP header")
            self.non_ip[f"pktap-type:{tnext}"] += 1
            return None
        if hlen > n:
            return self._cut(ts, "PKTAP header") if n < wire_len else \
                self._bad(ts, "bad_link_header", f"PKTAP header length {hlen} > frame", "capture")
        inner = data[hlen:]
        if dlt == ETHERNET:
            if len(inner) < 14:
                return self._cut(ts, "Ethernet header")
            return self._ether_type(ts, inner, 14, (inner[12] << 8) | inner[13], wire_len - hlen)
        fn = self._link.get(dlt)
        if fn is None:
            self.non_ip[f"pktap-dlt:{dlt}"] += 1
            return None
        return fn(ts, inner, wire_len - hlen)

    def _ppp_proto(self, ts, data, off, proto, wire_len):
        if proto == 0x21:
            return self._ip4(ts, data, off, wire_len)
        if proto == 0x57:
            return self._ip6(ts, data, off, wire_len)
        self.non_ip[f"ppp:{proto:#06x}"] += 1
        return None

    # -- IPv4 --------------------------------------------------------------------------
    def _ip4(self, ts, data, off, wire_len):
        n = len(data)
        if n - off < 20:
            if n < wire_len:
                return self._cut(ts, "IPv4 header")
            return self._bad(ts, "bad_ip_header", f"IPv4 header cut short ({n - off} bytes)")
        vhl, _tos, tlen, ident, frag, _ttl, proto, _sum, src, dst = _IP4(data, off)
        ihl = (vhl & 15) << 2
        if vhl >> 4 != 4 or ihl < 20:
            return self._bad(ts, "bad_ip_header", f"IPv4 version {vhl >> 4}, header length {ihl}", "ip",
                             src, dst)
        if tlen < ihl:
            if tlen == 0 and not frag & 0x3FFF:
                # total length 0: a TCP segmentation offload capture; the frame says how long it is
                tlen = wire_len - off
            if tlen < ihl:
                return self._bad(ts, "bad_ip_header", f"IPv4 total length {tlen} < header length {ihl}", "ip",
                                 src, dst)
        end = off + tlen
        trunc = False
        if end > n:
            if n < wire_len:
                trunc = True
            else:
                # not cut by the snap length: the header claims more than the frame holds
                self._weird(ts, "bad_ip_header", f"IPv4 total length {tlen} exceeds the frame "
                            f"({n - off} bytes)", "ip", src, dst)
                trunc = True
            if off + ihl > n:
                return self._cut(ts, "IPv4 options")
        if frag & 0x3FFF:
            if trunc:           # cut by the snap length (counted and reported once in decode())
                return self._cut(ts, "IPv4 fragment")
            r = self.defrag.add(ts, (4, src, dst, proto, ident), (frag & 0x1FFF) << 3, frag & 0x2000,
                                data[off + ihl:end], 65535 - ihl)
            if r is None:
                return None
            payload = r[0]
            plen = len(payload)
            self._protos[proto] += 1
            return self._l4(ts, 4, src, dst, proto, payload, 0, plen, plen, ihl + plen, wire_len, False)
        self._protos[proto] += 1
        start = off + ihl
        if proto == 6:
            # TCP fast path (inlined)
            cend = end if end <= n else n
            if cend - start >= 20:
                sport, dport, seq, ack, offx, flags, win = _TCP(data, start)
                doff = (offx >> 4) << 2
                plen = tlen - ihl - doff
                if doff >= 20 and plen >= 0:
                    return Packet(ts, 4, src, dst, 6, sport, dport, flags, seq, ack, win,
                                  data[start + doff:cend], plen, tlen, wire_len, trunc)
        return self._l4(ts, 4, src, dst, proto, data, start, end if end <= n else n, tlen - ihl, tlen,
                        wire_len, trunc)

    # -- IPv6 --------------------------------------------------------------------------
    def _ip6(self, ts, data, off, wire_len):
        n = len(data)
        if n - off < 40:
            if n < wire_len:
                return self._cut(ts, "IPv6 header")
            return self._bad(ts, "bad_ip_header", f"IPv6 header cut short ({n - off} bytes)")
        vtcfl, plen, nxt, _hlim, src, dst = _IP6(data, off)
        if vtcfl >> 28 != 6:
            return self._bad(ts, "bad_ip_header", f"IPv6 version {vtcfl >> 28}", "ip", src, dst)
        if plen == 0 and nxt == 0:
            plen = max(0, (wire_len if wire_len > n else n) - off - 40)    # jumbogram
        end = off + 40 + plen
        trunc = False
        if end > n:
            trunc = True
            if n >= wire_len:
                self._weird(ts, "bad_ip_header", f"IPv6 payload length {plen} exceeds the frame "
                            f"({n - off - 40} bytes)", "ip", src, dst)
        start = off + 40
        if nxt == 6:
            cend = end if end <= n else n
            if cend - start >= 20:
                sport, dport, seq, ack, offx, flags, win = _TCP(data, start)
                doff = (offx >> 4) << 2
                tplen = plen - doff
                if doff >= 20 and tplen >= 0:
                    self._protos[6] += 1
                    return Packet(ts, 6, src, dst, 6, sport, dport, flags, seq, ack, win,
                                  data[start + doff:cend], tplen, plen + 40, wire_len, trunc)
        return self._ip6_upper(ts, src, dst, nxt, data, start, end, wire_len, trunc, 40 + plen)

    def _ip6_upper(self, ts, src, dst, nxt, data, o, end, wire_len, trunc, ip_len):
        """Skip extension headers from ``o`` (``nxt`` = next header) up to the transport layer."""
        n = len(data)
        cend = end if end <= n else n
        while True:
            if nxt in IP6_EXT or nxt == 51:
                if o + 8 > cend:
                    if trunc:
                        return self._cut(ts, "IPv6 extension header")
                    return self._bad(ts, "bad_ip_header", f"IPv6 extension header {nxt} cut short", "ip",
                                     src, dst)
                hl = ((data[o + 1] + 2) << 2) if nxt == 51 else ((data[o + 1] + 1) << 3)
                nxt = data[o]
                o += hl
                if o > end:
                    return self._bad(ts, "bad_ip_header", "IPv6 extension header runs past the payload",
                                     "ip", src, dst)
                continue
            if nxt == 44:
                if o + 8 > cend:
                    if trunc:
                        return self._cut(ts, "IPv6 fragment header")
                    return self._bad(ts, "bad_ip_header", "IPv6 fragment header cut short", "ip", src, dst)
                fnxt = data[o]
                fo, ident = _HI(data, o + 2)
                foff = fo & 0xFFF8
                more = fo & 1
                o += 8
                if foff == 0 and not more:          # atomic fragment (RFC 6946)
                    nxt = fnxt
                    continue
                if trunc:
                    return self._cut(ts, "IPv6 fragment")
                unfrag = ip_len - (end - o) if ip_len > (end - o) else 40
                r = self.defrag.add(ts, (6, src, dst, ident), foff, more, data[o:end],
                                    65535 - (unfrag - 40), fnxt)
                if r is None:
                    return None
                payload, first_nxt = r
                if first_nxt is None:
                    return self._bad(ts, "bad_ip_header", "reassembled IPv6 datagram without its first fragment",
                                     "ip", src, dst)
                plen = len(payload)
                # the reassembled payload may start with more extension headers
                return self._ip6_upper(ts, src, dst, first_nxt, payload, 0, plen, wire_len, False,
                                       unfrag + plen)
            break
        self._protos[nxt] += 1
        return self._l4(ts, 6, src, dst, nxt, data, o, cend, end - o, ip_len, wire_len, trunc)

    # -- tunnels -----------------------------------------------------------------------
    def _tunnel(self, ts, proto, data, off, wire_len):
        """IP-in-IP (4, 41) and GRE (47) carrying IPv4, IPv6 or Ethernet: decode the inner packet
        (as Zeek and tshark do). Returns False when the tunnel is not one we open (the outer packet
        is then handed on as it is)."""
        n = len(data)
        if proto == 47:
            if off + 4 > n:
                return False
            flags = data[off]
            if data[off + 1] & 7:                   # version 1 (PPTP) and others: not opened
                return False
            etype = (data[off + 2] << 8) | data[off + 3]
            hl = 4 + (4 if flags & 0xC0 else 0) + (4 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
            off += hl
            if etype == ETH_IP4 or etype == ETH_IP6:
                pass
            elif etype == 0x6558 and off + 14 <= n:     # transparent Ethernet bridging
                etype = (data[off + 12] << 8) | data[off + 13]
                off += 14
                if etype != ETH_IP4 and etype != ETH_IP6 and etype not in VLAN_TAGS:
                    return False
            else:
                return False
            while etype in VLAN_TAGS and off + 4 <= n:
                etype = (data[off + 2] << 8) | data[off + 3]
                off += 4
            if etype != ETH_IP4 and etype != ETH_IP6:
                return False
        if off >= n:
            return False
        # The inner packet is decoded with this class's own IPv4/IPv6 code, not through the
        # overridable _ip4/_ip6: a subclass that filters on addresses (dissect.parallel's
        # ShardDecoder) has already decided on the outer ones, and every packet of a tunnel must
        # stay with it.
        v = data[off] >> 4
        self._depth += 1
        try:
            if v == 4:
                return PacketDecoder._ip4(self, ts, data, off, wire_len)
            if v == 6:
                return PacketDecoder._ip6(self, ts, data, off, wire_len)
            return False
        finally:
            self._depth -= 1

    # -- transport ---------------------------------------------------------------------
    def _l4(self, ts, fam, src, dst, proto, data, start, cend, plen, ip_len, wire_len, trunc):
        """Decode the transport header at ``start``; ``cend`` = end of captured bytes, ``plen`` =
        the transport length the IP header claims."""
        have = cend - start
        if proto == 6:
            if plen < 20:
                return self._bad(ts, "bad_tcp_header", f"TCP segment of {plen} bytes", "tcp", src, dst)
            if have < 20:
                return self._cut(ts, "TCP header")
            sport, dport, seq, ack, offx, flags, win = _TCP(data, start)
            doff = (offx >> 4) << 2
            if doff < 20 or doff > plen:
                return self._bad(ts, "bad_tcp_header", f"TCP data offset {doff} (segment {plen} bytes)", "tcp",
                                 src, dst)
            return Packet(ts, fam, src, dst, 6, sport, dport, flags, seq, ack, win,
                          data[start + doff:cend] if start + doff < cend else b"", plen - doff, ip_len,
                          wire_len, trunc)
        if proto == 17:
            if plen < 8:
                return self._bad(ts, "bad_udp_header", f"UDP datagram of {plen} bytes", "udp", src, dst)
            if have < 8:
                return self._cut(ts, "UDP header")
            sport, dport, ulen = _UDP(data, start)
            if 8 <= ulen <= plen:
                if ulen < plen:
                    cend = min(cend, start + ulen)      # IP padding after the UDP datagram
                ulen -= 8
            else:
                if not (ulen == 0 and fam == 6):        # 0 = IPv6 jumbogram
                    self._weird(ts, "bad_udp_header", f"UDP length {ulen} vs IP payload {plen}", "udp",
                                src, dst)
                ulen = plen - 8
            return Packet(ts, fam, src, dst, 17, sport, dport, 0, 0, 0, 0,
                          data[start + 8:cend] if start + 8 < cend else b"", ulen, ip_len, wire_len, trunc)
        if proto == 1 or proto == 58:
            if have < 2:
                if plen < 2:
                    return self._bad(ts, "bad_ip_header", f"ICMP message of {plen} bytes", "ip", src, dst)
                return self._cut(ts, "ICMP header")
            return Packet(ts, fam, src, dst, proto, data[start], data[start + 1], 0, 0, 0, 0,
                          data[start + 8:cend] if start + 8 < cend else b"", max(0, plen - 8), ip_len,
                          wire_len, trunc)
        if (proto == 4 or proto == 41 or proto == 47) and self._depth < MAX_TUNNEL_DEPTH:
            inner = self._tunnel(ts, proto, data[:cend], start, wire_len)
            if inner is not False:
                return inner
        return Packet(ts, fam, src, dst, proto, 0, 0, 0, 0, 0, 0,
                      data[start:cend] if start < cend else b"", plen, ip_len, wire_len, trunc)
