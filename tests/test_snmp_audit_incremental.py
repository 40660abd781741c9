"""The SNMP audit is incremental (dissect.snmp.audit.AuditState): every snmp_pdus row is observed once,
as it leaves the pipeline, and only bounded aggregates are kept. The findings are the same in every run
mode (in memory, streamed with small batches, live --stream-tables with snapshots, --jobs), the
aggregates stay bounded however many rows come, and every cap hit is a weird."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

import dissect
from dissect.options import Caps, Options
from dissect.snmp import PROTOCOL, audit
from dissect.snmp.audit import AuditState
from dissect.snmp.records import SnmpPdu

ROOT = Path(__file__).resolve().parent.parent
KEYS = ROOT / "samples" / "snmp" / "keys.toml"
AUDIT_PCAP = ROOT / "samples" / "snmp-audit" / "snmp-audit.pcap"
CAPTURES = [AUDIT_PCAP, ROOT / "samples" / "snmp" / "snmp-v3.pcap", ROOT / "samples" / "snmp" / "snmp-v1v2c.pcap",
            ROOT / "samples" / "snmp" / "snmp-traps.pcap", ROOT / "tests" / "data" / "interop" / "pysnmp-netsnmp.pcap"]


def _need(p: Path) -> str:
    if not p.exists():
        pytest.skip(f"sample {p.name} missing")
    return str(p)


class _Spy:
    """Counts the rows handed to the audit's observe hook (batches and rows)."""

    def __init__(self, monkeypatch):
        self.batches: list[int] = []
        orig = PROTOCOL.observe

        def spy(shared, table, rows):
            self.batches.append(len(rows))
            orig(shared, table, rows)

        monkeypatch.setattr(PROTOCOL, "observe", spy)


# ---------------------------------------------------------------- the same findings in every mode

def test_protocol_keeps_no_rows_for_the_audit():
    assert PROTOCOL.finalize_reads == ()
    assert PROTOCOL.observes == ("snmp_pdus",) and PROTOCOL.observe is audit.observe


@pytest.mark.parametrize("cap", CAPTURES, ids=lambda p: p.name)
def test_streamed_findings_equal_in_memory(tmp_path, monkeypatch, cap):
    """TableSpiller with tiny batches: the rows are observed as they are written (more than one batch,
    each row once), nothing is kept for the end, and snmp_findings is the in-memory table, row for row."""
    path = _need(cap)
    mem = dissect.analyze([path], snmp_keys=KEYS)
    assert len(mem.records["snmp_findings"]) > 0
    spy = _Spy(monkeypatch)
    # drains happen at the timeout sweeps (every SWEEP_INTERVAL of capture time): sweep often, so a
    # short capture is written in many batches too
    from dissect import flows as _flows, pipeline as _pipeline
    monkeypatch.setattr(_pipeline, "SWEEP_INTERVAL", 0.01)
    monkeypatch.setattr(_flows, "SWEEP_INTERVAL", 0.01)
    st = dissect.analyze([path], snmp_keys=KEYS, stream_dir=tmp_path / "st", stream_format="parquet",
                         stream_rows=3)
    npdus = len(mem.records["snmp_pdus"])
    assert st.stream_counts["snmp_pdus"] == npdus
    assert sum(spy.batches) == npdus and len(spy.batches) >= 2, spy.batches
    got = pd.read_parquet(tmp_path / "st" / "snmp_findings.parquet")
    from dissect.export import export
    export(mem, tmp_path / "mem", "parquet", tables=["snmp_findings"])
    want = pd.read_parquet(tmp_path / "mem" / "snmp_findings.parquet")
    pd.testing.assert_frame_equal(got, want)      # same rows, same order, same evidence
    # streamed pdu_index values stay unique and the varbinds still join
    pdus = pd.read_parquet(tmp_path / "st" / "snmp_pdus.parquet")
    vbs = pd.read_parquet(tmp_path / "st" / "snmp_varbinds.parquet")
    assert pdus["pdu_index"].is_unique
    assert set(vbs["pdu_index"]) <= set(pdus["pdu_index"])


def test_export_stream_cli_findings(tmp_path, run_cli):
    path = _need(AUDIT_PCAP)
    r = run_cli("export", path, "-o", str(tmp_path / "st"), "--format", "parquet", "--stream",
                "--snmp-keys", str(KEYS), "--show-secrets")
    assert r.exit_code == 0, r.output
    r = run_cli("export", path, "-o", str(tmp_path / "mem"), "--format", "parquet",
                "--snmp-keys", str(KEYS), "--show-secrets")
    assert r.exit_code == 0, r.output
    got = pd.read_parquet(tmp_path / "st" / "snmp_findings.parquet")
    want = pd.read_parquet(tmp_path / "mem" / "snmp_findings.parquet")
    pd.testing.assert_frame_equal(got, want)
    assert "public" in set(got["subject"]) and "write_access" in set(got["kind"])


