"""Interop captures (tests/data/interop, made by make_interop.py with programs other than the ones behind
samples/): our tables against what those programs logged or printed.

- postfix-relay.pcap: Postfix 3.7 (smtpd on :10025, its smtp(8) client relaying to a catch-all aiosmtpd on
  :10026, the bounce it generated); oracles: Postfix's own mail log (postfix-maillog.txt) and the catch-all's
  record of every message it received (postfix-catchall.jsonl: envelope, size, SHA-256).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

import dissect

DATA = Path(__file__).resolve().parent / "data" / "interop"
_cache: dict = {}


def analysis(name: str, **opts):
    key = (name, tuple(sorted(opts.items())))
    if key not in _cache:
        _cache[key] = dissect.analyze([str(DATA / name)], **opts)
    return _cache[key]


# ------------------------------------------------------------------------------------------- Postfix
MAILLOG = (DATA / "postfix-maillog.txt").read_text(encoding="utf-8").splitlines()
CATCHALL = [json.loads(line) for line in (DATA / "postfix-catchall.jsonl").read_text().splitlines()]


def pf():
    return analysis("postfix-relay.pcap")


def by_port(recs, port, attr="server_port"):
    return [r for r in recs if getattr(r, attr) == port]


def pf_txns(port):
    a = pf()
    uids = {s.uid for s in a.records["smtp_sessions"] if s.server_port == port}
    return sorted((t for t in a.records["smtp_transactions"] if t.uid in uids), key=lambda t: (t.ts, t.trans_depth))


def test_postfix_queue_ids_match_the_mail_log():
    # every "queued as QID" reply we decoded is a queue id Postfix logged for a client=localhost message
    logged, session, tls = [], [], set()
    for line in MAILLOG:
        m = re.search(r"smtpd\[\d+\]: ([0-9A-F]+): client=", line)
        if m:
            session.append(m.group(1))
        elif "smtpd[" in line and "disconnect from" in line:
            (tls.update if "starttls=1" in line else logged.extend)(session)
            session = []
    assert len(tls) == 1            # the STARTTLS session's reply is encrypted
    rejected_in_cleanup = {m.group(1) for line in MAILLOG
                           for m in [re.search(r"cleanup\[\d+\]: ([0-9A-F]+): reject:", line)] if m}
    got = [re.search(r"queued as ([0-9A-F]+)", t.data_reply_text or "") for t in pf_txns(10025)]
    got = [m.group(1) for m in got if m]
    assert got == [q for q in logged if q not in rejected_in_cleanup]
    assert len(got) == 5


def test_postfix_rcpt_rejections_match_the_mail_log():
    a = pf()
    rc = {r.address: r for r in a.records["smtp_recipients"] if r.reply_code and r.reply_code >= 400}
    for line in MAILLOG:
        m = re.search(r"reject: RCPT from [^:]+: (\d{3}) (\d\.\d\.\d) <([^>]+)>: (.*?); from=", line)
        if not m:
            continue
        code, enh, addr, text = m.groups()
        r = rc[addr]
        assert (r.reply_code, r.enhanced_status) == (int(code), enh)
        assert r.reply_text.endswith(text)
        assert r.outcome == ("rejected" if code[0] == "5" else "tempfail")
    # Postfix does not log smtpd_recipient_limit; its reply text is fixed in smtpd.c
    dave = rc["dave@example.net"]
    assert (dave.reply_code, dave.enhanced_status, dave.reply_text) == (452, "4.5.3", "4.5.3 Error: too many recipients")


def test_postfix_header_checks_reject_at_end_of_data():
    line = next(x for x in MAILLOG if "cleanup" in x and "reject: header Subject:" in x)
    text = line.rsplit(": ", 1)[1]          # "5.7.1 Message content rejected by interop policy"
    t = next(t for t in pf_txns(10025) if t.subject == "REJECTME please")
    assert t.outcome == "rejected" and t.data_reply_code == 550
    assert t.data_reply_text == text and t.enhanced_status == "5.7.1"
    r = next(r for r in pf().records["smtp_recipients"] if r.address == "erin@example.net")
    assert (r.reply_code, r.final_reply_code, r.delivery) == (250, 550, "rejected")


def test_postfix_session_command_counts_match_smtpd_disconnect_lines():
    # "disconnect from ... ehlo=1 mail=2 rcpt=5 data=1/2 rset=1 noop=1 vrfy=1 quit=1 commands=13/14"
    counts = []
    for line in MAILLOG:
        m = re.search(r"smtpd\[\d+\]: disconnect from .* commands=(\d+)(?:/(\d+))?$", line)
        if m and "starttls" not in line and m.group(1) != "0":
            counts.append(int(m.group(2) or m.group(1)))
    sessions = sorted((s for s in pf().records["smtp_sessions"] if s.server_port == 10025 and not s.tls),
                      key=lambda s: s.ts)
    assert [s.commands for s in sessions] == counts
    raw = next(s for s in sessions if s.helo == "raw.example.org")
    assert list(raw.other_commands) == ["VRFY alice@example.net", "NOOP"]
    tls = [s for s in pf().records["smtp_sessions"] if s.tls]
    assert len(tls) == 1 and tls[0].helo == "tls.example.org" and tls[0].tls_bytes > 1000


def test_postfix_bdat_chunking():
    t = next(t for t in pf_txns(10025) if t.data_mode == "BDAT")
    # Postfix's reply states the byte count it received: "2.0.0 Ok: 266 bytes queued as ..."
    n = int(re.search(r"Ok: (\d+) bytes queued", t.data_reply_text).group(1))
    assert t.size == n == 266
    assert t.subject == "BDAT grüße" and "BODY=8BITMIME" in t.mail_params
    assert "CHUNKING" in next(s for s in pf().records["smtp_sessions"] if s.uid == t.uid).extensions


def test_postfix_smtputf8_address():
    t = next(t for t in pf_txns(10025) if t.message_id == "<utf8.1@example.org>")
    assert list(t.rcpt_to) == ["jörg@example.net"] and "SMTPUTF8" in t.mail_params
    assert t.subject == "Größe ünïcode" and t.outcome == "accepted"


def test_postfix_relay_leg_matches_catch_all_and_mail_log():
    # Postfix's smtp(8) client -> catch-all: what the catch-all stored, byte for byte
    delivered = [t for t in pf_txns(10026) if t.data_reply_code == 250]
    assert [(t.mail_from or "<>", list(t.rcpt_to), t.size, t.sha256) for t in delivered] == \
        [(c["mail_from"], c["rcpt_tos"], c["size"], c["sha256"]) for c in CATCHALL]
    sent = [re.search(r"status=sent \((.*)\)$", x).group(1) for x in MAILLOG if "postfix/smtp[" in x and "status=sent" in x]
    # one log line per recipient; one reply per message on the wire
    per_msg = [t.last_reply for t in delivered for _ in t.rcpt_to]
    assert per_msg == sent
    for t in delivered:
        assert t.helo == "mx.interop.test" and t.outcome == "accepted"


def test_postfix_bounce_and_its_dsn():
    # the next hop refused gone@ (bounced) and deferred later@ (451)
    failed = next(t for t in pf_txns(10026) if "gone@example.net" in t.rcpt_to)
    rc = {r.address: r for r in pf().records["smtp_recipients"] if r.uid == failed.uid}
    for line in MAILLOG:
        m = re.search(r"to=<([^>]+)>, .* dsn=(\d\.\d\.\d), status=(bounced|deferred) \(host \S+ said: (\d{3}) (.*) "
                      r"\(in reply to RCPT TO command\)\)", line)
        if m:
            addr, dsn, status, code, text = m.groups()
            assert (rc[addr].reply_code, rc[addr].enhanced_status, rc[addr].reply_text) == (int(code), dsn, text)
            assert rc[addr].outcome == ("rejected" if status == "bounced" else "tempfail")
    assert failed.accepted_count == 0 and failed.data_reply_code is None
    # Postfix's non-delivery notification (queue id from the log) to the sender, null reverse path
    qid = next(re.search(r"notification: ([0-9A-F]+)", x).group(1) for x in MAILLOG if "non-delivery notification" in x)
    bounce = next(t for t in pf_txns(10026) if t.is_bounce)
    assert bounce.mail_from == "" and list(bounce.rcpt_to) == ["sender@example.org"]
    assert bounce.message_id == re.search(rf"{qid}: message-id=(<[^>]+>)", "\n".join(MAILLOG)).group(1)
    assert bounce.message_id.endswith(f".{qid}@mx.interop.test>")
    assert bounce.subject == "Undelivered Mail Returned to Sender"
    dsn = pf().records["dsn_recipients"]
    assert len(dsn) == 1
    d = dsn[0]
    assert (d.final_recipient, d.action, d.status) == ("gone@example.net", "failed", "5.1.1")
    assert d.diagnostic_code == "smtp; 550 5.1.1 <gone@example.net>: mailbox is gone"
    assert d.reporting_mta == "mx.interop.test"
    # joins the original message (swaks' Message-Id, first of the two ids Postfix logged)
    orig_qid = next(re.search(r": ([0-9A-F]+): sender non-delivery", x).group(1) for x in MAILLOG
                    if "non-delivery notification" in x)
    orig_ids = [re.search(r"message-id=(<[^>]+>)", x).group(1) for x in MAILLOG if f"{orig_qid}: message-id=" in x]
    assert orig_ids[1] == "<bounce.1@example.org>"
    assert d.original_message_id == orig_ids[0]
    m = next(m for m in pf().records["mime_messages"] if m.is_dsn)
    assert m.content_type == "multipart/report" and m.size == CATCHALL[-1]["size"]


def test_postfix_no_weirds():
    assert [w.name for w in pf().records.get("weirds", [])] == []


# ------------------------------------------------------------------------------------------- lighttpd
# lighttpd 1.4.69 (mod_deflate zstd/br/gzip/deflate, mod_auth, mod_cgi with streamed = chunked responses),
# clients wget, curl, Python urllib, a raw pipelining socket, tinyproxy (absolute-form GET and CONNECT).
# Oracles: lighttpd's access log ("%h \"%r\" %>s %b %O \"Accept-Encoding\"") and what the clients saved
# (lighttpd-clients.json: curl's %{http_code} %{size_download}, SHA-256 of the decoded bodies, the served files).
ACCESS = [re.match(r'(\S+) "(\S+) (\S+) HTTP/(\d\.\d)" (\d{3}) (\d+|-) (\d+) "(.*)"$', line).groups()
          for line in (DATA / "lighttpd-access.log").read_text().splitlines()]
CLIENTS = json.loads((DATA / "lighttpd-clients.json").read_text())
BY_LABEL = {c["label"]: c for c in CLIENTS["clients"]}


def lt():
    return analysis("lighttpd.pcap")


def lt_server_side():
    return sorted((t for t in lt().records["http_transactions"] if t.resp_p == 10080), key=lambda t: t.ts)


def test_lighttpd_transactions_match_access_log():
    got = lt_server_side()
    assert len(got) == len(ACCESS) == 27
    for t, (host, method, uri, ver, status, body, _out, _ae) in zip(got, ACCESS):
        assert (t.orig_h, t.method, t.uri, t.version, t.status_code) == (host, method, uri, ver, int(status))
        assert not t.incomplete
        if t.transfer_encoding != "chunked":      # lighttpd's %b counts chunk framing of streamed bodies
            assert t.response_body_len == int(body), (uri, t.response_body_len, body)


def test_lighttpd_content_codings_decoded_like_curl():
    served = CLIENTS["served"]["big.txt"]
    rows = [t for t in lt_server_side() if t.uri == "/big.txt" and t.method == "GET"]
    assert [t.content_encoding for t in rows] == ["zstd", "br", "gzip", "deflate"]
    for t in rows:
        c = BY_LABEL[f"enc-{t.content_encoding}"]
        code, size_download, _ = c["curl"].split()
        assert (t.status_code, t.response_body_len) == (int(code), int(size_download))   # bytes on the wire
        assert (t.response_decoded_len, t.response_body_sha256) == (served["size"], served["sha256"]) == \
            (c["size"], c["sha256"])


@pytest.mark.parametrize("label,uri", [
    ("range-single", "/data.bin"), ("auth-401", "/private/secret.txt"), ("auth-200", "/private/secret.txt"),
    ("cgi-chunked", "/cgi/stream.sh"), ("http10", "/index.html"), ("notfound", "/missing.html"),
    ("put-405", "/index.html"), ("range-multi", "/data.bin"), ("ims-304", "/style.css")])
def test_lighttpd_bodies_match_what_curl_saved(label, uri):
    c = BY_LABEL[label]
    code, size_download, _ = c["curl"].split()
    args = c["args"]
    version = "1.0" if "-0" in args else "1.1"
    cands = [t for t in lt_server_side() if t.uri == uri and t.user_agent.startswith("curl/") and t.version == version
             and t.status_code == int(code) and (t.range or "").startswith(
                 "bytes=" + args[args.index("-r") + 1] if "-r" in args else "")]
    assert len(cands) == 1
    t = cands[0]
    assert t.response_decoded_len == int(size_download) == c["size"]
    if c["size"]:
        assert t.response_body_sha256 == c["sha256"]
    else:
        assert not t.response_body_sha256


def test_lighttpd_special_cases():
    rows = lt_server_side()
    head = next(t for t in rows if t.method == "HEAD")
    assert (head.status_code, head.response_body_len) == (200, 0)
    multi = next(t for t in rows if (t.range or "").startswith("bytes=0-9,"))
    assert multi.range == "bytes=0-9,100-199 -> bytes 0-9/4096; bytes 100-199/4096"
    assert multi.response_content_type.startswith("multipart/byteranges")
    cgi = next(t for t in rows if t.uri == "/cgi/stream.sh")
    assert cgi.transfer_encoding == "chunked"
    auth = [t for t in rows if t.uri == "/private/secret.txt"]
    assert [(t.status_code, t.auth_scheme, t.username) for t in auth] == [(401, None, None), (200, "Basic", "alice")]
    wget = [t for t in rows if t.user_agent.startswith("Wget/")]
    assert [(t.uri, t.status_code, t.location) for t in wget] == [("/dir", 301, "/dir/"),
                                                                 ("/dir/", 200, None)]
    # wget -S printed "Location: /dir/ [following]" then "Reusing existing connection to 127.0.0.1:10080."
    assert "Location: /dir/ [following]" in BY_LABEL["wget-dir"]["stderr"]
    assert len({t.uid for t in wget}) == 1
    pipe = [t for t in rows if t.user_agent == "raw-pipeline"]
    assert [(t.trans_depth, t.uri, t.status_code) for t in pipe] == [(1, "/style.css", 200), (2, "/dir/", 200)]
    assert "pipelined" in pipe[1].tags


def test_lighttpd_multipart_upload_from_urllib():
    c = BY_LABEL["urllib-upload"]
    t = next(t for t in lt_server_side() if t.method == "POST")
    # the CGI printed sha256sum of the body it read from lighttpd
    assert t.request_body_len == c["body_size"]
    assert t.request_body_sha256 == c["body_sha256"] == c["cgi_printed"].split()[0]
    assert t.user_agent.startswith("Python-urllib/")
    parts = [p for p in lt().records["mime_parts"] if p.uid == t.uid and p.filename]
    assert [(p.form_name, p.filename, p.size, p.sha256) for p in parts] == \
        [("file", "blob.bin", c["file_size"], c["file_sha256"])]


@pytest.mark.parametrize("label,method", [("expect-100", "POST"), ("chunked-put", "PUT")])
def test_lighttpd_upload_100_continue_and_chunked_request(label, method):
    c = BY_LABEL[label]
    (t,) = [t for t in lt_server_side() if t.method == method and t.uri == "/cgi/upload.sh"
            and t.user_agent.startswith("curl/")]
    # the CGI printed sha256sum of the request body lighttpd handed it (after undoing curl's chunking)
    assert t.request_body_sha256 == c["body_sha256"] == c["cgi_printed"].split()[0]
    assert t.request_body_len == c["body_size"]
    assert (t.info_code, t.status_code, t.incomplete) == (100, 200, False)   # lighttpd sent 100 Continue


def test_chromium_page_load():
    # headless Chromium asked for "gzip, deflate, br, zstd" (access log) and got zstd from mod_deflate
    assert BY_LABEL["chromium"]["rc"] == 0
    rows = [t for t in lt_server_side() if "HeadlessChrome" in (t.user_agent or "")]
    assert [(t.trans_depth, t.uri, t.status_code, t.content_encoding) for t in rows] == \
        [(1, "/index.html", 200, "zstd"), (2, "/style.css", 200, "zstd")]
    assert len({t.uid for t in rows}) == 1                     # one keep-alive connection
    for t, name in zip(rows, ("index.html", "style.css")):
        assert (t.response_decoded_len, t.response_body_sha256) == \
            (CLIENTS["served"][name]["size"], CLIENTS["served"][name]["sha256"])
    assert [a[7] for a in ACCESS if a[2] in ("/index.html", "/style.css") and a[7].startswith("gzip")] == \
        ["gzip, deflate, br, zstd"] * 2


def test_lighttpd_416_and_options_star():
    rows = lt_server_side()
    c416 = BY_LABEL["range-416"]
    r = next(t for t in rows if t.status_code == 416)
    assert r.status_code == int(c416["curl"].split()[0]) and r.response_body_len == c416["size"]
    assert r.range.startswith("bytes=5000-6000")
    opt = next(t for t in rows if t.method == "OPTIONS")
    assert (opt.uri, opt.status_code, opt.response_body_len) == ("*", 200, 0)


def test_tinyproxy_absolute_form_and_connect_tunnel():
    rows = [t for t in lt().records["http_transactions"] if t.resp_p == 10888]
    get = next(t for t in rows if t.method == "GET")
    assert get.uri == "http://127.0.0.1:10080/style.css" and get.host == "127.0.0.1:10080"
    assert get.response_body_sha256 == CLIENTS["served"]["style.css"]["sha256"]
    conn = next(t for t in rows if t.method == "CONNECT")
    assert conn.uri == "127.0.0.1:10080" and conn.status_code == 200 and "tunnel" in conn.tags
    # the tunnelled request reached lighttpd through tinyproxy's own connection
    assert ("GET", "/index.html", "1.1", 200) in [(t.method, t.uri, t.version, t.status_code) for t in lt_server_side()]


def test_lighttpd_agrees_with_tshark():
    import shutil as _sh
    import subprocess
    if not _sh.which("tshark"):
        pytest.skip("tshark not installed")
    out = subprocess.run(["tshark", "-n", "-r", str(DATA / "lighttpd.pcap"), "-d", "tcp.port==10888,http",
                          "-Y", "http.response", "-T", "fields", "-e", "tcp.srcport", "-e", "http.response.code"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    theirs = sorted(tuple(map(int, line.split("\t"))) for line in out if line.strip())
    # requests inside the CONNECT tunnel (to port 10080, which tshark does not take for HTTP there) are
    # not dissected by tshark; they are left out of the comparison
    tunnels = {t.uid for t in lt().records["http_transactions"] if "tunnel" in t.tags}
    rows = [t for t in lt().records["http_transactions"] if t.uid not in tunnels or t.method == "CONNECT"]
    # tshark lists the interim 100 Continue as a response of its own; we keep it as info_code
    ours = sorted([(t.resp_p, t.status_code) for t in rows] + [(t.resp_p, t.info_code) for t in rows if t.info_code])
    assert ours == theirs


# ------------------------------------------------------------------------------------------- SNMP
# pysnmp 7.1 agent (udp 127.0.0.1:16261 and udp6 [::1]:16261, engine id text "interop-agent") queried by
# net-snmp 5.9.3 tools; pysnmp notification originator -> net-snmp snmptrapd (v2c trap, v2c inform, v1 trap,
# v3 authPriv trap with pysnmp's engine id "interop-notifier"). Oracles: what the net-snmp tools printed
# (pysnmp-netsnmp-outputs.json, -On numeric) and snmptrapd's log (snmptrapd.log, -On).
SNMP_OUT = json.loads((DATA / "pysnmp-netsnmp-outputs.json").read_text())
TOOLS = {t["label"]: t for t in SNMP_OUT["tools"]}
INTEROP_KEYS = """
[[user]]
name = "pyAgentUser"
auth_protocol = "SHA256"
auth_password = "pyAgentAuth1"
priv_protocol = "AES"
priv_password = "pyAgentPriv1"

