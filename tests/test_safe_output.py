"""Nothing from a hostile capture reaches the analyst's machine: files, terminal, browser.

One capture (hand-built: the hostile strings are the point) carries an SMTP session (AUTH PLAIN with
a password, a recipient refusal, a message whose attachments are named ``../../..``, ``/etc/passwd``,
``CON``, a right-to-left override, a NUL, 300 characters...), an HTTP exchange (``<script>`` in
the URI, ANSI escapes in headers, a ``Content-Disposition`` path) and SNMP v2c with a secret
community; every string also carries ANSI/OSC escapes, control characters and rich markup.

* ``dissect extract`` writes only inside the output folder, never overwrites (a second run
  adds new names), and no name comes from the capture as a path;
* every CLI command's output has no escape or control character and shows rich markup literally;
* the HTML report shows every ``<script>`` as text;
* secrets (the AUTH password, the community, SNMPv3 passwords) are masked in the terminal, the
  report and the exports unless ``--show-secrets``; a keys file readable by others is warned about.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import struct
from pathlib import Path

import pytest

from test_io_build import eth, ipv4, pcap_bytes, tcp, udp

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

PASSWORD = "S3cretPassW0rd"
COMMUNITY = b"c0mmSecret<script>alert(5)</script>\x1b[31m"   # not printable: shown as hex
COMMUNITY2 = b"Pr1ntableC0mmunity"                                # printable: shown as text
SECRET_TEXT = ("c0mmSecret", COMMUNITY.hex()[:20], "Pr1ntableC0mm")
ESC = "\x1b[31m"
SCRIPT = "<script>alert(1)</script>"
MARKUP = "[bold red]markup[/bold red]"
RLO = "\u202e"

# -------------------------------------------------------------------------- the capture


def _session(frames, t, cli, srv, cport, sport, exchanges):
    seq = {0: 1000, 1: 50000}

    def seg(d, flags, payload=b""):
        nonlocal t
        t += 0.001
        src, dst, sp, dp = (cli, srv, cport, sport) if d == 0 else (srv, cli, sport, cport)
        frames.append((t, eth(ipv4(tcp(sp, dp, seq[d], seq[1 - d], flags, payload), src=src, dst=dst))))
        seq[d] = (seq[d] + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF

    seg(0, 0x02)
    seq[1] -= 0
    seg(1, 0x12)
    seg(0, 0x10)
    for d, data in exchanges:
        for i in range(0, len(data), 1400):
            seg(d, 0x18, data[i:i + 1400])
    seg(0, 0x11)
    seg(1, 0x11)
    seg(0, 0x10)
    return t


def _mime_message() -> bytes:
    subj = base64.b64encode(f"{ESC}{SCRIPT} {MARKUP} \x07bell".encode()).decode()
    payload = base64.b64encode(b"#!/bin/sh\necho pwned\n").decode()
    names = ['"../../../../tmp/pwned.sh"', '"/etc/passwd"', '"CON"', '"aux.txt"',
             "*=utf-8''evil%E2%80%AEgnp.exe", "*=utf-8''nul%00byte.txt", '"' + "A" * 300 + '.txt"',
             '"..\\\\..\\\\windows\\\\system32\\\\x.dll"', '"\x1b[2Jansi.txt"', '"<script>x.html"']
    parts = [f"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello {SCRIPT}\r\n"]
    for n in names:
        key = "filename" + n if n.startswith("*") else "filename=" + n
        parts.append(f"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; {key}\r\n"
                     f"Content-Transfer-Encoding: base64\r\n\r\n{payload}\r\n")
    head = (f'From: "{ESC}Evil {MARKUP}" <evil@evil.example>\r\nTo: ok@x.example\r\n'
            f"Subject: =?utf-8?b?{subj}?=\r\nMessage-ID: <id-{SCRIPT}@evil>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=B\r\n\r\n")
    return (head + "".join(parts) + "--B--\r\n").encode("utf-8")


def _ber(tag, content):
    n = len(content)
    if n < 128:
        return bytes([tag, n]) + content
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(b)]) + b + content


def _snmp(tag, rid, value: bytes, community=COMMUNITY):
    vb = _ber(0x30, _ber(6, b"\x2b\x06\x01\x02\x01\x01\x01\x00") + value)
    pdu = _ber(tag, _ber(2, bytes([rid])) + _ber(2, b"\0") + _ber(2, b"\0") + _ber(0x30, vb))
    return _ber(0x30, _ber(2, b"\x01") + _ber(4, community) + pdu)


def build_capture(path: Path) -> Path:
    frames: list = []
    auth = base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode()
    smtp = [
        (1, f"220 mx.evil {ESC}ESMTP{MARKUP}\r\n".encode()),
        (0, f"EHLO \x1b]0;pwned\x07host{SCRIPT}\r\n".encode()),
        (1, b"250-mx\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n"),
        (0, f"AUTH PLAIN {auth}\r\n".encode()),
        (1, b"235 2.7.0 Authentication successful\r\n"),
        (0, b'MAIL FROM:<"<script>alert(1)</script>"@evil.example>\r\n'),
        (1, b"250 ok\r\n"),
        (0, b"RCPT TO:<victim@x.example>\r\n"),
        (1, f"550 5.1.1 \x1b[2J{SCRIPT} {MARKUP} no such user\r\n".encode()),
        (0, b"RCPT TO:<ok@x.example>\r\n"),
        (1, b"250 ok\r\n"),
        (0, b"DATA\r\n"),
        (1, b"354 go\r\n"),
        (0, _mime_message() + b"\r\n.\r\n"),
        (1, b"250 2.0.0 queued\r\n"),
        (0, b"QUIT\r\n"),
        (1, b"221 bye\r\n"),
    ]
    t = _session(frames, 1_700_000_000.0, "10.0.0.1", "10.0.0.2", 40001, 25, smtp)
    body = f"<html><body>{SCRIPT}</body></html>".encode()
    http = [
        (0, (f"GET /{SCRIPT}?q=\x1b[2J HTTP/1.1\r\nHost: evil.example{ESC}\r\nUser-Agent: {MARKUP}{SCRIPT}\r\n"
             f"Referer: http://x/\x07{RLO}\r\n\r\n").encode()),
        (1, (f"HTTP/1.1 200 O{ESC}K{SCRIPT}\r\nContent-Type: text/html\r\n"
             f'Content-Disposition: attachment; filename="../../http-pwned.html"\r\n'
             f"Content-Length: {len(body)}\r\n\r\n").encode() + body),
    ]
    t = _session(frames, t + 1, "10.0.0.1", "10.0.0.3", 40002, 80, http)
    get = _snmp(0xA0, 7, b"\x05\x00")
    resp = _snmp(0xA2, 7, _ber(4, f"{ESC}{SCRIPT}{MARKUP}\x00".encode()))
    get2 = _snmp(0xA0, 8, b"\x05\x00", COMMUNITY2)
    resp2 = _snmp(0xA2, 8, _ber(4, b"plain"), COMMUNITY2)
    for d, dg in ((0, get), (1, resp), (0, get2), (1, resp2)):
        t += 0.01
        src, dst, sp, dp = ("10.0.0.1", "10.0.0.4", 40003, 161) if d == 0 else ("10.0.0.4", "10.0.0.1", 161, 40003)
        frames.append((t, eth(ipv4(udp(sp, dp, dg), proto=17, src=src, dst=dst))))
    path.write_bytes(pcap_bytes(frames))
    return path


@pytest.fixture(scope="module")
def cap(tmp_path_factory) -> Path:
    return build_capture(tmp_path_factory.mktemp("hostile") / "hostile.pcap")


@pytest.fixture(scope="module")
def analysis(cap):
    import dissect
    return dissect.analyze([str(cap)])


def test_the_capture_is_dissected(analysis):
    """The hostile strings really reach the tables (otherwise the checks below prove nothing)."""
    assert len(analysis.smtp_transactions) == 1
    assert len(analysis.http_transactions) == 1
    assert len(analysis.snmp_pdus) == 4
    assert len(analysis.mime_parts) >= 11
    assert any(SCRIPT in str(u) for u in analysis.http_transactions["uri"])


# -------------------------------------------------------------------------- extraction

def _tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_extraction_stays_inside_and_never_overwrites(run_cli, cap, tmp_path):
    outer = tmp_path / "outer"
    out = outer / "a" / "b" / "c" / "out"
    out.mkdir(parents=True)
    planted = out / "keep.txt"
    planted.write_bytes(b"mine")
    r = run_cli("extract", str(cap), "-o", str(out))
    assert r.exit_code == 0, r
    files = _tree(out)
    # everything is inside out/, flat, nothing else in the tree above it
    assert set(_tree(outer)) == {f"a/b/c/out/{k}" for k in files}
    assert not list(Path("/tmp").glob("pwned.sh"))
    assert len(files) >= 12, files.keys()        # the .eml, 11 parts, the HTTP object
    for name in files:
        assert "/" not in name and "\\" not in name and ".." not in name.replace("...", "")
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u202a\u202b\u202c\u202d\u202e" for c in name), name
        assert len(name.encode()) <= 255
        stem = name.split(".")[0].upper()
        assert stem not in ("CON", "PRN", "AUX", "NUL") and not re.fullmatch(r"(COM|LPT)\d", stem), name
    assert files["keep.txt"] == b"mine"
    pwned = [v for v in files.values() if v == b"#!/bin/sh\necho pwned\n"]
    assert len(pwned) == 10                       # every attachment kept, under a safe name
    # a second run into the same folder: nothing overwritten, the same objects again under new names
    r = run_cli("extract", str(cap), "-o", str(out))
    assert r.exit_code == 0, r
    again = _tree(out)
    for k, v in files.items():
        assert again[k] == v
    assert len(again) == 2 * len(files) - 1


# -------------------------------------------------------------------------- terminal

_BAD = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _commands(cap, tmp_path, analysis):
    uids = list(analysis.flows["uid"])
    yield ("summary", str(cap))
    yield ("flows", str(cap))
    for uid in uids:
        yield ("follow", str(cap), "--flow", uid)
        yield ("follow", str(cap), "--flow", uid, "--hex")
    yield ("smtp", str(cap))
    yield ("mail", str(cap))
    yield ("mail", str(cap), "--failed")
    yield ("http", str(cap))
    yield ("http", str(cap), "--har", str(tmp_path / "out.har"))
    yield ("snmp", str(cap))
    yield ("snmp", "audit", str(cap))
    yield ("extract", str(cap), "-o", str(tmp_path / "x"))
    yield ("export", str(cap), "-o", str(tmp_path / "e"), "--format", "csv")
    yield ("report", str(cap), "-o", str(tmp_path / "r.html"))


def test_terminal_output_is_neutralised(run_cli, cap, tmp_path, analysis):
    seen_markup = False
    for args in _commands(cap, tmp_path, analysis):
        r = run_cli(*args, env={"COLUMNS": "400"})
        assert r.exit_code == 0, (args, r)
        out = r.output
        bad = _BAD.findall(out)
        assert not bad, (args, bad[:5], out[:2000])
        assert "\x1b" not in out and "\x07" not in out
        # rich markup from the capture is shown as text, never interpreted (the text stays)
        if "red]markup" in out:
            seen_markup = True
    assert seen_markup, "no command showed the captured rich markup literally"


# -------------------------------------------------------------------------- HTML report

def _html(run_cli, cap, tmp_path, *extra) -> str:
    out = tmp_path / f"report{len(extra)}.html"
    r = run_cli("report", str(cap), "-o", str(out), *extra)
    assert r.exit_code == 0, r
    return out.read_text(encoding="utf-8")


def test_report_escapes_every_script(run_cli, cap, tmp_path):
    html = _html(run_cli, cap, tmp_path)
    assert "alert(" in html or "alert\\u0028" in html    # the captured strings are in the report...
    for m in re.finditer(r"<script\b[^>]*>", html, re.I):
        # ...but every <script> element of the page is the report's own (no captured one opens)
        tail = html[m.end():m.end() + 40]
        assert not tail.startswith("alert("), tail
    assert "<script>alert(" not in html
    assert "</script>\x1b" not in html and "\x1b" not in html


# -------------------------------------------------------------------------- secrets

def _secret_forms():
    return [PASSWORD, base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode(), *SECRET_TEXT]


def test_secrets_masked_in_terminal_report_and_exports(run_cli, cap, tmp_path, analysis):
    for args in _commands(cap, tmp_path, analysis):
        if args[0] == "follow":     # the raw stream, as Wireshark's Follow shows it (by design)
            continue
        r = run_cli(*args, env={"COLUMNS": "400"})
        for s in _secret_forms():
            assert s not in r.output, (args, s)
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    for s in _secret_forms():
        assert s not in html, s
    for fmt in ("csv", "json"):
        d = tmp_path / f"exp-{fmt}"
        assert run_cli("export", str(cap), "-o", str(d), "--format", fmt).exit_code == 0
        blob = b"".join(p.read_bytes() for p in d.rglob("*") if p.is_file()).decode("utf-8", "replace")
        for s in _secret_forms():
            assert s not in blob, (fmt, s)


def test_show_secrets_reveals_them(run_cli, cap, tmp_path):
    html = _html(run_cli, cap, tmp_path, "--show-secrets")
    r = run_cli("snmp", str(cap), "--show-secrets", env={"COLUMNS": "400"})
    d = tmp_path / "exp-secrets"
    assert run_cli("export", str(cap), "-o", str(d), "--format", "json", "--show-secrets").exit_code == 0
    blob = b"".join(p.read_bytes() for p in d.rglob("*") if p.is_file()).decode("utf-8", "replace")
    for where in (html, r.output, blob):
        assert "Pr1ntableC0mmunity" in where
        assert COMMUNITY.hex()[:20] in where or "c0mmSecret" in where


V3_PASSWORDS = None


def _v3_passwords() -> list[str]:
    text = (SAMPLES / "snmp" / "keys.toml").read_text()
    return sorted(set(re.findall(r'password\s*=\s*"([^"]+)"', text)))


def test_snmpv3_passwords_never_shown(run_cli, tmp_path):
    keys = tmp_path / "keys.toml"
    shutil.copyfile(SAMPLES / "snmp" / "keys.toml", keys)
    keys.chmod(0o600)
    cap = SAMPLES / "snmp" / "snmp-v3.pcap"
    pw = _v3_passwords()
    assert len(pw) >= 4
    outs = []
    for args in (("snmp", str(cap), "--snmp-keys", str(keys)), ("snmp", "audit", str(cap), "--snmp-keys", str(keys)),
                 ("report", str(cap), "--snmp-keys", str(keys), "-o", str(tmp_path / "v3.html")),
                 ("export", str(cap), "--snmp-keys", str(keys), "-o", str(tmp_path / "v3"), "--format", "csv")):
        r = run_cli(*args, env={"COLUMNS": "400"})
        assert r.exit_code == 0, (args, r)
        outs.append(r.output)
    outs.append((tmp_path / "v3.html").read_text(encoding="utf-8"))
    outs += [p.read_text(errors="replace") for p in (tmp_path / "v3").glob("*")]
    blob = "\n".join(outs)
    assert "decrypted" in blob               # the keys were used...
    for p in pw:
        assert p not in blob, p             # ...and no password shows


def test_loose_keys_file_permissions_warn(run_cli, tmp_path):
    keys = tmp_path / "keys.toml"
    shutil.copyfile(SAMPLES / "snmp" / "keys.toml", keys)
    cap = SAMPLES / "snmp" / "snmp-v1v2c.pcap"
    keys.chmod(0o644)
    for args in (("snmp", str(cap)), ("snmp", "audit", str(cap)), ("report", str(cap), "-o", str(tmp_path / "r.html")),
                 ("export", str(cap), "-o", str(tmp_path / "e"))):
        r = run_cli(*args, "--snmp-keys", str(keys))
        assert r.exit_code == 0, (args, r)
        assert "chmod 600" in r.stderr and "readable by group/others" in r.stderr, (args, r.stderr)
    keys.chmod(0o600)
    r = run_cli("snmp", str(cap), "--snmp-keys", str(keys))
    assert "readable by" not in r.output


def test_auth_credentials_masked_unless_show_secrets(run_cli, cap, tmp_path):
    r = run_cli("smtp", str(cap), "--credentials", env={"COLUMNS": "400"})
    assert r.exit_code == 0, r
    assert "alice" in r.output and PASSWORD not in r.output          # the row is there, masked
    r = run_cli("smtp", str(cap), "--credentials", "--show-secrets", env={"COLUMNS": "400"})
    assert PASSWORD in r.output
    for show, expect in ((False, False), (True, True)):
        d = tmp_path / f"cred-{show}"
        args = ["export", str(cap), "-o", str(d), "--credentials", "--format", "json"] + (["--show-secrets"] if show else [])
        r = run_cli(*args)
        if r.exit_code and "--credentials" in r.output:
            pytest.skip("export has no --credentials option in this tree")
        assert r.exit_code == 0, r
        blob = b"".join(p.read_bytes() for p in d.rglob("*") if p.is_file()).decode("utf-8", "replace")
        assert "alice" in blob
        assert (PASSWORD in blob) is expect, show


def test_csv_export_defuses_spreadsheet_formulas(tmp_path):
    """Captured strings that would start a formula (=, +, -, @) are exported as text (leading ')."""
    import csv

    from dissect.export import export
    from dissect.pipeline import Analysis, RunStats
    from dissect.options import Options
    from dissect.weird import Weird

    rows = [Weird(ts=1.0, uid="C1", name="smtp_bad_reply", source="smtp", addl='=HYPERLINK("http://x","y")'),
            Weird(ts=2.0, uid="C2", name="smtp_bad_reply", source="smtp", addl="@SUM(1+1)"),
            Weird(ts=3.0, uid="C3", name="smtp_bad_reply", source="smtp", addl="plain text")]
    a = Analysis({"weirds": rows}, [], RunStats(), Options())
    export(a, tmp_path, "csv", tables=["weirds"])
    with open(tmp_path / "weirds.csv", newline="") as fh:
        got = [r["addl"] for r in csv.DictReader(fh)]
    assert got == ["'=HYPERLINK(\"http://x\",\"y\")", "'@SUM(1+1)", "plain text"]
    # Parquet keeps the exact value (no spreadsheet involved)
    export(a, tmp_path, "parquet", tables=["weirds"])
    import pandas as pd
    assert list(pd.read_parquet(tmp_path / "weirds.parquet")["addl"])[0] == '=HYPERLINK("http://x","y")'
