"""Field-by-field differential against tshark on every corpus capture and every bundled sample.

One tshark pass per capture (all HTTP, SMTP, IMF and SNMP fields at once, plus ``--export-objects``
for http and imf) is cached for the session; our tables come from one ``dissect.analyze`` per capture.
The comparisons, per protocol:

- HTTP: per connection (endpoint pair), the sequence of requests (method, Host, URI, version) and of
  responses (status code incl. 1xx, Content-Type, Content-Length header), and tshark's exported
  objects (size + sha256 of the decoded body) against our ``response_body_sha256``;
- SMTP: per connection, EHLO/HELO argument, MAIL FROM / RCPT TO addresses in order, the reply code
  of every command (tshark's commands and replies paired in order, as the protocol does), the number of
  messages, and per message (IMF) From, To, Subject and Message-ID; exported IMF objects (size and
  sha256) against our ``mime_messages``;
- SNMP: per message: version, community, PDU type, request-id, error-status/index, GetBulk fields,
  v1 Trap fields, v3 msgFlags, engine id/boots/time, user, context name, and every varbind's OID and
  value (decrypted v3 PDUs included: tshark gets the sample users' passwords as its ``snmp_users``
  table).

Every disagreement is reported as a tuple; the allow-lists below name the real, justified ones
(where the RFCs and tshark disagree, the RFCs win, and the comment says so). tshark runs at test time
and the tests skip when it (or the corpus) is absent.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import pytest

import dissect
from conftest import CORPUS, SAMPLES

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt-get install tshark)")

AGG = "\x1f"      # occurrence aggregator: never part of a decoded field value we compare
KEYS = SAMPLES / "snmp" / "keys.toml"
INTEROP = Path(__file__).resolve().parent / "data" / "interop"


def _captures() -> list[Path]:
    out = []
    base = CORPUS / "captures"
    if base.is_dir():
        out += sorted(p for p in base.rglob("*.pcap") if p.is_file())
    out += sorted(SAMPLES.glob("*/*.pcap"))
    # captures of other programs (Postfix, lighttpd, mutt, pysnmp... tests/data/interop)
    out += sorted(p for p in INTEROP.glob("*") if p.name.endswith((".pcap", ".pcapng")))
    return out


def _id(p: Path) -> str:
    try:
        return str(p.relative_to(CORPUS / "captures"))
    except ValueError:
        pass
    if p.is_relative_to(INTEROP):
        return "interop/" + p.name
    return "samples/" + str(p.relative_to(SAMPLES))


CAPTURES = _captures()

HTTP_F = ["http.request.method", "http.request.uri", "http.request.version", "http.host",
          "http.response.code", "http.response.version", "http.content_type", "http.content_length_header",
          "http.user_agent", "http.referer", "http.response.phrase"]
SMTP_F = ["smtp.req.command", "smtp.req.parameter", "smtp.response.code", "smtp.data.fragment",
          "smtp.auth.username", "smtp.data.reassembled.in", "smtp.data.reassembled.length"]
IMF_F = ["imf.from", "imf.to", "imf.subject", "imf.message_id", "imf.cc", "imf.date"]
SNMP_F = ["snmp.version", "snmp.msgVersion", "snmp.community", "snmp.data", "snmp.request_id",
          "snmp.error_status", "snmp.error_index", "snmp.non_repeaters", "snmp.max_repetitions",
          "snmp.enterprise", "snmp.agent_addr", "snmp.generic_trap", "snmp.specific_trap", "snmp.time_stamp",
          "snmp.msgID", "snmp.msgFlags", "snmp.msgAuthoritativeEngineID", "snmp.msgAuthoritativeEngineBoots",
          "snmp.msgAuthoritativeEngineTime", "snmp.msgUserName", "snmp.contextName", "snmp.decrypted_pdu",
          "snmp.name", "snmp.value.int", "snmp.value.octets", "snmp.value.oid",
          "snmp.value.ipv4", "snmp.value.timeticks", "snmp.value.counter", "snmp.value.g32",
          "snmp.value.u32", "snmp.value.null", "snmp.value.opaque",
          "snmp.noSuchObject", "snmp.noSuchInstance", "snmp.endOfMibView"]
BASE_F = ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "tcp.stream", "frame.protocols",
          "tcp.payload"]
FIELDS = BASE_F + HTTP_F + SMTP_F + IMF_F + SNMP_F

# tshark's snmp_users table for the sample users: Wireshark names of the hashes and ciphers.
_AUTH = {"MD5": "MD5", "SHA": "SHA1", "SHA1": "SHA1", "SHA224": "SHA2-224", "SHA256": "SHA2-256",
         "SHA384": "SHA2-384", "SHA512": "SHA2-512"}
_PRIV = {"DES": "DES", "AES": "AES", "AES128": "AES", "AES192": "AES192", "AES256": "AES256",
         "AES192C": "AES192", "AES256C": "AES256", "3DES": "DES"}


# keys.toml leaves these users' protocols out on purpose (our key store finds them by trial);
# tshark needs them: samples/snmp/README.md (snmptrapd.conf createUser lines)
_TRIAL = {"informUser": {"auth_protocol": "SHA", "priv_protocol": "AES"},
          "trapUser": {"auth_protocol": "MD5", "priv_protocol": "DES"}}


def _uat_args(keys: Path | None = KEYS) -> list[str]:
    if keys is None or not keys.exists():
        return []
    args = []
    for u in tomllib.loads(keys.read_text()).get("user", []):
        if "auth_password" not in u:
            continue
        u = {**_TRIAL.get(u["name"], {}), **u}
        am = _AUTH.get(u.get("auth_protocol", "").upper().replace("-", ""))
        pp = _PRIV.get(u.get("priv_protocol", "DES").upper().replace("-", ""), "DES")
        if am is None:
            continue
        args += ["-o", f'uat:snmp_users:"{u.get("engine_id", "")}","{u["name"]}","{am}","{u["auth_password"]}",'
                       f'"{pp}","{u.get("priv_password", "")}"']
    return args


# v3 users of tests/data/interop/pysnmp-netsnmp.pcap (its README: pysnmp agent and notifier)
INTEROP_USERS = """
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


