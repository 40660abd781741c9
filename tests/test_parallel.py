"""--jobs N: a host-pair-sharded run gives the same tables as one process (no timing asserted)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal

import dissect
from dissect.io import read_frames
from dissect.parallel import (ShardDecoder, analyze_parallel, effective_jobs, merge_results, run_shard,
                              shard_of)
from dissect.options import Caps

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "captures"
KEYS = ROOT / "samples" / "snmp" / "keys.toml"

SAMPLES = [
    "samples/http/http-range.pcap",          # cross-connection range stitching (merge_shared)
    "samples/snmp/snmp-v3.pcap",             # pdu_index renumbering, v3 with keys
    "samples/snmp-audit/snmp-audit.pcap",    # audit finalize over merged auth samples
]
CORPUS_FILES = [
    "zeek/http/bro.org.pcap",                # many flows, many host pairs
    "zeek/smtp-multi-addr.pcap",
    "zeek/wikipedia.pcap",                   # 13 host pairs (DNS, HTTP, ICMP)
    "zeek/smtp.pcap",
    "zeek/snmp/snmpwalk-short.pcap",
    "zeek/http/206_example_b.pcap",
    "suricata-verify/decode-sll2-02/input.pcap",   # SLL2: the filter in _ip4/_ip6, not the Ethernet one
]


def _assert_same(a, b, label: str) -> None:
    for name in a.tables:
        assert_frame_equal(a.tables[name], b.tables[name], obj=f"{label}: {name}")
    assert a.stats.packets == b.stats.packets and a.stats.bytes == b.stats.bytes
    assert a.stats.ip_protos == b.stats.ip_protos
    assert a.stats.services == b.stats.services
    assert a.stats.weirds == b.stats.weirds


def _corpus(rel: str) -> str:
    p = CORPUS / rel
    if not p.exists():
        pytest.skip(f"shared corpus not available: {p}")
    return str(p)


@pytest.mark.parametrize("rel", SAMPLES)
def test_samples_identical_for_1_2_3_jobs(rel):
    path = str(ROOT / rel)
    one = dissect.analyze(path, snmp_keys=KEYS)
    assert len(one.flows) > 0
    for jobs in (2, 3):
        _assert_same(one, analyze_parallel(path, jobs=jobs, snmp_keys=KEYS), f"{rel} jobs={jobs}")


INTEROP = ["fmt-any-sll2.pcap", "fmt-snap96.pcap", "fmt-tshark.pcapng", "mua-postfix.pcap",
           "pysnmp-netsnmp.pcap", "lighttpd.pcap"]


@pytest.mark.parametrize("name", INTEROP)
def test_interop_captures_identical_for_2_jobs(name):
    """Captures made by other programs (Postfix, lighttpd, net-snmp, tshark/dumpcap formats)."""
    path = ROOT / "tests" / "data" / "interop" / name
    if not path.exists():
        pytest.skip(f"interop capture not present: {path}")
    one = dissect.analyze(path, snmp_keys=KEYS)
    _assert_same(one, analyze_parallel(path, jobs=2, snmp_keys=KEYS), f"{name} jobs=2")


@pytest.mark.parametrize("rel", CORPUS_FILES)
def test_corpus_identical_for_2_and_3_jobs(rel):
    path = _corpus(rel)
    one = dissect.analyze(path)
    for jobs in (2, 3):
        _assert_same(one, analyze_parallel(path, jobs=jobs), f"{rel} jobs={jobs}")


def test_several_files_merged_in_time_order_identical():
    paths = [str(ROOT / p) for p in SAMPLES] + [str(ROOT / "samples/smtp/smtp-auth-swaks.pcap")]
    one = dissect.analyze(paths, snmp_keys=KEYS)
    _assert_same(one, analyze_parallel(paths, jobs=2, snmp_keys=KEYS), "several files")
    assert set(one.flows.service.dropna()) >= {"http", "snmp", "smtp"}


def test_shards_partition_the_flows():
    """Every flow of the single run is in exactly one shard; nothing is lost or duplicated."""
    path = _corpus("zeek/wikipedia.pcap")                     # 13 host pairs, 34 flows
    one = dissect.analyze(path, protocols=())
    parts = [run_shard(path, None, k, 3, protocols=()) for k in range(3)]
    uids = [r.uid for p in parts for r in p.records.get("flows", [])]
    assert sorted(uids) == sorted(one.flows.uid)
    assert len(uids) == len(set(uids))
    assert sum(1 for p in parts if p.records.get("flows")) >= 2      # the work is really spread
    merged = merge_results(parts, None, protocols=())
    assert_frame_equal(one.flows, merged.flows)


def test_shard_of_is_symmetric_and_not_a_function_of_xor():
    a, b = bytes([10, 0, 1, 1]), bytes([10, 0, 1, 129])
    assert shard_of(a, b, 7) == shard_of(b, a, 7)
    # pairs with the same XOR (replicated traffic) still spread over the shards
    got = {shard_of(bytes([10, 0, r, 1]), bytes([10, 0, r, 129]), 4) for r in range(64)}
    assert got == {0, 1, 2, 3}


def test_fragments_stay_with_their_flow():
    """The shard is chosen from the addresses before defragmentation: every fragment of a
    datagram reaches the same worker, which reassembles it."""
    import struct

    payload = bytes(range(256)) * 12                   # 3072-byte UDP datagram -> 3 fragments
    src, dst = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 99])
    raw = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
    frames = []
    for off in range(0, len(raw), 1480):
        chunk = raw[off:off + 1480]
        more = 0x2000 if off + 1480 < len(raw) else 0
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), 7, more | (off >> 3), 64, 17, 0,
                         src, dst)
        frames.append(b"\x04" * 6 + b"\x02" * 6 + b"\x08\x00" + ip + chunk)
    owner = shard_of(src, dst, 3)
    for k in range(3):
        got = []
        dec = ShardDecoder(Caps(), got.append, k, 3)
        pkts = [dec.decode(1.0 + i, 1, f, len(f)) for i, f in enumerate(frames)]
        done = [p for p in pkts if p is not None]
        if k == owner:
            assert len(done) == 1 and done[0].payload == payload and dec.reassembled == 1
        else:
            assert done == [] and dec.fragments == 0


def test_effective_jobs_rules(tmp_path):
    small = str(ROOT / SAMPLES[0])
    assert effective_jobs([small], None) == 1                  # too small to pay
    assert effective_jobs([small], 3) == 3                     # explicit: obeyed
    assert effective_jobs(["-"], 4) == 1                       # stdin: one process
    from dissect.options import Options
    assert effective_jobs([small], 4, Options(extract_dir=tmp_path)) == 1


def test_user_errors_are_capture_errors(tmp_path):
    from dissect.errors import CaptureError

    with pytest.raises(CaptureError, match="no such file"):
        analyze_parallel([str(tmp_path / "missing.pcap")], jobs=2)
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"this is not a capture file at all" * 10)
    with pytest.raises(CaptureError):
        analyze_parallel([str(bad)], jobs=2)


def test_cli_jobs_option_gives_the_same_export(tmp_path):
    from typer.testing import CliRunner

    from dissect.cli.main import app

    path = str(ROOT / "samples/snmp/snmp-v3.pcap")
    runner = CliRunner()
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}"
        res = runner.invoke(app, ["export", path, "-o", str(out), "--format", "csv", "--jobs", jobs])
        assert res.exit_code == 0, res.output
        outs.append(out)
    names = sorted(os.listdir(outs[0]))
    assert "snmp_pdus.csv" in names and names == sorted(os.listdir(outs[1]))
    for n in names:
        assert (outs[0] / n).read_bytes() == (outs[1] / n).read_bytes(), n
