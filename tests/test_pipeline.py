"""The pipeline and the Analysis API: analyze(), the streaming Pipeline, stats, tables, export."""

from __future__ import annotations

import json
import subprocess
import shutil

import pytest

import dissect
from conftest import corpus_path
from dissect.export import export
from dissect.options import Caps, Options
from dissect.pipeline import Analysis, Pipeline, analyze


def capinfos(path) -> dict:
    exe = shutil.which("capinfos")
    if exe is None:
        pytest.skip("capinfos (wireshark-common) is not installed")
    out = subprocess.run([exe, "-M", "-T", "-c", "-d", "-a", "-e", str(path)], capture_output=True,
                         text=True).stdout.splitlines()
    head, row = out[0].split("\t"), out[1].split("\t")
    return dict(zip(head, row))


def test_analyze_stats_match_capinfos():
    p = corpus_path("captures/zeek/http/bro.org.pcap")
    a = analyze(p)
    info = capinfos(p)
    assert a.stats.packets == int(info["Number of packets"]) == 751
    assert a.stats.bytes == int(info["Data size (bytes)"])
    assert a.stats.linktypes == {1: 751}
    assert a.stats.ip_protos["tcp"] == 751
    assert a.stats.flows == 13 and len(a.flows) == 13
    assert a.stats.services["http"]["flows"] == 13
    assert sum(v[0] for v in a.stats.timeline.values()) == 751
    assert a.stats.duration == pytest.approx(a.stats.last_ts - a.stats.first_ts)
    (c,) = a.captures
    assert c.format == "pcap" and c.packets == 751 and not c.truncated


def test_analyze_keyword_options_and_package_entry_point():
    p = corpus_path("captures/zeek/http/methods.pcap")
    a = dissect.analyze(p, caps={"max_flows": 5}, protocols=())
    assert isinstance(a, Analysis)
    assert a.stats.evicted_flows > 0 and a.stats.peak_flows == 5
    assert "flow_cap_evicted" in set(a.weirds["name"])
    assert all(r.service is None for r in a.records["flows"])
    with pytest.raises(TypeError, match="unknown option"):
        dissect.analyze(p, no_such_option=1)


def test_every_registered_table_is_a_frame_even_empty():
    from dissect.pipeline import load_tables
    from dissect.schema import columns

    a = analyze(corpus_path("captures/zeek/http/get.pcap"))
    assert set(a.tables) == set(load_tables())
    for name, cls in load_tables().items():
        df = a.tables[name]
        assert list(df.columns) == [c[0] for c in columns(cls)]
        assert getattr(a, name) is df      # attribute access, built once
    assert len(a.http_transactions) == 1 and len(a.smtp_sessions) == 0


def test_streaming_pipeline_equals_analyze():
    """Live capture feeds frames one by one and flushes idle flows: the same flows."""
    from dissect.io import read_frames

    p = corpus_path("captures/zeek/http/vnd.ms-cab-compressed-multi-conn.pcap")
    pipe = Pipeline(Options())
    for i, fr in enumerate(read_frames([str(p)])):
        pipe.feed_frame(*fr)
        if i % 10 == 0:
            pipe.flush_idle(fr[0])
    streamed = pipe.finish()
    whole = analyze(p)
    key = lambda a: sorted((f.uid, f.orig_bytes, f.resp_bytes, f.state, f.history) for f in a.records["flows"])
    assert key(streamed) == key(whole)
    assert len(streamed.records["http_transactions"]) == len(whole.records["http_transactions"]) > 0


def test_flush_idle_ends_idle_flows_and_take_records():
    from dissect.io import read_frames

    p = corpus_path("captures/zeek/snmp/snmpv1_get.pcap")
    caps = Caps()
    pipe = Pipeline(Options(caps=caps))
    last = None
    for fr in read_frames([str(p)]):
        pipe.feed_frame(*fr)
        last = fr[0]
    pipe.flush_idle(last + caps.udp_idle_timeout + 1)       # wall clock moved on: all idle
    got = pipe.take_records()
    assert len(got["flows"]) == 30
    assert pipe.table.nflows == 0
    assert pipe.take_records() == {}
    a = pipe.finish()
    assert a.records.get("flows", []) == []


def test_progress_bar_does_not_disturb_results(capsys):
    p = corpus_path("captures/zeek/http/1000-requests-one-dropped-response.pcap")
    a = analyze(p, progress=True)
    assert a.stats.packets == 4102


def test_gzip_and_several_files_merge():
    gz = corpus_path("captures/zeek/http/1000-requests-one-dropped-response.pcap.gz")
    a = analyze([gz, corpus_path("captures/zeek/http/get.pcap")])
    assert a.stats.packets == 4102 + 14
    assert [c.compressed for c in a.captures] == [True, False]
    assert len(a.flows) == 2


