"""The HTML report: aggregations against known captures, escaping, secrets, robustness, size, CLI.

The browser test is tests/test_report_browser.py.
"""

from __future__ import annotations

import html
import re
import struct
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dissect
from conftest import SAMPLES, corpus_path
from dissect.reports import aggregate as agg
from dissect.reports import mail as mail_section
from dissect.reports.builder import ReportContext, render_report
from dissect.reports.html import safe_json


def sample(rel: str) -> Path:
    p = SAMPLES / rel
    if not p.exists():
        pytest.skip(f"sample {rel} not generated yet")
    return p


# --------------------------------------------------------------------------- aggregations

def test_spread_over_bins_conserves_and_splits_exactly():
    edges = np.array([0.0, 10.0, 20.0, 30.0])
    # one flow 5..25 s with 200 bytes: 5 s in bin 0, 10 s in bin 1, 5 s in bin 2; one point at 12 s
    out = agg.spread_over_bins(np.array([5.0, 12.0]), np.array([20.0, 0.0]), np.array([200.0, 7.0]), edges)
    assert out.tolist() == pytest.approx([50.0, 107.0, 50.0])
    # many random flows: mass is conserved when every flow ends inside the range
    rng = np.random.default_rng(1)
    s = rng.uniform(0, 100, 5000)
    d = rng.exponential(3, 5000)
    d[::7] = 0
    a = rng.integers(1, 10_000, 5000).astype(float)
    e, _, _ = agg.time_bins(0, float((s + d).max()))
    got = agg.spread_over_bins(s, d, a, e)
    assert got.sum() == pytest.approx(a.sum(), rel=1e-9)
    assert (got >= 0).all()


def test_pick_interval_bounds_the_number_of_bins():
    for span in (0.0, 0.5, 59, 3600, 86400 * 3, 86400 * 400):
        width, _label = agg.pick_interval(span, 200)
        assert span / width <= 200
    edges, width, label = agg.time_bins(1000.3, 1130.0, 200)
    assert (width, label) == (1, "1 s") and edges[0] == 1000.0 and edges[-1] >= 1130.0


def test_overview_aggregations_on_corpus_smtp_capture():
    a = dissect.analyze([str(corpus_path("captures/zeek/smtp.pcap"))])
    flows = a.flows
    total = agg.flow_bytes(flows).sum()
    assert total == a.stats.bytes == 38919          # every frame of this capture belongs to a flow
    t = agg.top_talkers(flows)
    # a host's bytes are the bytes of every flow it is in; equal to the pipeline's own per-host counters
    # (no host of this capture talks to itself)
    stats = {h: v["sent_bytes"] + v["recv_bytes"] for h, v in a.stats.talkers.items()}
    assert dict(zip(t["host"], t["bytes"])) == stats
    assert t.iloc[0]["host"] == "10.10.1.4" and t.iloc[0]["bytes"] == 26623
    for h in ("10.10.1.4", "192.168.133.100"):
        in_flow = (flows["orig_h"] == h) | (flows["resp_h"] == h)
        assert t.set_index("host").loc[h, "bytes"] == agg.flow_bytes(flows[in_flow]).sum()
        assert t.set_index("host").loc[h, "flows"] == int(in_flow.sum())
    # conversations: the SMTP session 10.10.1.4 <-> 74.53.140.153 is the biggest
    c = agg.top_conversations(flows)
    top = c.iloc[0]
    assert {top["host_a"], top["host_b"]} == {"10.10.1.4", "74.53.140.153"}
    assert top["bytes"] == 24045 and top["services"] == "smtp"
    assert c["bytes"].sum() == total
    # protocol mix and traffic over time keep every byte and packet
    mix = agg.protocol_mix(flows)
    assert mix["bytes"].sum() == total
    assert mix.set_index("service").loc["smtp", "flows"] == 2
    tt = agg.traffic_over_time(flows)
    assert sum(v["bytes"].sum() for v in tt["series"].values()) == pytest.approx(total)
    assert sum(v["packets"].sum() for v in tt["series"].values()) == pytest.approx(a.stats.packets)
    assert len(tt["edges"]) - 1 <= 200
    m = agg.host_matrix(flows, 20)
    assert m.loc["10.10.1.4", "74.53.140.153"] == 24045


