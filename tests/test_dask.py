"""--engine dask: a LocalCluster of 2 worker processes gives the single-process tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import dissect

distributed = pytest.importorskip("distributed", reason="dask.distributed not installed (extra 'dask')")

from dissect.dask_engine import analyze_dask, to_dask, write_parquet  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "captures"
KEYS = ROOT / "samples" / "snmp" / "keys.toml"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _same(a, b) -> None:
    for name in a.tables:
        assert_frame_equal(a.tables[name], b.tables[name], obj=name)


@pytest.mark.parametrize("rel", ["samples/snmp/snmp-v3.pcap", "samples/http/http-range.pcap",
                                 "corpus:zeek/wikipedia.pcap", "corpus:zeek/smtp.pcap"])
def test_local_cluster_matches_single_process(client, rel):
    if rel.startswith("corpus:"):
        path = CORPUS / rel[7:]
        if not path.exists():
            pytest.skip(f"shared corpus not available: {path}")
    else:
        path = ROOT / rel
    one = dissect.analyze(path, snmp_keys=KEYS)
    got = analyze_dask(path, client=client, jobs=2, snmp_keys=KEYS)
    assert len(got.flows) == len(one.flows) > 0
    _same(one, got)
    assert got.stats.packets == one.stats.packets and got.stats.services == one.stats.services


def test_several_files_and_more_shards_than_workers(client):
    paths = [ROOT / "samples/smtp/smtp-auth-swaks.pcap", ROOT / "samples/snmp-audit/snmp-audit.pcap",
             ROOT / "samples/http/http-keepalive.pcap"]
    one = dissect.analyze(paths, snmp_keys=KEYS)
    _same(one, analyze_dask(paths, client=client, jobs=3, snmp_keys=KEYS))
    assert len(one.snmp_findings) > 0 and len(one.smtp_sessions) > 0


def test_to_dask_and_partitioned_parquet(client, tmp_path):
    a = analyze_dask(ROOT / "samples/snmp/snmp-v3.pcap", client=client, jobs=2, snmp_keys=KEYS)
    frames = to_dask(a, npartitions=2)
    assert set(frames) == set(a.tables)
    assert_frame_equal(frames["snmp_pdus"].compute(), a.snmp_pdus)
    dirs = write_parquet(a, tmp_path / "pq", npartitions=2)
    assert {d.name for d in dirs} == set(a.tables)
    back = pd.read_parquet(tmp_path / "pq" / "snmp_pdus")
    assert len(list((tmp_path / "pq" / "snmp_pdus").glob("*.parquet"))) == 2
    assert list(back.columns) == list(a.snmp_pdus.columns)
    assert back["pdu_index"].tolist() == a.snmp_pdus["pdu_index"].tolist()
    assert back["uid"].tolist() == a.snmp_pdus["uid"].tolist()


def test_cli_export_through_a_scheduler_writes_a_directory_per_table(client, tmp_path):
    from typer.testing import CliRunner

    from dissect.cli.main import app

    addr = client.scheduler.address
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["export", str(ROOT / "samples/http/http-range.pcap"), "-o", str(out),
                                   "--format", "parquet", "--scheduler", addr, "--jobs", "2"])
    assert res.exit_code == 0, res.output
    flows = pd.read_parquet(out / "flows")
    ref = dissect.analyze(ROOT / "samples/http/http-range.pcap").flows
    assert flows["uid"].tolist() == ref["uid"].tolist()
    assert (out / "http_transactions").is_dir()


def test_bad_scheduler_is_one_line_error():
    from typer.testing import CliRunner

    from dissect.cli.main import app

    res = CliRunner().invoke(app, ["flows", str(ROOT / "samples/http/http-range.pcap"), "--scheduler",
                                   "tcp://127.0.0.1:9"])
    assert res.exit_code != 0