def test_in_memory_run_observes_every_row_once(monkeypatch):
    spy = _Spy(monkeypatch)
    a = dissect.analyze([_need(AUDIT_PCAP)], snmp_keys=KEYS)
    assert spy.batches == [len(a.records["snmp_pdus"])] == [82]


def test_parallel_findings_equal_in_memory():
    from dissect.parallel import analyze_parallel

    path = _need(AUDIT_PCAP)
    one = dissect.analyze([path], snmp_keys=KEYS)
    two = analyze_parallel([path], jobs=2, snmp_keys=KEYS)
    assert two.records["snmp_findings"] == one.records["snmp_findings"]


def test_live_stream_tables_with_snapshot(tmp_path):
    """dissect live --stream-tables: rows drained every few frames are observed; a --rotate snapshot
    (finalize with the rows still in memory) gives the full findings without touching the run's state,
    and the final findings are the in-memory ones."""
    from dissect.cli.cmd_live import LiveSession
    from dissect.io import read_frames

    path = _need(AUDIT_PCAP)
    want = dissect.analyze([path], snmp_keys=KEYS).records["snmp_findings"]
    opts = Options(snmp_keys=KEYS, stream_rows=3)
    live = LiveSession(opts, export=tmp_path / "live", export_format="parquet", report=None, rotate=None,
                       stream_tables=True)
    pipe = live.pipeline
    last = None
    frames = list(read_frames([path]))
    for i, fr in enumerate(frames):
        pipe.feed_frame(*fr)
        last = fr[0]
        if i % 10 == 9 and i < len(frames) // 2:     # drained in the first half only
            pipe.flush_idle(last)
            live.streamer.drain(pipe)
    pipe.table.sweep(last + 3600)     # every flow ends (its rows go to the sink), nothing drained
    state = pipe.shared["snmp"].audit
    assert 0 < state.rows < 82 and pipe.sink      # some observed, some still in memory
    observed = state.rows
    snap = live.snapshot().records["snmp_findings"]
    assert snap == want
    assert state.rows == observed and pipe.shared["snmp"].audit is state    # untouched by the snapshot
    live.streamer.restore(pipe)
    analysis = pipe.finish()
    assert analysis.records["snmp_findings"] == want
    assert state.rows == 82
    live.streamer.write_records(analysis.records)
    live.streamer.close()


def test_rows_in_any_order_give_the_same_findings():
    """Order independence: the in-memory rows fed reversed, shuffled, or answers before their
    requests, in batches, give the same findings (ties broken by (ts, uid, pdu_index), not arrival)."""
    a = dissect.analyze([_need(AUDIT_PCAP)], snmp_keys=KEYS)
    rows = a.records["snmp_pdus"]
    want = [f for f in a.records["snmp_findings"] if f.kind != "v3_weak_password"]

    class Shared:
        options = Options()
        auth_samples: list = []
        keys = None

    orders = [rows[::-1], random.Random(7).sample(rows, len(rows))]
    for order in orders:
        sh = Shared()
        for i in range(0, len(order), 5):
            audit.observe(sh, "snmp_pdus", order[i:i + 5])
        got = audit.finalize(sh, {})
        assert got == want
        assert sh.audit.sizes()["wait_req"] == sh.audit.sizes()["wait_ans"] == 0


# ---------------------------------------------------------------- bounded memory

def _rows(n: int, start: int = 0):
    """A synthetic snmp_pdus stream: 3 managers, 200 agents, 300 communities (600 community/agent pairs),
    40 v3 users; answered requests right before their answer (as the analyzer emits them), traps,
    v3 requests and reports."""
    out = []
    i = start
    while i < start + n:
        ts = 1_700_000_000.0 + i * 0.001
        j = i // 4
        agent = f"10.1.{j % 200 // 100}.{j % 100}"
        manager = f"10.0.0.{1 + j % 3}"
        uid = f"C{j % 997}"
        com = f"com{(j % 600) // 2}" if j % 600 > 1 else "public"     # one guessable community
        sel = j % 5
        if sel < 3:    # a v2c get and its response
            out.append(SnmpPdu(ts=ts, uid=uid, pdu_index=i, src_h=manager, src_p=40000, dst_h=agent, dst_p=161,
                               transport="udp", version="2c", community=com, pdu_type="set" if sel == 2 else "get",
                               is_request=True, request_id=i, answered=True, outcome="noError"))
            out.append(SnmpPdu(ts=ts + 0.0005, uid=uid, pdu_index=i + 1, src_h=agent, src_p=161, dst_h=manager,
                               dst_p=40000, transport="udp", version="2c", community=com, pdu_type="response",
                               is_request=False, request_id=i, error_status="noError" if j % 7 else "notWritable",
                               request_index=i))
            i += 2
        elif sel == 3:  # an authenticationFailure trap
            out.append(SnmpPdu(ts=ts, uid=uid, pdu_index=i, src_h=agent, src_p=50000, dst_h=manager, dst_p=162,
                               transport="udp", version="1", community=com, pdu_type="trap", is_request=False,
                               generic_trap="authenticationFailure"))
            i += 1
        else:           # a v3 noAuthNoPriv request answered by a Report
            user = f"user{j % 40}"
            out.append(SnmpPdu(ts=ts, uid=uid, pdu_index=i, src_h=manager, src_p=40001, dst_h=agent, dst_p=161,
                               transport="udp", version="3", pdu_type="get", is_request=True, msg_id=i,
                               security_level="noAuthNoPriv", user=user, auth="none", privacy="none",
                               answered=True, outcome="report:unknownUserNames"))
            out.append(SnmpPdu(ts=ts + 0.0005, uid=uid, pdu_index=i + 1, src_h=agent, src_p=161, dst_h=manager,
                               dst_p=40001, transport="udp", version="3", pdu_type="report", is_request=False,
                               msg_id=i, security_level="noAuthNoPriv", user=user, auth="none", privacy="none",
                               report_reason="unknownUserNames", request_index=i))
            i += 2
    return out