def test_mail_outcomes_from_the_failures_sample():
    a = dissect.analyze([str(sample("smtp/smtp-failures-smtplib.pcap"))])
    ctx = ReportContext(a)
    # alice accepted; nosuchuser 550 and alice 554-at-end-of-data rejected; greylist 451, fullbox 452 and
    # bob (accepted, then 451 after the data) tempfail: the same from the delivery rows and from the tables
    for v in (mail_section.delivery_view(ctx), mail_section.recipient_view(ctx)):
        ct = mail_section.outcome_counts(v, "server")
        assert ct.loc["127.0.0.1"].to_dict() == {"accepted": 1, "rejected": 2, "tempfail": 3}
        assert list(mail_section.outcome_counts(v, "domain").index) == ["sample.example"]
    df = mail_section.delivery_failed_table(mail_section.delivery_view(ctx)).df
    assert len(df) == 5 and list(df["result"][:2]) == ["rejected", "tempfail"]      # failures by time
    row = df[df["recipient"] == "nosuchuser@sample.example"].iloc[0]
    assert (row["stage"], int(row["code"]), row["status"]) == ("RCPT", 550, "5.1.1")
    assert "bad destination mailbox address" in row["reason"]
    row = df[(df["recipient"] == "alice@sample.example")].iloc[0]
    assert (row["stage"], int(row["code"]), row["status"]) == ("end of data", 554, "5.7.1")
    # the fallback table built from the SMTP tables alone agrees
    fb = mail_section.failed_table(mail_section.recipient_view(ctx), a.smtp_transactions, a.smtp_sessions).df
    assert sorted(fb["recipient"]) == sorted(df["recipient"])
    row = fb[fb["recipient"] == "nosuchuser@sample.example"].iloc[0]
    assert (row["stage"], int(row["code"]), row["status"]) == ("RCPT TO", 550, "5.1.1")
    assert "bad destination mailbox address" in row["meaning"]


def test_mail_bounce_seen_later_counts_as_bounced():
    a = dissect.analyze([str(sample("smtp/smtp-mime-dsn-smtplib.pcap"))])
    d = mail_section.delivery_view(ReportContext(a))
    b = d[d["result"] == "bounced"]
    assert list(b["recipient"]) == ["ghost@far.example"] and list(b["status"]) == ["5.1.1"]
    rep = render_report(a)
    assert rep.failures == [] and "Delivery status notifications seen" in rep.html
    assert "later bounce (DSN)" in rep.html


def test_mail_auth_tls_and_attachments_on_corpus():
    a = dissect.analyze([str(corpus_path("captures/zeek/smtp.pcap"))])
    ctx = ReportContext(a)
    t = mail_section.server_table(ctx, ctx.table("smtp_sessions")).df.set_index("server")
    assert t.loc["74.53.140.153", "auth_mechanisms"] == "LOGIN"
    assert t.loc["74.53.140.153", "auth_success"] == 1
    assert t.loc["74.53.140.153", "auth_users"] == "gurpartap@patriots.in"
    att = mail_section.attachment_table(ctx).df
    assert list(att["name"]) == ["NEWS.txt"]
    # Zeek's files.log for this capture: the attachment's SHA-256 and size
    assert att.iloc[0]["size"] == 10807
    assert att.iloc[0]["sha256"] == "ac04c5d2cd8fa9a2670c959806f5181a56b3e9bb1cc7da150af98ba074c86b55"