def _keys_for(path: Path) -> Path | None:
    if path.name == "pysnmp-netsnmp.pcap":
        k = Path(tempfile.gettempdir()) / "tsdiff-interop-keys.toml"
        k.write_text(INTEROP_USERS)
        return k
    if "snmp" in path.parts and KEYS.exists():
        return KEYS
    return None


@lru_cache(maxsize=None)
def ours(path: Path):
    k = _keys_for(path)
    return dissect.analyze([str(path)], **({"snmp_keys": k} if k else {}))


_STD = {"http": {80, 8080}, "smtp": {25, 587}, "snmp": {161, 162}}


def _decode_as(a) -> list[str]:
    """Ports where we detected a protocol that tshark would not decode by default (samples on
    2525/18080/16161...): tell tshark (``-d``), as the corpus views did for port 2525."""
    args, seen = [], set()
    for fl in a.records.get("flows", []):
        svc, proto, p = (fl.service or "").split(",")[0], fl.proto, fl.resp_p
        if svc in _STD and p is not None and int(p) not in _STD[svc] and (proto, svc, p) not in seen:
            seen.add((proto, svc, p))
            args += ["-d", f"{proto}.port=={int(p)},{svc}"]
    return args


def run_tshark(path: Path) -> dict:
    a = ours(path)
    tmp = Path(tempfile.mkdtemp(prefix="tsdiff-"))
    uat = _uat_args(_keys_for(path)) if any(fl.service == "snmp" and fl.proto == "udp" or fl.service == "snmp"
                             for fl in a.records.get("flows", [])) else []
    args = [TSHARK, "-n", "-r", str(path), *(_decode_as(a)), *uat,
            "--export-objects", f"http,{tmp / 'http'}", "--export-objects", f"imf,{tmp / 'imf'}",
            "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", f"aggregator={AGG}"]
    for f in FIELDS:
        args += ["-e", f]
    p = subprocess.run(args, capture_output=True, timeout=300)
    rows = []
    for line in p.stdout.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        vals = line.split("\t")
        vals += [""] * (len(FIELDS) - len(vals))
        rows.append({k: v for k, v in zip(FIELDS, vals)})
    objs = {}
    d = tmp / "imf"
    imf_raw = sorted((f.stat().st_size, f.read_bytes(), f.name) for f in d.iterdir()) if d.is_dir() else []
    for kind in ("http", "imf"):
        d = tmp / kind
        objs[kind] = sorted((f.stat().st_size, hashlib.sha256(f.read_bytes()).hexdigest(), f.name)
                            for f in d.iterdir()) if d.is_dir() else []
    shutil.rmtree(tmp, ignore_errors=True)
    return {"rows": rows, "objects": objs, "imf_raw": imf_raw}


_TSHARK_CACHE: dict = {}
_POOL: ThreadPoolExecutor | None = None


def tshark_view(path: Path) -> dict:
    """tshark's view of one capture. The first call queues every capture on a small thread pool
    (tshark runs as separate processes), the asked one first; later calls wait for their own."""
    global _POOL
    if path not in _TSHARK_CACHE:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(2, 2 * (os.cpu_count() or 1)))
            for p in [path] + [c for c in CAPTURES if c != path]:
                _TSHARK_CACHE.setdefault(p, _POOL.submit(run_tshark, p))
        else:
            _TSHARK_CACHE[path] = _POOL.submit(run_tshark, path)
    v = _TSHARK_CACHE[path]
    if not isinstance(v, dict):
        v = _TSHARK_CACHE[path] = v.result()
    return v


@pytest.fixture(scope="module", autouse=True)
def _stop_pool():
    """Do not run tshark for captures no selected test needs (``-k``)."""
    yield
    if _POOL is not None:
        _POOL.shutdown(wait=True, cancel_futures=True)


def _as_tshark(v, theirs: str):
    """tshark 4.0 shows SMTP/IMF strings and SNMP communities as ASCII: each byte >= 0x80 becomes
    U+FFFD. Where tshark printed U+FFFD, compare our text in that form (UTF-8 per RFC 6531/6532;
    0x-hex for a community that is not text)."""
    if v is None or "\ufffd" not in (theirs or ""):
        return v
    if isinstance(v, (list, tuple)):
        return [_as_tshark(x, theirs) for x in v]
    raw = bytes.fromhex(v[2:]) if v.startswith("0x") else v.encode("utf-8")
    return "".join(chr(b) if b < 0x80 else "\ufffd" for b in raw)


def _multi(v: str) -> list[str]:
    return v.split(AGG) if v else []


def _h(v: str) -> str:
    try:
        return str(ipaddress.ip_address(v))
    except ValueError:
        return v


def _endpoints(r: dict):
    src = (r["ip.src"] or r["ipv6.src"]).split(AGG)[-1]
    dst = (r["ip.dst"] or r["ipv6.dst"]).split(AGG)[-1]
    sp = (r["tcp.srcport"] or r["udp.srcport"]).split(AGG)[-1]
    dp = (r["tcp.dstport"] or r["udp.dstport"]).split(AGG)[-1]
    return _h(src), int(sp or 0), _h(dst), int(dp or 0)


def _conn_key(a_h, a_p, b_h, b_p):
    return tuple(sorted([(a_h, a_p), (b_h, b_p)]))


# --------------------------------------------------------------------------------------------- HTTP

