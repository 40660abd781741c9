"""Local parallelism (``--jobs N``): one analysis split over worker processes by a host-pair hash.

How a run is split
------------------
Every worker reads *all* the input (one file, or several merged in time order, exactly as a
single-process run does; the page cache makes the repeated reads cheap) and keeps only the
packets of its *shard*: ``shard_of(src, dst) == k``. The shard is decided on the IP addresses,
right after the IP header is found and **before** defragmentation and before anything else is
decoded (:class:`ShardDecoder`, a :class:`~dissect.decode.PacketDecoder` subclass: the Ethernet
IPv4/IPv6 case is tested on the raw frame bytes, other link types in ``_ip4``/``_ip6``), so a
packet of another shard costs a slice and a CRC.

Why the host pair and not the 5-tuple: IP fragments after the first carry no ports, so a 5-tuple
hash would send them to other workers than their flow (the issue's alternative, hashing fragments
by src/dst/id, needs the fragments and the reassembled datagram reunited afterwards: an extra
exchange between workers). The unordered address pair is known on every fragment, on every
packet of a flow in both directions, and on the ICMP errors about it, so each flow and each
fragmented datagram is entirely in one worker, with no exchange at all. It also keeps together
what cross-flow state needs most often (SNMP managers pairing replies, HTTP range requests of one
client to one server). The hash is ``zlib.crc32`` of the two addresses in sorted order:
symmetric, deterministic across processes and machines (never Python's salted ``hash()``), and
not a function of ``src ^ dst`` alone (``crc32(a) ^ crc32(b)`` is, being linear: every pair with
the same XOR, e.g. ``10.0.r.1``/``10.0.r.129`` for any ``r``, would land in one shard). The cost:
one heavy host pair cannot be spread (a single huge flow is sequential anyway).

Each worker runs the normal :class:`~dissect.pipeline.Pipeline` up to
:meth:`~dissect.pipeline.Pipeline.collect` (every flow ended, no ``finalize``) and returns its
records, its protocols' shared state and its counters (pickled). The parent merges them
(:func:`merge_results`): records through :func:`dissect.order.canonical` (the same canonical
order single-process runs use), shared state through each protocol's ``merge_shared``, then runs
``finalize`` once. Records and tables are identical to a single-process run (tested with
``pandas.testing.assert_frame_equal`` for 1, 2 and 3 jobs) with two documented exceptions:
per-run caps apply per worker (the live-flow cap, the decoder's per-name weird limit, the SNMP
audit's sample caps), and an SNMP response that comes back from *another agent address* than the
one its request was sent to (a multi-homed agent; the SNMP analyzer pairs it across flows) is
paired only when both host pairs fall in the same worker, else it is reported unanswered/unmatched
as if the two flows had been captured apart. Run-level stats (``Analysis.stats``): frame counts, link types, timeline and capture info
come from worker 0 (every worker sees every frame), IP-level counters are summed, ``peak_flows``
is the largest worker's.

When it pays: process start-up and the result transfer cost about a second, so ``jobs=None``
(the CLI default) uses every core only when the input is at least :data:`PARALLEL_MIN_BYTES`
(64 MB) and one process below it; an explicit ``jobs`` is obeyed. Standard input, ``--extract``
and ``follow`` always run in one process.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
import zlib
from operator import attrgetter
from dataclasses import dataclass, field
from typing import Any

from dissect.decode import PacketDecoder
from dissect.errors import CaptureError
from dissect.options import Options

__all__ = ["analyze_parallel", "run_shard", "merge_results", "shard_of", "ShardDecoder",
           "ShardResult", "effective_jobs", "PARALLEL_MIN_BYTES"]

#: below this much input, ``jobs=None`` runs in one process
PARALLEL_MIN_BYTES = 64 << 20

_crc = zlib.crc32


def shard_of(src: bytes, dst: bytes, nshards: int) -> int:
    """The worker of the host pair ``{src, dst}`` (raw 4- or 16-byte addresses), symmetric."""
    return _crc(src + dst if src <= dst else dst + src) % nshards


class ShardDecoder(PacketDecoder):
    """A PacketDecoder that drops the packets of other shards as early as possible."""

    def __init__(self, caps, on_weird, shard: int, nshards: int):
        super().__init__(caps, on_weird)
        self.shard = shard
        self.nshards = nshards

    def decode(self, ts, linktype, data, wire_len):
        if linktype == 1:
            n = len(data)
            if n >= wire_len:
                # Ethernet, IPv4/IPv6 right after the MAC header, frame entirely captured: test
                # the addresses on the raw bytes (most packets stop here in all but one worker)
                if n >= 34 and data[12] == 8 and data[13] == 0:
                    a = data[26:30]
                    b = data[30:34]
                    if _crc(a + b if a <= b else b + a) % self.nshards != self.shard:
                        self._eth += 1
                        return None
                elif n >= 54 and data[12] == 0x86 and data[13] == 0xDD:
                    a = data[22:38]
                    b = data[38:54]
                    if _crc(a + b if a <= b else b + a) % self.nshards != self.shard:
                        self._eth += 1
                        return None
            else:
                pkt = PacketDecoder.decode(self, ts, linktype, data, wire_len)
                if pkt is not None and shard_of(pkt.src, pkt.dst, self.nshards) != self.shard:
                    self._protos[pkt.proto] -= 1      # counted by the inlined fast path
                    return None
                return pkt
        return PacketDecoder.decode(self, ts, linktype, data, wire_len)

    def _ip4(self, ts, data, off, wire_len):
        if len(data) - off >= 20:
            a = data[off + 12:off + 16]
            b = data[off + 16:off + 20]
            if _crc(a + b if a <= b else b + a) % self.nshards != self.shard:
                return None
        return PacketDecoder._ip4(self, ts, data, off, wire_len)

    def _ip6(self, ts, data, off, wire_len):
        if len(data) - off >= 40:
            a = data[off + 8:off + 24]
            b = data[off + 24:off + 40]
            if _crc(a + b if a <= b else b + a) % self.nshards != self.shard:
                return None
        return PacketDecoder._ip6(self, ts, data, off, wire_len)


@dataclass
class ShardResult:
    """What a worker sends back (pickled)."""

    shard: int
    nshards: int
    records: dict[str, list]
    shared: dict[str, Any]
    stats: Any                      # dissect.pipeline.RunStats of the worker
    captures: list
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    # Records travel as (class, [tuple of field values]): pickling plain tuples is C code, about
    # twice as fast end to end as pickling every frozen dataclass instance by itself.
    def __getstate__(self):
        st = dict(self.__dict__)
        st["records"] = {name: _pack(lst) for name, lst in self.records.items()}
        return st

    def __setstate__(self, st):
        st["records"] = {name: _unpack(v) for name, v in st["records"].items()}
        self.__dict__.update(st)


def _pack(lst: list):
    if not lst:
        return lst
    cls = type(lst[0])
    fs = getattr(cls, "__dataclass_fields__", None)
    if not fs or any(not f.init for f in fs.values()) or len(fs) < 2 or \
            any(type(r) is not cls for r in lst):
        return lst
    get = attrgetter(*fs)
    return ("packed", cls, [get(r) for r in lst])


def _unpack(v):
    if isinstance(v, tuple) and len(v) == 3 and v[0] == "packed":
        cls = v[1]
        return [cls(*row) for row in v[2]]
    return v


def run_shard(paths, options: Options | None, shard: int, nshards: int, progress=None,
              **opts: Any) -> ShardResult:
    """Analyse shard ``shard`` of ``nshards`` of ``paths``; no finalize (see :func:`merge_results`).

    The worker function of ``--jobs`` and of the Dask engine. ``progress(frames_since, frames,
    bytes)`` is called every few thousand frames.
    """
    from dissect.io import read_frames
    from dissect.pipeline import Pipeline

    t0 = time.monotonic()
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    pipe = Pipeline(options, **opts)
    if nshards > 1:
        pipe._decoder = ShardDecoder(pipe.options.caps, pipe.sink.append, shard, nshards)
    frames = read_frames(paths, infos=pipe.captures, on_weird=pipe.on_weird)
    try:
        pipe.run(frames, progress)
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    records = pipe.collect()
    pipe._fill_stats(records)
    for sh in pipe.shared.values():          # live references into analyzers are not needed
        if hasattr(sh, "by_manager"):
            sh.by_manager = {}
    return ShardResult(shard, nshards, records, dict(pipe.shared), pipe.stats, pipe.captures,
                       time.monotonic() - t0)


def _is_prefilter_weird(w) -> bool:
    """Weirds every worker reports alike (capture and link level: before the shard filter)."""
    return w.uid is None and w.orig_h is None and w.resp_h is None


def _merge_counts(dicts: list[dict]) -> dict:
    out: dict = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def _merge_stat_rows(dicts: list[dict]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for d in dicts:
        for k, row in d.items():
            cur = out.get(k)
            if cur is None:
                out[k] = dict(row)
            else:
                for c, v in row.items():
                    cur[c] = cur.get(c, 0) + v
    return out


def merge_results(results: list[ShardResult], options: Options | None = None, **opts: Any):
    """One :class:`~dissect.pipeline.Analysis` from the workers' results (finalize runs here, once)."""
    from dissect.order import canonical
    from dissect.pipeline import Analysis, Pipeline, RunStats

    results = sorted(results, key=lambda r: r.shard)
    if not results:
        raise ValueError("no results to merge")
    parts = []
    for i, r in enumerate(results):
        recs = r.records
        if i > 0 and recs.get("weirds"):
            recs = dict(recs)
            recs["weirds"] = [w for w in recs["weirds"] if not _is_prefilter_weird(w)]
        parts.append(recs)
    records = canonical(parts)
    parent = Pipeline(options, **opts)
    for name, proto in parent.detector.protos.items():
        got = [r.shared.get(name) for r in results if r.shared.get(name) is not None]
        if not got:
            continue
        merge = getattr(proto, "merge_shared", None)
        parent.shared[name] = merge(got) if merge is not None else got[0]
    parent.observe(records)     # the workers do not observe: the merged rows, once, canonical ids
    parent.finalize(records)

    w0 = results[0].stats
    st = RunStats()
    for name in ("packets", "bytes", "first_ts", "last_ts", "linktypes", "unknown_linktypes", "non_ip",
                 "truncated", "timeline"):
        setattr(st, name, getattr(w0, name))
    stats = [r.stats for r in results]
    st.ip_protos = _merge_counts([s.ip_protos for s in stats])
    st.fragments = sum(s.fragments for s in stats)
    st.reassembled = sum(s.reassembled for s in stats)
    st.evicted_flows = sum(s.evicted_flows for s in stats)
    st.peak_flows = max(s.peak_flows for s in stats)
    st.flows = len(records.get("flows", ()))
    st.services = dict(sorted(_merge_stat_rows([s.services for s in stats]).items(),
                              key=lambda kv: -kv[1]["bytes"]))
    st.transports = dict(sorted(_merge_stat_rows([s.transports for s in stats]).items(),
                                key=lambda kv: -kv[1]["bytes"]))
    st.talkers = dict(sorted(_merge_stat_rows([s.talkers for s in stats]).items(),
                             key=lambda kv: -(kv[1]["sent_bytes"] + kv[1]["recv_bytes"])))
    conv: dict[tuple, dict] = {}
    for s in stats:
        for c in s.conversations:
            k = (c["a"], c["b"])
            cur = conv.get(k)
            if cur is None:
                conv[k] = dict(c)
            else:
                for f in ("flows", "packets", "bytes"):
                    cur[f] += c[f]
    st.conversations = sorted(conv.values(), key=lambda c: -c["bytes"])
    w: dict[str, int] = {}
    for r in records.get("weirds", ()):
        w[r.name] = w.get(r.name, 0) + 1
    st.weirds = dict(sorted(w.items(), key=lambda kv: -kv[1]))
    return Analysis(records, results[0].captures, st, parent.options)


