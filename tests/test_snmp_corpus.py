"""SNMP over the shared corpus: Zeek's SNMP traces against Zeek's expected event dumps and logs,
the Suricata-verify SNMP checks, and tshark's field views as a differential. No exception on any
capture of the corpus (the flow table re-raises analyzer exceptions with strict=True)."""

from __future__ import annotations

import csv
import re

import pytest

from conftest import CORPUS, corpus_captures, corpus_path
from dissect.pipeline import analyze
from dissect.snmp.message import ERROR_STATUS, GENERIC_TRAPS

_CACHE: dict = {}


def run(rel):
    if rel not in _CACHE:
        _CACHE[rel] = analyze([corpus_path(rel)], strict=True)
    return _CACHE[rel]


def pdus_of(a):
    return sorted(a.records.get("snmp_pdus", []), key=lambda r: (r.ts, r.pdu_index))


def varbinds_of(a):
    out: dict[int, list] = {}
    for v in a.records.get("snmp_varbinds", []):
        out.setdefault(v.pdu_index, []).append(v)
    for lst in out.values():
        lst.sort(key=lambda v: v.index)
    return out


# ---------------------------------------------------------------- Zeek event dumps (out files)

_ZEEK_EVENTS = {"snmp_get_request": ("get", "getnext"), "snmp_get_next_request": ("getnext",),
                "snmp_response": ("response",), "snmp_set_request": ("set",), "snmp_trap": ("trap",),
                "snmp_get_bulk_request": ("getbulk",), "snmp_inform_request": ("inform",),
                "snmp_trapV2": ("trapv2",), "snmp_report": ("report",),
                "snmp_encrypted_pdu": ("encrypted",)}
_ZEEK_TAGS = {"0x02": "integer", "0x04": "octet-string", "0x05": "null", "0x06": "oid", "0x40": "ipaddress",
              "0x41": "counter32", "0x42": "gauge32", "0x43": "timeticks", "0x46": "counter64"}


def parse_zeek_out(path):
    events = []
    cur = None
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("#"):
            continue
        if line and not line.startswith(" "):
            cur = {"event": line.strip(), "vbs": []}
            events.append(cur)
            continue
        s = line.strip()
        if s.startswith("is_orig:"):
            cur["is_orig"] = s.endswith("T")
        elif s.startswith("[community="):
            cur["community"] = s[len("[community="):-1]
        elif s.startswith("[id="):
            m = re.match(r"\[id=(\d+), max_size=(\d+), flags=(\d+)", s)
            cur["msg_id"], cur["max_size"], cur["flags"] = map(int, m.groups())
            m = re.search(r"UserName=([^,]*),", s)
            cur["user"] = m.group(1) if m else None
            m = re.search(r"AuthoritativeEngineBoots=(\d+), AuthoritativeEngineTime=(\d+)", s)
            cur["boots_time"] = tuple(map(int, m.groups())) if m else None
        elif ":" in s and not s.startswith(("oid:", "value")):
            k, _, v = s.partition(":")
            cur[k.strip()] = v.strip()
        elif s.startswith("oid:"):
            cur["vbs"].append([s[4:].strip(), None, None])
        elif s.startswith("value (tag="):
            m = re.match(r"value \(tag=(0x[0-9a-f]+)\): ?(.*)$", s)
            cur["vbs"][-1][1:] = [m.group(1), m.group(2)]
    return events


def zeek_string(v: str | None) -> str:
    """Our OCTET STRING rendering -> Zeek's (printable kept, other bytes as \\xNN)."""
    if v is None:
        return ""
    if v.startswith("0x"):
        b = bytes.fromhex(v[2:])
        return "".join(chr(c) if 32 <= c < 127 else "\\x%02x" % c for c in b)
    return v


def zeek_baselines(capture_rel):
    rows = list(csv.DictReader(open(corpus_path("MANIFEST.tsv")), delimiter="\t"))
    for r in rows:
        if r["local_name"] == capture_rel:
            return [x.split("=", 1)[1] for x in r["expected_outputs"].split(";") if x.startswith("zeek-btest-baseline=")]
    return []