def test_http_aggregations_on_corpus_methods_capture():
    from dissect.reports import http as http_section

    a = dissect.analyze([str(corpus_path("captures/zeek/http/methods.pcap"))])
    tx = a.http_transactions
    cls = http_section.status_class(tx["status_code"])
    codes = pd.to_numeric(tx["status_code"], errors="coerce")
    assert int((cls == "4xx").sum()) == int(((codes >= 400) & (codes < 500)).sum()) > 0
    assert int((cls == "no response").sum()) == int(codes.isna().sum())
    t = agg.count_over_time(tx["ts"], cls)
    assert sum(s.sum() for s in t["series"].values()) == len(tx)
    ctx = ReportContext(a)
    err = http_section.errors_table(ctx, tx)
    assert err.total == int((codes >= 400).sum())


# --------------------------------------------------------------------------- hostile strings

XSS = "<script>window.__xss=1</script>"
COMMUNITY = "<script>window.__xss=10</script>s3cret"


def _eth_ip(src: str, dst: str, proto: int, l4: bytes) -> bytes:
    import socket

    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    return b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00" + ip + l4


def _tcp(sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data


def _tcp_session(cli: str, srv: str, cport: int, sport: int, exchange: list[tuple[int, bytes]], t0: float):
    """Frames of a whole TCP connection: handshake, (direction, bytes) in order, FIN both ways."""
    frames = []
    t = t0
    cseq, sseq = 1000, 5000
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
    frames.append((t, _eth_ip(cli, srv, 6, _tcp(cport, sport, cseq, 0, SYN))))
    frames.append((t + 0.001, _eth_ip(srv, cli, 6, _tcp(sport, cport, sseq, cseq + 1, SYN | ACK))))
    cseq += 1
    sseq += 1
    frames.append((t + 0.002, _eth_ip(cli, srv, 6, _tcp(cport, sport, cseq, sseq, ACK))))
    t += 0.01
    for d, data in exchange:
        t += 0.01
        if d == 0:
            frames.append((t, _eth_ip(cli, srv, 6, _tcp(cport, sport, cseq, sseq, PSH | ACK, data))))
            cseq += len(data)
        else:
            frames.append((t, _eth_ip(srv, cli, 6, _tcp(sport, cport, sseq, cseq, PSH | ACK, data))))
            sseq += len(data)
    frames.append((t + 0.01, _eth_ip(cli, srv, 6, _tcp(cport, sport, cseq, sseq, FIN | ACK))))
    frames.append((t + 0.02, _eth_ip(srv, cli, 6, _tcp(sport, cport, sseq, cseq + 1, FIN | ACK))))
    frames.append((t + 0.03, _eth_ip(cli, srv, 6, _tcp(cport, sport, cseq + 1, sseq + 1, ACK))))
    return frames


def _ber(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 128:
        return bytes([tag, n]) + body
    lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(lb)]) + lb + body


def _snmp(community: str, pdu_tag: int, reqid: int, value: bytes) -> bytes:
    oid = _ber(0x06, bytes([0x2B, 6, 1, 2, 1, 1, 5, 0]))
    vb = _ber(0x30, _ber(0x30, oid + value))
    pdu = _ber(pdu_tag, _ber(0x02, reqid.to_bytes(2, "big")) + _ber(0x02, b"\x00") + _ber(0x02, b"\x00") + vb)
    return _ber(0x30, _ber(0x02, b"\x01") + _ber(0x04, community.encode()) + pdu)