def test_secrets_masked_in_tables_unless_asked():
    from dissect.schema import columns, table_types

    secret_tables = [n for n, c in table_types().items() if any(col[3] for col in columns(c))]
    if not secret_tables:
        pytest.skip("no table declares a secret column yet")
    p = corpus_path("captures/zeek/snmp/snmpv1_get.pcap")
    masked = analyze(p)
    shown = analyze(p, show_secrets=True)
    for name in secret_tables:
        cols = [c[0] for c in columns(table_types()[name]) if c[3]]
        for c in cols:
            m, s = masked.tables[name][c], shown.tables[name][c]
            for mv, sv in zip(m.dropna(), s.dropna()):
                if len(str(sv)) > 2:
                    assert mv != sv


def test_export_api_formats(tmp_path):
    a = analyze(corpus_path("captures/zeek/http/get.pcap"))
    files = export(a, tmp_path / "j", "json")
    flows = [json.loads(x) for x in (tmp_path / "j" / "flows.jsonl").read_text().splitlines()]
    assert flows[0]["history"] == "ShADadFf" and flows[0]["ts"].startswith("2013-03-07T21:42:06.869")
    assert flows[0]["truncated"] is False and flows[0]["service"] == "http"
    assert len(files) == len(a.tables)
    import pyarrow.parquet as pq
    export(a, tmp_path / "p", "parquet")
    t = pq.read_table(tmp_path / "p" / "flows.parquet")
    assert t.column("orig_bytes").to_pylist() == [136]
    assert str(t.schema.field("duration").type) == "double"
    w = pq.read_table(tmp_path / "p" / "weirds.parquet")
    assert w.num_rows == 0 and "name" in w.schema.names
    with pytest.raises(ValueError):
        export(a, tmp_path, "xml")


def test_extract_dir_option_creates_extractor(tmp_path):
    p = corpus_path("captures/zeek/smtp.pcap")
    out = tmp_path / "ex"
    a = analyze(p, extract_dir=out)
    assert a.stats.packets == 125
    names = sorted(x.name for x in out.iterdir())
    sessions = {f.uid for f in a.records["flows"] if f.service == "smtp"}
    assert names and all(n.split("-")[0] in sessions for n in names)
    assert not list(tmp_path.glob("*.eml"))          # nothing outside the folder


@pytest.mark.parametrize("capture", ["captures/zeek/smtp.pcap", "captures/zeek/wikipedia.pcap",
                                     "captures/zeek/http/methods.pcap"])
def test_split_by_flow_hash_gives_the_same_flows(capture):
    """Frames dealt to 3 pipelines by a symmetric flow hash (as a parallel engine does) give the
    same flow records as one pipeline: timeouts are judged per flow, not per process."""
    import struct

    from dissect.io import read_frames

    p = corpus_path(capture)
    frames = list(read_frames([str(p)]))

    def worker_of(fr) -> int:
        data = fr[2]
        if fr[1] != 1 or len(data) < 38 or data[12:14] != b"\x08\x00":
            return 0
        ihl = (data[14] & 15) * 4
        a, b = data[26:30], data[30:34]
        ports = struct.unpack_from("!HH", data, 14 + ihl) if data[23] in (6, 17) else (0, 0)
        return hash(tuple(sorted([(a, ports[0]), (b, ports[1])]))) % 3

    whole = analyze(p)
    pipes = [Pipeline(Options()) for _ in range(3)]
    for fr in frames:
        pipes[worker_of(fr)].feed_frame(*fr)
    end = max(fr[0] for fr in frames)
    parts = [pp.finish(end_ts=end) for pp in pipes]
    merged = sorted((r for a in parts for r in a.records.get("flows", [])), key=lambda r: (r.ts, r.uid))
    assert merged == sorted(whole.records["flows"], key=lambda r: (r.ts, r.uid))
    assert sum(len(a.records.get("flows", [])) for a in parts if a.records.get("flows")) > 1


def _all_captures():
    from conftest import SAMPLES, corpus_captures

    caps = list(corpus_captures())
    if SAMPLES.is_dir():
        caps += sorted(p for p in SAMPLES.rglob("*") if p.suffix in (".pcap", ".pcapng", ".gz"))
    return caps


@pytest.mark.parametrize("path", _all_captures(), ids=lambda p: p.name)
def test_follow_every_stream_of_every_capture(path):
    """Every TCP/UDP flow can be followed; for TCP the bytes delivered plus the gaps add up to
    the flow's payload bytes in sequence space (orig_bytes / resp_bytes)."""
    import io

    from dissect.cli.cmd_follow import FollowWriter

    flows = [f for f in analyze(path, protocols=()).records["flows"] if f.proto in ("tcp", "udp")]
    writers = {f.uid: FollowWriter("text", {0, 1}, out_text=io.StringIO()) for f in flows}
    analyze(path, protocols=(), follow={u: w.analyzer for u, w in writers.items()})
    for f in flows:
        w = writers[f.uid]
        assert w.found, f.uid
        if f.proto == "tcp":
            assert w.totals[0] + w.missed[0] == f.orig_bytes, f.uid
            assert w.totals[1] + w.missed[1] == f.resp_bytes, f.uid
            assert sum(w.missed) == f.missed_bytes