ZEEK_OUT = [
    ("captures/zeek/snmp/snmpv1_get.pcap", "expected/zeek/scripts.base.protocols.snmp.v1/out1"),
    ("captures/zeek/snmp/snmpv1_get_short.pcap", "expected/zeek/scripts.base.protocols.snmp.v1/out2"),
    ("captures/zeek/snmp/snmpv1_set.pcap", "expected/zeek/scripts.base.protocols.snmp.v1/out3"),
    ("captures/zeek/snmp/snmpv1_trap.pcap", "expected/zeek/scripts.base.protocols.snmp.v1/out4"),
    ("captures/zeek/snmp/snmpv2_get.pcap", "expected/zeek/scripts.base.protocols.snmp.v2/out1"),
    ("captures/zeek/snmp/snmpv2_get_bulk.pcap", "expected/zeek/scripts.base.protocols.snmp.v2/out2"),
    ("captures/zeek/snmp/snmpv2_get_next.pcap", "expected/zeek/scripts.base.protocols.snmp.v2/out3"),
    ("captures/zeek/snmp/snmpv3_get_next.pcap", "expected/zeek/scripts.base.protocols.snmp.v3/out1"),
    ("captures/zeek/snmp/snmp-crash-62790.pcap", "expected/zeek/scripts.base.protocols.snmp.snmp-crash-62790/out1"),
]


@pytest.mark.parametrize("capture,expected", ZEEK_OUT, ids=[c.split("/")[-1] for c, _ in ZEEK_OUT])
def test_zeek_event_dumps(capture, expected):
    assert expected in zeek_baselines(capture)  # the pairing comes from the corpus manifest
    events = parse_zeek_out(corpus_path(expected))
    a = run(capture)
    pdus = pdus_of(a)
    vbs = varbinds_of(a)
    assert len(pdus) == len(events)
    for ev, r in zip(events, pdus):
        assert r.pdu_type in _ZEEK_EVENTS[ev["event"]], (ev["event"], r.pdu_type)
        is_orig_side = r.dst_p in (161, 162)
        assert ev["is_orig"] == is_orig_side
        if "community" in ev:
            assert r.community == ev["community"]
        if "msg_id" in ev:
            assert (r.msg_id, r.max_size, r.flags) == (ev["msg_id"], ev["max_size"], ev["flags"])
            if ev.get("boots_time"):
                assert (r.engine_boots, r.engine_time) == ev["boots_time"]
                assert r.user == ev["user"]
        if "request_id" in ev:
            assert r.request_id == int(ev["request_id"])
        if "error_stat" in ev:
            assert r.error_status == ERROR_STATUS[int(ev["error_stat"])]
            assert r.error_index == int(ev["error_idx"])
        if "non_repeaters" in ev:
            assert (r.non_repeaters, r.max_repetitions) == (int(ev["non_repeaters"]), int(ev["max_repetitions"]))
        if "enterprise" in ev:
            assert (r.enterprise, r.agent_addr) == (ev["enterprise"], ev["agent"])
            assert r.generic_trap == GENERIC_TRAPS[int(ev["generic_trap"])]
            assert (r.specific_trap, r.time_stamp) == (int(ev["specific_trap"]), int(ev["time_stamp"]))
        if ev["event"] == "snmp_encrypted_pdu":
            assert r.privacy == "no_key" and r.varbind_count == 0
            continue
        got = vbs.get(r.pdu_index, [])
        assert len(got) == len(ev["vbs"])
        for (oid, tag, val), v in zip(ev["vbs"], got):
            assert v.oid == oid
            if tag is None:
                continue
            assert v.type == _ZEEK_TAGS[tag]
            if v.type == "null":
                assert val == "<unspecified>"
            elif v.type == "octet-string":
                assert zeek_string(v.value) == val
            else:
                assert v.value == val


