"""The decoded packet handed from the decoder (and IP defragmenter) to the flow table.

One slotted object per packet with plain fields: addresses stay as raw ``bytes`` (4 or 16
octets) on the hot path and are turned into text only when a flow is created.
"""

from __future__ import annotations

__all__ = ["Packet", "TCP", "UDP", "ICMP", "ICMP6", "FIN", "SYN", "RST", "PSH", "ACK", "URG"]

TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


class Packet:
    """A network-layer packet with its transport header decoded.

    ts          capture timestamp, float seconds since the epoch
    family      4 or 6
    src, dst    raw addresses (4 or 16 bytes)
    proto       IP protocol number (6 TCP, 17 UDP, 1/58 ICMP, others)
    sport/dport transport ports (ICMP: type/code; other protocols: 0)
    flags       TCP flags (0 for others)
    seq, ack    TCP sequence and acknowledgement numbers (32-bit)
    win         TCP window
    payload     transport payload as captured (bytes; may be shorter than ``payload_len``)
    payload_len transport payload length the headers claim (for byte counts and gaps)
    ip_len      IP total length from the header (IPv6: 40 + payload length)
    frame_len   original length on the wire (pcap orig_len)
    truncated   True when the capture cut the packet (snaplen) before its claimed end
    """

    __slots__ = ("ts", "family", "src", "dst", "proto", "sport", "dport", "flags", "seq", "ack",
                 "win", "payload", "payload_len", "ip_len", "frame_len", "truncated")

    def __init__(self, ts, family, src, dst, proto, sport, dport, flags, seq, ack, win, payload,
                 payload_len, ip_len, frame_len, truncated=False):
        self.ts = ts
        self.family = family
        self.src = src
        self.dst = dst
        self.proto = proto
        self.sport = sport
        self.dport = dport
        self.flags = flags
        self.seq = seq
        self.ack = ack
        self.win = win
        self.payload = payload
        self.payload_len = payload_len
        self.ip_len = ip_len
        self.frame_len = frame_len
        self.truncated = truncated

    def __repr__(self):  # pragma: no cover - debugging aid
        import ipaddress
        return (f"Packet({self.ts:.6f} {ipaddress.ip_address(self.src)}:{self.sport} -> "
                f"{ipaddress.ip_address(self.dst)}:{self.dport} proto={self.proto} flags={self.flags:#x} "
                f"len={self.payload_len})")
