"""SNMP over the real net-snmp samples (samples/snmp): decoded values are compared with what the
net-snmp tools printed when the captures were made (samples/snmp/manifest.json).

Each tool invocation opened its own UDP socket (or TCP connection), so the flows of a capture,
in time order, are the manifest's commands in order.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from dissect.pipeline import analyze

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "snmp"
KEYS = SAMPLES / "keys.toml"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text())


def _run(name, keys=True, **kw):
    return analyze([SAMPLES / name], snmp_keys=KEYS if keys else None, strict=True, **kw)


_CACHE: dict = {}


def run(name, keys=True):
    k = (name, keys)
    if k not in _CACHE:
        _CACHE[k] = _run(name, keys)
    return _CACHE[k]


# ------------------------------------------------------------------ net-snmp output parsing

_LINE = re.compile(r"^\.?([0-9.]+) = (?:([A-Za-z0-9-]+): )?(.*)$")
_TYPES = {"STRING": "octet-string", "OID": "oid", "INTEGER": "integer", "Counter32": "counter32",
          "Gauge32": "gauge32", "Counter64": "counter64", "IpAddress": "ipaddress",
          "Timeticks": "timeticks", "Hex-STRING": "octet-string"}


def printed_varbinds(entry) -> list[tuple[str, str, str | None]]:
    out = []
    for line in entry["stdout"].splitlines():
        m = _LINE.match(line)
        if not m:
            continue  # continuation of a multi-line string
        oid, typ, val = m.groups()
        if typ is None:
            if val.startswith("No Such Object"):
                out.append((oid, "noSuchObject", None))
            elif val.startswith("No Such Instance"):
                out.append((oid, "noSuchInstance", None))
            elif val.startswith("No more variables"):
                out.append((oid, "endOfMibView", None))
            else:
                out.append((oid, "?", val))
            continue
        t = _TYPES.get(typ, typ)
        if t == "octet-string" and typ == "STRING":
            val = val[1:-1] if val.startswith('"') and val.endswith('"') else val
        elif typ == "Hex-STRING":
            val = "0x" + val.replace(" ", "").lower()
        elif t == "oid":
            val = val.lstrip(".")
        elif t == "timeticks":
            val = re.match(r"\((\d+)\)", val).group(1)
        out.append((oid, t, val))
    return out


def flows_in_order(a):
    f = a.tables["flows"]
    f = f[f["service"] == "snmp"].sort_values("ts")
    return list(f["uid"])


def responses_by_flow(a):
    """uid -> [(oid, type, value)] of the Response PDUs of the flow, in order."""
    pdus = sorted(a.records["snmp_pdus"], key=lambda r: (r.ts, r.pdu_index))
    vbs: dict[int, list] = {}
    for v in a.records["snmp_varbinds"]:
        vbs.setdefault(v.pdu_index, []).append(v)
    out: dict[str, list] = {}
    for r in pdus:
        if r.pdu_type == "response":
            lst = sorted(vbs.get(r.pdu_index, []), key=lambda v: v.index)
            out.setdefault(r.uid, []).extend((v.oid, v.type, v.value) for v in lst)
    return out


def entries(capture):
    return [e for e in MANIFEST if e["capture"] == capture]


@pytest.mark.parametrize("capture", ["snmp-v1v2c.pcap", "snmp-v3.pcap", "snmp-tcp.pcap", "snmp-traps.pcap",
                                     "snmp-extra.pcap"])
def test_varbinds_match_what_the_tools_printed(capture):
    a = run(capture)
    uids = flows_in_order(a)
    ents = entries(capture)
    assert len(uids) == len(ents), (len(uids), [e["cmd"][0] for e in ents])
    resp = responses_by_flow(a)
    checked = 0
    for uid, e in zip(uids, ents):
        want = printed_varbinds(e)
        got = resp.get(uid, [])
        if e["rc"] != 0 or not want:
            continue
        if e["cmd"][0] == "snmpwalk":
            # a walk prints what stayed in the subtree: one extra response left it (for a walk
            # of a leaf, net-snmp then GETs the leaf itself, printed after the extra one)
            extra = [g for g in got if g not in want]
            assert [g for g in got if g in want] == want and len(extra) == 1, e["cmd"]
        else:
            assert got == want, e["cmd"]
        checked += len(want)
    assert checked >= {"snmp-v1v2c.pcap": 30, "snmp-v3.pcap": 25, "snmp-tcp.pcap": 12, "snmp-traps.pcap": 0,
                       "snmp-extra.pcap": 12}[capture]


def test_v1v2c_requests_communities_and_pairing():
    a = run("snmp-v1v2c.pcap")
    pdus = a.records["snmp_pdus"]
    df = a.tables["snmp_pdus"]
    assert set(df["version"]) == {"1", "2c"}
    assert {r.community for r in pdus} == {"public", "wrongComm", "private", "wr1teC0mm"}
    # the table masks the secret column unless --show-secrets
    assert set(df["community"]) == {"p****c", "w*******m", "p*****e"}
    types = df["pdu_type"].value_counts().to_dict()
    assert types["getbulk"] == 1 and types["set"] == 4
    assert types["response"] == sum(1 for r in pdus if r.answered is True)
    # wrong and default communities: never answered (wrongComm sent twice: net-snmp retries)
    for comm, n in (("wrongComm", 2), ("private", 1)):
        rows = [r for r in pdus if r.community == comm]
        assert len(rows) == n and all(r.answered is False and r.is_request for r in rows)
        assert all(r.response_time is None for r in rows)
    # every answered request has a positive response time and its response points back to it
    by_index = {r.pdu_index: r for r in pdus}
    for r in pdus:
        if r.pdu_type == "response":
            req = by_index[r.request_index]
            assert req.answered is True and req.request_id == r.request_id
            assert req.src_p == r.dst_p and req.dst_p == r.src_p
            assert req.response_time > 0 and r.response_time == req.response_time
    # getbulk fields
    bulk = next(r for r in pdus if r.pdu_type == "getbulk")
    assert (bulk.non_repeaters, bulk.max_repetitions, bulk.error_status) == (1, 3, None)
    # sets: accepted, notWritable, wrongType (v2c rw community), noSuchName (v1, read-only community)
    sets = sorted((r for r in pdus if r.pdu_type == "set"), key=lambda r: r.ts)
    answers = {r.request_index: r for r in pdus if r.pdu_type == "response"}
    assert [answers[s.pdu_index].error_status for s in sets] == ["noError", "notWritable", "wrongType", "noSuchName"]
    assert [s.outcome for s in sets] == ["noError", "notWritable", "wrongType", "noSuchName"]
    assert [s.community for s in sets] == ["wr1teC0mm"] * 3 + ["public"]
    assert [answers[s.pdu_index].error_index for s in sets] == [0, 1, 1, 1]


def test_v1v2c_value_types():
    a = run("snmp-v1v2c.pcap")
    vbs = a.records["snmp_varbinds"]
    types = {v.type for v in vbs}
    assert {"octet-string", "oid", "timeticks", "counter32", "gauge32", "counter64", "ipaddress",
            "noSuchObject", "noSuchInstance", "endOfMibView", "null"} <= types
    ip = next(v for v in vbs if v.type == "ipaddress")
    assert (ip.oid, ip.value) == ("1.3.6.1.2.1.4.20.1.1.127.0.0.1", "127.0.0.1")
    gauge = next(v for v in vbs if v.type == "gauge32")
    assert gauge.value_int == 10000000 and gauge.value == "10000000"
    assert all(v.value_int is None for v in vbs if v.type in ("octet-string", "oid", "null"))
    assert not a.records.get("weirds")


def test_traps_and_informs():
    a = run("snmp-traps.pcap")
    pdus = sorted(a.records["snmp_pdus"], key=lambda r: r.ts)
    vbs: dict[int, list] = {}
    for v in a.records["snmp_varbinds"]:
        vbs.setdefault(v.pdu_index, []).append(v)
    t1, t2, t3, inf, resp, lost1, lost2, disc, report, inf3, resp3, trap3 = pdus
    assert (t1.pdu_type, t1.version, t1.enterprise, t1.agent_addr, t1.generic_trap, t1.specific_trap) == \
        ("trap", "1", "1.3.6.1.4.1.8072.2.3", "127.0.0.1", "enterpriseSpecific", 17)
    assert t1.trap_oid == "1.3.6.1.4.1.8072.2.3.0.17"
    assert [(v.oid, v.value) for v in vbs[t1.pdu_index]] == [("1.3.6.1.4.1.8072.2.3.2.1", "42"),
                                                            ("1.3.6.1.2.1.1.5.0", "trap-sender")]
    assert (t2.generic_trap, t2.time_stamp, t2.trap_oid) == ("linkDown", 12345, "1.3.6.1.6.3.1.1.5.3")
    assert t1.is_request is False and t1.answered is None
    assert (t3.pdu_type, t3.version, t3.trap_oid) == ("trapv2", "2c", "1.3.6.1.6.3.1.1.5.3")
    assert vbs[t3.pdu_index][0].value == "4242" and vbs[t3.pdu_index][0].type == "timeticks"
    assert t3.time_stamp == 4242 and inf.time_stamp == 777 and inf.outcome == "noError"
    assert (inf.pdu_type, inf.answered, inf.trap_oid) == ("inform", True, "1.3.6.1.6.3.1.1.5.4")
    assert resp.pdu_type == "response" and resp.request_index == inf.pdu_index
    assert resp.src_p == 16162 and inf.dst_p == 16162
    assert inf.response_time > 0
    assert lost1.pdu_type == lost2.pdu_type == "inform" and lost1.answered is False and lost2.answered is False
    assert lost1.request_id == lost2.request_id and lost1.dst_p == 16163
    # v3 inform: the receiver (snmptrapd) is the authoritative engine: discovered, then the keys
    # are localised with its engine id; the user's protocols are found by trial (keys.toml)
    assert (disc.is_request, report.report_reason, report.engine_id_value) == (True, "unknownEngineIDs", "pcapdissecttrapd")
    for r in (inf3, resp3):
        assert (r.user, r.auth, r.auth_proto, r.privacy, r.priv_proto) == ("informUser", "ok", "sha1", "decrypted", "aes128")
        assert r.engine_id_value == "pcapdissecttrapd"
    assert inf3.pdu_type == "inform" and inf3.answered and resp3.request_index == inf3.pdu_index
    assert [v.value for v in vbs[inf3.pdu_index]] == ["999", "1.3.6.1.6.3.1.1.5.1", "v3-inform"]
    # v3 trap: the sender is authoritative (engine id given with -e), MD5/DES identified by trial
    assert (trap3.pdu_type, trap3.user, trap3.auth_proto, trap3.priv_proto, trap3.engine_id) == \
        ("trapv2", "trapUser", "md5", "des", "8000000001020304")
    assert trap3.engine_id_format == "ipv4-invalid" and trap3.trap_oid == "1.3.6.1.6.3.1.1.5.2"
    assert [v.value for v in vbs[trap3.pdu_index]] == ["1000", "1.3.6.1.6.3.1.1.5.2", "v3-trap"]


def _v3_by_user(a):
    out: dict[str, list] = {}
    for r in sorted(a.records["snmp_pdus"], key=lambda r: r.ts):
        out.setdefault(r.user, []).append(r)
    return out


EXPECTED_V3 = {
    # user: (security level, auth proto, priv proto)
    "md5User": ("authNoPriv", "md5", None),
    "shaUser": ("authNoPriv", "sha1", None),
    "desUser": ("authPriv", "sha1", "des"),
    "aesUser": ("authPriv", "sha1", "aes128"),
    "sha256User": ("authPriv", "sha256", "aes128"),
    "sha512User": ("authPriv", "sha512", "aes128"),
    "aes192User": ("authPriv", "sha1", "aes192"),
    "aes256User": ("authPriv", "sha1", "aes256"),
    "aes192cUser": ("authPriv", "sha1", "aes192c"),
    "aes256cUser": ("authPriv", "sha1", "aes256c"),
    "sha224User": ("authPriv", "sha224", "aes128"),
    "sha384User": ("authPriv", "sha384", "aes256"),
}


def test_v3_with_keys_every_user_authenticates_and_decrypts():
    a = run("snmp-v3.pcap")
    users = _v3_by_user(a)
    for user, (level, ap, pp) in EXPECTED_V3.items():
        get = next(r for r in users[user] if r.is_request and r.security_level == level)
        resp = next(r for r in users[user] if r.request_index == get.pdu_index)
        for r in (get, resp):
            assert (r.security_level, r.auth, r.auth_proto) == (level, "ok", ap), user
            assert r.privacy == ("decrypted" if pp else "none") and r.priv_proto == pp, user
            assert r.engine_id == "80001f8804706361706469737365637473616d706c65"
            assert r.engine_id_format == "text" and r.engine_id_value == "pcapdissectsample"
            assert r.engine_enterprise == 8072 and r.context_name == ""
            assert r.msg_id is not None and r.flags & 3 == {"authNoPriv": 1, "authPriv": 3}[level]
        assert get.answered and get.response_time > 0 and resp.pdu_type == "response"
        assert get.msg_id == resp.msg_id and get.request_id == resp.request_id
        assert resp.engine_boots >= 1 and resp.engine_time >= 0
    noauth = [r for r in users["noAuthUser"] if r.pdu_type == "response"]
    assert noauth and noauth[0].auth == "none" and noauth[0].privacy == "none"


def test_v3_discovery_reports_and_failures():
    a = run("snmp-v3.pcap")
    pdus = a.records["snmp_pdus"]
    reports = [r for r in pdus if r.pdu_type == "report"]
    reasons = [r.report_reason for r in reports]
    assert reasons.count("unknownEngineIDs") == 20  # one discovery per v3 command
    assert reasons.count("wrongDigests") == 1 and reasons.count("unknownUserNames") == 1
    disc = next(r for r in pdus if r.user == "" and r.is_request)
    assert disc.engine_id == "" and disc.engine_id_format == "empty" and disc.security_level == "noAuthNoPriv"
    assert disc.answered
    wrong = next(r for r in reports if r.report_reason == "wrongDigests")
    req = next(r for r in pdus if r.pdu_index == wrong.request_index)
    assert (req.user, req.auth, req.auth_proto, req.outcome) == ("md5User", "bad", None, "report:wrongDigests")
    assert disc.outcome == "report:unknownEngineIDs"
    ghost = next(r for r in pdus if r.user == "ghostUser" and r.is_request)
    assert ghost.auth == "unchecked" and ghost.answered
    # wrong privacy password: authentic but not decryptable with the key we hold; no answer
    bad = [r for r in pdus if r.privacy == "decrypt_failed"]
    assert bad and all(r.user == "aesUser" and r.auth == "ok" and r.pdu_type == "encrypted"
                       and r.answered is False and r.varbind_count == 0 for r in bad)
    # the engine learnt from the agent's authoritative messages
    _, shared = None, None
    refused = [r for r in pdus if r.error_status == "authorizationError"]
    assert len(refused) == 1 and refused[0].user == "md5User" and refused[0].security_level == "noAuthNoPriv"


def test_v3_without_keys_stays_encrypted():
    a = run("snmp-v3.pcap", keys=False)
    pdus = a.records["snmp_pdus"]
    enc = [r for r in pdus if r.security_level == "authPriv"]
    assert enc and all(r.privacy == "no_key" and r.pdu_type == "encrypted" and r.varbind_count == 0
                       and r.request_id is None for r in enc)
    assert all(r.auth == "unchecked" for r in pdus if r.flags and r.flags & 1)
    # encrypted exchanges are still paired by msgID
    reqs = [r for r in enc if r.is_request and r.user == "desUser"]
    assert reqs and all(r.answered for r in reqs)
    vb_pdus = {v.pdu_index for v in a.records["snmp_varbinds"]}
    assert not vb_pdus & {r.pdu_index for r in enc}


def test_v3_wrong_keys_never_decode_garbage(tmp_path):
    keys = tmp_path / "wrong.toml"
    lines = []
    for user, (_lvl, ap, pp) in EXPECTED_V3.items():
        lines += ["[[user]]", f'name = "{user}"', 'auth_password = "wrongAuthPass"']
        if pp:
            lines += ['priv_password = "wrongPrivPass"']
    keys.write_text("\n".join(lines) + "\n")
    keys.chmod(0o600)
    a = analyze([SAMPLES / "snmp-v3.pcap"], snmp_keys=keys, strict=True)
    pdus = a.records["snmp_pdus"]
    authd = [r for r in pdus if r.flags and r.flags & 1 and r.user in EXPECTED_V3]
    assert authd and all(r.auth == "bad" and r.auth_proto is None for r in authd)
    enc = [r for r in pdus if r.security_level == "authPriv"]
    assert enc and all(r.privacy == "decrypt_failed" and r.varbind_count == 0 for r in enc)


def test_auth_samples_for_the_audit():
    from dissect.analyzer import FlowContext  # noqa: F401  (shared state is built by the protocol)
    from dissect.options import Options
    from dissect.snmp.analyzer import SnmpShared

    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from snmp_drive import run_dpkt

    tables, shared = run_dpkt(SAMPLES / "snmp-v3.pcap", Options(strict=True, snmp_keys=KEYS))
    authd = [r for r in tables["snmp_pdus"] if r.flags and r.flags & 1]
    assert len(shared.auth_samples) == len(authd) > 20
    s = shared.auth_samples[0]
    assert s.whole_msg[s.auth_offset:s.auth_offset + s.auth_len] != bytes(s.auth_len)
    assert s.auth_len in (12, 48) and s.user and s.src.startswith("127.0.0.1:")
    assert shared.engines[bytes.fromhex("80001f8804706361706469737365637473616d706c65")][0] >= 1


def test_tcp_framing():
    a = run("snmp-tcp.pcap")
    pdus = a.records["snmp_pdus"]
    assert pdus and all(r.transport == "tcp" for r in pdus)
    reqs = [r for r in pdus if r.is_request]
    assert reqs and all(r.answered for r in reqs)
    assert any(r.privacy == "decrypted" and r.user == "aesUser" for r in pdus)
    assert not a.records.get("weirds")


def test_streams_split_anywhere_give_the_same_records():
    """The TCP sample fed whole, byte by byte and split at every offset gives the same PDUs."""
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from snmp_drive import read_packets

    from dissect.analyzer import FlowContext
    from dissect.snmp.analyzer import SnmpAnalyzer, SnmpShared

    pkts = [p for p in read_packets(SAMPLES / "snmp-tcp.pcap") if p[6] and p[5] == "tcp"]
    first = pkts[0]
    conn = [p for p in pkts if {p[2], p[4]} == {first[2], first[4]}]
    streams = {0: b"", 1: b""}
    for p in conn:
        streams[0 if p[2] == first[2] else 1] += p[6]

    def run_split(chunker):
        sink = []
        ctx = FlowContext("Ct", "127.0.0.1", first[2], "127.0.0.1", first[4], "tcp", sink.append)
        an = SnmpAnalyzer(ctx)
        # requests then responses, in message order: interleave by message
        for d in (0, 1):
            for chunk in chunker(streams[d]):
                an.feed(d, chunk, 1.0 + d)
        an.close(3.0)
        return sorted((r.pdu_type, r.request_id, r.community, r.varbind_count, r.answered)
                      for r in sink if r.__table__ == "snmp_pdus")

    whole = run_split(lambda b: [b])
    assert len(whole) >= 2
    assert run_split(lambda b: [b[i:i + 1] for i in range(len(b))]) == whole
    for cut in range(1, len(streams[0])):
        assert run_split(lambda b, c=cut: [b[:c], b[c:]]) == whole


def test_cli_lists_and_masks(run_cli):
    res = run_cli("snmp", SAMPLES / "snmp-v1v2c.pcap", "--community", "wr1teC0mm", "--varbinds", "1")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "wr1teC0mm" not in out and "w*******m" in out
    assert "error=notWritable@1" in out and "set" in out
    res = run_cli("snmp", "list", SAMPLES / "snmp-v1v2c.pcap", "--community", "wr1teC0mm", "--show-secrets")
    assert "community=wr1teC0mm" in res.stdout
    res = run_cli("snmp", SAMPLES / "snmp-v3.pcap", "--snmp-keys", KEYS, "--user", "aes256cUser")
    assert res.exit_code == 0
    assert "priv=decrypted(aes256c)" in res.stdout and "pcap-dissect sample agent" in res.stdout
    res = run_cli("snmp", SAMPLES / "snmp-v1v2c.pcap", "--unanswered", "--show-secrets")
    assert res.stdout.count("UNANSWERED") == 3 and "wrongComm" in res.stdout


def test_cli_user_errors(run_cli, tmp_path):
    def message(res):
        exc = getattr(res, "exception", None)
        err = ""
        try:
            err = res.stderr
        except (ValueError, AttributeError):
            pass
        return f"{exc or ''} {err}"

    bad = tmp_path / "bad.toml"
    bad.write_text("[[user]]\nname = 'x'\nauth_protocol = 'ROT13'\n")
    res = run_cli("snmp", SAMPLES / "snmp-v3.pcap", "--snmp-keys", bad)
    assert res.exit_code != 0 and "bad.toml" in message(res) and "Traceback" not in message(res)
    res = run_cli("snmp", tmp_path / "missing.pcap")
    assert res.exit_code != 0 and "no such file" in message(res)


def test_pysnmp_3des_and_aes_extensions():
    """pysnmp agent and manager (samples/snmp/make_pysnmp_samples.py): 3DES-EDE, and pysnmp's
    AES-192 (Reeder) vs AES-256 (Blumenthal); values equal to what the pysnmp manager printed."""
    a = run("snmp-pysnmp-3des.pcap")
    pdus = sorted(a.records["snmp_pdus"], key=lambda r: r.ts)
    vbs: dict[int, list] = {}
    for v in a.records["snmp_varbinds"]:
        vbs.setdefault(v.pdu_index, []).append(v)
    want = {"des3md5User": ("md5", "3des"), "des3shaUser": ("sha1", "3des"),
            "aes192pyUser": ("sha1", "aes192c"), "aes256bpyUser": ("sha1", "aes256")}
    printed = {e["user"]: e for e in entries("snmp-pysnmp-3des.pcap")}
    assert set(printed) == set(want)
    for user, (ap, pp) in want.items():
        resp = next(r for r in pdus if r.user == user and r.pdu_type == "response")
        assert (resp.auth, resp.auth_proto, resp.privacy, resp.priv_proto) == ("ok", ap, "decrypted", pp)
        assert resp.engine_id_format == "mac" and resp.engine_id_value == "00:00:5e:00:53:01"
        got = [(v.oid, v.value) for v in sorted(vbs[resp.pdu_index], key=lambda v: v.index)]
        assert got == [(o, val) for o, _t, val in printed[user]["varbinds"]] and got[0][1].startswith("PySNMP")


def test_ipv6_time_window_and_context():
    a = run("snmp-extra.pcap")
    pdus = sorted(a.records["snmp_pdus"], key=lambda r: r.ts)
    v6 = [r for r in pdus if ":" in r.src_h]
    assert v6 and {r.src_h for r in v6} == {"::1"} and {r.transport for r in v6} == {"udp", "tcp"}
    assert all(r.answered for r in v6 if r.is_request)
    # stale boots/time (-Z 0,1): an authenticated Report notInTimeWindows, then a retry with a
    # new msgID and the agent's boots/time (the request-id stays)
    late = next(r for r in pdus if r.report_reason == "notInTimeWindows")
    assert late.auth == "ok" and late.user == "shaUser"
    req = next(r for r in pdus if r.pdu_index == late.request_index)
    assert req.outcome == "report:notInTimeWindows" and req.engine_boots == 0
    retry = next(r for r in pdus if r.is_request and r.request_id == req.request_id and r is not req)
    assert retry.answered and retry.outcome == "noError" and retry.engine_boots >= 1
    # a context the agent does not know: net-snmp drops the request silently
    ctx = [r for r in pdus if r.context_name == "noSuchContext" and r.user == "shaUser"]
    assert len(ctx) == 2 and all(r.answered is False and r.auth == "ok" for r in ctx)