def test_zeek_v3_log_and_crash_log():
    a = run("captures/zeek/snmp/snmpv3_get_next.pcap")
    pdus = pdus_of(a)
    log = (CORPUS / "expected/zeek/scripts.base.protocols.snmp.v3/snmp.log").read_text().splitlines()
    fields = next(l for l in log if l.startswith("#fields")).split("\t")[1:]
    row = dict(zip(fields, next(l for l in log if not l.startswith("#")).split("\t")))
    assert {r.version for r in pdus} == {row["version"]}
    assert row["community"] == "username" and any(r.user == "username" for r in pdus)  # Zeek logs the v3 user there
    assert pdus[-1].ts - pdus[0].ts == pytest.approx(float(row["duration"]), abs=1e-5)
    assert pdus[1].report_reason == "other:1.3.6.1.6.3.15.1.1.0"  # this trace's Report names the usmStats group
    assert pdus[1].engine_id_format == "netsnmp-random" and pdus[1].engine_enterprise == 8072

    a = run("captures/zeek/snmp/snmp-crash-62790.pcap")
    pdus = pdus_of(a)
    assert len(pdus) == 3 and all(r.version == "3" and r.pdu_type == "encrypted" and r.user == "Admin001"
                                  and r.security_level == "authPriv" and r.auth == "unchecked" for r in pdus)
    assert pdus[-1].ts - pdus[0].ts == pytest.approx(11.133819, abs=1e-5)
    # msgID 22274707 request from the manager, answered by the agent
    req = next(r for r in pdus if r.src_p == 62790)
    assert req.answered and req.msg_id == 22274707 and req.outcome == "encrypted"
    assert [r.is_request for r in pdus] == [False, True, False]  # nothing from port 161 is a request


def test_zeek_oid_subidentifier_too_long():
    a = run("captures/zeek/snmp/snmp-oid-subidentifier-too-long.pcap")
    w = [x for x in a.records.get("weirds", []) if x.source == "snmp"]
    assert [(x.name, x.addl) for x in w] == [("snmp_oid_subidentifier_too_long", "subidentifier of 11 octets")]
    (pdu,) = pdus_of(a)
    (vb,) = varbinds_of(a)[pdu.pdu_index]
    assert vb.oid == "1.3.0" and vb.type == "null"  # tshark decodes it the same way


def test_zeek_snmpwalk_ipaddresses():
    a = run("captures/zeek/snmp/snmpwalk-short.pcap")
    want = [l for l in (CORPUS / "expected/zeek/scripts.base.protocols.snmp.snmp-addr/.stdout").read_text().splitlines()
            if l and not l.startswith("#")]
    vbs = varbinds_of(a)
    got = [v.value for r in pdus_of(a) for v in vbs.get(r.pdu_index, []) if v.type == "ipaddress"]
    assert got == want
    pdus = pdus_of(a)
    assert len(pdus) == 400 and sum(r.answered is True for r in pdus) == 200


# ---------------------------------------------------------------- Suricata-verify

def test_suricata_v2c_get():
    pdus = pdus_of(run("captures/zeek/snmp/snmpv2_get_next.pcap"))  # same packets as SNMPv2c_get_requests
    vbs = varbinds_of(run("captures/zeek/snmp/snmpv2_get_next.pcap"))
    assert len(pdus) == 8 and all(r.version == "2c" for r in pdus)
    assert sum(r.pdu_type == "get" and r.community == "[R0_C@cti!]" for r in pdus) == 3
    nxt = [r for r in pdus if r.pdu_type == "getnext"]
    assert len(nxt) == 1 and [v.oid for v in vbs[nxt[0].pdu_index]] == ["0.1"]


def test_suricata_v3_encrypted():
    pdus = pdus_of(run("captures/suricata-verify/snmp-v3-encrypted/SNMPv3.pcap"))
    assert len(pdus) == 8 and all(r.version == "3" for r in pdus)
    assert sum(r.pdu_type == "get" for r in pdus) == 2
    assert sum(r.pdu_type == "encrypted" for r in pdus) == 4
    assert {r.user for r in pdus} == {"admin"}
    assert all(r.answered for r in pdus if r.is_request)


def test_suricata_v3_unauth():
    pdus = pdus_of(run("captures/suricata-verify/snmp-v3-unauth/snmp-v3-get-bulk-unauth.pcap"))
    assert len(pdus) == 8 and all(r.version == "3" for r in pdus)
    assert sum(r.pdu_type == "get" for r in pdus) == 3
    assert sum(r.pdu_type == "getbulk" for r in pdus) == 1
    assert "noAuthUser" in {r.user for r in pdus}
    assert all(r.security_level == "noAuthNoPriv" and r.auth == "none" for r in pdus)


def test_suricata_v1_trap_oid():
    rel = ("captures/suricata-verify/firewall/ruletype-firewall-54-snmp-v1-trap/"
           "public-wiresharkwiki-c06-snmpv1-trap-app-r1-1-12.pcap")
    a = run(rel)
    traps = [r for r in pdus_of(a) if r.pdu_type == "trap"]
    assert len(traps) == 7
    assert all(r.enterprise == "1.3.6.1.4.1.4.1.2.21" and r.agent_addr == "127.0.0.1" for r in traps)
    # the 5 PROTOS cases with bogus tags are weirds, and keep their community row
    bad = [r for r in pdus_of(a) if r.pdu_type is None]
    assert len(bad) == 5 and all(r.community == "public" for r in bad)
    assert len([w for w in a.records["weirds"] if w.source == "snmp"]) == 5


