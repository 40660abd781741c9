"""Real pcapng from dumpcap on loopback: several interfaces in one file, and a live pipe whose frames
must come out while dumpcap is still running. Traffic stays on 127.0.0.1."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from dissect.decode import PacketDecoder
from dissect.io import open_stream, read_frames

DUMPCAP = shutil.which("dumpcap")
TSHARK = shutil.which("tshark")

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(DUMPCAP is None, reason="dumpcap not installed")]


def _send_udp(port: int, n: int, tag: bytes, delay=0.05):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i in range(n):
            s.sendto(tag + b" %d" % i, ("127.0.0.1", port))
            time.sleep(delay)
    finally:
        s.close()


@pytest.fixture
def port():
    """A bound UDP receiver on 127.0.0.1 (so no ICMP port-unreachable comes back)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield s.getsockname()[1]
    s.close()


def _start(args):
    try:
        proc = subprocess.Popen([DUMPCAP, "-q", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        pytest.skip(f"cannot run dumpcap: {e}")
    return proc


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_dumpcap_two_interfaces_pcapng(tmp_path, port):
    """dumpcap -i lo -i any: one section, two interfaces (Ethernet and Linux cooked)."""
    out = tmp_path / "two.pcapng"
    # a filter given before the interfaces applies to all of them
    proc = _start(["-f", f"udp port {port}", "-i", "lo", "-i", "any", "-w", str(out), "-a", "duration:4"])
    time.sleep(1.5)
    if proc.poll() is not None:
        pytest.skip(f"dumpcap cannot capture here: {proc.stderr.read().decode(errors='replace').strip()}")
    _send_udp(port, 5, b"two-if")
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        _stop(proc)
    infos = []
    frames = list(read_frames([str(out)], infos))
    info = infos[0]
    assert info.format == "pcapng" and len(info.interfaces) == 2
    assert info.linktypes == {1, 113} or info.linktypes == {1, 276}
    # each datagram seen on both interfaces ("any" sees loopback traffic once per direction)
    d = PacketDecoder()
    by_lt = {}
    for f in frames:
        p = d.decode(*f)
        assert p.dport == port
        by_lt.setdefault(f[1], []).append(p.payload)
    assert len(by_lt) == 2
    for payloads in by_lt.values():
        assert set(payloads) == {b"two-if %d" % i for i in range(5)}
    if TSHARK:
        r = subprocess.run([TSHARK, "-r", str(out), "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len"],
                           capture_output=True, text=True, check=True)
        ref = [(float(a), int(b)) for a, b in (line.split("\t") for line in r.stdout.splitlines())]
        assert [(round(f[0], 6), f[3]) for f in frames] == [(round(a, 6), b) for a, b in ref]


def test_live_pipe_yields_frames_while_dumpcap_runs(port):
    proc = _start(["-i", "lo", "-f", f"udp port {port}", "-w", "-"])
    got = []
    first = threading.Event()
    errors = []

    def consume():
        try:
            for fr in open_stream(proc.stdout, "live"):
                got.append(fr)
                first.set()
        except Exception as e:      # pragma: no cover - reported below
            errors.append(e)
            first.set()
    t = threading.Thread(target=consume, daemon=True)
    t.start()
    try:
        deadline = time.time() + 20
        while not first.is_set() and time.time() < deadline:
            if proc.poll() is not None:
                pytest.skip(f"dumpcap cannot capture here: {proc.stderr.read().decode(errors='replace').strip()}")
            _send_udp(port, 1, b"live", delay=0.2)
        assert first.is_set(), "no frame came out of the pipe while dumpcap was running"
        assert proc.poll() is None            # still running: the frame was not waiting for EOF
        assert not errors
    finally:
        _stop(proc)
        t.join(10)
    d = PacketDecoder()
    p = d.decode(*got[0])
    assert p.dport == port and p.payload.startswith(b"live")
