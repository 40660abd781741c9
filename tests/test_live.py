"""`dissect live` on the loopback interface, driven by real peers.

Starts `dissect live -i lo` with a capture filter on ports of our own, drives an SMTP session
(smtplib against aiosmtpd), an HTTP request (curl against http.server) and an SNMP get (net-snmp's
snmpget against our own snmpd), stops the capture with Ctrl-C (SIGINT) and checks that the
exported tables hold exactly those sessions. Needs capture permission (CI runs as root).
"""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.live

DISSECT = str(Path(sys.executable).parent / "dissect")


def _free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _can_capture() -> str | None:
    if shutil.which("dumpcap") is None:
        return "dumpcap is not installed (make test installs tshark)"
    out = subprocess.run(["dumpcap", "-i", "lo", "-a", "duration:1", "-w", "/dev/null", "-q"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        return "no permission to capture on lo: " + " ".join(out.stderr.split())[:200]
    return None


@pytest.fixture(scope="module")
def capture_ok():
    why = _can_capture()
    if why:
        pytest.skip(why)


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *a):  # quiet
        pass


def _start_dissect(tmp: Path, ports: dict) -> subprocess.Popen:
    flt = (f"tcp port {ports['smtp']} or tcp port {ports['http']} or udp port {ports['snmp']}")
    cmd = [DISSECT, "live", "-i", "lo", "-f", flt, "--export", str(tmp / "tables"), "--format",
           "parquet", "--report", str(tmp / "live.html"), "--no-view",
           "--decode-as", f"smtp:{ports['smtp']}", "--decode-as", f"http:{ports['http']}",
           "--decode-as", f"snmp:{ports['snmp']}", "--write", str(tmp / "raw.pcapng")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until dumpcap is capturing
    deadline = time.monotonic() + 20
    line = ""
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if "capturing on" in line or not line:
            break
    assert "capturing on" in line, f"dissect live did not start: {line!r}"
    time.sleep(1.0)
    return p


def test_live_loopback_sessions(tmp_path, capture_ok):
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 2.0.0 queued as LIVE1"

    ports = {"smtp": _free_port(), "http": _free_port(), "snmp": _free_port(socket.SOCK_DGRAM)}
    ctl = Controller(Handler(), hostname="127.0.0.1", port=ports["smtp"])
    ctl.start()
    web_root = tmp_path / "www"
    web_root.mkdir()
    (web_root / "hello.txt").write_bytes(b"hello from the live test\n")
    httpd = ThreadingHTTPServer(("127.0.0.1", ports["http"]),
                                lambda *a: _Handler(*a, directory=str(web_root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    snmpd = None
    have_snmp = shutil.which("snmpd") and shutil.which("snmpget")
    if have_snmp:
        conf = tmp_path / "snmpd.conf"
        conf.write_text("rocommunity livetest 127.0.0.1\nsysLocation live-lab\n")
        snmpd = subprocess.Popen(["snmpd", "-f", "-Lo", "-C", "-c", str(conf),
                                  f"udp:127.0.0.1:{ports['snmp']}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = None
    try:
        proc = _start_dissect(tmp_path, ports)
        msg = EmailMessage()
        msg["From"] = "alice@example.org"
        msg["To"] = "bob@example.net"
        msg["Subject"] = "live capture test"
        msg.set_content("hello over loopback\n")
        with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=10) as s:
            s.send_message(msg)
        subprocess.run(["curl", "-s", "-o", os.devnull, f"http://127.0.0.1:{ports['http']}/hello.txt"],
                       check=True, timeout=30) if shutil.which("curl") else __import__("urllib.request").request.urlopen(
            f"http://127.0.0.1:{ports['http']}/hello.txt").read()
        snmp_out = None
        if have_snmp:
            time.sleep(0.5)
            snmp_out = subprocess.run(["snmpget", "-v2c", "-c", "livetest", "-On", "-r", "2", "-t", "2",
                                       f"127.0.0.1:{ports['snmp']}", "1.3.6.1.2.1.1.6.0"],
                                      capture_output=True, text=True, timeout=30)
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        ctl.stop()
        httpd.shutdown()
        if snmpd is not None:
            snmpd.terminate()
            snmpd.wait(10)

    tables = tmp_path / "tables"
    flows = pd.read_parquet(tables / "flows.parquet")
    assert set(flows["service"]) >= {"smtp", "http"}
    sessions = pd.read_parquet(tables / "smtp_sessions.parquet")
    assert len(sessions) == 1
    tx = pd.read_parquet(tables / "smtp_transactions.parquet")
    assert list(tx["mail_from"]) == ["alice@example.org"]
    assert list(tx["subject"]) == ["live capture test"]
    assert list(tx["outcome"]) == ["accepted"]
    rcpts = pd.read_parquet(tables / "smtp_recipients.parquet")
    assert list(rcpts["address"]) == ["bob@example.net"]
    http = pd.read_parquet(tables / "http_transactions.parquet")
    assert list(http["uri"]) == ["/hello.txt"]
    assert list(http["status_code"]) == [200]
    assert list(http["response_body_len"]) == [len(b"hello from the live test\n")]
    if have_snmp and snmp_out is not None and snmp_out.returncode == 0:
        assert "live-lab" in snmp_out.stdout
        pdus = pd.read_parquet(tables / "snmp_pdus.parquet")
        assert sorted(pdus["pdu_type"]) == ["get", "response"]
        assert set(pdus["version"]) == {"2c"}
        varbinds = pd.read_parquet(tables / "snmp_varbinds.parquet")
        assert "live-lab" in set(varbinds["value"])
    # the raw capture was kept and reads back with the same flows
    import dissect

    again = dissect.analyze([tmp_path / "raw.pcapng"],
                            decode_as={ports["smtp"]: "smtp", ports["http"]: "http", ports["snmp"]: "snmp"})
    assert len(again.smtp_transactions) == 1 and len(again.http_transactions) == 1
    assert (tmp_path / "live.html").stat().st_size > 10_000


def test_live_errors_are_one_line(capture_ok):
    out = subprocess.run([DISSECT, "live", "-i", "no-such-if0", "--duration", "1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "no such interface" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = subprocess.run([DISSECT, "live", "-i", "lo", "-f", "tcp port ((("],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "invalid capture filter" in out.stderr and "Traceback" not in out.stderr


def test_dumpcap_missing_is_explained(monkeypatch):
    from dissect.io import live

    monkeypatch.setattr(live.shutil, "which", lambda name: None)
    monkeypatch.setattr(live.os.path, "exists", lambda p: False)
    with pytest.raises(live.LiveCaptureError, match="apt-get install tshark"):
        live.find_dumpcap()


def test_permission_message_names_capabilities():
    from dissect.io.live import _explain

    msg = _explain("Capturing on 'eth0'\ndumpcap: You don't have permission to capture on that device "
                   "(socket: Operation not permitted)", ["eth0"])
    assert "CAP_NET_RAW" in msg and "CAP_NET_ADMIN" in msg and "eth0" in msg


def test_ring_writer_splits_on_block_boundaries(tmp_path):
    """A real pcapng (written by dumpcap's sibling editcap from a corpus capture) split into a ring."""
    import dissect
    from dissect.io.live import RingWriter

    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "captures" / "zeek" / "smtp.pcap"
    if not corpus.exists():
        pytest.skip("shared corpus absent (../shared/corpus)")
    if shutil.which("editcap") is None:
        pytest.skip("editcap missing (make test installs tshark)")
    ng = tmp_path / "in.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(corpus), str(ng)], check=True)
    data = ng.read_bytes()
    ring = RingWriter(tmp_path / "ring.pcapng", files=3, size_mb=0.01)
    for i in range(0, len(data), 777):   # odd chunk sizes: blocks arrive split
        ring.write(data[i:i + 777])
    ring.close()
    files = sorted(tmp_path.glob("ring_*.pcapng"))
    assert len(files) == 3                      # the ring keeps the newest three
    total = 0
    for f in files:
        a = dissect.analyze([f])               # every file opens on its own
        total += a.stats.packets
    whole = dissect.analyze([ng]).stats.packets
    assert 0 < total < whole
    # without a ring: one file, byte-identical to the input
    one = RingWriter(tmp_path / "one.pcapng")
    for i in range(0, len(data), 1000):
        one.write(data[i:i + 1000])
    one.close()
    assert (tmp_path / "one.pcapng").read_bytes() == data
