"""The streaming pipeline and the Analysis API.

    frames (dissect.io) -> PacketDecoder (link, IP, defrag, TCP/UDP headers) -> FlowTable
      -> analyzers -> records -> Analysis (tables as pandas DataFrames)

:func:`analyze` runs a whole pass over capture files; :class:`Pipeline` is the same machine fed
frame by frame (live capture): ``feed_frame(...)``, ``flush_idle(now)``, ``finish()``. Nothing
per packet is retained: flows write their record when they end and are dropped, so memory is
bounded by the live flows (``Caps.max_flows``) and the records produced.

Works the same in a script, a notebook (no event loop) or a worker process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Iterator

from dissect import gctune
from dissect.analyzer import protocols
from dissect.detect import Detector
from dissect.errors import CaptureError
from dissect.flows import SWEEP_INTERVAL, FlowRecord, FlowTable
from dissect.options import Caps, Options
from dissect.schema import table_types, to_frame
from dissect.weird import Weird

__all__ = ["analyze", "Pipeline", "Analysis", "RunStats", "make_options", "LINKTYPE_NAMES",
           "load_tables"]

#: modules that declare tables outside the protocol packages
TABLE_MODULES = ("dissect.flows", "dissect.weird", "dissect.live_records", "dissect.mime.records")


def load_tables() -> dict[str, type]:
    """Import every module that declares a table; returns table name -> record class."""
    import importlib

    for m in TABLE_MODULES:
        try:
            importlib.import_module(m)
        except ImportError:  # pragma: no cover - an optional module not written yet
            pass
    protocols()
    return table_types()

LINKTYPE_NAMES = {0: "NULL", 1: "EN10MB", 12: "RAW", 14: "RAW", 101: "RAW", 108: "LOOP",
                  113: "LINUX_SLL", 228: "IPV4", 229: "IPV6", 276: "LINUX_SLL2"}
IP_PROTO_NAMES = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah",
                  58: "icmp6", 89: "ospf", 132: "sctp"}


@dataclass
class RunStats:
    """Per-run figures (``Analysis.stats``)."""

    packets: int = 0                      # frames read
    bytes: int = 0                        # sum of wire lengths
    first_ts: float | None = None
    last_ts: float | None = None
    linktypes: dict[int, int] = field(default_factory=dict)     # link type -> frames
    unknown_linktypes: dict[int, int] = field(default_factory=dict)
    ip_protos: dict[str, int] = field(default_factory=dict)      # tcp/udp/icmp/... -> packets
    non_ip: int = 0                       # frames that were not IP (ARP, LLDP...)
    truncated: int = 0                    # packets cut by the snap length
    fragments: int = 0                    # IP fragments seen
    reassembled: int = 0                  # datagrams rebuilt from fragments
    flows: int = 0                        # flows in the flows table
    peak_flows: int = 0                   # most flows alive at once
    evicted_flows: int = 0
    services: dict[str, dict[str, int]] = field(default_factory=dict)    # service -> flows/packets/bytes
    transports: dict[str, dict[str, int]] = field(default_factory=dict)  # tcp/udp -> flows/packets/bytes
    talkers: dict[str, dict[str, int]] = field(default_factory=dict)     # host -> sent/recv pkts/bytes
    conversations: list[dict[str, Any]] = field(default_factory=list)    # host pairs, by bytes
    timeline: dict[int, list[int]] = field(default_factory=dict)         # epoch second -> [pkts, bytes]
    weirds: dict[str, int] = field(default_factory=dict)                 # weird name -> count

    @property
    def duration(self) -> float:
        if self.first_ts is None or self.last_ts is None:
            return 0.0
        return self.last_ts - self.first_ts

    def as_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["duration"] = self.duration
        return d


def make_options(options: Options | None = None, **opts: Any) -> Options:
    """Options from an Options object and/or keyword fields (``caps=`` may be a dict)."""
    if options is None:
        options = Options()
    names = {f.name for f in fields(Options)}
    for k, v in opts.items():
        if k not in names:
            raise TypeError(f"unknown option {k!r} (known: {', '.join(sorted(names))})")
        if k == "caps" and isinstance(v, dict):
            c = Caps()
            for ck, cv in v.items():
                c.set(ck, str(cv))
            v = c
        setattr(options, k, v)
    return options


class Pipeline:
    """One run: feed frames (or decoded packets), then :meth:`finish` for the :class:`Analysis`."""

    def __init__(self, options: Options | None = None, *, follow: dict | None = None, **opts: Any):
        self.options = options = make_options(options, **opts)
        self.sink: list = []
        self.stats = RunStats()
        self.captures: list = []
        self.detector = Detector(options)
        self.shared: dict[str, Any] = {}
        for name, proto in self.detector.protos.items():
            if proto.make_shared is not None:
                self.shared[name] = proto.make_shared(options)
        self.extractor = _make_extractor(options)
        self.table = FlowTable(options, self.sink.append, self.detector, self.shared,
                               self.extractor, taps=follow)
        self.spill = None
        if options.stream_dir is not None:
            from dissect.spill import TableSpiller

            self.spill = TableSpiller(options.stream_dir, options.stream_format,
                                      show_secrets=bool(options.show_secrets),
                                      min_rows=int(options.stream_rows))
        self._decoder = None
        self._next_sweep = None
        self._tl_sec = None
        self._tl = [0, 0]
        self._finished = False
        self._handed_out = False      # records left during the pass (take_records): keep their row ids
        self._late: list = []         # weirds of failed observe hooks (added at finalize)

    # -- input -----------------------------------------------------------------------------
    @property
    def decoder(self):
        if self._decoder is None:
            from dissect.decode import PacketDecoder
            self._decoder = PacketDecoder(self.options.caps, self.sink.append)
        return self._decoder

    def on_weird(self, w: Weird) -> None:
        self.sink.append(w)

    def feed_frame(self, ts: float, linktype: int, data: bytes, wire_len: int) -> None:
        """One captured frame (live capture: call :meth:`flush_idle` now and then)."""
        st = self.stats
        st.packets += 1
        st.bytes += wire_len
        if st.first_ts is None or ts < st.first_ts:
            st.first_ts = ts
        if st.last_ts is None or ts > st.last_ts:
            st.last_ts = ts
        self._timeline(ts, wire_len)
        if self._next_sweep is None or ts >= self._next_sweep:
            self._sweep(ts)
        pkt = self.decoder.decode(ts, linktype, data, wire_len)
        if pkt is not None:
            self.table.packet(pkt)

    def feed_packet(self, pkt) -> None:
        """A decoded :class:`dissect.packet.Packet` (tests, other decoders)."""
        st = self.stats
        st.packets += 1
        st.bytes += pkt.frame_len
        ts = pkt.ts
        if st.first_ts is None or ts < st.first_ts:
            st.first_ts = ts
        if st.last_ts is None or ts > st.last_ts:
            st.last_ts = ts
        self._timeline(ts, pkt.frame_len)
        self._ip_protos_direct(pkt.proto)
        if self._next_sweep is None or ts >= self._next_sweep:
            self._sweep(ts)
        self.table.packet(pkt)

    def _ip_protos_direct(self, proto: int) -> None:
        name = IP_PROTO_NAMES.get(proto, str(proto))
        self.stats.ip_protos[name] = self.stats.ip_protos.get(name, 0) + 1

    def _timeline(self, ts: float, nbytes: int) -> None:
        sec = int(ts)
        if sec != self._tl_sec:
            self._flush_timeline()
            self._tl_sec = sec
        self._tl[0] += 1
        self._tl[1] += nbytes

    def _flush_timeline(self) -> None:
        if self._tl_sec is not None and self._tl[0]:
            b = self.stats.timeline.setdefault(self._tl_sec, [0, 0])
            b[0] += self._tl[0]
            b[1] += self._tl[1]
        self._tl = [0, 0]

    def run(self, frames: Iterable, progress=None) -> None:
        """Feed an iterator of frames (the fast loop: locals, no per-frame method lookups).

        ``progress(frames_since_last_call, total_frames, total_wire_bytes)`` is called every
        2048 frames when given."""
        st = self.stats
        decode = self.decoder.decode
        packet = self.table.packet
        tl = st.timeline
        n = st.packets
        nbytes = st.bytes
        inf = float("inf")
        first = inf if st.first_ts is None else st.first_ts
        last = -inf if st.last_ts is None else st.last_ts
        next_sweep = -inf if self._next_sweep is None else self._next_sweep
        sec = None
        spk = sby = 0
        every = 2048 if progress is not None else 1 << 62
        tick = n + every
        gc_saved = gctune.enter()
        try:
            for ts, lt, data, wl in frames:
                n += 1
                nbytes += wl
                if ts > last:
                    last = ts
                if ts < first:
                    first = ts
                s = int(ts)
                if s != sec:
                    if spk:
                        b = tl.get(sec)
                        if b is None:
                            tl[sec] = [spk, sby]
                        else:
                            b[0] += spk
                            b[1] += sby
                    sec = s
                    spk = sby = 0
                spk += 1
                sby += wl
                if ts >= next_sweep:
                    st.packets, st.bytes = n, nbytes
                    self._sweep(ts)
                    next_sweep = self._next_sweep
                pkt = decode(ts, lt, data, wl)
                if pkt is not None:
                    packet(pkt)
                if n >= tick:
                    progress(every, n, nbytes)
                    tick = n + every
        finally:
            gctune.leave(gc_saved)
            if spk:
                b = tl.get(sec)
                if b is None:
                    tl[sec] = [spk, sby]
                else:
                    b[0] += spk
                    b[1] += sby
            st.packets, st.bytes = n, nbytes
            st.first_ts = None if first == inf else first
            st.last_ts = None if last == -inf else last
            self._next_sweep = None if next_sweep == -inf else next_sweep

    # -- time ------------------------------------------------------------------------------
    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_INTERVAL
        self.table.sweep(now)
        if self._decoder is not None and hasattr(self._decoder, "expire"):
            self._decoder.expire(now)
        if self.spill is not None:
            self.spill.drain(self)

    def flush_idle(self, now: float) -> None:
        """End flows idle at ``now`` (live capture: call every second or so of wall time)."""
        self._sweep(now)

    def take_records(self) -> dict[str, list]:
        """Records produced so far, by table, removed from the pipeline (live streaming).

        The caller observes them (:meth:`observe`) when they leave for good (the spiller does)."""
        out = _group(self.sink)
        self.sink.clear()
        if out:
            self._handed_out = True
        return out

    def observe(self, records: dict[str, list]) -> None:
        """Hand rows to the protocols that aggregate them (``Protocol.observe``/``observes``).

        Each row of a run must be observed exactly once: the spiller observes what it drains,
        :meth:`finish` the rest, :func:`dissect.parallel.merge_results` the merged records."""
        for name, proto in self.detector.protos.items():
            fn = getattr(proto, "observe", None)
            if fn is None:
                continue
            for table in getattr(proto, "observes", ()) or ():
                rows = records.get(table)
                if not rows:
                    continue
                try:
                    fn(self.shared.get(name), table, rows)
                except Exception as e:
                    if self.options.strict:
                        raise
                    self._late.append(Weird(ts=self.stats.last_ts or 0.0, uid=None, name="analyzer_exception",
                                            source=name, addl=f"{name} observe: {type(e).__name__}: {e}"[:200]))

    # -- end -------------------------------------------------------------------------------
    def finish(self, end_ts: float | None = None) -> "Analysis":
        """End of input: flush every flow, run the protocols' finalize, build the Analysis.

        ``end_ts`` is the capture time at the end (default: the last packet's); a parallel
        engine passes the global one so that every worker judges idle flows alike."""
        from dissect.order import canonical

        if self.spill is not None:
            self.spill.restore(self)       # rows a finalize reads were set aside while streaming
        records = self.collect(end_ts)
        # the rows not observed yet (all of them, unless streamed), with the row ids they were
        # produced with: the ids the streamed rows had too
        self.observe(records)
        if not self._handed_out:
            # canonical table order (dissect.order): the same rows in the same order with any
            # --jobs. Not when rows already left during the pass (streamed): renumbering the rest
            # alone would give row ids (snmp_pdus.pdu_index) that were already written
            records = canonical([records])
        self.finalize(records)
        self._fill_stats(records)
        if self.spill is None:
            return Analysis(records, self.captures, self.stats, self.options)
        self.spill.write_records(records)
        files = self.spill.close()
        a = Analysis(records, self.captures, self.stats, self.options)
        a.stream_files = files
        a.stream_counts = dict(self.spill.counts)
        self.stats.flows = a.stream_counts.get("flows", 0)
        return a

    def collect(self, end_ts: float | None = None) -> dict[str, list]:
        """End of input: end every flow; the records by table before ``finalize`` (a worker's share)."""
        if self._finished:
            raise RuntimeError("Pipeline.finish() called twice")
        self._finished = True
        self._flush_timeline()
        self.table.finish(self.stats.last_ts if end_ts is None else end_ts)
        if self._decoder is not None and hasattr(self._decoder, "expire"):
            self._decoder.expire(float("inf"))
        records = _group(self.sink)
        self.sink.clear()
        return records

    def finalize(self, records: dict[str, list]) -> None:
        """Cross-flow tables (``Protocol.finalize``) from the records and the (merged) shared state.

        The rows of the tables a protocol observes must have been observed (:meth:`observe`);
        its ``finalize`` gets the other tables only."""
        if self._late:
            records.setdefault("weirds", []).extend(self._late)
            self._late = []
        for name, proto in self.detector.protos.items():
            merge = getattr(proto, "merge_shared", None)
            if merge is not None and name in self.shared:
                self.shared[name] = merge([self.shared[name]])   # canonical form, as after a merge
            if proto.finalize is None:
                continue
            seen = getattr(proto, "observes", ()) or ()
            view = {t: v for t, v in records.items() if t not in seen} if seen else records
            try:
                extra = list(proto.finalize(self.shared.get(name), view) or ())
            except Exception as e:
                if self.options.strict:
                    raise
                extra = [Weird(ts=self.stats.last_ts or 0.0, uid=None, name="analyzer_exception",
                               source=name, addl=f"{name} finalize: {type(e).__name__}: {e}"[:200])]
            for r in extra:
                records.setdefault(r.__table__, []).append(r)
        ext = self.extractor
        if ext is not None and hasattr(ext, "close"):
            ext.close()

    def _fill_stats(self, records: dict[str, list]) -> None:
        st = self.stats
        t = self.table
        dec = self._decoder
        if dec is not None:
            lts = getattr(dec, "linktypes", None)
            if lts:
                st.linktypes = dict(lts)
            ult = getattr(dec, "unknown_linktypes", None)
            if ult:
                st.unknown_linktypes = dict(ult)
            ipp = getattr(dec, "ip_protos", None)
            if ipp:
                st.ip_protos = {IP_PROTO_NAMES.get(k, str(k)) if isinstance(k, int) else str(k): v
                                for k, v in dict(ipp).items()}
            for attr in ("truncated", "fragments", "reassembled"):
                v = getattr(dec, attr, None)
                if isinstance(v, int):
                    setattr(st, attr, v)
            v = getattr(dec, "non_ip_frames", None)   # decoder.non_ip is a Counter by ethertype
            if isinstance(v, int):
                st.non_ip = v
        if not st.linktypes:
            lt: dict[int, int] = {}
            for c in self.captures:
                for x in getattr(c, "linktypes", ()) or ():
                    lt.setdefault(x, 0)
            st.linktypes = lt
        st.flows = len(records.get("flows", ()))
        st.peak_flows = t.peak_flows
        st.evicted_flows = t.evicted
        st.services = {k: {"flows": v[0], "packets": v[1], "bytes": v[2]} for k, v in
                       sorted(t.services.items(), key=lambda kv: -kv[1][2])}
        st.transports = {k: {"flows": v[0], "packets": v[1], "bytes": v[2]} for k, v in
                         sorted(t.transports.items(), key=lambda kv: -kv[1][2])}
        st.talkers = {h: {"sent_packets": v[0], "sent_bytes": v[1], "recv_packets": v[2],
                          "recv_bytes": v[3]}
                      for h, v in sorted(t.talkers.items(), key=lambda kv: -(kv[1][1] + kv[1][3]))}
        st.conversations = [{"a": a, "b": b, "flows": v[0], "packets": v[1], "bytes": v[2]}
                            for (a, b), v in sorted(t.conversations.items(), key=lambda kv: -kv[1][2])]
        w: dict[str, int] = {}
        for r in records.get("weirds", ()):
            w[r.name] = w.get(r.name, 0) + 1
        st.weirds = dict(sorted(w.items(), key=lambda kv: -kv[1]))


def _group(sink: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in sink:
        name = r.__table__
        lst = out.get(name)
        if lst is None:
            lst = out[name] = []
        lst.append(r)
    return out


def _make_extractor(options: Options):
    if getattr(options, "extract_dir", None) is None:
        return None
    try:
        from dissect.extract import Extractor  # the MIME/extraction work; optional
    except ImportError:
        return None
    if hasattr(Extractor, "from_options"):
        return Extractor.from_options(options)
    return Extractor(options.extract_dir)


class _Tables(Mapping):
    """Every registered table as a DataFrame, built on first access."""

    def __init__(self, analysis: "Analysis"):
        self._a = analysis
        self._cache: dict[str, Any] = {}

    def _types(self) -> dict[str, type]:
        return table_types()

    def __getitem__(self, name: str):
        got = self._cache.get(name)
        if got is None:
            cls = self._types()[name]  # KeyError for unknown tables
            got = to_frame(cls, self._a.records.get(name, ()), show_secrets=self._a.options.show_secrets)
            self._cache[name] = got
        return got

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._types()))

    def __len__(self) -> int:
        return len(self._types())

    def __repr__(self) -> str:
        return f"<tables {', '.join(f'{n}({len(self._a.records.get(n, ()))})' for n in self)}>"


class Analysis:
    """The result of one run: records by table, DataFrames, per-file info and run stats."""

    def __init__(self, records: dict[str, list], captures: list, stats: RunStats, options: Options):
        load_tables()   # every table is registered (so exports always have the same files)
        self.records = records
        self.captures = captures
        self.stats = stats
        self.options = options
        self.tables = _Tables(self)

    def table(self, name: str, *, show_secrets: bool | None = None):
        """One table as a DataFrame; ``show_secrets`` overrides the run's option."""
        if show_secrets is None or show_secrets == self.options.show_secrets:
            return self.tables[name]
        return to_frame(table_types()[name], self.records.get(name, ()), show_secrets=show_secrets)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in table_types():
            return self.tables[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or table {name!r}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(table_types()))

    @property
    def truncated(self) -> list:
        """Captures that ended inside a record (everything before the damage was read)."""
        return [c for c in self.captures if getattr(c, "truncated", False)]

    def __repr__(self) -> str:
        st = self.stats
        return (f"<Analysis {len(self.captures)} capture(s), {st.packets} packets, "
                f"{len(self.records.get('flows', ()))} flows, "
                f"{sum(len(v) for k, v in self.records.items() if k not in ('flows', 'weirds'))} "
                f"protocol records, {len(self.records.get('weirds', ()))} weirds>")


def analyze(paths, options: Options | None = None, progress: bool = False, *,
            follow: dict | None = None, **opts: Any) -> Analysis:
    """Analyse capture files (``"-"`` = stdin) in one streaming pass; returns an :class:`Analysis`.

    ``opts`` are :class:`dissect.options.Options` fields (``decode_as={2525: "smtp"}``,
    ``caps={"max_flows": 1000}``, ``show_secrets=True``...).
    """
    from dissect.io import read_frames

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    pipe = Pipeline(options, follow=follow, **opts)
    try:
        frames = read_frames(paths, infos=pipe.captures, on_weird=pipe.on_weird)
    except PermissionError as e:
        raise CaptureError(f"{e.filename or paths[0]}: permission denied") from None
    except FileNotFoundError as e:
        raise CaptureError(f"{e.filename or paths[0]}: no such file") from None
    except IsADirectoryError as e:
        raise CaptureError(f"{e.filename or paths[0]}: is a directory, not a capture file") from None
    bar = None
    if progress:
        bar = _Progress(paths)
    gc_saved = gctune.enter()
    try:
        try:
            pipe.run(frames, bar.advance if bar is not None else None)
        except PermissionError as e:
            raise CaptureError(f"{e.filename or paths[0]}: permission denied") from None
        finally:
            if bar is not None:
                bar.close()
            close = getattr(frames, "close", None)
            if close is not None:
                close()
        return pipe.finish()
    finally:
        gctune.leave(gc_saved)


class _Progress:
    """A rich progress bar on stderr over the input's bytes (packets/s, MB/s, ETA)."""

    def __init__(self, paths: list[str]):
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TaskProgressColumn,
                                   TextColumn, TimeRemainingColumn, TransferSpeedColumn)

        total = 0
        known = True
        for p in paths:
            if p == "-" or p.endswith((".gz", ".zst", ".xz", ".bz2")):
                known = False
                continue
            try:
                total += os.path.getsize(p)
            except OSError:
                known = False
        self.progress = Progress(
            TextColumn("[bold]analysing"), BarColumn(), TaskProgressColumn(), DownloadColumn(),
            TransferSpeedColumn(), TextColumn("{task.fields[pps]} pkt/s"), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True)
        self.task = self.progress.add_task("analysing", total=total if known and total else None,
                                           pps="0")
        import time
        self._time = time.monotonic
        self._t0 = self._time()
        self.progress.start()

    _done = 0

    def advance(self, frames: int, total_frames: int, total_bytes: int) -> None:
        el = self._time() - self._t0
        pps = f"{total_frames / el:,.0f}" if el > 0 else "0"
        # file bytes ~ wire bytes + a 16-byte record header per frame
        pos = total_bytes + 16 * total_frames
        self.progress.update(self.task, advance=pos - self._done, pps=pps)
        self._done = pos

    def close(self) -> None:
        self.progress.stop()
