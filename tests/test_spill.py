"""Tables streamed to files during the pass (export --stream, live --stream-tables) hold the same rows
as an in-memory run, while the pipeline never keeps more than about `stream_rows` rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import dissect
from dissect.export import export

ROOT = Path(__file__).resolve().parents[1]
CAPS = [ROOT / "samples" / "http" / "http-keepalive.pcap", ROOT / "samples" / "smtp" / "smtp-failures-smtplib.pcap",
        ROOT / "samples" / "snmp" / "snmp-v1v2c.pcap", ROOT / "samples" / "snmp-audit" / "snmp-audit.pcap"]
KEYS = ROOT / "samples" / "snmp" / "keys.toml"


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df.reset_index(drop=True)
    cols = list(df.columns)
    key = pd.Series(["|".join(map(str, row)) for row in df.itertuples(index=False)], index=df.index)
    return df.assign(_k=key).sort_values("_k", kind="stable").drop(columns="_k")[cols].reset_index(drop=True)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_streamed_tables_equal_in_memory_tables(tmp_path, fmt):
    caps = [c for c in CAPS if c.exists()]
    if len(caps) < 2:
        pytest.skip("samples missing")
    mem = dissect.analyze(caps, snmp_keys=KEYS)
    export(mem, tmp_path / "mem", fmt)
    peak = {"rows": 0, "drains": 0}
    from dissect import spill

    orig = spill.TableSpiller.drain

    def spy(self, pipeline, final=False):
        peak["rows"] = max(peak["rows"], len(pipeline.sink))
        n = sum(self.counts.values())
        orig(self, pipeline, final)
        peak["drains"] += sum(self.counts.values()) > n

    spill.TableSpiller.drain = spy
    try:
        st = dissect.analyze(caps, snmp_keys=KEYS, stream_dir=tmp_path / "st", stream_format=fmt,
                             stream_rows=25)
    finally:
        spill.TableSpiller.drain = orig
    assert peak["drains"] >= 2, "rows must have been written out during the pass"
    assert all(not rows for rows in st.records.values())   # nothing kept in memory at the end
    suffix = {"parquet": ".parquet", "csv": ".csv", "json": ".jsonl"}[fmt]
    names = sorted(p.name for p in (tmp_path / "mem").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "st").iterdir())
    for name in names:
        if fmt == "parquet":
            a, b = pd.read_parquet(tmp_path / "mem" / name), pd.read_parquet(tmp_path / "st" / name)
        elif fmt == "csv":
            a, b = pd.read_csv(tmp_path / "mem" / name, dtype=str), pd.read_csv(tmp_path / "st" / name, dtype=str)
        else:
            a = pd.read_json(tmp_path / "mem" / name, lines=True, dtype=False) if (tmp_path / "mem" / name).stat().st_size else pd.DataFrame()
            b = pd.read_json(tmp_path / "st" / name, lines=True, dtype=False) if (tmp_path / "st" / name).stat().st_size else pd.DataFrame()
        assert len(a) == len(b), name
        assert name.endswith(suffix)
        pd.testing.assert_frame_equal(_sorted(a), _sorted(b), check_dtype=(fmt == "parquet"), obj=name)
    assert st.stream_counts["flows"] == len(mem.flows) == st.stats.flows
    assert st.stream_counts["snmp_findings"] == len(mem.snmp_findings) > 0


def test_export_stream_cli(tmp_path, run_cli):
    cap = ROOT / "samples" / "http" / "http-keepalive.pcap"
    if not cap.exists():
        pytest.skip("samples missing")
    r = run_cli("export", str(cap), "-o", str(tmp_path / "o"), "--format", "parquet", "--stream")
    assert r.exit_code == 0, r.output
    http = pd.read_parquet(tmp_path / "o" / "http_transactions.parquet")
    mem = dissect.analyze([cap]).http_transactions
    assert sorted(http["uri"]) == sorted(mem["uri"]) and len(http) > 1