def _input_bytes(paths: list[str]) -> int:
    total = 0
    for p in paths:
        try:
            total += os.path.getsize(p)
        except OSError:
            pass
    return total


def effective_jobs(paths, jobs: int | None, options: Options | None = None,
                   follow: Any = None) -> int:
    """How many workers a run will use (1: the plain single-process pipeline)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if "-" in paths or follow or (options is not None and (getattr(options, "extract_dir", None)
                                                           or getattr(options, "stream_dir", None))):
        return 1    # streamed tables: one writer, and the rows observed as they are written
    if jobs is None:
        if _input_bytes(paths) < PARALLEL_MIN_BYTES:
            return 1
        jobs = os.cpu_count() or 1
    return max(1, int(jobs))


def _worker_main(args, queue) -> None:
    paths, options, shard, nshards, with_progress = args
    last = [0.0]

    def progress(_tick, frames, nbytes):
        now = time.monotonic()
        if now - last[0] >= 0.2:
            last[0] = now
            queue.put(("p", shard, frames, nbytes))

    try:
        res = run_shard(paths, options, shard, nshards, progress if with_progress else None)
        queue.put(("r", shard, res))
    except CaptureError as e:
        queue.put(("c", shard, str(e)))
    except BaseException as e:  # report, never hang the parent
        queue.put(("e", shard, f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))


class _WorkerBars:
    """One rich progress bar per worker (frames, bytes/s, ETA over the input's bytes)."""

    def __init__(self, nshards: int, total: int):
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TaskProgressColumn, TextColumn,
                                   TimeRemainingColumn, TransferSpeedColumn)

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), DownloadColumn(),
            TransferSpeedColumn(), TextColumn("{task.fields[frames]} frames, {task.fields[pps]} pkt/s"),
            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self.tasks = [self.progress.add_task(f"worker {i + 1}/{nshards}", total=total or None,
                                             frames="0", pps="0") for i in range(nshards)]
        self.t0 = time.monotonic()
        self.progress.start()

    def update(self, shard: int, frames: int, nbytes: int, done: bool = False) -> None:
        el = max(1e-6, time.monotonic() - self.t0)
        pos = nbytes + 16 * frames
        t = self.tasks[shard]
        if done:
            total = self.progress.tasks[t].total
            pos = total if total else pos
        self.progress.update(t, completed=pos, frames=f"{frames:,}", pps=f"{frames / el:,.0f}")

    def close(self) -> None:
        self.progress.stop()