def _udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def write_hostile_capture(path: Path) -> Path:
    """A pcap whose URI, Host, User-Agent, subject, addresses, filename and SNMP community carry markup.

    Hand-built bytes (an edge case no real client sends on purpose): one HTTP exchange, one SMTP
    session with an attachment, one SNMP v2c get/response.
    """
    http_req = (f"GET /{XSS}?q=<img src=x onerror=window.__xss=2> HTTP/1.1\r\nHost: <b>evil{XSS}</b>\r\n"
                f"User-Agent: </script><script>window.__xss=3</script>\r\n\r\n").encode()
    body = b"<html>not found</html>"
    http_resp = (b"HTTP/1.1 404 Not <script>window.__xss=4</script>\r\nContent-Type: text/html<script>\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    msg = (f"From: <script>window.__xss=5</script> <a@example.org>\r\nTo: b@example.net\r\n"
           f"Subject: {XSS}\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
           f"--XX\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
           f"filename=\"<img src=x onerror=window.__xss=6>.txt\"\r\n\r\nattached\r\n--XX--\r\n.\r\n").encode()
    smtp = [(1, b"220 mx.example.net ESMTP\r\n"), (0, b"EHLO <script>window.__xss=7</script>\r\n"),
            (1, b"250-mx.example.net\r\n250 8BITMIME\r\n"),
            (0, b"MAIL FROM:<x<script>window.__xss=8</script>@example.org>\r\n"), (1, b"250 OK\r\n"),
            (0, b"RCPT TO:<b@example.net>\r\n"), (1, b"250 OK\r\n"),
            (0, b"RCPT TO:<c@example.net>\r\n"), (1, b"550 5.1.1 <script>window.__xss=9</script> unknown\r\n"),
            (0, b"DATA\r\n"), (1, b"354 go ahead\r\n"), (0, msg), (1, b"250 2.0.0 queued\r\n"),
            (0, b"QUIT\r\n"), (1, b"221 bye\r\n")]
    t0 = 1_700_000_000.0
    frames = _tcp_session("10.0.0.1", "10.0.0.2", 40000, 80, [(0, http_req), (1, http_resp)], t0)
    frames += _tcp_session("10.0.0.3", "10.0.0.4", 40001, 25, smtp, t0 + 1)
    frames.append((t0 + 2, _eth_ip("10.0.0.5", "10.0.0.6", 17, _udp(40002, 161, _snmp(COMMUNITY, 0xA0, 77, b"\x05\x00")))))
    frames.append((t0 + 2.01, _eth_ip("10.0.0.6", "10.0.0.5", 17,
                                     _udp(161, 40002, _snmp(COMMUNITY, 0xA2, 77, _ber(0x04, XSS.encode()))))))
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for ts, fr in frames:
        out.append(struct.pack("<IIII", int(ts), int(round((ts % 1) * 1e6)), len(fr), len(fr)) + fr)
    path.write_bytes(b"".join(out))
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    p = write_hostile_capture(tmp_path_factory.mktemp("hostile") / "hostile.pcap")
    # show_secrets at analysis time: the tables hold the clear values, the report must do its own masking
    return p, dissect.analyze([str(p)], show_secrets=True)


