"""The SNMP audit (snmp_findings): real captures made with net-snmp on loopback, the shared corpus,
the offline weak-password check and the hashcat export (checked against hashcat's self-test hashes)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dissect.pipeline import analyze
from dissect.snmp import audit, usm
from dissect.snmp.audit import SnmpFinding, crack, hashcat_line, hashcat_lines

from test_snmp_usm import (HC_ENGINE, HC_MD5_MSG, HC_MD5_TAG, HC_SHA256_MSG, HC_SHA256_TAG, tag_offset,
                           with_tag)

ROOT = Path(__file__).resolve().parent.parent
AUDIT_PCAP = ROOT / "samples" / "snmp-audit" / "snmp-audit.pcap"
SAMPLES = ROOT / "samples" / "snmp"
CORPUS = (ROOT / ".." / "shared" / "corpus").resolve()

# hashcat's module self-test hashes (ST_HASH of modules 25000, 25100 and 26800), password "hashcat1"
HC_25000 = ("$SNMPv3$0$45889431$" + HC_MD5_MSG.hex() + "$" + HC_ENGINE.hex() + "$" + HC_MD5_TAG.hex())
HC_25100 = HC_25000.replace("$SNMPv3$0$", "$SNMPv3$1$", 1)
HC_26800 = ("$SNMPv3$4$45889431$" + HC_SHA256_MSG.hex() + "$" + HC_ENGINE.hex() + "$" + HC_SHA256_TAG.hex())


def _hc_samples():
    o1 = tag_offset(HC_MD5_MSG, b"matrix_MD5", 12)
    o2 = tag_offset(HC_SHA256_MSG, b"matrix_SHA-256", 24)
    return [
        (1.0, "C1", b"matrix_MD5", HC_ENGINE, with_tag(HC_MD5_MSG, o1, HC_MD5_TAG), o1, 12,
         "10.0.0.1:40000", "10.0.0.2:161"),
        (2.0, "C2", b"matrix_SHA-256", HC_ENGINE, with_tag(HC_SHA256_MSG, o2, HC_SHA256_TAG), o2, 24,
         "10.0.0.1:40001", "10.0.0.2:161"),
    ]


def by_kind(findings, kind):
    return [f for f in findings if f.kind == kind]


# ---------------------------------------------------------------- hashcat export

def test_hashcat_lines_reproduce_hashcat_self_tests():
    s_md5, s_sha = _hc_samples()
    assert hashcat_line(45889431, s_md5[4], s_md5[5], 12, HC_ENGINE) == HC_25000
    assert hashcat_line(45889431, s_md5[4], s_md5[5], 12, HC_ENGINE, "md5") == HC_25100
    assert hashcat_line(45889431, s_sha[4], s_sha[5], 24, HC_ENGINE) == HC_26800
    lines, notes = hashcat_lines([s_md5, s_sha, s_md5])          # one line per (user, engine, tag)
    assert [ln.split("$")[2] for ln in lines] == ["0", "4"]
    assert lines[0].split("$")[4:] == HC_25000.split("$")[4:]
    assert notes == []                                           # 17-octet engine id, small messages
    lines, _ = hashcat_lines([s_md5], known={(b"matrix_MD5", HC_ENGINE): "sha1"})
    assert lines[0].startswith("$SNMPv3$2$")


def test_hashcat_modes_by_tag_length():
    assert [audit.hashcat_type(n) for n in (12, 16, 24, 32, 48, 20)] == [0, 3, 4, 5, 6, None]
    assert audit.hashcat_type(12, "md5") == 1 and audit.hashcat_type(12, "sha1") == 2
    assert audit.hashcat_type(24, "md5") == 4                    # a tag length contradicting the protocol
    assert audit.HASHCAT_MODES == {0: 25000, 1: 25100, 2: 25200, 3: 26700, 4: 26800, 5: 26900, 6: 27300}


def test_crack_identifies_md5_vs_sha1_and_sha256():
    targets = crack(_hc_samples(), [b"nope", b"hashcat2", b"hashcat1", b"later"])
    got = {(t.user, t.found, t.proto, t.confirmed) for t in targets}
    assert got == {(b"matrix_MD5", b"hashcat1", "md5", 1), (b"matrix_SHA-256", b"hashcat1", "sha256", 1)}


def test_crack_uses_one_1mib_hash_per_word_and_hash():
    cache = usm.KeyCache()
    t = crack(_hc_samples(), [b"aaaaaaaa", b"bbbbbbbb", b"cccccccc", b"hashcat1", b"dddddddd"], cache)
    # 3 words x (md5 + sha1 for the 12-octet tag, sha256 for the 24-octet tag); "hashcat1" is in
    # the built-in list, whose Ku are precomputed; nothing is tried once every user is found
    assert cache.ku_computed == 9
    assert {x.found for x in t} == {b"hashcat1"}
    # a known protocol (verified by the supplied keys) restricts the trial to its hash
    cache = usm.KeyCache()
    crack(_hc_samples()[:1], [b"aaaaaaaa"], cache, known={(b"matrix_MD5", HC_ENGINE): "md5"})
    assert cache.ku_computed == 1


def test_builtin_wordlist():
    words = audit.builtin_wordlist()
    assert 90 <= len(words) <= 200
    assert {b"public", b"private", b"cisco", b"12345678", b"password"} <= set(words)
    assert not any(w.startswith(b"#") for w in words)


# ---------------------------------------------------------------- the audit sample (net-snmp)

@pytest.fixture(scope="module")
def audit_run(tmp_path_factory):
    if not AUDIT_PCAP.exists():
        pytest.skip("samples/snmp-audit/snmp-audit.pcap missing (make_audit_sample.py)")
    d = tmp_path_factory.mktemp("audit")
    wl = d / "words.txt"
    wl.write_bytes(b"not-it\r\nlistPass123\n")
    hc = d / "hashes.txt"
    a = analyze([AUDIT_PCAP], snmp_wordlist=wl, snmp_hashcat=hc)
    return a, hc


def test_audit_sample_manifest_matches_the_story():
    m = json.loads((AUDIT_PCAP.parent / "manifest.json").read_text())
    rc = {" ".join(e["cmd"][3:8]): e["rc"] for e in m}
    assert sum(1 for e in m if e["rc"] == 0) == 6      # 5 legitimate requests + the scanner's "public"


def test_communities_with_verdicts(audit_run):
    a, _ = audit_run
    f = a.records["snmp_findings"]
    pub = [x for x in by_kind(f, "default_community") if x.subject == "public" and x.agents == ("127.0.0.1",)]
    assert len(pub) == 1 and pub[0].verdict == "accepted" and pub[0].severity == "high"
    assert set(pub[0].managers) == {"127.0.0.1", "127.0.0.9"}
    rejected = {x.subject for x in by_kind(f, "default_community") if x.verdict == "rejected"
                and x.agents == ("127.0.0.1",)}
    assert rejected == {"private", "cisco", "manager", "admin", "secret", "internal", "snmp"}
    for x in by_kind(f, "default_community"):
        if x.verdict == "rejected" and x.agents == ("127.0.0.1",):
            assert "authenticationFailure traps" in x.evidence and x.severity == "low"
    # The sweep's targets 127.0.0.2-4 never answered anything: no evidence of an agent there, so
    # the verdict is unknown (not rejected), with the reason in the evidence.
    swept = [x for x in by_kind(f, "default_community") if x.subject == "public" and x.verdict == "unknown"]
    assert sorted(x.agents[0] for x in swept) == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert all("answered nothing" in x.evidence for x in swept)
    assert not [x for x in by_kind(f, "default_community")
                if x.verdict == "rejected" and x.agents != ("127.0.0.1",)]
    rw = by_kind(f, "cleartext_community")
    assert [(x.subject, x.verdict) for x in rw] == [("s3cr3tRW", "accepted")]


def test_write_access_and_scan(audit_run):
    a, _ = audit_run
    f = a.records["snmp_findings"]
    (w,) = by_kind(f, "write_access")
    assert (w.severity, w.subject, w.count, w.managers) == ("critical", "s3cr3tRW", 1, ("127.0.0.1",))
    (s,) = by_kind(f, "community_scan")
    assert s.managers == ("127.0.0.9",) and s.subject == "public" and s.severity == "high"
    assert set(s.agents) == {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}
    assert "tried 8 communities against 4 agents" in s.evidence and "1/11 answered" in s.evidence


def test_auth_failure_traps(audit_run):
    a, _ = audit_run
    (t,) = by_kind(a.records["snmp_findings"], "auth_failure_trap")
    pdus = a.records["snmp_pdus"]
    traps = [p for p in pdus if p.generic_trap == "authenticationFailure" or p.trap_oid == audit.AUTH_FAILURE_TRAP_OID]
    # net-snmp sends a v1 and a v2c trap per failure: 7 bad communities + 4 wrong digests
    assert t.count == len(traps) == 22 and t.agents == ("127.0.0.1",)


def test_v3_guessing_enumeration_and_weak_passwords(audit_run):
    a, hc = audit_run
    f = a.records["snmp_findings"]
    (wd,) = by_kind(f, "v3_wrong_digest")
    assert (wd.subject, wd.count, wd.severity, wd.managers) == ("md5User", 4, "high", ("127.0.0.9",))
    (uu,) = by_kind(f, "v3_unknown_user")
    assert uu.severity == "high" and set(uu.subject.split(",")) == {"admin", "root", "operator", "cisco"}
    weak = {x.subject: x for x in by_kind(f, "v3_weak_password")}
    assert set(weak) == {"weakUser", "md5User"}            # strongUser is not guessable
    assert weak["weakUser"].password == "password1" and "HMAC-SHA-96" in weak["weakUser"].evidence
    # md5User: the right password verifies the legitimate request and response, not the 4 guesses
    assert weak["md5User"].password == "listPass123" and "verifies 2/6" in weak["md5User"].evidence   # request + response
    assert any(x.subject == "md5User" for x in by_kind(f, "v3_md5_auth"))
    assert {x.subject for x in by_kind(f, "v3_encrypted_no_key")} == {"weakUser", "strongUser"}
    # the export: one line per user (md5User known as MD5 now: mode 25100)
    lines = hc.read_text().splitlines()
    types = {bytes.fromhex(ln.split("$")[4])[0]: ln.split("$")[2] for ln in lines}
    assert len(lines) == 3 and sorted(ln.split("$")[2] for ln in lines) == ["1", "2", "4"]
    (exp,) = by_kind(f, "v3_hashcat_export")
    assert exp.count == 3 and "25100" in exp.evidence and "26800" in exp.evidence


def test_exported_lines_verify_with_the_known_passwords(audit_run):
    _, hc = audit_run
    pw = {"1": b"listPass123", "2": b"password1", "4": b"Zq8#vLp2!mXr9w"}
    proto = {"1": "md5", "2": "sha1", "4": "sha256"}
    for ln in hc.read_text().splitlines():
        _, _, typ, num, msg, eng, tag = ln.split("$")
        kul = usm.localized_key(pw[typ], bytes.fromhex(eng), usm.AUTH_PROTOCOLS[proto[typ]].hash)
        assert usm.auth_tag(kul, bytes.fromhex(msg), proto[typ]).hex() == tag


def test_findings_table_masks_secrets(audit_run):
    a, _ = audit_run
    df = a.table("snmp_findings", show_secrets=False)
    assert "password1" not in set(df["password"].dropna()) and "p*******1" in set(df["password"].dropna())
    assert "s3cr3tRW" not in set(df["subject"].dropna())
    full = a.table("snmp_findings", show_secrets=True)
    assert "password1" in set(full["password"].dropna())
    assert list(full["severity"]) == sorted(full["severity"], key=audit.SEVERITIES.index)


# ---------------------------------------------------------------- the analyzer's samples

def test_samples_verdicts():
    v12 = SAMPLES / "snmp-v1v2c.pcap"
    v3 = SAMPLES / "snmp-v3.pcap"
    if not (v12.exists() and v3.exists()):
        pytest.skip("samples/snmp captures not made yet")
    f = analyze([v12]).records["snmp_findings"]
    com = {(x.kind, x.subject): x.verdict for x in f if x.kind.endswith("_community")}
    assert com[("default_community", "public")] == "accepted"
    assert com[("cleartext_community", "wrongComm")] == "rejected"
    assert com[("default_community", "private")] == "rejected"
    assert com[("cleartext_community", "wr1teC0mm")] == "accepted"
    assert [x.subject for x in by_kind(f, "write_access")] == ["wr1teC0mm"]
    refused = {x.subject: x.evidence for x in by_kind(f, "write_refused")}
    assert "notWritable" in refused["wr1teC0mm"] and "wrongType" in refused["wr1teC0mm"]
    assert "noSuchName" in refused["public"]          # v1 read-only community

    f = analyze([v3]).records["snmp_findings"]
    assert [x.subject for x in by_kind(f, "v3_wrong_digest")] == ["md5User"]
    assert [x.subject for x in by_kind(f, "v3_unknown_user")] == ["ghostUser"]
    noauth = {x.subject: x.verdict for x in by_kind(f, "v3_no_auth")}
    assert noauth == {"noAuthUser": "accepted", "md5User": "rejected"}   # md5User: authorizationError
    assert {x.subject for x in by_kind(f, "v3_no_priv")} == {"md5User", "shaUser"}


def test_samples_weak_password_with_a_wordlist(tmp_path):
    v3 = SAMPLES / "snmp-v3.pcap"
    if not v3.exists():
        pytest.skip("samples/snmp captures not made yet")
    wl = tmp_path / "w.txt"
    wl.write_text("sha512AuthPass1\nshaUserPass1\n")
    f = analyze([v3], snmp_wordlist=wl).records["snmp_findings"]
    weak = {x.subject: x.password for x in by_kind(f, "v3_weak_password")}
    assert weak == {"sha512User": "sha512AuthPass1", "shaUser": "shaUserPass1"}


# ---------------------------------------------------------------- the shared corpus

CORPUS_EXPECT = {
    "zeek/snmp/snmpv1_get.pcap": [("default_community", "public", "accepted"), ("write_access", "public", "accepted")],
    "zeek/snmp/snmpv1_set.pcap": [("write_access", "", "accepted")],
    "zeek/snmp/snmpv1_trap.pcap": [("default_community", "public", "unknown")],
    "zeek/snmp/snmpv2_get_next.pcap": [("cleartext_community", "[R0_C@cti!]", "accepted")],
    "zeek/snmp/snmpv3_get_next.pcap": [("v3_no_auth", "username", "accepted")],
    "zeek/snmp/snmp-crash-62790.pcap": [("v3_weak_password", "Admin001", None)],
    "suricata-verify/snmp-v3-unauth/snmp-v3-get-bulk-unauth.pcap": [("v3_unknown_user", "noAuthUser", "rejected")],
    "suricata-verify/snmp-v3-encrypted/SNMPv3.pcap": [("v3_encrypted_no_key", "admin", None)],
}


@pytest.mark.parametrize("rel", sorted(CORPUS_EXPECT))
def test_corpus_findings(rel):
    p = CORPUS / "captures" / rel
    if not p.exists():
        pytest.skip(f"shared corpus file {rel} not found at {CORPUS}")
    f = analyze([p]).records["snmp_findings"]
    got = {(x.kind, x.subject, x.verdict) for x in f}
    for want in CORPUS_EXPECT[rel]:
        assert want in got, (want, got)


def test_corpus_weak_password_is_real():
    p = CORPUS / "captures" / "zeek/snmp/snmp-crash-62790.pcap"
    if not p.exists():
        pytest.skip("shared corpus not found")
    (w,) = by_kind(analyze([p]).records["snmp_findings"], "v3_weak_password")
    assert w.password == "authpass" and "HMAC-SHA-96" in w.evidence and "verifies 3/3" in w.evidence


def test_every_corpus_snmp_capture_audits_without_error():
    base = CORPUS / "captures"
    if not base.is_dir():
        pytest.skip("shared corpus not found")
    files = sorted(base.glob("zeek/snmp/*")) + sorted(base.glob("suricata-verify/snmp*/*.pcap"))
    assert files
    for p in files:
        a = analyze([p], strict=True)
        for x in a.records.get("snmp_findings", []):
            assert isinstance(x, SnmpFinding) and x.severity in audit.SEVERITIES


# ---------------------------------------------------------------- robustness

def test_unreadable_wordlist_is_a_weird_not_a_crash(tmp_path):
    from dissect.snmp.analyzer import SnmpShared
    from dissect.options import Options

    sh = SnmpShared(Options(snmp_wordlist=tmp_path / "missing.txt"))
    out = audit.finalize(sh, {})
    assert [w.name for w in out] == ["snmp_wordlist_unreadable"]


def test_wordlist_cap_is_a_weird(tmp_path):
    from dissect.snmp.analyzer import SnmpShared
    from dissect.options import Caps, Options

    wl = tmp_path / "w.txt"
    wl.write_text("\n".join(f"word{i:05d}" for i in range(50)))
    sh = SnmpShared(Options(snmp_wordlist=wl, caps=Caps(snmp_wordlist_words=10)))
    sh.auth_samples.extend(_hc_samples())
    out = audit.finalize(sh, {})
    assert "snmp_wordlist_cap" in [getattr(w, "name", None) for w in out]
    # the built-in list still cracks the hashcat messages
    assert {x.subject for x in out if getattr(x, "kind", "") == "v3_weak_password"} == {"matrix_MD5", "matrix_SHA-256"}


def test_garbage_samples_are_ignored():
    out = audit.finalize(type("S", (), {"auth_samples": [None, (1,), (1.0, "C", b"u", b"", b"x", 0, 12, "", ""),
                                                        (1.0, "C", b"u", b"e" * 12, b"xx", 50, 12, "", "")],
                                        "options": None})(), {})
    assert out == []


# ---------------------------------------------------------------- CLI

def test_cli_audit(run_cli, tmp_path):
    if not AUDIT_PCAP.exists():
        pytest.skip("audit sample missing")
    hc = tmp_path / "h.txt"
    res = run_cli("snmp", "audit", AUDIT_PCAP, "--hashcat", hc)
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert out.index("CRITICAL (2)") < out.index("HIGH (4)") < out.index("MEDIUM") < out.index("LOW")
    assert "v3_weak_password" in out and "password1" not in out and "s3cr3tRW" not in out
    assert "community_scan" in out and "127.0.0.9 tried 8 communities" in out
    assert len(hc.read_text().splitlines()) == 3
    res = run_cli("snmp", "audit", AUDIT_PCAP, "--show-secrets", "--min-severity", "critical")
    assert "password=password1" in res.stdout and "s3cr3tRW" in res.stdout and "HIGH" not in res.stdout


def test_cli_audit_user_errors(run_cli, tmp_path):
    if not AUDIT_PCAP.exists():
        pytest.skip("audit sample missing")
    bad = tmp_path / "k.toml"
    bad.write_text('[[user]]\nname = "x"\nauth_protocol = "SHA9"\nauth_password = "y"\n')
    os.chmod(bad, 0o600)
    for args, words in (
        (("--snmp-keys", bad), f"{bad}:3: unknown auth_protocol"),
        (("--wordlist", tmp_path / "nope.txt"), "--wordlist"),
        (("--hashcat", tmp_path / "no" / "dir.txt"), "does not exist"),
        (("--min-severity", "urgent"), "--min-severity"),
    ):
        res = run_cli("snmp", "audit", AUDIT_PCAP, *args)
        assert res.exit_code != 0
        assert words in str(res.exception), (args, res.exception)


@pytest.mark.slow
def test_real_hashcat_cracks_the_export(audit_run, tmp_path):
    """hashcat itself (when installed with an OpenCL runtime, e.g. Debian hashcat + pocl) accepts
    our export and recovers weakUser's password from mode 25200."""
    import shutil
    import subprocess

    if shutil.which("hashcat") is None:
        pytest.skip("hashcat not installed")
    _, hc = audit_run
    lines = [ln for ln in hc.read_text().splitlines() if ln.startswith("$SNMPv3$2$")]
    assert len(lines) == 1
    h = tmp_path / "h.txt"
    h.write_text(lines[0] + "\n")
    w = tmp_path / "w.txt"
    w.write_text("nothing1\npassword1\n")
    out = tmp_path / "out.txt"
    r = subprocess.run(["hashcat", "-m", "25200", "-a", "0", "--potfile-disable", "--force", "--quiet",
                        "--session", f"dissect{os.getpid()}", "-o", str(out), str(h), str(w)],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    if "No OpenCL" in r.stdout + r.stderr or "No devices found" in r.stdout + r.stderr:
        pytest.skip("hashcat has no OpenCL device here")
    assert out.read_text().strip().endswith(":password1"), r.stdout + r.stderr


def test_precomputed_ku_table_is_current():
    """wordlist_ku.txt must cover exactly the built-in words (rebuild: python -m dissect.snmp.audit
    --rebuild-ku); a sample of its entries is recomputed."""
    table = audit.builtin_ku_table()
    words = set(audit.builtin_wordlist())
    assert {w for (w, _h) in table} == words
    assert len(table) == 6 * len(words)
    for w in (b"public", b"authpass", sorted(words)[7], sorted(words)[-3]):
        for h in ("md5", "sha1", "sha512"):
            assert table[(w, h)] == usm.password_to_key(w, h), (w, h)


def test_loose_keys_file_is_a_weird_in_every_run(tmp_path):
    k = tmp_path / "k.toml"
    k.write_text('[[user]]\nname = "u"\nauth_password = "password"\n')
    os.chmod(k, 0o644)
    if not AUDIT_PCAP.exists():
        pytest.skip("audit sample missing")
    a = analyze([AUDIT_PCAP], snmp_keys=k)
    names = [w.name for w in a.records.get("weirds", [])]
    assert names.count("snmp_keys_file_readable") == 1


def test_supplied_passwords_are_checked_against_the_list_without_hashing(tmp_path):
    if not AUDIT_PCAP.exists():
        pytest.skip("audit sample missing")
    k = tmp_path / "k.toml"
    k.write_text('[[user]]\nname = "weakUser"\nauth_password = "password1"\npriv_password = "password1"\n'
                 '[[user]]\nname = "strongUser"\nauth_password = "Zq8#vLp2!mXr9w"\n')
    os.chmod(k, 0o600)
    a = analyze([AUDIT_PCAP], snmp_keys=k)
    weak = {x.subject: x.password for x in by_kind(a.records["snmp_findings"], "v3_weak_password")}
    assert weak == {"weakUser": "password1"}
    # weakUser's messages are now decrypted and authenticated as SHA-1
    rows = [r for r in a.records["snmp_pdus"] if r.user == "weakUser"]
    assert rows and all(r.auth == "ok" and r.auth_proto == "sha1" and r.privacy == "decrypted" for r in rows)
    assert not by_kind(a.records["snmp_findings"], "v3_encrypted_no_key") or \
        {x.subject for x in by_kind(a.records["snmp_findings"], "v3_encrypted_no_key")} == {"strongUser"}
