#!/usr/bin/env python3
"""Generate an adversarial capture (issue 9's memory benchmark input) into bench/data/.

    python bench/make_adversarial.py --size 1G [-o bench/data/adversarial-1G.pcap]

The capture is a sequence of *rounds* (one simulated second each, distinct addresses per round)
until the size is reached. Every round carries each hostile shape a passive analyzer meets:

* **many flows**: a SYN flood of 20,000 new 5-tuples (with the 300 s idle timeout, every flow
  of the whole capture is still live: the ``max_flows`` cap is hit from round 10 on);
* **many fragments**: 4,000 UDP datagrams whose last fragment never comes (``frag_pending`` /
  ``frag_bytes`` caps) and 200 datagrams completed in reverse order with overlapping fragments;
* **deep MIME**: an SMTP message nested 200 multiparts deep with 3,000 sibling parts
  (``mime_depth``, ``mime_parts``);
* **bombs**: an HTTP keep-alive connection with gzip, deflate, br and zstd responses that inflate
  to 64 MiB of zeros each (``decompression_ratio``);
* **long lines**: a 4 MiB SMTP command line and a 4 MiB HTTP request line without end
  (``line_length``);
* **out-of-order TCP**: a 3 MB stream whose 3,000 segments arrive in reverse order
  (``tcp_ooo_bytes`` / ``tcp_ooo_segments``).

Deterministic (no randomness); the frames are built with ``struct`` only. Classic pcap,
little-endian, microsecond timestamps, Ethernet.
"""

from __future__ import annotations

import argparse
import gzip
import os
import struct
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_000_000.0
_REC = struct.Struct("<IIII")
MSS = 1448


def _csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int = 0, frag: int = 0) -> bytes:
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, frag, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", _csum(h)) + h[12:] + payload


def eth(ip: bytes) -> bytes:
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip


def tcp(sp, dp, seq, ack, flags, payload=b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, 65535, 0, 0) + payload