def analyze_parallel(paths, options: Options | None = None, jobs: int | None = None,
                     progress: bool = False, *, follow: dict | None = None, **opts: Any):
    """Like :func:`dissect.pipeline.analyze`, over ``jobs`` worker processes (None: see
    :func:`effective_jobs`). The result is identical to a single-process run."""
    import multiprocessing as mp

    from dissect.io import read_frames
    from dissect.pipeline import analyze, make_options

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    options = make_options(options, **opts)
    n = effective_jobs(paths, jobs, options, follow)
    if n <= 1:
        return analyze(paths, options, progress, follow=follow)
    # user errors (missing file, not a capture) once, here, with the single-process wording
    try:
        it = read_frames(paths)
    except PermissionError as e:
        raise CaptureError(f"{e.filename or paths[0]}: permission denied") from None
    except FileNotFoundError as e:
        raise CaptureError(f"{e.filename or paths[0]}: no such file") from None
    except IsADirectoryError as e:
        raise CaptureError(f"{e.filename or paths[0]}: is a directory, not a capture file") from None
    close = getattr(it, "close", None)
    if close is not None:
        close()
    try:
        ctx = mp.get_context("fork")
    except ValueError:  # pragma: no cover - not on Linux
        ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker_main, args=((paths, options, k, n, bool(progress)), queue),
                         daemon=True) for k in range(n)]
    for p in procs:
        p.start()
    bars = _WorkerBars(n, _input_bytes(paths)) if progress else None
    results: list[ShardResult] = []
    error = None
    try:
        while len(results) < n and error is None:
            try:
                msg = queue.get(timeout=1.0)
            except Exception:
                if all(not p.is_alive() for p in procs) and queue.empty():
                    dead = [p.exitcode for p in procs]
                    error = RuntimeError(f"parallel analysis: a worker died (exit codes {dead})")
                continue
            kind, shard = msg[0], msg[1]
            if kind == "p":
                if bars is not None:
                    bars.update(shard, msg[2], msg[3])
            elif kind == "r":
                results.append(msg[2])
                if bars is not None:
                    bars.update(shard, msg[2].stats.packets, msg[2].stats.bytes, done=True)
            elif kind == "c":
                error = CaptureError(msg[2])
            else:
                error = RuntimeError(f"parallel analysis, worker {shard}: {msg[2]}")
    finally:
        if bars is not None:
            bars.close()
        for p in procs:
            if error is not None and p.is_alive():
                p.terminate()
            p.join(timeout=5)
    if error is not None:
        raise error
    return merge_results(results, options)
