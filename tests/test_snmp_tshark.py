"""Differential against tshark on our own v3 samples: tshark decrypts with the same users (its
``snmp_users`` table) and must find the same varbinds we decrypt. Wireshark extends AES-192/256
keys the Reeder way only, so for the Blumenthal users (net-snmp ``AES-192``/``AES-256``) tshark
fails where we succeed: asserted too, it is the point of trying both extensions."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dissect.pipeline import analyze

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "snmp"
KEYS = SAMPLES / "keys.toml"

# user -> (Wireshark auth model, auth password, priv protocol, priv password)
UAT = {
    "md5User": ("MD5", "md5UserPass1", "DES", ""),
    "shaUser": ("SHA1", "shaUserPass1", "DES", ""),
    "desUser": ("SHA1", "desAuthPass1", "DES", "desPrivPass1"),
    "aesUser": ("SHA1", "aesAuthPass1", "AES", "aesPrivPass1"),
    "sha224User": ("SHA2-224", "sha224AuthPass1", "AES", "sha224PrivPass1"),
    "sha256User": ("SHA2-256", "sha256AuthPass1", "AES", "sha256PrivPass1"),
    "sha384User": ("SHA2-384", "sha384AuthPass1", "AES256", "sha384PrivPass1"),
    "sha512User": ("SHA2-512", "sha512AuthPass1", "AES", "sha512PrivPass1"),
    "aes192User": ("SHA1", "aes192AuthPass1", "AES192", "aes192PrivPass1"),
    "aes256User": ("SHA1", "aes256AuthPass1", "AES256", "aes256PrivPass1"),
    "aes192cUser": ("SHA1", "aes192cAuthPass1", "AES192", "aes192cPrivPass1"),
    "aes256cUser": ("SHA1", "aes256cAuthPass1", "AES256", "aes256cPrivPass1"),
}
BLUMENTHAL = {"aes192User", "aes256User"}


def tshark_fields(pcap: Path) -> list[dict]:
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed")
    args = ["tshark", "-n", "-r", str(pcap), "-d", "udp.port==16161,snmp", "-d", "tcp.port==16161,snmp",
            "-Y", "snmp.msgUserName"]
    for user, (am, ap, pp, pw) in UAT.items():
        args += ["-o", f'uat:snmp_users:"","{user}","{am}","{ap}","{pp}","{pw}"']
    fields = ["frame.time_epoch", "snmp.msgUserName", "snmp.name", "snmp.value.octets", "snmp.value.timeticks"]
    for f in fields:
        args += ["-e", f]
    args += ["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    rows = []
    for line in out.splitlines():
        vals = line.split("\t")
        rows.append(dict(zip(fields, vals + [""] * (len(fields) - len(vals)))))
    return rows


def test_tshark_decrypts_the_same_varbinds():
    rows = tshark_fields(SAMPLES / "snmp-v3.pcap")
    a = analyze([SAMPLES / "snmp-v3.pcap"], snmp_keys=KEYS, strict=True)
    by_ts = {round(r.ts, 6): r for r in a.records["snmp_pdus"]}
    vbs: dict[int, list] = {}
    for v in a.records["snmp_varbinds"]:
        vbs.setdefault(v.pdu_index, []).append(v)
    compared = blumenthal = 0
    for t in rows:
        r = by_ts[round(float(t["frame.time_epoch"]), 6)]
        assert r.user == t["snmp.msgUserName"]
        if r.privacy != "decrypted" or r.user not in UAT:
            continue
        mine = sorted(vbs.get(r.pdu_index, []), key=lambda v: v.index)
        if r.user in BLUMENTHAL:
            assert not t["snmp.name"]  # tshark's Reeder-only AES-192/256 cannot read these
            assert r.priv_proto in ("aes192", "aes256") and mine
            blumenthal += 1
            continue
        assert [v.oid for v in mine] == t["snmp.name"].split("|"), r.user
        octs = [v.value for v in mine if v.type == "octet-string"]
        want = [x for x in t["snmp.value.octets"].split("|") if x]
        assert [o.encode().hex() for o in octs if o] == want
        ticks = [v.value for v in mine if v.type == "timeticks"]
        assert ticks == [x for x in t["snmp.value.timeticks"].split("|") if x]
        compared += 1
    assert compared >= 20 and blumenthal == 4