def _feed(sh, total: int, batch: int = 10_000) -> None:
    done = 0
    while done < total:
        rows = _rows(batch, done)
        audit.observe(sh, "snmp_pdus", rows)
        done += len(rows)


class _Sh:
    def __init__(self, caps: Caps | None = None):
        self.options = Options(caps=caps or Caps())
        self.auth_samples: list = []
        self.keys = None


def test_aggregates_stay_bounded_over_200k_rows():
    """200k rows from a few hundred communities/agents: the audit's tables do not grow with the
    number of rows (the same sizes after 20k and after 200k), no row is retained, and the findings
    count every row."""
    sh = _Sh()
    _feed(sh, 20_000)
    early = sh.audit.sizes()
    _feed(sh, 180_000)
    st = sh.audit
    sizes = st.sizes()
    assert st.rows >= 200_000
    assert sizes == early, (early, sizes)
    assert sizes["per"] <= 600 and sizes["managers"] == 3 and sizes["words"] <= 300
    assert sizes["level"] <= 40 * 200 and sizes["unknown"] <= 200 * 3
    assert sizes["wait_req"] + sizes["wait_ans"] == 0           # answers follow their requests
    assert sizes["hosts_per_finding"] <= 600
    out = audit.finalize(sh, {})
    assert not [w for w in out if w.__table__ == "weirds"]       # no cap hit at the defaults
    kinds = {f.kind for f in out}
    assert {"default_community", "cleartext_community", "write_access", "write_refused", "auth_failure_trap",
            "community_scan", "v3_unknown_user"} <= kinds, kinds
    scan = [f for f in out if f.kind == "community_scan"]
    assert len(scan) == 3 and all(len(f.agents) == 120 for f in scan)     # 120 agents per manager (j mod 600)


def test_small_caps_bound_every_table_and_are_weirds():
    sh = _Sh(Caps(snmp_audit_keys=50, snmp_audit_hosts=16, snmp_audit_pending=4))
    _feed(sh, 50_000)
    sizes = sh.audit.sizes()
    assert max(v for k, v in sizes.items() if k != "words") <= 50
    assert sizes["hosts_per_finding"] <= 16
    out = audit.finalize(sh, {})
    names = [w.name for w in out if w.__table__ == "weirds"]
    assert "snmp_audit_key_cap" in names and "snmp_audit_host_cap" in names
    assert all(len(f.agents) <= 16 and len(f.managers) <= 16 for f in out if f.__table__ == "snmp_findings")


def test_pending_pairs_are_bounded():
    """Answered requests whose answers come much later: at most caps.snmp_audit_pending wait; the
    oldest is audited without its answer (a weird)."""
    rows = [r for r in _rows(40) if r.version == "2c" and r.pdu_type in ("get", "set", "response")]
    reqs = [r for r in rows if r.request_index is None]
    answers = [r for r in rows if r.request_index is not None]
    assert len(reqs) == len(answers) >= 10
    sh = _Sh(Caps(snmp_audit_pending=4))
    audit.observe(sh, "snmp_pdus", reqs)
    assert sh.audit.sizes()["wait_req"] == 4
    audit.observe(sh, "snmp_pdus", answers)
    assert sh.audit.sizes()["wait_ans"] <= 4
    out = audit.finalize(sh, {})
    assert "snmp_audit_pending_cap" in [w.name for w in out if w.__table__ == "weirds"]
    # with room to wait, the same rows in the same order are paired as in an in-memory run
    sh2 = _Sh()
    audit.observe(sh2, "snmp_pdus", reqs)
    audit.observe(sh2, "snmp_pdus", answers)
    sh3 = _Sh()
    audit.observe(sh3, "snmp_pdus", rows)
    assert audit.finalize(sh2, {}) == audit.finalize(sh3, {})


# The caps on a real capture (snmp_audit_keys/hosts/pending) are in tests/test_hostile.py (CAP_WEIRDS).
