"""The foundation commands through typer's CliRunner: summary, flows, follow, export, caps, and
every error case (one line on stderr, non-zero exit, never a traceback)."""

from __future__ import annotations

import json
import os
import re

import pytest

from conftest import corpus_path

GET = "captures/zeek/http/get.pcap"
GET_UID_RE = re.compile(r"\b(C[0-9A-Za-z]{10,20})\b")


def one_line_error(res, *words):
    assert res.exit_code != 0, res
    assert res.stderr.startswith("dissect: error: ") or res.stderr.startswith("Usage:") or \
        "Error" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    flat = " ".join(res.stderr.split())
    for w in words:
        assert w in flat, (w, res.stderr)


def get_uid(run_cli, path):
    res = run_cli("flows", path)
    assert res.exit_code == 0, res
    return GET_UID_RE.findall(res.stdout)


# -- happy paths ------------------------------------------------------------------------------
def test_summary(run_cli):
    res = run_cli("summary", corpus_path(GET))
    assert res.exit_code == 0, res
    out = res.stdout
    assert "packets" in out and "14" in out
    assert "6,087" in out                           # bytes on the wire (capinfos: 6087)
    assert "EN10MB (1)" in out
    assert "141.142.228.5" in out and "192.150.187.43" in out
    assert "http" in out


def test_summary_counts_weirds_and_several_files(run_cli):
    res = run_cli("summary", corpus_path("captures/zeek/http/bro.org.pcap"), corpus_path(GET))
    assert res.exit_code == 0, res
    assert "765" in res.stdout                      # 751 + 14 packets
    assert "http_content_gap" in res.stdout


def test_flows_table_and_filters(run_cli):
    p = corpus_path("captures/zeek/smtp.pcap")
    res = run_cli("flows", p)
    assert res.exit_code == 0, res
    assert "Flows (9)" in res.stdout
    assert "ShAdDaTFf" in res.stdout and "74.53.140.153:25" in res.stdout
    res = run_cli("flows", p, "--service", "smtp")
    assert "Flows (2)" in res.stdout
    res = run_cli("flows", p, "--proto", "udp")
    assert "Flows (2)" in res.stdout
    res = run_cli("flows", p, "--host", "10.10.1.4", "--limit", "1")
    assert "Flows (3)" in res.stdout and "2 more flows" in res.stdout


def test_follow_text_both_directions_in_order(run_cli):
    p = corpus_path(GET)
    (uid,) = get_uid(run_cli, p)
    res = run_cli("follow", p, "--flow", uid)
    assert res.exit_code == 0, res
    out = res.stdout
    req = out.index("GET /download/CHANGES.bro-aux.txt HTTP/1.1")
    resp = out.index("HTTP/1.1 200 OK")
    assert out.index(">>> 141.142.228.5:59856 -> 192.150.187.43:80") < req < \
        out.index("<<< 192.150.187.43:80 -> 141.142.228.5:59856") < resp
    assert "originator sent 136 bytes, responder 5,007 bytes" in out


def test_follow_raw_and_hex(run_cli):
    p = corpus_path(GET)
    (uid,) = get_uid(run_cli, p)
    res = run_cli("follow", p, "--flow", uid, "--raw", "--direction", "orig")
    assert res.exit_code == 0
    assert res.stdout_bytes.startswith(b"GET /download/CHANGES.bro-aux.txt HTTP/1.1\r\n")
    assert len(res.stdout_bytes) == 136
    res = run_cli("follow", p, "--flow", uid, "--hex")
    assert res.exit_code == 0
    assert "00000000  47 45 54 20" in res.stdout          # "GET "


def test_follow_marks_gaps(run_cli):
    p = corpus_path("captures/zeek/http/bro.org.pcap")
    import dissect
    a = dissect.analyze(p)
    (f,) = [f for f in a.records["flows"] if f.missed_bytes]
    res = run_cli("follow", p, "--flow", f.uid)
    assert res.exit_code == 0
    assert "[7240 bytes missing]" in res.stdout


def test_follow_escapes_control_characters(run_cli):
    p = corpus_path("captures/zeek/smtp.pcap")
    import dissect
    a = dissect.analyze(p)
    uid = [f.uid for f in a.records["flows"] if f.service == "smtp"][0]
    res = run_cli("follow", p, "--flow", uid)
    assert res.exit_code == 0
    assert "\x1b" not in res.stdout and "\r" not in res.stdout


@pytest.mark.parametrize("fmt,suffix", [("csv", ".csv"), ("parquet", ".parquet"), ("json", ".jsonl")])
def test_export_every_table(run_cli, tmp_path, fmt, suffix):
    from dissect.pipeline import load_tables

    out = tmp_path / "out"
    res = run_cli("export", corpus_path("captures/zeek/smtp.pcap"), "-o", out, "--format", fmt)
    assert res.exit_code == 0, res
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(f"{t}{suffix}" for t in load_tables())
    if fmt == "csv":
        import pandas as pd
        df = pd.read_csv(out / "flows.csv")
        assert len(df) == 9 and df["ts"].iloc[0].endswith("Z")
        assert set(df["history"].dropna()) >= {"ShAdDaTFf", "ShAdDa"}
    elif fmt == "parquet":
        import pyarrow.parquet as pq
        t = pq.read_table(out / "flows.parquet")
        assert t.num_rows == 9
        assert str(t.schema.field("ts").type) == "timestamp[ns, tz=UTC]"
        assert str(t.schema.field("orig_bytes").type) == "int64"
        assert t.schema.field("uid").metadata[b"doc"].startswith(b"Flow id")
    else:
        rows = [json.loads(x) for x in (out / "flows.jsonl").read_text().splitlines()]
        assert len(rows) == 9 and all(r["uid"].startswith("C") for r in rows)
        assert (out / "weirds.jsonl").read_text() == ""


