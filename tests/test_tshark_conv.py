"""Differential test: our TCP/UDP flows against tshark's conversation tables.

For every capture of the shared corpus (and of ``samples/``), the conversations of
``tshark -q -z conv,tcp -z conv,udp`` (endpoint pairs and frames per direction) must equal our
``flows`` table summed per endpoint pair, and the frame bytes per direction must equal tshark's
exact per-frame lengths (``conv`` prints large byte counts rounded to kB, so the exact bytes come
from ``tshark -T fields -e frame.len`` grouped by ``tcp.stream``/``udp.stream``, which is what
``conv`` adds up).

tshark runs at test time (skipped when it is not installed; CI installs it).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

import dissect
from conftest import CORPUS, corpus_captures, SAMPLES

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt-get install tshark)")

_ROW = re.compile(r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+([\d.]+ \w+)\s+(\d+)\s+([\d.]+ \w+)\s+(\d+)")


def _norm(h: str) -> str:
    return str(ipaddress.ip_address(h.strip("[]")))


def run_tshark(path: Path) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """One tshark pass: per-frame fields, then the ``-z conv`` tables printed at the end.

    Returns (frames per direction from ``conv``, exact frame bytes per direction from the
    fields). ICMP errors quote a TCP/UDP header (tshark then shows its ports) but are not part
    of the conversation: they are filtered out, as ``conv`` does.
    """
    out = subprocess.run(
        [TSHARK, "-n", "-r", str(path), "-Y", "!icmp && !icmpv6", "-T", "fields", "-E", "separator=|",
         "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
         "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "udp.srcport", "-e", "udp.dstport",
         "-e", "frame.len", "-e", "tcp.stream", "-e", "udp.stream",
         "-z", "conv,tcp", "-z", "conv,udp"],
        capture_output=True, text=True, timeout=300).stdout
    frames = {"tcp": Counter(), "udp": Counter()}
    nbytes = {"tcp": Counter(), "udp": Counter()}
    cur = None
    for line in out.splitlines():
        f = line.split("|")
        if len(f) == 11:
            src = (f[0] or f[1]).split(",")[-1]
            dst = (f[2] or f[3]).split(",")[-1]
            if f[9] and f[4]:
                nbytes["tcp"][(_norm(src), int(f[4].split(",")[0]), _norm(dst), int(f[5].split(",")[0]))] += int(f[8])
            elif f[10] and f[6]:
                nbytes["udp"][(_norm(src), int(f[6].split(",")[0]), _norm(dst), int(f[7].split(",")[0]))] += int(f[8])
            continue
        if line.startswith("TCP Conversations"):
            cur = "tcp"
        elif line.startswith("UDP Conversations"):
            cur = "udp"
        m = _ROW.match(line)
        if m and cur:
            a, pa, b, pb = _norm(m[1]), int(m[2]), _norm(m[3]), int(m[4])
            # columns: "<-" (B to A) frames, bytes; "->" (A to B) frames, bytes
            frames[cur][(a, pa, b, pb)] += int(m[7])
            frames[cur][(b, pb, a, pa)] += int(m[5])
    return frames, nbytes


def ours(path: Path) -> tuple[dict[str, Counter], dict[str, Counter]]:
    a = dissect.analyze([str(path)], protocols=())     # flows do not depend on the analyzers
    frames = {"tcp": Counter(), "udp": Counter()}
    nbytes = {"tcp": Counter(), "udp": Counter()}
    for r in a.records.get("flows", ()):
        if r.proto not in frames:
            continue
        o, rr = (r.orig_h, r.orig_p), (r.resp_h, r.resp_p)
        frames[r.proto][o + rr] += r.orig_pkts
        frames[r.proto][rr + o] += r.resp_pkts
        nbytes[r.proto][o + rr] += r.orig_frame_bytes
        nbytes[r.proto][rr + o] += r.resp_frame_bytes
    for d in (frames, nbytes):
        for c in d.values():
            for k in [k for k, v in c.items() if v == 0]:
                del c[k]
    return frames, nbytes


def _captures() -> list[Path]:
    caps = list(corpus_captures())
    if SAMPLES.is_dir():
        caps += sorted(p for p in SAMPLES.rglob("*") if p.suffix in (".pcap", ".pcapng", ".gz"))
    return caps


@pytest.fixture(scope="module")
def tshark_views():
    """tshark over every capture at once (subprocesses in parallel), computed on first use."""
    from concurrent.futures import ThreadPoolExecutor

    caps = _captures()
    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2))) as ex:
        return dict(zip(caps, ex.map(run_tshark, caps)))


@pytest.mark.parametrize("path", _captures(), ids=lambda p: str(p).split("captures/")[-1].replace(str(SAMPLES), "samples"))
def test_conversations_equal_tshark(path: Path, tshark_views):
    want_frames, want_bytes = tshark_views[path]
    for d in (want_frames, want_bytes):
        for c in d.values():
            for k in [k for k, v in c.items() if v == 0]:
                del c[k]
    got_frames, got_bytes = ours(path)
    for proto in ("tcp", "udp"):
        assert got_frames[proto] == want_frames[proto], f"{proto} frames per direction differ"
        assert got_bytes[proto] == want_bytes[proto], f"{proto} frame bytes per direction differ"


def test_fragmented_udp_counts_like_tshark(tmp_path):
    """An IP-fragmented UDP datagram is one frame of the conversation (the one that completes
    it), as in tshark; the earlier fragments are IP-level only. Hand-built edge case."""
    import socket

    import dpkt

    payload = bytes(range(256)) * 12
    udp = dpkt.udp.UDP(sport=40001, dport=53, data=payload)
    udp.ulen = len(udp)
    raw = bytes(udp)
    path = tmp_path / "frag.pcap"
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f)
        for i, off in enumerate(range(0, len(raw), 1480)):
            chunk = raw[off:off + 1480]
            ip = dpkt.ip.IP(src=socket.inet_aton("10.1.1.1"), dst=socket.inet_aton("10.1.1.2"), p=17,
                            id=77, data=chunk)
            ip.offset = off >> 3
            ip.mf = 1 if off + len(chunk) < len(raw) else 0
            ip.len = 20 + len(chunk)
            w.writepkt(bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=0x0800,
                                                    data=ip)), 1.0 + i * 0.001)
        r = dpkt.udp.UDP(sport=53, dport=40001, data=b"ok")
        r.ulen = len(r)
        ip = dpkt.ip.IP(src=socket.inet_aton("10.1.1.2"), dst=socket.inet_aton("10.1.1.1"), p=17, id=78, data=r)
        ip.len = 20 + len(r)
        w.writepkt(bytes(dpkt.ethernet.Ethernet(src=b"\x04" * 6, dst=b"\x02" * 6, type=0x0800, data=ip)), 1.01)
    want_frames, want_bytes = run_tshark(path)
    got_frames, got_bytes = ours(path)
    assert got_frames["udp"] == want_frames["udp"] == {("10.1.1.1", 40001, "10.1.1.2", 53): 1,
                                                       ("10.1.1.2", 53, "10.1.1.1", 40001): 1}
    assert got_bytes["udp"] == want_bytes["udp"]
    f = dissect.analyze(path).records["flows"][0]
    assert (f.orig_h, f.orig_bytes, f.orig_ip_bytes, f.orig_pkts) == ("10.1.1.1", 3072, 20 + 8 + 3072, 1)