def _script_bodies(doc: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>(.*?)</script>", doc, flags=re.S)


def test_hostile_strings_are_escaped(hostile):
    path, a = hostile
    # the capture really carries the markup into the tables (else this test proves nothing)
    assert a.http_transactions["uri"].str.contains("<script>", regex=False).any()
    assert a.smtp_transactions["subject"].eq(XSS).any()
    assert a.snmp_pdus["community"].eq(COMMUNITY).any()
    rep = render_report(a, show_secrets=True, title=f"title {XSS}")
    assert rep.failures == []
    doc = rep.html
    assert {"overview", "mail", "http", "snmp"} <= set(rep.sections)
    # only our own script elements: one per chart (JSON), plotly.js, the page script
    scripts = _script_bodies(doc)
    assert len(scripts) == rep.charts + 2
    for s in scripts[:-2]:
        assert "<" not in s and ">" not in s          # chart JSON: every < > escaped as \u003c \u003e
    # markup from the capture appears as text only
    assert doc.count("window.__xss") == doc.count("window.__xss=") > 0
    assert "<script>window.__xss" not in doc and "<img src=x" not in doc and "<b>evil" not in doc
    assert html.escape(XSS) in doc                           # the subject/URI/community, shown escaped
    # chart labels: HTML-escaped for plotly (which renders a subset of HTML), then JSON-escaped
    assert "\\u0026lt;b\\u0026gt;evil\\u0026lt;script\\u0026gt;window.__xss=1" in doc
    # escaped JSON still parses back to the original label
    assert safe_json('{"a": "</script>"}') == '{"a": "\\u003c/script\\u003e"}'


def test_secrets_masked_unless_show_secrets(hostile):
    _path, a = hostile
    masked = render_report(a).html
    shown = render_report(a, show_secrets=True).html
    esc_comm = html.escape(COMMUNITY)
    # the community (declared secret) is masked everywhere in the default report ...
    comm_cells = re.findall(r"<td>([^<]*)</td>", masked)
    assert not any(c == esc_comm for c in comm_cells)
    assert html.escape("<" + "*" * (len(COMMUNITY) - 2) + "t") in masked
    assert "s3cret" not in masked and "s3cret" in shown
    # ... and shown in full with --show-secrets
    assert any(c == esc_comm for c in re.findall(r"<td>([^<]*)</td>", shown))
    assert "secrets (communities, passwords) masked" in masked


def test_secrets_masked_on_real_snmp_sample():
    a = dissect.analyze([str(sample("snmp/snmp-v1v2c.pcap"))], show_secrets=True)
    assert a.snmp_pdus["community"].astype(str).eq("public").any()
    rep = render_report(a)
    assert rep.failures == []
    cells = re.findall(r"<td>([^<]*)</td>", rep.html)
    assert "public" not in cells and "p****c" in cells
    assert "public" in re.findall(r"<td>([^<]*)</td>", render_report(a, show_secrets=True).html)


# --------------------------------------------------------------------------- robustness and size

def _fake(tables: dict, **kw):
    return types.SimpleNamespace(tables=tables, captures=kw.get("captures", []), stats=kw.get("stats"))


def test_a_failing_section_shows_a_note_and_the_rest_is_written(monkeypatch):
    from dissect.reports import http as http_section

    a = dissect.analyze([str(corpus_path("captures/zeek/http/get.pcap"))])

    def boom(ctx, tx):
        raise ValueError("synthetic failure")

    monkeypatch.setattr(http_section, "latency_blocks", boom)
    rep = render_report(a)
    assert rep.failures == ["http: latency: ValueError: synthetic failure"]
    assert "section failed: latency: ValueError: synthetic failure" in rep.html
    assert {"overview", "http"} <= set(rep.sections) and rep.charts >= 4


def test_missing_columns_and_odd_types_never_crash():
    tables = {
        "flows": pd.DataFrame({"uid": ["C1", "C2"], "orig_h": ["a", None], "ts": ["garbage", None]}),
        "http_transactions": pd.DataFrame({"uid": ["C1"], "status_code": ["abc"]}),
        "smtp_transactions": pd.DataFrame({"uid": ["C2"], "outcome": [None]}),
        "smtp_recipients": pd.DataFrame({"uid": ["C2"], "address": [None]}),
        "snmp_pdus": pd.DataFrame({"pdu_type": [None, "get"], "version": [3, None]}),
        "weirds": pd.DataFrame({"name": ["x"]}),
        "mime_parts": pd.DataFrame({"filename": ["a.txt"]}),
    }
    rep = render_report(_fake(tables))
    # each section is either rendered or reports its failure as a note; never an exception
    assert set(rep.sections) == {"overview", "mail", "http", "snmp", "anomalies"}
    for f in rep.failures:
        assert f"section failed: {f.split(': ', 1)[1]}"[:60] in html.unescape(rep.html)


def test_empty_analysis_gives_only_the_overview():
    rep = render_report(_fake({"flows": pd.DataFrame(columns=["uid", "ts"])}))
    assert rep.sections == ["overview"] and rep.failures == []
    assert "No flows were found" in rep.html


def test_report_size_is_bounded_for_a_large_capture():
    n = 120_000
    rng = np.random.default_rng(7)
    hosts = np.array([f"10.{i // 250}.{i % 250}.1" for i in range(5000)], dtype=object)
    t0 = 1_700_000_000
    flows = pd.DataFrame({
        "uid": [f"C{i}" for i in range(n)],
        "ts": pd.to_datetime(t0 + rng.uniform(0, 86400, n), unit="s", utc=True),
        "orig_h": hosts[rng.integers(0, 5000, n)], "resp_h": hosts[rng.integers(0, 5000, n)],
        "orig_p": rng.integers(1024, 65535, n), "resp_p": rng.choice([25, 80, 161, 443], n),
        "proto": rng.choice(["tcp", "udp"], n), "service": rng.choice(["smtp", "http", "snmp", None], n),
        "duration": rng.exponential(5, n), "orig_bytes": rng.integers(0, 10_000, n),
        "resp_bytes": rng.integers(0, 100_000, n), "orig_pkts": rng.integers(1, 50, n),
        "resp_pkts": rng.integers(1, 80, n), "orig_ip_bytes": rng.integers(40, 12_000, n),
        "resp_ip_bytes": rng.integers(40, 120_000, n),
    })
    w = pd.DataFrame({"ts": flows["ts"][:50_000], "uid": flows["uid"][:50_000], "name": "tcp_content_gap",
                      "source": "tcp", "addl": "", "orig_h": flows["orig_h"][:50_000]})
    rep = render_report(_fake({"flows": flows, "weirds": w}))
    assert rep.failures == []
    plotly_js = 5_000_000
    assert rep.size < plotly_js + 1_500_000, rep.size      # aggregated: far below one point per flow
    assert "showing 20 of 5000" in rep.html                 # top talkers are capped and say so


# --------------------------------------------------------------------------- CLI and make demo API

def test_cli_report_writes_file_and_prints_summary(run_cli, tmp_path):
    cap = corpus_path("captures/zeek/smtp.pcap")
    out = tmp_path / "r.html"
    res = run_cli("report", cap, "-o", out, "--title", "Mail check")
    assert res.exit_code == 0, (res.stdout, res.stderr)
    lines = res.stdout.strip().splitlines()
    assert lines[0] == str(out)
    assert lines[1].startswith("report: 2 sections (overview, mail)") and "125 packets" in lines[1]
    doc = out.read_text()
    assert "<title>Mail check</title>" in doc and doc.count("Plotly.newPlot") == 1


def test_cli_report_user_errors(run_cli, tmp_path):
    res = run_cli("report", tmp_path / "nope.pcap", "-o", tmp_path / "r.html")
    err = " ".join(res.stderr.split())          # the shared error console may wrap long lines
    assert res.exit_code == 2 and "nope.pcap: no such file" in err and "Traceback" not in err
    res = run_cli("report", corpus_path("captures/zeek/smtp.pcap"), "-o", tmp_path / "nodir" / "r.html")
    assert res.exit_code == 2 and "no such directory" in " ".join(res.stderr.split())
    assert not (tmp_path / "r.html").exists()


def test_build_report_api(tmp_path):
    from dissect.reports import build_report

    a = dissect.analyze([str(corpus_path("captures/zeek/http/get.pcap"))])
    p = build_report(a, tmp_path / "sub" / "report.html", title="API")
    assert p == tmp_path / "sub" / "report.html" and p.stat().st_size > 4_000_000
    text = p.read_text()
    assert text.count("<script") >= 3 and "http://" not in text.split("<script>")[0]


def test_to_epoch_any_datetime_resolution():
    for unit in ("ns", "us", "ms", "s"):
        s = pd.Series(pd.to_datetime([1_700_000_000.25, None], unit="s", utc=True)).astype(f"datetime64[{unit}, UTC]")
        got = agg.to_epoch(s)
        assert got[0] == pytest.approx(1_700_000_000.25 if unit in ("ns", "us", "ms") else 1_700_000_000.0)
        assert np.isnan(got[1])


@pytest.mark.slow
def test_no_section_fails_on_any_real_capture():
    """Every corpus capture (in reports of 5 neighbouring captures: one report each would take minutes) and
    the bundled samples together: no block may fail."""
    from conftest import corpus_captures

    samples = sorted(str(p) for p in SAMPLES.rglob("*")
                     if p.is_file() and p.name.endswith((".pcap", ".pcapng", ".pcap.gz")))
    corpus = [str(p) for p in corpus_captures()]
    runs = [corpus[i:i + 5] for i in range(0, len(corpus), 5)] + ([samples] if samples else [])
    if not runs:
        pytest.skip("neither the shared corpus nor the samples are present")
    failures = {}
    seen = set()
    for paths in runs:
        rep = render_report(dissect.analyze(paths))
        seen.update(rep.sections)
        if rep.failures:
            failures["samples" if paths is samples else ", ".join(Path(x).name for x in paths)] = rep.failures
    assert failures == {}
    assert seen == {"overview", "mail", "http", "snmp", "anomalies"}


def test_every_chart_has_a_title_and_axis_titles():
    import json

    paths = [corpus_path(r) for r in ("captures/zeek/smtp.pcap", "captures/zeek/http/methods.pcap",
                                      "captures/zeek/snmp/snmpv2_get_bulk.pcap",
                                      "captures/zeek/smtp-mail-transactions-invalid.pcap")]
    rep = render_report(dissect.analyze([str(p) for p in paths]))
    assert rep.failures == [] and set(rep.sections) == {"overview", "mail", "http", "snmp", "anomalies"}
    specs = [json.loads(m) for m in re.findall(r'<script type="application/json" class="figdata"[^>]*>(.*?)</script>',
                                               rep.html, flags=re.S)]
    assert len(specs) == rep.charts >= 12
    for spec in specs:
        lay = spec["layout"]
        assert lay["title"]["text"].strip()
        assert lay["xaxis"]["title"]["text"].strip() and lay["yaxis"]["title"]["text"].strip(), lay["title"]
        assert spec["data"] and all(len(t.get("x") or t.get("z") or []) > 0 for t in spec["data"])
        n_points = sum(len(t.get("x") or []) + sum(len(r) for r in t.get("z") or []) for t in spec["data"])
        assert n_points <= 5000                                   # aggregated, never per packet/flow
    units = " ".join(s["layout"]["yaxis"]["title"]["text"] + " " + s["layout"]["xaxis"]["title"]["text"]
                     for s in specs)
    assert "(ms)" in units and "bytes" in units and "time (UTC)" in units


def test_traffic_over_time_exact_line_from_the_pipeline_timeline():
    a = dissect.analyze([str(corpus_path("captures/zeek/http/206_example_b.pcap"))])
    tl = a.stats.timeline
    t = agg.traffic_over_time(a.flows, timeline=tl)
    assert t["width"] >= 1 and t["exact"] is not None
    assert t["exact"]["packets"].sum() == a.stats.packets == 1556       # capinfos: 1556 packets
    assert t["exact"]["bytes"].sum() == a.stats.bytes
    # the spread bars keep every flow byte too
    assert sum(v["bytes"].sum() for v in t["series"].values()) == pytest.approx(agg.flow_bytes(a.flows).sum())


def test_long_captured_strings_are_cut_in_cells_and_labels():
    from dissect.reports import charts
    from dissect.reports.html import MAX_CELL_CHARS, Table

    long_uri = "/" + "a" * 70_000
    cell = Table("t", pd.DataFrame({"uri": [long_uri]})).render()
    assert len(cell) < 2000 and f"(+{len(long_uri) - MAX_CELL_CHARS} characters)" in cell
    labs = charts._labels(["x" * 100, "x" * 100 + "y", "short"])
    assert len(set(labs)) == 3 and all(len(x) <= 70 for x in labs)