def test_caps(run_cli):
    res = run_cli("caps")
    assert res.exit_code == 0
    assert "tcp_ooo_bytes" in res.stdout and "4,194,304" in res.stdout
    assert "buffered out-of-order bytes per direction" in res.stdout


def test_cap_option_applies(run_cli):
    res = run_cli("summary", corpus_path("captures/zeek/http/methods.pcap"), "--cap", "max_flows=5")
    assert res.exit_code == 0
    assert "flow_cap_evicted" in res.stdout


def test_truncated_capture_warns_and_succeeds(run_cli):
    p = corpus_path("captures/suricata-verify/http-mime-truncated/input.pcap")
    res = run_cli("flows", p)
    assert res.exit_code == 0, res
    assert "capture truncated" in res.stderr and "2696 packets" in " ".join(res.stderr.split())
    assert "Flows (1)" in res.stdout


def test_stdin(run_cli):
    data = corpus_path(GET).read_bytes()
    res = run_cli("flows", "-", input=data)
    assert res.exit_code == 0, res
    assert "ShADadFf" in res.stdout


# -- errors -----------------------------------------------------------------------------------
def test_missing_file(run_cli, tmp_path):
    one_line_error(run_cli("summary", tmp_path / "nope.pcap"), "no such file")


def test_directory(run_cli, tmp_path):
    one_line_error(run_cli("flows", tmp_path), "is a directory")


def test_not_a_capture(run_cli, tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello, this is not a capture file\n" * 10)
    for cmd in ("summary", "flows", "export"):
        args = [cmd, p] + (["-o", tmp_path / "x"] if cmd == "export" else [])
        one_line_error(run_cli(*args), "notes.txt")


def test_empty_file(run_cli, tmp_path):
    p = tmp_path / "empty.pcap"
    p.write_bytes(b"")
    one_line_error(run_cli("flows", p), "empty.pcap")


def test_permission_denied(run_cli, tmp_path, monkeypatch):
    p = tmp_path / "secret.pcap"
    p.write_bytes(corpus_path(GET).read_bytes())
    p.chmod(0)
    if os.geteuid() != 0:
        one_line_error(run_cli("summary", p), "permission denied")
    # root reads everything: simulate the check failing
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, *a, **k: False if str(path) == str(p) else real(path, mode))
    one_line_error(run_cli("flows", p), "permission denied")


def test_permission_denied_while_opening(tmp_path, monkeypatch):
    """The pipeline turns an OSError from the reader into one CaptureError line."""
    import dissect.io
    from dissect.errors import CaptureError
    from dissect.pipeline import analyze

    def deny(paths, infos=None, on_weird=None):
        raise PermissionError(13, "Permission denied", str(paths[0]))

    monkeypatch.setattr(dissect.io, "read_frames", deny)
    with pytest.raises(CaptureError, match="permission denied"):
        analyze([str(tmp_path / "x.pcap")])


def test_unknown_flow_uid(run_cli):
    one_line_error(run_cli("follow", corpus_path(GET), "--flow", "CdoesNotExist1234"), "no flow with uid")
    one_line_error(run_cli("follow", corpus_path(GET), "--flow", "../etc"), "--flow expects a flow uid")


def test_follow_icmp_flow_has_no_stream(run_cli):
    p = corpus_path("captures/zeek/smtp.pcap")
    import dissect
    uid = [f.uid for f in dissect.analyze(p).records["flows"] if f.proto == "icmp"][0]
    one_line_error(run_cli("follow", p, "--flow", uid), "is icmp")


@pytest.mark.parametrize("value,words", [("smtp", ["PROTO:PORT"]), ("bogus:25", ["unknown protocol 'bogus'"]),
                                         ("smtp:99999", ["PROTO:PORT"])])
def test_bad_decode_as(run_cli, value, words):
    for cmd in ("summary", "flows"):
        one_line_error(run_cli(cmd, corpus_path(GET), "--decode-as", value), *words)


def test_bad_cap(run_cli):
    one_line_error(run_cli("flows", corpus_path(GET), "--cap", "nonsense=3"), "unknown cap")


def test_bad_export_format(run_cli, tmp_path):
    one_line_error(run_cli("export", corpus_path(GET), "-o", tmp_path, "--format", "xml"), "--format")
    f = tmp_path / "file"
    f.write_text("x")
    one_line_error(run_cli("export", corpus_path(GET), "-o", f), "not a directory")


def test_flows_narrow_terminal_layout(run_cli, monkeypatch):
    """In an 80-column terminal the table switches to fewer, two-line columns."""
    import sys

    from rich.console import Console

    import dissect.cli.cmd_flows as cf

    monkeypatch.setattr(cf, "out_console", lambda: Console(width=80, file=sys.stdout, highlight=False))
    res = run_cli("flows", corpus_path("captures/zeek/smtp.pcap"))
    assert res.exit_code == 0, res
    lines = res.stdout.splitlines()
    assert max(len(x) for x in lines) <= 80
    assert any("CREtv8r4RgmlqK1Tz" in x and "10.10.1.4:1470" in x and "smtp" in x for x in lines)
    assert any("74.53.140.153:25" in x for x in lines)


def test_export_optional_tables(run_cli, tmp_path):
    p = corpus_path("captures/zeek/http/get.pcap")
    res = run_cli("export", p, "-o", tmp_path / "plain")
    assert res.exit_code == 0, res
    assert (tmp_path / "plain" / "http_headers.csv").read_text().count("\n") == 1     # header line only
    res = run_cli("export", p, "-o", tmp_path / "full", "--http-headers", "--credentials")
    assert res.exit_code == 0, res
    assert (tmp_path / "full" / "http_headers.csv").read_text().count("\n") > 5
