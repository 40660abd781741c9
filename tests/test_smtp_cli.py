"""`dissect smtp` and `dissect mail` through typer's CliRunner, on the sample captures."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import dpkt
import pytest
from typer.testing import CliRunner

from dissect.cli.main import app
from dissect.smtp.codes import explain, explain_enhanced, explain_reply

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "smtp"
runner = CliRunner()


def invoke(*args):
    r = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return r


def test_codes_explained():
    assert explain_reply(550).startswith("mailbox unavailable")
    assert explain_reply(599) == "permanent failure"
    assert explain_enhanced("5.1.1") == "permanent failure (do not retry as is): bad destination mailbox address (no such user)"
    assert explain_enhanced("4.2.2").endswith("mailbox full")
    assert explain_enhanced("5.7.99").endswith("security or policy (detail 99)")
    assert explain_enhanced("garbage") == ""
    assert explain(554, "5.7.1") == ("transaction failed; 5.7.1 = permanent failure (do not retry as is): "
                                     "delivery not authorized, message refused")


def test_mail_failures_first_with_reasons():
    r = invoke("mail", SAMPLES / "smtp-failures-smtplib.pcap")
    assert r.exit_code == 0
    out = r.output
    assert "6 message/recipient lines, 5 not delivered" in out
    # failures first: the only delivered line (alice, 250 queued) comes last
    assert out.index("queued as SAMPLE") > max(out.index("greylist@"), out.index("fullbox@"),
                                               out.index("nosuchuser@"), out.index("Content policy test"))
    assert "no such user" in out and "mailbox full" in out and "delivery not authorized" in out
    assert "end of data" in out and "RCPT" in out


def test_mail_filters():
    r = invoke("mail", SAMPLES / "smtp-failures-smtplib.pcap", "--failed")
    assert "5 message/recipient lines, 5 not delivered" in r.output
    assert "queued as SAMPLE" not in r.output
    r = invoke("mail", SAMPLES / "smtp-failures-smtplib.pcap", "--to", "bob@")
    assert "1 message/recipient lines, 1 not delivered" in r.output and "451" in r.output
    r = invoke("mail", SAMPLES / "smtp-failures-smtplib.pcap", "--from", "nobody@")
    assert "No mail transactions match." in r.output


def test_mail_shows_later_bounce():
    r = invoke("mail", SAMPLES / "smtp-mime-dsn-smtplib.pcap", "--failed")
    assert r.exit_code == 0
    assert "1 message/recipient lines, 1 not delivered" in r.output
    assert "bounced" in r.output and "ghost@far.example" in r.output and "Invoice 2026-11" in r.output
    assert "5.1.1" in r.output


def test_smtp_lists_sessions_and_transactions():
    r = invoke("smtp", SAMPLES / "smtp-pipelining-rset.pcap", SAMPLES / "smtp-starttls-swaks.pcap")
    assert r.exit_code == 0
    assert "SMTP sessions (2)" in r.output and "SMTP transactions (3)" in r.output
    assert "pipe.sample.example" in r.output and "tls.sample.example" in r.output
    assert "LOGIN ?: cancelled" in r.output
    assert "NOOP, VRFY alice" in r.output


def test_smtp_credentials_masked_unless_asked():
    r = invoke("smtp", SAMPLES / "smtp-auth-swaks.pcap")
    assert "AUTH credentials" not in r.output and "wonderland-42" not in r.output
    r = invoke("smtp", SAMPLES / "smtp-auth-swaks.pcap", "--credentials")
    assert "AUTH credentials (5)" in r.output and "masked" in r.output
    assert "wonderland-42" not in r.output and "w***********2" in r.output
    r = invoke("smtp", SAMPLES / "smtp-auth-swaks.pcap", "--credentials", "--show-secrets")
    assert "wonderland-42" in r.output and "builder-7" in r.output


def test_missing_file_is_one_line_error():
    from dissect.cli.common import run_app
    import sys

    old = sys.argv
    sys.argv = ["dissect", "mail", "/nonexistent/x.pcap"]
    try:
        assert run_app(app) != 0
    finally:
        sys.argv = old


def _pcap(path: Path, script: list[tuple[int, bytes]], sport=40001, dport=25):
    """A capture of one TCP session (handshake + the given payloads), made with dpkt."""
    cli, srv = socket.inet_aton("10.1.1.1"), socket.inet_aton("10.1.1.2")
    seq = [1000, 5000]
    pkts = []

    def pkt(d, flags, data=b""):
        src, dst = (cli, srv) if d == 0 else (srv, cli)
        sp, dp = (sport, dport) if d == 0 else (dport, sport)
        tcp = dpkt.tcp.TCP(sport=sp, dport=dp, seq=seq[d], ack=seq[1 - d], flags=flags, data=data)
        ip = dpkt.ip.IP(src=src, dst=dst, p=6, data=tcp)
        ip.len = len(ip)
        eth = dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x00" * 6, type=0x0800, data=ip)
        pkts.append(bytes(eth))
        seq[d] = (seq[d] + len(data) + (1 if flags & (dpkt.tcp.TH_SYN | dpkt.tcp.TH_FIN) else 0)) & 0xFFFFFFFF

    pkt(0, dpkt.tcp.TH_SYN)
    pkt(1, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)
    pkt(0, dpkt.tcp.TH_ACK)
    for d, data in script:
        pkt(d, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, data)
    pkt(0, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK)
    pkt(1, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK)
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f)
        for i, p in enumerate(pkts):
            w.writepkt(p, ts=1_700_000_000 + i * 0.01)


def test_hostile_text_is_neutralised(tmp_path):
    evil = b"\x1b[31mRED\x1b[0m[bold]x[/bold]"
    p = tmp_path / "evil.pcap"
    _pcap(p, [(1, b"220 mx " + evil + b"\r\n"), (0, b"EHLO " + evil + b"\r\n"), (1, b"250 ok\r\n"),
              (0, b"MAIL FROM:<a@b>\r\nRCPT TO:<" + evil + b"@x>\r\nDATA\r\n"),
              (1, b"250 ok\r\n550 5.1.1 " + evil + b"\r\n354 go\r\n"),
              (0, b"Subject: " + evil + b"\r\n\r\nbody\r\n.\r\n"), (1, b"554 5.7.1 " + evil + b"\r\n")])
    for cmd in ("smtp", "mail"):
        r = invoke(cmd, p)
        assert r.exit_code == 0
        assert "\x1b" not in r.output
        assert "\\x1b" in r.output
        assert "[bold]x" in r.output         # shown as text, not applied as style