def _int_or_none(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def http_disagreements(path: Path) -> list[tuple]:
    """(kind, connection, index, field, ours, tshark) for every HTTP difference."""
    view = tshark_view(path)
    t_req, t_rsp = defaultdict(list), defaultdict(list)
    for r in view["rows"]:
        if not (r["http.request.method"] or r["http.response.code"]):
            continue
        if "http" not in r["frame.protocols"].split(":"):
            continue
        key = _conn_key(*_endpoints(r))
        ct = _multi(r["http.content_type"])
        cl = _multi(r["http.content_length_header"])
        methods = _multi(r["http.request.method"])
        ua, ref = _multi(r["http.user_agent"]), _multi(r["http.referer"])
        for i, m in enumerate(methods):
            # header fields are per frame: compare them only when the frame holds one request
            extra = ((ua[0] if ua else ""), (ref[0] if ref else "")) if len(methods) == 1 else (None, None)
            t_req[key].append((*extra, m, _multi(r["http.host"])[i] if i < len(_multi(r["http.host"])) else "",
                               _multi(r["http.request.uri"])[i] if i < len(_multi(r["http.request.uri"])) else "",
                               (_multi(r["http.request.version"]) or [""])[min(i, len(_multi(r["http.request.version"])) - 1)]
                               if r["http.request.version"] else ""))
        codes = _multi(r["http.response.code"])
        phrases = _multi(r["http.response.phrase"])
        for i, c in enumerate(codes):
            t_rsp[key].append((int(c), ct[i] if len(codes) == len(ct) else (ct[0] if len(ct) == 1 and len(codes) == 1 else None),
                               _int_or_none(cl[i]) if len(codes) == len(cl) else None,
                               phrases[i] if len(codes) == len(phrases) else None))
    a = ours(path)
    o_req, o_rsp = defaultdict(list), defaultdict(list)
    for t in sorted(a.records.get("http_transactions", []), key=lambda t: (t.ts, t.trans_depth)):
        key = _conn_key(t.orig_h, t.orig_p, t.resp_h, t.resp_p)
        if t.method:
            o_req[key].append((t.user_agent or "", t.referrer or "", t.method, t.host or "", t.uri or "",
                               f"HTTP/{t.version}" if t.version else ""))
        if t.info_code:
            o_rsp[key].append((t.info_code, None, None, t.info_msg or ""))
        if t.status_code is not None:
            # body length: what a Content-Length announced (no chunking, nothing missing, not HEAD)
            blen = (t.response_body_len if not t.incomplete and not t.transfer_encoding and t.method != "HEAD"
                    and t.status_code not in (204, 304) else None)
            o_rsp[key].append((t.status_code, t.response_content_type or "", blen, t.status_msg or ""))
    out = []
    for key in sorted(set(t_req) | set(o_req)):
        tr, orr = t_req.get(key, []), o_req.get(key, [])
        if len(tr) != len(orr):
            out.append(("http", key, None, "requests", len(orr), len(tr)))
        for i, (x, y) in enumerate(zip(orr, tr)):
            for name, u, v in zip(("user_agent", "referrer", "method", "host", "uri", "version"), x, y):
                if v is not None and u != v:
                    out.append(("http", key, i, name, u, v))
    for key in sorted(set(t_rsp) | set(o_rsp)):
        tr, orr = t_rsp.get(key, []), o_rsp.get(key, [])
        if len(tr) != len(orr):
            out.append(("http", key, None, "responses", len(orr), len(tr)))
        for i, (x, y) in enumerate(zip(orr, tr)):
            if x[0] != y[0]:
                out.append(("http", key, i, "status", x[0], y[0]))
            elif x[1] is not None and y[1] is not None and x[1] != y[1]:
                out.append(("http", key, i, "content_type", x[1], y[1]))
            elif x[2] is not None and y[2] is not None and x[2] != y[2]:
                out.append(("http", key, i, "body_len", x[2], y[2]))
            elif y[3] is not None and x[3] != y[3]:
                out.append(("http", key, i, "status_msg", x[3], y[3]))
    return out


def http_object_disagreements(path: Path) -> list[tuple]:
    """tshark's ``--export-objects http`` (each decoded body: size, sha256) against our decoded bodies
    (response_body_sha256 / request_body_sha256 and the decoded lengths)."""
    objs = tshark_view(path)["objects"]["http"]
    a = ours(path)
    mine = defaultdict(set)
    for t in a.records.get("http_transactions", []):
        if t.response_body_sha256:
            mine[t.response_body_sha256].add(t.response_decoded_len)
        if t.request_body_sha256:
            mine[t.request_body_sha256].add(None)
    out = []
    for size, sha, name in objs:
        if size == 0:
            continue        # tshark exports empty bodies too (HEAD, 304, empty POST); we leave sha256 empty
        if sha not in mine:
            out.append(("http-object", name, None, "sha256", None, (size, sha)))
        elif None not in mine[sha] and size not in mine[sha]:
            out.append(("http-object", name, None, "size", sorted(mine[sha]), size))
    return out


# --------------------------------------------------------------------------------------------- SMTP

def _addr(param: str) -> str:
    """Address of a MAIL FROM:/RCPT TO: parameter as tshark shows it ('FROM: <a@b> SIZE=1')."""
    p = param.split(":", 1)[1] if ":" in param else param
    p = p.strip()
    if p.startswith("<"):
        return p[1:p.find(">")] if ">" in p else p[1:]
    return p.split(" ", 1)[0]


def smtp_disagreements(path: Path) -> list[tuple]:
    view = tshark_view(path)
    a = ours(path)
    cmds, codes = defaultdict(list), defaultdict(list)
    msgs = defaultdict(list)
    pending: dict = {}
    users = defaultdict(list)
    for r in view["rows"]:
        protos = r["frame.protocols"].split(":")
        if "smtp" not in protos:
            continue
        key = _conn_key(*_endpoints(r))
        for c, prm in zip(_multi(r["smtp.req.command"]), _multi(r["smtp.req.parameter"]) + [""] * 99):
            cmds[key].append((c.upper(), prm))
        if r["smtp.response.code"]:
            # tshark gives a code per line of a multi-line reply sent one line per segment:
            # a reply is complete at its last line ("250 ..." not "250-...")
            buf = pending.get(key, b"") + bytes.fromhex(r["tcp.payload"].replace(":", ""))
            lines = buf.split(b"\n")
            pending[key] = lines.pop()
            codes[key] += [int(ln[:3]) for ln in lines if ln[:3].isdigit() and ln[3:4] != b"-"]
        for u in _multi(r["smtp.auth.username"]):
            # tshark shows the AUTH LOGIN user as sent (base64) unless it is told to decode
            try:
                users[key].append(base64.b64decode(u, validate=True).decode("utf-8", "replace"))
            except ValueError:
                users[key].append(u)
        if "imf" in protos:
            msgs[key].append(tuple((_multi(r[f]) or [""])[0] for f in IMF_F))
    # ours, per connection
    sessions = {}
    for s in a.records.get("smtp_sessions", []):
        sessions.setdefault(_conn_key(s.client, s.client_port, s.server, s.server_port), []).append(s)
    uid_key = {s.uid: k for k, ss in sessions.items() for s in ss}
    o_tx, o_rc, o_msgs = defaultdict(list), defaultdict(list), defaultdict(list)
    for t in sorted(a.records.get("smtp_transactions", []), key=lambda t: (t.ts, t.trans_depth)):
        o_tx[uid_key.get(t.uid)].append(t)
    for r in sorted(a.records.get("smtp_recipients", []), key=lambda r: (r.ts, r.trans_depth)):
        o_rc[uid_key.get(r.uid)].append(r)
    for m in sorted(a.records.get("mime_messages", []), key=lambda m: (m.ts, m.trans_depth)):
        if m.source == "smtp":
            o_msgs[uid_key.get(m.uid)].append(m)
    out = []
    for key in sorted(set(cmds) | set(codes) | set(sessions), key=str):
        c = cmds.get(key, [])
        ss = sessions.get(key, [])
        if ss and len(c) != sum(x.commands or 0 for x in ss):
            out.append(("smtp", key, None, "commands", sum(x.commands or 0 for x in ss), len(c)))
        helos = [p for v, p in c if v in ("EHLO", "HELO", "LHLO")]
        if helos and (not ss or ss[-1].helo != helos[-1]):
            out.append(("smtp", key, None, "helo", ss[-1].helo if ss else None, helos[-1]))
        if users.get(key) and (not ss or ss[-1].auth_user != users[key][-1]):
            out.append(("smtp", key, None, "auth_user", ss[-1].auth_user if ss else None, users[key][-1]))
        t_from = [_addr(p) for v, p in c if v == "MAIL"]
        o_from = [t.mail_from for t in o_tx.get(key, []) if t.mail_from is not None]
        o_from = [_as_tshark(a_, t_) for a_, t_ in zip(o_from, t_from)] + o_from[len(t_from):]
        if t_from != o_from:
            out.append(("smtp", key, None, "mail_from", o_from, t_from))
        t_rcpt = [_addr(p) for v, p in c if v == "RCPT"]
        o_rcpt = [r.address for r in o_rc.get(key, [])]
        o_rcpt = [_as_tshark(a_, t_) for a_, t_ in zip(o_rcpt, t_rcpt)] + o_rcpt[len(t_rcpt):]
        if t_rcpt != o_rcpt:
            out.append(("smtp", key, None, "rcpt_to", o_rcpt, t_rcpt))
        # tshark does not pair replies with commands; pair them as the protocol does (FIFO; DATA gets
        # 354 and the end-of-data reply; AUTH gets 334 challenges until its final reply)
        rc = list(codes.get(key, []))
        if ss and rc and ss[0].banner_code is not None:
            if rc[0] != ss[0].banner_code:
                out.append(("smtp", key, None, "banner_code", ss[0].banner_code, rc[0]))
        pairs = {"MAIL": [], "RCPT": [], "DATA": []}
        it = iter(rc[1:])
        try:
            for v, _ in c:
                code = next(it)
                if v == "AUTH":
                    while code == 334:
                        code = next(it)
                if v == "DATA" and code == 354:
                    code = next(it)
                if v in pairs:
                    pairs[v].append(code)
                if v == "STARTTLS" and code == 220:
                    break
        except StopIteration:
            pass
        o_mail = [t.mail_reply_code for t in o_tx.get(key, [])]
        if pairs["MAIL"] != o_mail[:len(pairs["MAIL"])]:
            out.append(("smtp", key, None, "mail_reply_code", o_mail, pairs["MAIL"]))
        o_rcode = [r.reply_code for r in o_rc.get(key, [])]
        if pairs["RCPT"] != o_rcode[:len(pairs["RCPT"])]:
            out.append(("smtp", key, None, "rcpt_reply_code", o_rcode, pairs["RCPT"]))
        o_data = [t.data_reply_code for t in o_tx.get(key, []) if t.data_mode == "DATA"]
        if pairs["DATA"] != o_data[:len(pairs["DATA"])]:
            out.append(("smtp", key, None, "data_reply_code", o_data, pairs["DATA"]))
        # messages (IMF)
        tm, om = msgs.get(key, []), o_msgs.get(key, [])
        if len(tm) != len(om):
            out.append(("imf", key, None, "messages", len(om), len(tm)))
        for i, (m, t) in enumerate(zip(om, tm)):
            for name, mine, theirs in zip(("from", "to", "subject", "message_id", "cc", "date"),
                                          (m.header_from, m.header_to, m.subject_raw, m.message_id, m.cc, m.date),
                                          t):
                theirs = _unfold(theirs, decode=name in ("from", "to", "cc"))
                if _as_tshark(mine or "", theirs) != theirs:
                    out.append(("imf", key, i, name, mine, theirs))
    return out


def _unfold(v: str, decode: bool = True) -> str:
    """tshark prints a folded header with its CRLF escaped ("\\r\\n"); unfold (RFC 5322 §2.2.3)
    and decode RFC 2047 encoded-words (tshark shows From/To raw; our header_from/_to are decoded)."""
    if not v:
        return ""
    v = re.sub(r"(\\r)?\\n[ \t]+|\r?\n[ \t]+", " ", v).strip()
    if decode and "=?" in v:
        from email.header import decode_header, make_header
        try:
            v = str(make_header(decode_header(v)))
        except Exception:
            pass
    return v


def _unstuff(data: bytes) -> bytes:
    """RFC 5321 §4.5.2: the receiver removes the leading dot of a line that starts with one."""
    lines = data.split(b"\r\n")
    return b"\r\n".join(ln[1:] if ln.startswith(b".") else ln for ln in lines)


def imf_object_disagreements(path: Path) -> list[tuple]:
    """tshark's ``--export-objects imf`` against our mime_messages (size + sha256).

    tshark exports the DATA bytes as they were on the wire minus the final CRLF of the last line: it
    neither removes dot-stuffing nor keeps the CRLF that ends the last line. RFC 5321 §4.1.1.4 and
    §4.5.2 say the message is the unstuffed text up to and including that CRLF (the terminator is
    the ".CRLF" after it), which is what we hash: the RFC wins, so tshark's object is normalised
    (unstuffed, CRLF appended) before the comparison; exact agreement is required after that.
    """
    objs = tshark_view(path).get("imf_raw", [])
    a = ours(path)
    mine = {m.sha256 for m in a.records.get("mime_messages", [])}
    # tshark also exports every nested message (message/rfc822 parts): ours are mime_parts rows
    mine |= {m.sha256 for m in a.records.get("mime_parts", []) if m.sha256}
    out = []
    for size, data, name in objs:
        # (when the final ".CRLF" came in its own segment tshark keeps the last CRLF)
        cands = {hashlib.sha256(x).hexdigest() for x in (_unstuff(data + b"\r\n"), _unstuff(data))}
        norm = hashlib.sha256(_unstuff(data + b"\r\n")).hexdigest()
        if not cands & mine:
            out.append(("imf-object", name, None, "sha256", None, (size, norm)))
    return out


# --------------------------------------------------------------------------------------------- SNMP

_PDU = {"0": "get", "1": "getnext", "2": "response", "3": "set", "4": "trap", "5": "getbulk", "6": "inform",
        "7": "trapv2", "8": "report"}
_ERR = ["noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType",
        "wrongLength", "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue", "resourceUnavailable",
        "commitFailed", "undoFailed", "authorizationError", "notWritable", "inconsistentName"]
_GEN = ["coldStart", "warmStart", "linkDown", "linkUp", "authenticationFailure", "egpNeighborLoss",
        "enterpriseSpecific"]
_VER = {"0": "1", "1": "2c", "3": "3"}
# tshark value field -> our varbind types
_VAL = {"snmp.value.int": ("integer",), "snmp.value.octets": ("octet-string",), "snmp.value.oid": ("oid",),
        "snmp.value.ipv4": ("ipaddress",), "snmp.value.timeticks": ("timeticks",),
        "snmp.value.counter": ("counter32", "counter64"), "snmp.value.g32": ("gauge32",),
        "snmp.value.u32": ("uinteger32",)}
_EXC = {"snmp.value.null": "null", "snmp.noSuchObject": "noSuchObject", "snmp.noSuchInstance": "noSuchInstance",
        "snmp.endOfMibView": "endOfMibView"}


def _octets_hex(v) -> str:
    if v is None:
        return ""
    return v[2:].lower() if v.startswith("0x") else v.encode("utf-8", "surrogateescape").hex()


def snmp_disagreements(path: Path) -> list[tuple]:
    view = tshark_view(path)
    a = ours(path)
    pdus = defaultdict(list)
    for p in a.records.get("snmp_pdus", []):
        pdus[(round(p.ts.timestamp() if hasattr(p.ts, "timestamp") else p.ts, 6), _h(p.src_h), p.src_p)].append(p)
    vbs = defaultdict(list)
    for v in a.records.get("snmp_varbinds", []):
        vbs[v.pdu_index].append(v)
    out = []
    for r in view["rows"]:
        if "snmp" not in r["frame.protocols"].split(":"):
            continue
        src, sp, _, _ = _endpoints(r)
        key = (round(float(r["frame.time_epoch"]), 6), src, sp)
        mine = pdus.get(key, [])
        fr = r["frame.number"]
        if len(mine) != 1:
            out.append(("snmp", fr, None, "pdus", len(mine), 1))
            continue
        p = mine[0]
        ver = _VER.get((r["snmp.version"] or r["snmp.msgVersion"]).split(AGG)[0], None)
        got: dict[str, tuple] = {"version": (p.version, ver)}
        first = {f: (_multi(r[f]) or [""])[0] for f in SNMP_F}
        if ver != "3":
            got["community"] = (_as_tshark(p.community, first["snmp.community"]), first["snmp.community"])
        if first["snmp.data"] and not (ver == "3" and p.pdu_type == "encrypted" and not r["snmp.decrypted_pdu"]):
            got["pdu_type"] = (p.pdu_type, _PDU.get(first["snmp.data"], first["snmp.data"]))
        for name, f in (("request_id", "snmp.request_id"), ("error_index", "snmp.error_index"),
                        ("non_repeaters", "snmp.non_repeaters"), ("max_repetitions", "snmp.max_repetitions"),
                        ("specific_trap", "snmp.specific_trap"), ("msg_id", "snmp.msgID"),
                        ("engine_boots", "snmp.msgAuthoritativeEngineBoots"),
                        ("engine_time", "snmp.msgAuthoritativeEngineTime")):
            if first[f]:
                got[name] = (getattr(p, name), int(first[f]))
        if first["snmp.time_stamp"] and p.pdu_type == "trap":
            got["time_stamp"] = (p.time_stamp, int(first["snmp.time_stamp"]))
        if first["snmp.error_status"]:
            i = int(first["snmp.error_status"])
            got["error_status"] = (p.error_status, _ERR[i] if i < len(_ERR) else str(i))
        if first["snmp.generic_trap"]:
            i = int(first["snmp.generic_trap"])
            got["generic_trap"] = (p.generic_trap, _GEN[i] if i < len(_GEN) else str(i))
        for name, f in (("enterprise", "snmp.enterprise"), ("agent_addr", "snmp.agent_addr"),
                        ("user", "snmp.msgUserName"), ("context_name", "snmp.contextName")):
            if first[f]:
                got[name] = (getattr(p, name), first[f])
        if first["snmp.msgFlags"]:
            got["flags"] = (p.flags, int(first["snmp.msgFlags"], 16))
        eid = first["snmp.msgAuthoritativeEngineID"]
        if eid and eid != "<MISSING>":
            got["engine_id"] = ((p.engine_id or "").lower(), eid.replace(":", "").lower())
        mv = sorted(vbs.get(p.pdu_index, []), key=lambda v: v.index)
        if r["snmp.name"] or mv:
            got["oids"] = ([v.oid for v in mv], _multi(r["snmp.name"]))
            for f, types in _VAL.items():
                mine_v = [v for v in mv if v.type in types]
                if f == "snmp.value.octets":
                    mv_s = [_octets_hex(v.value) for v in mine_v]
                    # tshark shows an empty OCTET STRING as <MISSING>
                    theirs = ["" if x == "<MISSING>" else x.replace(":", "").lower() for x in _multi(r[f])]
                elif f in ("snmp.value.oid", "snmp.value.ipv4"):
                    mv_s, theirs = [v.value for v in mine_v], _multi(r[f])
                else:
                    mv_s, theirs = [v.value_int for v in mine_v], [int(x) for x in _multi(r[f])]
                got[f] = (mv_s, theirs)
            for f, typ in _EXC.items():
                n = len([v for v in mv if v.type == typ])
                got[f] = (n, len(_multi(r[f])) if r[f] else r[f].count(AGG) + (1 if r[f] else 0))
        for name, (u, v) in got.items():
            if u != v:
                out.append(("snmp", fr, None, name, u, v))
    return out


# --------------------------------------------------------------------------------------- allow-lists
# (capture, check, field) -> reason. Each is a REAL disagreement, explained; anything else fails.
_TSHARK_PIPELINING = ("tshark 4.0 does not split commands pipelined (RFC 2920) in one segment: it takes "
                      "MAIL/RCPT/DATA sent together as DATA content (so no MAIL/RCPT and a bogus message); "
                      "we pair them with the server's replies, which confirm each one")
_TSHARK_BDAT = ("tshark 4.0 has no RFC 3030 BDAT/CHUNKING support: it shows neither the commands of a "
                "BDAT session nor the message; we decode BDAT chunks")
_SPURIOUS = ("the capture has segments after the ACK that covers them (capture ordering): tshark calls "
             "them 'spurious retransmissions' and drops their bytes, but they were never seen before; "
             "we reassemble them (the server's replies and 8 x 1460 message bytes), and the server's "
             "final 250 confirms the full message")
_INVALID = ("client sends DATA, gets 503 and sends the body anyway: RFC 5321 §4.1.1.4 - no data mode after "
            "503, the lines are commands (the server answers each with 500). tshark takes them as "
            "messages and shifts its reply pairing; we follow the server (2 messages, not 5); also an RCPT "
            "refused with 503 outside a transaction is a weird, not a recipient row (test_smtp_corpus)")
_TSHARK_OVERLAP = ("suricata-verify modified this capture with an inconsistent TCP overlap in the long "
                   "line; tshark keeps the other copy. Our winmail.dat (10451 bytes, sha256 5f41c2...) "
                   "is the one Suricata's test.yaml expects")
_NESTED = ("tshark exports every nested message/rfc822 (99 levels); our MIME depth cap is 32 "
           "(weird mime_depth_cap, Zeek's is 100 with exceeded_mime_max_depth): deeper ones are not parsed")
_BLUMENTHAL = ("Wireshark extends AES-192/256 keys the Reeder way only: for net-snmp's Blumenthal "
               "AES-192/AES-256 users (and pysnmp's) it cannot decrypt; we try both and succeed")
_NO_3DES = "Wireshark has no 3DES-EDE (Reeder draft) privacy: tshark leaves these PDUs encrypted; we decrypt"
_HTTP = {
    "206": "tshark does not dissect the first 206 response (816 KB body, gap-free); we do (test_http_corpus)",
    "chunk": "after a chunk size that overflows 64 bits tshark loses the next request; we resync on it",
    "gap": "7240 response bytes are missing from the capture: tshark drops that response and shifts the "
           "content-types that follow; we keep it as incomplete",
    "connect": ("'CONNECT host:25 / HTTP/1.0' has an extra token: tshark takes 'host:25' as the URI and "
                "'/ HTTP/1.0' as the version; we (like Zeek's http.log) keep 'host:25 /' and 1.0. After the "
                "200 the connection is a tunnel (RFC 9110 §9.3.6): tshark parses the SMTP inside as HTTP "
                "objects, we do not"),
    "methods": ("request lines without a version are HTTP/0.9 (RFC 1945 §4.1; Zeek logs 0.9, tshark an empty "
                "version); 'OPTIONS HTTP/1.1' (no target): tshark takes the version token as the URI; and "
                "tshark exports the bytes of requests it cannot parse as objects, we (like Zeek) do not"),
    "h2": ("HTTP/2 prior-knowledge connection: tshark decodes it as HTTP/2 (no http.request), we report the "
           "preface as method PRI tagged h2_preface (not dissected, as the issue says)"),
    "bomb": ("decompression bomb (64 MiB of zeros): we stop at the decompression cap (weird, tag "
             "decompression_bomb) and leave response_body_sha256 empty, tshark decodes it all"),
}
_SNAP = ("tcpdump -s 96: every packet is cut after 96 bytes, a request line or header is never complete; "
         "tshark shows the cut fragments ('Host: 1', URI '/page.') as values and exports them as objects, we "
         "mark the flow truncated and report no field we did not see whole")
_CRAM = ("after AUTH CRAM-MD5 tshark takes the client's base64 response line as the start of DATA content "
         "(it does not follow the 334 challenge); RFC 4954 §4: that line is the SASL response, not mail")
ALLOW: dict[tuple[str, str, str], str] = {
    # HTTP
    ("zeek/http/206_example_b.pcap", "http", "responses"): _HTTP["206"],
    ("zeek/http/261/variant-01-chunk_2pow64_overflow.pcap", "http", "requests"): _HTTP["chunk"],
    ("zeek/http/bro.org.pcap", "http", "responses"): _HTTP["gap"],
    ("zeek/http/bro.org.pcap", "http", "content_type"): _HTTP["gap"],
    ("zeek/http/bro.org.pcap", "http", "body_len"): _HTTP["gap"],
    ("zeek/http/206_example_b.pcap", "http", "body_len"): _HTTP["206"] + " (responses shifted by one)",
    ("zeek/http/connect-with-smtp.pcap", "http", "uri"): _HTTP["connect"],
    ("zeek/http/connect-with-smtp.pcap", "http", "version"): _HTTP["connect"],
    ("zeek/http/connect-with-smtp.pcap", "http-object", "sha256"): _HTTP["connect"],
    ("zeek/http/connect-with-smtp.pcap", "smtp", "mail_from"): _HTTP["connect"] + "; we decode the SMTP in "
        "the tunnel as Zeek does (its smtp.log baseline): tshark shows no SMTP there",
    ("zeek/http/connect-with-smtp.pcap", "smtp", "rcpt_to"): _HTTP["connect"],
    ("zeek/http/connect-with-smtp.pcap", "imf", "messages"): _HTTP["connect"],
    ("zeek/http/methods.pcap", "http", "uri"): _HTTP["methods"],
    ("zeek/http/methods.pcap", "http", "version"): _HTTP["methods"],
    ("zeek/http/methods.pcap", "http-object", "sha256"): _HTTP["methods"],
    ("samples/http/http-h2.pcap", "http", "requests"): _HTTP["h2"],
    ("samples/http/http-h2.pcap", "http-object", "sha256"): _HTTP["h2"],
    ("samples/http/http-bomb.pcap", "http-object", "sha256"): _HTTP["bomb"],
    # SMTP / IMF
    ("suricata-verify/smtp-pipelining/input.pcap", "smtp", "mail_from"): _TSHARK_PIPELINING,
    ("suricata-verify/smtp-pipelining/input.pcap", "smtp", "rcpt_to"): _TSHARK_PIPELINING,
    ("suricata-verify/smtp-pipelining/input.pcap", "imf-object", "sha256"): _TSHARK_PIPELINING,
    ("zeek/smtp/smtp-bdat-pipeline-8bitmime.pcap", "smtp", "mail_from"): _TSHARK_BDAT,
    ("zeek/smtp/smtp-bdat-pipeline-8bitmime.pcap", "smtp", "rcpt_to"): _TSHARK_BDAT,
    ("zeek/smtp/smtp-bdat-pipeline-8bitmime.pcap", "imf", "messages"): _TSHARK_BDAT,
    ("zeek/smtp/rfc3030-bdat-example1.pcap", "imf", "messages"): _TSHARK_BDAT,
    ("zeek/smtp/rfc3030-bdat-multipart.pcap", "imf", "messages"): _TSHARK_BDAT,
    ("samples/smtp/smtp-bdat-chunking.pcap", "smtp", "mail_from"): _TSHARK_BDAT,
    ("samples/smtp/smtp-bdat-chunking.pcap", "smtp", "rcpt_to"): _TSHARK_BDAT,
    ("samples/smtp/smtp-bdat-chunking.pcap", "imf", "messages"): _TSHARK_BDAT,
    ("suricata-verify/issue-4220-01-ids/1flowB.pcap", "smtp", "mail_reply_code"): _SPURIOUS,
    ("suricata-verify/issue-4220-01-ids/1flowB.pcap", "imf-object", "sha256"): _SPURIOUS,
    ("zeek/smtp-mail-transactions-invalid.pcap", "smtp", "rcpt_to"): _INVALID,
    ("zeek/smtp-mail-transactions-invalid.pcap", "smtp", "mail_reply_code"): _INVALID,
    ("zeek/smtp-mail-transactions-invalid.pcap", "smtp", "rcpt_reply_code"): _INVALID,
    ("zeek/smtp-mail-transactions-invalid.pcap", "smtp", "data_reply_code"): _INVALID,
    ("zeek/smtp-mail-transactions-invalid.pcap", "imf", "messages"): _INVALID,
    ("zeek/smtp-mail-transactions-invalid.pcap", "imf-object", "sha256"): _INVALID,
    ("suricata-verify/mime/mime-stream-depth/input.pcap", "imf", "messages"):
        "the capture ends inside the 4th message's DATA: tshark shows no IMF for an unfinished DATA, we "
        "report the message with truncated=True (outcome incomplete)",
    ("suricata-verify/smtp-url-base64/smtp-url-b64.pcap", "imf", "messages"):
        "the client ends its lines with bare LF and the data with LF.LF: RFC 5321 wants CRLF.CRLF, but "
        "the server answered '250 message queued', so it took LF.LF as the end (weird smtp_bare_lf); "
        "tshark waits for CRLF.CRLF and never shows the message",
    ("samples/smtp/lmtp-per-recipient.pcap", "smtp", "data_reply_code"):
        "LMTP (RFC 2033 §4.2): one reply per accepted recipient after DATA; tshark pairs only the first, "
        "our data_reply_code is the worst one and each recipient has its own final_reply_code",
    ("suricata-verify/smtp-bug-5981/input.pcap", "imf-object", "sha256"): _TSHARK_OVERLAP,
    ("suricata-verify/smtp-long-DATA-line/input.pcap", "imf-object", "sha256"): _TSHARK_OVERLAP,
    ("zeek/smtp.pcap", "imf-object", "sha256"):
        "tshark's exported SMTP.eml has the message's own headers spliced into the middle of the NEWS.txt "
        "attachment (its DATA reassembly is confused by the segment order); ours is contiguous and its parts "
        "agree with Zeek's extracted files",
    ("samples/smtp/smtp-auth-swaks.pcap", "imf-object", "sha256"): _CRAM,
    ("samples/smtp/smtp-auth-swaks.pcap", "imf", "date"): _CRAM + " (so its first header, Date, is lost)",
    ("zeek/http/deeply-nested-mime.pcap", "imf-object", "sha256"): _NESTED,
    ("samples/smtp/smtp-pipelining-rset.pcap", "smtp", "auth_user"):
        "the client answers the AUTH LOGIN challenge with '*', which cancels the exchange (RFC 4954 §4); "
        "tshark shows '*' as the user name, we record no user and auth_result=cancelled",
    # other programs' captures (tests/data/interop)
    ("interop/fmt-snap96.pcap", "http", "host"): _SNAP,
    ("interop/fmt-snap96.pcap", "http", "requests"): _SNAP,
    ("interop/fmt-snap96.pcap", "http-object", "sha256"): _SNAP,
    ("interop/mua-postfix.pcap", "smtp", "mail_from"): _HTTP["connect"],
    ("interop/mua-postfix.pcap", "smtp", "rcpt_to"): _HTTP["connect"],
    ("interop/mua-postfix.pcap", "imf", "messages"): _HTTP["connect"],
    ("interop/postfix-relay.pcap", "imf", "messages"): _TSHARK_BDAT,
    # commands counted by tshark vs smtp_sessions.commands
    ("suricata-verify/smtp-pipelining/input.pcap", "smtp", "commands"): _TSHARK_PIPELINING,
    ("zeek/http/connect-with-smtp.pcap", "smtp", "commands"): _HTTP["connect"],
    ("zeek/smtp/smtp-bdat-pipeline-8bitmime.pcap", "smtp", "commands"): _TSHARK_BDAT,
    ("zeek/smtp-mail-transactions-invalid.pcap", "smtp", "commands"): _INVALID,
    ("samples/smtp/smtp-bdat-chunking.pcap", "smtp", "commands"): _TSHARK_BDAT,
    ("interop/mua-postfix.pcap", "smtp", "commands"): _HTTP["connect"],
    ("interop/postfix-relay.pcap", "smtp", "commands"): _TSHARK_BDAT,
    # SNMP
    ("samples/snmp/snmp-v3.pcap", "snmp", "*"): _BLUMENTHAL,
    ("samples/snmp/snmp-pysnmp-3des.pcap", "snmp", "*"): _NO_3DES + "; " + _BLUMENTHAL,
}


def _check(path: Path, found: list[tuple]):
    cid = _id(path)
    bad = [d for d in found if (cid, d[0], d[3]) not in ALLOW and (cid, d[0], "*") not in ALLOW]
    assert not bad, f"{cid}: {len(bad)} disagreements with tshark (ours, tshark):\n" + "\n".join(map(repr, bad[:20]))


def _by(proto: str) -> list:
    """Every capture: a capture without the protocol must show it in neither tool."""
    return [pytest.param(p, id=_id(p)) for p in CAPTURES]


@pytest.mark.parametrize("path", _by("http"))
def test_http_agrees_with_tshark(path):
    _check(path, http_disagreements(path) + http_object_disagreements(path))


@pytest.mark.parametrize("path", _by("smtp"))
def test_smtp_imf_agree_with_tshark(path):
    _check(path, smtp_disagreements(path) + imf_object_disagreements(path))


@pytest.mark.parametrize("path", _by("snmp"))
def test_snmp_agrees_with_tshark(path):
    _check(path, snmp_disagreements(path))


def test_the_comparison_sees_the_protocols():
    """The differential is not vacuous: tshark saw HTTP, SMTP and decrypted SNMPv3 in the captures,
    and a known disagreement is still detected."""
    if not (CORPUS / "captures").is_dir():
        pytest.skip("shared corpus absent")
    smtp = next(p for p in CAPTURES if _id(p) == "zeek/smtp.pcap")
    rows = tshark_view(smtp)["rows"]
    assert sum(1 for r in rows if r["smtp.req.command"]) >= 10
    assert ("smtp", "mail_from") not in {(d[0], d[3]) for d in smtp_disagreements(smtp)}
    v3 = SAMPLES / "snmp" / "snmp-v3.pcap"
    assert any(r["snmp.decrypted_pdu"] and r["snmp.name"] for r in tshark_view(v3)["rows"])
    py = INTEROP / "pysnmp-netsnmp.pcap"
    if py.exists():
        assert sum(1 for r in tshark_view(py)["rows"] if r["snmp.decrypted_pdu"] and r["snmp.name"]) >= 3
        assert sum(p.privacy == "decrypted" for p in ours(py).records["snmp_pdus"]) >= 3
    meth = next(p for p in CAPTURES if _id(p) == "zeek/http/methods.pcap")
    assert any(d[3] == "version" and d[4] == "HTTP/0.9" for d in http_disagreements(meth))


def test_mail_view_does_not_repeat_the_reply_code():
    """Regression (smtp-mail-transactions-invalid.pcap): a MAIL refused with '503 sender already
    given' was shown as '503 503 sender already given' by `dissect mail` (code + last_reply)."""
    p = CORPUS / "captures" / "zeek" / "smtp-mail-transactions-invalid.pcap"
    if not p.exists():
        pytest.skip("shared corpus absent")
    from dissect.smtp.delivery import mail_rows
    (row,) = [m for m in mail_rows(ours(p).records) if m.stage == "MAIL"]
    assert (row.code, row.server_text) == (503, "sender already given")


def test_http_view_url_column():
    """Regression (methods.pcap): `dissect http` glued Host to non-origin-form targets
    ('www.google.com*'; an absolute-form target became 'hosthttp://host/...')."""
    from types import SimpleNamespace as T_

    from dissect.cli.cmd_http import _url
    assert _url(T_(method="OPTIONS", host="www.google.com", uri="*")) == "www.google.com *"
    assert _url(T_(method="GET", host="a.example", uri="http://a.example/x")) == "http://a.example/x"
    assert _url(T_(method="GET", host="a.example", uri="/x")) == "a.example/x"
    assert _url(T_(method="CONNECT", host="h", uri="h:443")) == "h:443"


def test_http_inside_a_connect_tunnel_is_parsed():
    """Regression (interop/lighttpd.pcap, curl -p -x through tinyproxy): the GET sent through a
    CONNECT tunnel was not a row (tshark and Zeek parse it); it is now, trans_depth continuing."""
    p = INTEROP / "lighttpd.pcap"
    if not p.exists():
        pytest.skip("interop capture absent")
    rows = [t for t in ours(p).records["http_transactions"] if t.resp_p == 10888]
    conn = next(t for t in rows if t.method == "CONNECT")
    inner = [(t.trans_depth, t.method, t.uri, t.status_code) for t in rows if t.uid == conn.uid and t is not conn]
    assert inner == [(conn.trans_depth + 1, "GET", "/index.html", 200)]