def udp(sp, dp, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload


def a4(*octets) -> bytes:
    return bytes(o & 0xFF for o in octets)


class Writer:
    def __init__(self, path: str):
        self.f = open(path, "wb", buffering=1 << 22)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.size = 24
        self.frames = 0
        self.ts = T0

    def frame(self, data: bytes, dt: float = 1e-5) -> None:
        self.ts += dt
        sec = int(self.ts)
        self.f.write(_REC.pack(sec, int((self.ts - sec) * 1e6), len(data), len(data)))
        self.f.write(data)
        self.size += 16 + len(data)
        self.frames += 1

    def close(self):
        self.f.close()


def session(w: Writer, cli: bytes, srv: bytes, cp: int, sp: int, script, reverse_client=False) -> None:
    """A TCP connection: handshake, the script's (direction, bytes) in MSS segments, FIN/ACK."""
    seq = [1000, 900_000]
    w.frame(eth(ip4(cli, srv, 6, tcp(cp, sp, seq[0], 0, 0x02))))
    w.frame(eth(ip4(srv, cli, 6, tcp(sp, cp, seq[1], seq[0] + 1, 0x12))))
    seq[0] += 1
    seq[1] += 1
    w.frame(eth(ip4(cli, srv, 6, tcp(cp, sp, seq[0], seq[1], 0x10))))
    for d, data in script:
        src, dst, a, b = (cli, srv, cp, sp) if d == 0 else (srv, cli, sp, cp)
        segs = [(seq[d] + i, data[i:i + MSS]) for i in range(0, len(data), MSS)]
        if reverse_client and d == 0:
            segs.reverse()
        for s, chunk in segs:
            w.frame(eth(ip4(src, dst, 6, tcp(a, b, s, seq[1 - d], 0x18, chunk))))
        seq[d] += len(data)
    w.frame(eth(ip4(cli, srv, 6, tcp(cp, sp, seq[0], seq[1], 0x11))))
    w.frame(eth(ip4(srv, cli, 6, tcp(sp, cp, seq[1], seq[0] + 1, 0x11))))
    w.frame(eth(ip4(cli, srv, 6, tcp(cp, sp, seq[0] + 1, seq[1] + 1, 0x10))))


# -------------------------------------------------------------------------- the shapes

def syn_flood(w: Writer, r: int, n: int = 20_000) -> None:
    dst = a4(10, 255, 0, 1)
    for i in range(n):
        src = a4(172, 16 + (r >> 8), r, i >> 8)
        w.frame(eth(ip4(src, dst, 6, tcp(1024 + (i & 0xFF) * 200 + (r % 200), 80, i * 7919, 0, 0x02))), 1e-6)


def frag_flood(w: Writer, r: int, n: int = 4000) -> None:
    src, dst = a4(10, 200, r >> 8, r), a4(10, 201, 0, 1)
    part = b"F" * 1480
    for i in range(n):
        # first and middle fragments of a 3-fragment datagram; the last never comes
        ident = (r * n + i) & 0xFFFF
        dg = udp(5000, 7000, part * 2 + b"tail")[:1480]
        w.frame(eth(ip4(src, dst, 17, dg, ident, 0x2000)), 1e-6)
        w.frame(eth(ip4(src, dst, 17, part, ident, 0x2000 | (1480 // 8))), 1e-6)
    for i in range(200):
        # complete datagrams, fragments in reverse order, the middle one overlapping its neighbours
        ident = (0x8000 + r * 200 + i) & 0xFFFF
        payload = udp(5001, 7001, bytes(range(256)) * 11)
        f1, f2, f3 = payload[:1480], payload[1480 - 80:2960], payload[2960:]
        w.frame(eth(ip4(src, dst, 17, f3, ident, 2960 // 8)), 1e-6)
        w.frame(eth(ip4(src, dst, 17, f2, ident, 0x2000 | ((1480 - 80) // 8))), 1e-6)
        w.frame(eth(ip4(src, dst, 17, f1, ident, 0x2000)), 1e-6)


_CACHE: dict = {}


def deep_mime_message(depth: int = 200, parts: int = 3000) -> bytes:
    if "mime" not in _CACHE:
        body = b"".join(b"--P\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(parts))
        inner = b"Content-Type: multipart/mixed; boundary=P\r\n\r\n" + body + b"--P--\r\n"
        for d in range(depth):
            bnd = b"D%d" % d
            inner = (b"Content-Type: multipart/mixed; boundary=" + bnd + b"\r\n\r\n--" + bnd + b"\r\n" + inner +
                     b"\r\n--" + bnd + b"--\r\n")
        _CACHE["mime"] = b"From: a@adv.example\r\nTo: b@adv.example\r\nSubject: deep\r\n" + inner
    return _CACHE["mime"]


def deep_mime(w: Writer, r: int) -> None:
    msg = deep_mime_message()
    script = [(1, b"220 mx ESMTP\r\n"), (0, b"EHLO adv\r\n"), (1, b"250 mx\r\n"),
              (0, b"MAIL FROM:<a@adv.example>\r\n"), (1, b"250 ok\r\n"), (0, b"RCPT TO:<b@adv.example>\r\n"),
              (1, b"250 ok\r\n"), (0, b"DATA\r\n"), (1, b"354 go\r\n"), (0, msg + b"\r\n.\r\n"),
              (1, b"250 queued\r\n"), (0, b"QUIT\r\n"), (1, b"221 bye\r\n")]
    session(w, a4(10, 210, r >> 8, r), a4(10, 211, 0, 25), 30000 + r % 30000, 25, script)


def bomb_bodies() -> dict:
    if "bombs" not in _CACHE:
        import brotli
        import zstandard
        zeros = bytes(64 << 20)
        _CACHE["bombs"] = {"gzip": gzip.compress(zeros, 9), "deflate": zlib.compress(zeros, 9),
                           "br": brotli.compress(zeros, quality=5), "zstd": zstandard.ZstdCompressor(level=3).compress(zeros)}
    return _CACHE["bombs"]


def bombs(w: Writer, r: int) -> None:
    script = []
    for coding, body in bomb_bodies().items():
        script.append((0, b"GET /bomb.%s HTTP/1.1\r\nHost: adv.example\r\n\r\n" % coding.encode()))
        script.append((1, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: %s\r\n"
                          b"Content-Length: %d\r\n\r\n" % (coding.encode(), len(body)) + body))
    session(w, a4(10, 220, r >> 8, r), a4(10, 221, 0, 80), 30000 + r % 30000, 80, script)


def long_lines(w: Writer, r: int, n: int = 4 << 20) -> None:
    line = b"a" * n
    session(w, a4(10, 230, r >> 8, r), a4(10, 231, 0, 25), 30000 + r % 30000, 25,
            [(1, b"220 mx ESMTP\r\n"), (0, b"EHLO " + line), (0, b"\r\nQUIT\r\n"), (1, b"221 bye\r\n")])
    session(w, a4(10, 232, r >> 8, r), a4(10, 233, 0, 80), 30000 + r % 30000, 80,
            [(0, b"GET /" + line), (0, b" HTTP/1.1\r\nHost: h\r\n\r\n"), (1, b"HTTP/1.1 414 URI Too Long\r\n\r\n")])


def out_of_order(w: Writer, r: int, nseg: int = 3000) -> None:
    data = bytes(range(256)) * (nseg * MSS // 256 + 1)
    session(w, a4(10, 240, r >> 8, r), a4(10, 241, 0, 80), 30000 + r % 30000, 8080,
            [(0, data[:nseg * MSS]), (1, b"ok")], reverse_client=True)


SHAPES = (syn_flood, frag_flood, deep_mime, bombs, long_lines, out_of_order)


def parse_size(text: str) -> int:
    t = text.strip().upper().rstrip("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    return int(float(t.rstrip("KMG")) * mult)


def generate(path: str, size: int, quiet: bool = False) -> dict:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    w = Writer(path)
    t = time.time()
    r = 0
    while w.size < size:
        for shape in SHAPES:
            shape(w, r)
            if w.size >= size:
                break
        r += 1
        w.ts = T0 + r          # one simulated second per round
        if not quiet:
            print(f"\rround {r}: {w.size / 1e6:8.1f} MB, {w.frames:,} frames", end="", file=sys.stderr)
    w.close()
    if not quiet:
        print(file=sys.stderr)
    return {"path": path, "bytes": w.size, "frames": w.frames, "rounds": r, "seconds": round(time.time() - t, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="1G", help="capture size, e.g. 200M or 1G (default 1G)")
    ap.add_argument("-o", "--output", default=None, help="default: bench/data/adversarial-SIZE.pcap")
    a = ap.parse_args()
    size = parse_size(a.size)
    out = a.output or os.path.join(HERE, "data", f"adversarial-{a.size}.pcap")
    info = generate(out, size)
    print(f"{info['path']}: {info['bytes']:,} bytes, {info['frames']:,} frames, {info['rounds']} rounds "
          f"({info['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