# ---------------------------------------------------------------- tshark differential

TSHARK = sorted((CORPUS / "tshark").rglob("*.snmp.tsv")) if CORPUS.is_dir() else []


def _tshark_rows(path):
    rows = list(csv.DictReader(open(path, newline=""), delimiter="\t"))
    return [r for r in rows if r["snmp.version"] or r["snmp.msgVersion"]]


@pytest.mark.parametrize("tsv", TSHARK, ids=[p.name for p in TSHARK])
def test_tshark_differential(tsv):
    rel = str(tsv.relative_to(CORPUS / "tshark"))[: -len(".snmp.tsv")]
    a = run("captures/" + rel)
    rows = _tshark_rows(tsv)
    ours = pdus_of(a)
    assert len(ours) == len(rows)
    vbs = varbinds_of(a)
    for t, r in zip(rows, ours):
        ver = t["snmp.version"] or t["snmp.msgVersion"]
        assert r.version == {"0": "1", "1": "2c", "3": "3"}[ver]
        if t["snmp.community"]:
            assert r.community == t["snmp.community"]
        if t["snmp.data"]:
            assert r.pdu_type == ["get", "getnext", "response", "set", "trap", "getbulk", "inform", "trapv2",
                                  "report"][int(t["snmp.data"])]
        else:  # encrypted, or a PDU tshark could not decode either
            assert r.pdu_type == ("encrypted" if ver == "3" else None)
        for col, attr in (("snmp.request_id", "request_id"), ("snmp.error_index", "error_index"),
                          ("snmp.non_repeaters", "non_repeaters"), ("snmp.max_repetitions", "max_repetitions"),
                          ("snmp.specific_trap", "specific_trap"), ("snmp.time_stamp", "time_stamp"),
                          ("snmp.msgAuthoritativeEngineBoots", "engine_boots"),
                          ("snmp.msgAuthoritativeEngineTime", "engine_time")):
            if t[col]:
                assert getattr(r, attr) == int(t[col]), col
        if t["snmp.error_status"] and r.pdu_type != "getbulk":
            assert r.error_status == ERROR_STATUS[int(t["snmp.error_status"])]
        for col, attr in (("snmp.enterprise", "enterprise"), ("snmp.agent_addr", "agent_addr"),
                          ("snmp.msgUserName", "user")):
            if t[col]:
                assert getattr(r, attr) == t[col], col
        if t["snmp.generic_trap"]:
            assert r.generic_trap == GENERIC_TRAPS[int(t["snmp.generic_trap"])]
        if t["snmp.msgFlags"]:
            assert r.flags == int(t["snmp.msgFlags"], 16)
        if t["snmp.msgAuthoritativeEngineID"]:
            eid = t["snmp.msgAuthoritativeEngineID"]
            assert r.engine_id == ("" if eid == "<MISSING>" else eid)
        got = vbs.get(r.pdu_index, [])
        if t["snmp.name"] and t["snmp.name"] != "<MISSING>":
            assert [v.oid for v in got] == t["snmp.name"].split("|")
        # per-type value columns, in varbind order
        for col, typ in (("snmp.value.int", "integer"), ("snmp.value.oid", "oid"),
                         ("snmp.value.ipv4", "ipaddress"), ("snmp.value.timeticks", "timeticks"),
                         ("snmp.value.g32", "gauge32")):
            if t[col]:
                assert [v.value for v in got if v.type == typ] == t[col].split("|"), col
        if t["snmp.value.octets"]:
            want = ["" if x == "<MISSING>" else x for x in t["snmp.value.octets"].split("|")]
            mine = [v.value for v in got if v.type == "octet-string"]
            assert [m[2:] if m.startswith("0x") else m.encode("utf-8").hex() for m in mine] == want


def test_no_exception_on_any_corpus_capture():
    caps = corpus_captures()
    if not caps:
        pytest.skip("shared corpus absent")
    for p in caps:
        analyze([p], strict=True, protocols=("snmp",))