[[user]]
name = "pyTrapUser"
auth_protocol = "SHA"
auth_password = "pyTrapAuth1"
priv_protocol = "AES"
priv_password = "pyTrapPriv1"
"""


@pytest.fixture(scope="module")
def sn(tmp_path_factory):
    keys = tmp_path_factory.mktemp("keys") / "interop-keys.toml"
    keys.write_text(INTEROP_KEYS)
    keys.chmod(0o600)
    return dissect.analyze([str(DATA / "pysnmp-netsnmp.pcap")], snmp_keys=str(keys), show_secrets=True)


def netsnmp_value(text: str):
    """(type, value) of one net-snmp printed value, in our snmp_varbinds vocabulary."""
    text = text.strip()
    if text.startswith("No Such Object"):
        return "noSuchObject", None
    if text.startswith("No Such Instance"):
        return "noSuchInstance", None
    if text.startswith("No more variables"):
        return "endOfMibView", None
    if text == '""':
        return "octet-string", ""
    kind, _, val = text.partition(": ")
    val = val.strip()
    if kind == "STRING":
        return "octet-string", val.strip('"')
    if kind == "Hex-STRING":
        return "octet-string", bytes.fromhex(val.replace(" ", ""))
    if kind == "Timeticks":
        return "timeticks", re.match(r"\((\d+)\)", val).group(1)
    if kind == "Opaque":
        return "opaque", float(val.split(":")[1])
    return {"INTEGER": "integer", "OID": "oid", "Counter64": "counter64", "IpAddress": "ipaddress",
            "Gauge32": "gauge32", "Counter32": "counter32"}[kind], val.lstrip(".")


def ours(vb):
    if vb.type == "octet-string" and vb.value.startswith("0x"):
        return vb.type, bytes.fromhex(vb.value[2:])
    if vb.type == "octet-string" and not vb.value.isascii():
        return vb.type, vb.value.encode()
    if vb.type == "opaque":
        return vb.type, float(vb.value.split(":")[1])
    return vb.type, vb.value


def printed(label):
    out = []
    # net-snmp wraps long Hex-STRINGs over several lines
    for line in re.sub(r"\n(?!\.)", " ", TOOLS[label]["stdout"].strip()).splitlines():
        oid, _, val = line.partition(" = ")
        out.append((oid.lstrip("."), *netsnmp_value(val)))
    return out


def response_varbinds(a, requests_from_port):
    pdus = {p.pdu_index: p for p in a.records["snmp_pdus"]}
    idx = [p.pdu_index for p in pdus.values() if p.pdu_type == "response" and p.dst_p == requests_from_port]
    return [(v.oid, *ours(v)) for v in sorted(a.records["snmp_varbinds"], key=lambda v: (v.pdu_index, v.index))
            if v.pdu_index in idx]


def tool_port(a, pred):
    ports = [p.src_p for p in a.records["snmp_pdus"] if p.is_request and pred(p)]
    assert len(set(ports)) == 1, ports
    return ports[0]


@pytest.mark.parametrize("label,pred", [
    ("bulkwalk", lambda p: p.pdu_type == "getbulk" and p.max_repetitions == 10),
    ("bulkwalk-end", lambda p: p.pdu_type == "getbulk" and p.max_repetitions == 5),
    ("walk-v1", lambda p: p.version == "1"),
    ("get-v3", lambda p: p.version == "3" and p.varbind_count == 3),
    ("get-udp6", lambda p: p.dst_h == "::1"),
    ("get-latin1-community", lambda p: (p.community or "").startswith("0x")),
    ("set-readonly", lambda p: p.pdu_type == "set"),
    ("get-nosuch", lambda p: p.varbind_count == 2 and p.dst_h == "127.0.0.1" and p.version == "2c"
     and p.pdu_type == "get")])
def test_snmp_values_match_what_netsnmp_printed(sn, label, pred):
    want = printed(label)
    assert want
    got = response_varbinds(sn, tool_port(sn, pred))
    if label.startswith(("bulkwalk", "walk")):
        # walks print the in-subtree varbinds; the responses also hold the overshoot (and endOfMibView)
        it = iter(got)
        assert all(any(w == g for g in it) for w in want), (want, got)
    else:
        assert got == want


def test_snmp_bulkwalk_end_of_mib_view(sn):
    port = tool_port(sn, lambda p: p.pdu_type == "getbulk" and p.max_repetitions == 5)
    got = response_varbinds(sn, port)
    assert printed("bulkwalk-end")[-1][1] == "endOfMibView"
    assert [t for _, t, _ in got].count("endOfMibView") == 3


def test_snmp_v3_against_pysnmp_agent(sn):
    pdus = [p for p in sn.records["snmp_pdus"] if p.version == "3"]
    engine = SNMP_OUT["agent_engine"]
    ok = [p for p in pdus if p.user == "pyAgentUser" and p.auth == "ok"]
    assert {(p.pdu_type, p.engine_id, p.engine_id_format, p.engine_id_value, p.engine_enterprise, p.auth_proto,
             p.privacy) for p in ok} == {(t, engine, "text", "interop-agent", 20408, "sha256", "decrypted")
                                         for t in ("get", "response")}
    # discovery then the real request (net-snmp), once per snmpget
    reasons = [p.report_reason for p in pdus if p.pdu_type == "report"]
    assert reasons == ["unknownEngineIDs", "unknownEngineIDs", "wrongDigests"]
    # "snmpget: Authentication failure (incorrect password, community or key)"
    assert "Authentication failure" in TOOLS["get-v3-wrongpass"]["stderr"]
    bad = [p for p in pdus if p.auth == "bad"]
    assert len(bad) == 1 and bad[0].outcome == "report:wrongDigests"
    kinds = {f.kind for f in sn.records["snmp_findings"]}
    assert {"v3_wrong_digest", "write_access", "default_community"} <= kinds


def test_snmp_latin1_community(sn):
    p = next(p for p in sn.records["snmp_pdus"] if p.is_request and (p.community or "").startswith("0x"))
    assert bytes.fromhex(p.community[2:]) == "café-rö".encode("latin-1")
    assert p.answered


def trapd_entries():
    """snmptrapd.log entries: (header, [(oid, type, value)])."""
    text = (DATA / "snmptrapd.log").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d )", text)
    out = []
    for e in entries[1:]:
        if "Stopped" in e.splitlines()[0]:
            continue
        head, *rest = e.split("\n")
        vbs = []
        for line in rest:
            for item in line.strip().split("\t"):
                if " = " in item:
                    oid, _, val = item.partition(" = ")
                    vbs.append((oid.lstrip("."), *netsnmp_value(val)))
        out.append((head + ("\n" + rest[0] if "TRAP, SNMP v1" in head else ""), vbs))
    return out


def test_snmp_notifications_match_snmptrapd_log(sn):
    entries = trapd_entries()
    assert len(entries) == 4
    notifs = sorted((p for p in sn.records["snmp_pdus"] if p.pdu_type in ("trapv2", "inform", "trap")),
                    key=lambda p: p.ts)
    assert [(p.version, p.pdu_type) for p in notifs] == [("2c", "trapv2"), ("2c", "inform"), ("1", "trap"),
                                                        ("3", "trapv2")]
    for p, (head, want) in zip(notifs, entries):
        got = [(v.oid, *ours(v)) for v in sorted(sn.records["snmp_varbinds"], key=lambda v: v.index)
               if v.pdu_index == p.pdu_index]
        assert got == want
        assert f"[127.0.0.1]:{p.src_p}->[127.0.0.1]:16262" in head
    v1 = notifs[2]
    # "0.0.0.0 [0.0.0.0] ... TRAP, SNMP v1, community public\n\t.1.3.6.1.6.3.1.1.5 Link Down Trap (0) Uptime: 0:00:00.00"
    assert (v1.agent_addr, v1.enterprise, v1.generic_trap, v1.specific_trap, v1.time_stamp) == \
        ("0.0.0.0", "1.3.6.1.6.3.1.1.5", "linkDown", 0, 0)
    inform = notifs[1]
    assert inform.answered and inform.outcome == "noError"
    v3 = notifs[3]
    assert (v3.user, v3.engine_id, v3.engine_id_value, v3.auth, v3.privacy) == \
        ("pyTrapUser", SNMP_OUT["trap_engine"], "interop-notifier", "ok", "decrypted")


# ------------------------------------------------------------------------------------------- capture formats
# One run of traffic (Python http.server on the dual-stack wildcard; curl over ::1 and 127.0.0.1; wget 404)
# captured at the same time by tcpdump on lo (pcap), dumpcap (pcapng), tcpdump on `any` as LINUX_SLL2 and
# LINUX_SLL, tcpdump -s 96; plus the pcap gzip-compressed. Oracle: http.server's log, the served file.
FMT_FULL = ["fmt-lo.pcap", "fmt-lo.pcapng", "fmt-any-sll2.pcap", "fmt-any-sll.pcap", "fmt-lo.pcap.gz",
            "fmt-lo-nano.pcap", "fmt-tshark.pcapng"]
PAGE = json.loads((DATA / "fmt-page.json").read_text())
SERVER_LOG = [re.search(r'^(\S+) .*"(\S+) (\S+) HTTP/1.1" (\d{3})', line).groups()
              for line in (DATA / "fmt-http-server.log").read_text().splitlines() if '"GET' in line]


def flow_key(f):
    return (f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.proto, f.orig_bytes, f.resp_bytes, f.orig_pkts, f.resp_pkts,
            f.orig_ip_bytes, f.resp_ip_bytes, f.state, f.history, f.missed_bytes)


@pytest.mark.parametrize("name", FMT_FULL)
def test_formats_same_flows_and_http(name):
    a = analysis(name)
    ref = analysis("fmt-lo.pcap")
    assert sorted(map(flow_key, a.records["flows"])) == sorted(map(flow_key, ref.records["flows"]))
    assert not a.records.get("weirds")
    rows = sorted(a.records["http_transactions"], key=lambda t: t.ts)
    # http.server logs the client as ::1 or ::ffff:127.0.0.1 (dual-stack socket)
    assert [(t.orig_h, t.method, t.uri, str(t.status_code)) for t in rows] == \
        [(h.removeprefix("::ffff:"), m, u, s) for h, m, u, s in SERVER_LOG]
    ok = [t for t in rows if t.status_code == 200]
    assert [(t.response_body_len, t.response_body_sha256) for t in ok] == [(PAGE["size"], PAGE["sha256"])] * 2
    assert {f.ip_version for f in a.records["flows"]} == {4, 6}


def test_formats_frame_bytes_follow_the_link_header():
    # same IP bytes; frame bytes = IP bytes + 14 (Ethernet), 16 (SLL), 20 (SLL2) per packet
    def frames(name):
        return {(f.orig_p, f.resp_p): (f.orig_frame_bytes - f.orig_ip_bytes, f.orig_pkts)
                for f in analysis(name).records["flows"]}
    for name, hdr in [("fmt-lo.pcap", 14), ("fmt-lo.pcapng", 14), ("fmt-tshark.pcapng", 14), ("fmt-lo-nano.pcap", 14),
                      ("fmt-any-sll.pcap", 16), ("fmt-any-sll2.pcap", 20)]:
        assert all(extra == hdr * n for extra, n in frames(name).values()), name


def test_snaplen_96_truncated_but_sane():
    a = analysis("fmt-snap96.pcap")
    ref = analysis("fmt-lo.pcap")
    # TCP counts come from sequence numbers and headers: identical to the full capture
    key = lambda f: flow_key(f)[:12]   # noqa: E731  (history/missed bytes differ: content gaps)
    assert sorted(map(key, a.records["flows"])) == sorted(map(key, ref.records["flows"]))
    data_flows = [f for f in a.records["flows"] if f.orig_bytes]
    assert data_flows and all(f.truncated and f.missed_bytes > 0 and "G" in f.history for f in data_flows)
    assert all(f.service == "http" for f in data_flows)        # IPv6: only 10 payload bytes per segment
    names = {w.name for w in a.records["weirds"]}
    assert names <= {"truncated_packet", "tcp_content_gap", "http_content_gap"}
    rows = a.records["http_transactions"]
    assert rows and all(t.incomplete and not t.response_body_sha256 for t in rows)
    assert {(t.method, t.uri, t.status_code) for t in rows} <= {("GET", "/page.txt", 200), ("GET", "/missing", 404)}


# ------------------------------------------------------------------------------------------- mail user agents
# mutt 2.2.12 (smtp_url to Postfix, 8bit, RFC 2231 file name) and s-nail 14.9.24 (quoted-printable) sending
# multipart/mixed messages with attachments through Postfix to the catch-all. Oracles: the attached files
# (mua-clients.json), mutt's Fcc copy (mua-mutt-sent.mbox), Postfix's log, the catch-all's record.
MUA = json.loads((DATA / "mua-clients.json").read_text())
MUA_CATCH = [json.loads(line) for line in (DATA / "mua-catchall.jsonl").read_text().splitlines()]


def mua():
    return analysis("mua-postfix.pcap")


def test_mua_submissions_accepted_by_postfix():
    assert MUA["mutt"]["rc"] == 0 and MUA["s-nail"]["rc"] == 0
    log = (DATA / "mua-maillog.txt").read_text()
    queued = re.findall(r"smtpd\[\d+\]: ([0-9A-F]+): client=", log)
    to_postfix = {s.uid for s in mua().records["smtp_sessions"] if s.server_port == 10025}
    sub = sorted((t for t in mua().records["smtp_transactions"] if t.uid in to_postfix), key=lambda t: t.ts)
    assert [re.search(r"queued as (\w+)", t.data_reply_text).group(1) for t in sub] == queued
    to_catchall = {s.uid for s in mua().records["smtp_sessions"] if s.server_port == 10026}
    relay = sorted((t for t in mua().records["smtp_transactions"] if t.uid in to_catchall), key=lambda t: t.ts)
    assert [(t.mail_from, list(t.rcpt_to), t.size, t.sha256) for t in relay] == \
        [(c["mail_from"], c["rcpt_tos"], c["size"], c["sha256"]) for c in MUA_CATCH]


def test_mua_attachments_match_the_files():
    files = MUA["attachments"]

    def canon(name):      # text parts travel in canonical CRLF form
        info = files[name]
        return (info["size"] + (3 if name == "data.csv" else 0))
    by_msg = {}
    for p in mua().records["mime_parts"]:
        if p.filename:
            by_msg.setdefault((p.uid, p.trans_depth), []).append(p)
    assert len(by_msg) == 4                      # 2 submissions + 2 relayed copies
    for parts in by_msg.values():
        for p in parts:
            assert p.filename in files and p.is_attachment
            assert p.size == canon(p.filename)
            if p.filename != "data.csv":
                assert p.sha256 == files[p.filename]["sha256"]
            else:
                crlf = "name;value\r\nÄpfel;3\r\nBirnen;5\r\n".encode()     # the file's content
                assert hashlib.sha256(crlf.replace(b"\r\n", b"\n")).hexdigest() == files["data.csv"]["sha256"]
                assert p.sha256 == hashlib.sha256(crlf).hexdigest()
        names = sorted(p.filename for p in parts)
        assert names in (sorted(files), ["data.csv", "Übersicht März.pdf"])
    # both agents used RFC 2231 for the non-ASCII name (mutt also percent-encodes the dot)
    raws = {p.filename_raw for ps in by_msg.values() for p in ps if p.filename == "Übersicht März.pdf"}
    assert raws == {"filename*=utf-8''%C3%9Cbersicht%20M%C3%A4rz%2Epdf", "filename*=utf-8''%C3%9Cbersicht%20M%C3%A4rz.pdf"}


def test_mua_headers_match_mutt_fcc_copy():
    import email
    from email import policy
    sent = email.message_from_bytes((DATA / "mua-mutt-sent.mbox").read_bytes().split(b"\n", 1)[1],
                                    policy=policy.default)
    rows = [t for t in mua().records["smtp_transactions"] if t.message_id == sent["Message-ID"]]
    assert len(rows) == 2
    for t in rows:
        assert t.subject == str(sent["Subject"]) == "Quartalsbericht – Übersicht März 📊"
        assert t.header_from == str(sent["From"]) and t.attachments == 3
    snail = [m for m in mua().records["mime_messages"] if (m.user_agent or "").startswith("s-nail")]
    assert len(snail) == 2 and all(m.subject == "s-nail Anhang ünïcode" for m in snail)


def test_smtp_through_tinyproxy_connect_tunnel():
    # curl -p -x http://127.0.0.1:10888 smtp://127.0.0.1:10025: the CONNECT flow carries the SMTP session
    # (Zeek: service "http,smtp" and an smtp.log row on the proxy connection); tinyproxy's own connection
    # to Postfix carries the same session again
    c = MUA["curl-tunnel"]
    assert c["rc"] == 0
    a = mua()
    conn = next(t for t in a.records["http_transactions"] if t.method == "CONNECT")
    assert (conn.uri, conn.status_code, conn.tags) == ("127.0.0.1:10025", 200, ("tunnel",))
    flow = next(f for f in a.records["flows"] if f.uid == conn.uid)
    assert flow.service == "http,smtp"
    rows = [t for t in a.records["smtp_transactions"] if t.subject == "through the tunnel" and t.size == c["size"]]
    assert {t.uid == conn.uid for t in rows} == {True, False}          # proxy leg and tinyproxy -> Postfix leg
    log = (DATA / "mua-maillog.txt").read_text()
    qid = re.search(r"(\w+): message-id=<tunnel.1@example.org>", log).group(1)
    for t in rows:
        assert (t.helo, t.mail_from, list(t.rcpt_to), t.sha256, t.outcome) == \
            ("curl.example.org", "sender@example.org", ["dave@example.net"], c["sha256"], "accepted")
        assert t.last_reply == f"250 2.0.0 Ok: queued as {qid}"


# ------------------------------------------------------------------------------------------- Postfix AUTH
# Postfix smtpd + Cyrus SASL whose password database was unreadable: every AUTH got 454 4.7.0 (PLAIN,
# LOGIN, CRAM-MD5 from swaks), and a raw client cancelled AUTH LOGIN with "*" (501 5.7.0).
# Oracles: swaks' transcripts (postfix-auth-clients.json) and Postfix's log.
AUTH_CLIENTS = {c["label"]: c for c in json.loads((DATA / "postfix-auth-clients.json").read_text())}


def test_postfix_auth_outcomes_match_swaks_and_log():
    import base64
    import hmac
    a = analysis("postfix-auth.pcap", credentials=True)
    sessions = {s.helo.split(".")[0]: s for s in a.records["smtp_sessions"]}
    creds = {c.uid: c for c in a.records["smtp_credentials"]}
    log = (DATA / "postfix-auth-maillog.txt").read_text()
    for label, c in AUTH_CLIENTS.items():
        s = sessions[label]
        final = [line for line in c["transcript"].splitlines() if re.match(r"<(\*\*|-) ?\s*(454|501|235|535) ", line)]
        code = int(re.search(r"(\d{3}) ", final[-1]).group(1))
        assert creds[s.uid].reply_code == code
        assert s.auth_result == ("cancelled" if label == "cancel" else "failure")
        assert s.auth_mechanism == c.get("mech", "LOGIN") and s.auth_user == "alice"
        assert s.transactions == 0
    # Postfix: "SASL <MECH> authentication failed ... sasl_username=alice@interop.test" x3, "aborted" x1
    assert sorted(re.findall(r"SASL (\S+) authentication failed", log)) == ["CRAM-MD5", "LOGIN", "PLAIN"]
    assert "SASL LOGIN authentication aborted" in log
    # CRAM-MD5: the response is HMAC-MD5(password, challenge) as swaks computed it
    cram = creds[sessions["cram"].uid]
    ch = re.search(r"<-  334 (\S+)", AUTH_CLIENTS["cram"]["transcript"]).group(1)
    assert cram.challenge == base64.b64decode(ch).decode()
    assert cram.response == hmac.new(b"Wonder-Land-42", cram.challenge.encode(), "md5").hexdigest()
    plain = creds[sessions["plain"].uid]
    assert (plain.user, plain.password) == ("alice", "Wonder-Land-42")
    assert creds[sessions["login-wrongpw"].uid].password == "not-the-password"
