"""`dissect live -i IFACE`: analyse an interface as traffic flows.

dumpcap writes pcapng to a pipe; a reader thread parses frames with the same streaming reader as
files and hands them to the analysis pipeline, which runs in the main thread together with the
periodic work (idle-flow flushing, table streaming, rotation). A rich live view redraws every
second; Ctrl-C stops dumpcap (by its PID), drains what it had captured and prints the summary.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any, Optional

import typer

from dissect.cli.common import UserError, build_options, cap_option, console, decode_as_option, err_console, safe

ENGINE_HELP = (
    "dissect (default): our own decoders, fast. pyshark: tshark dissects every packet in full as "
    "well (adds a tshark_packets table with each frame's protocol stack, for protocols we do not "
    "decode); it costs a tshark process and runs at roughly 200-1000 packets/s, so use it only on "
    "light traffic."
)


def register(app: typer.Typer) -> None:
    app.command("live", help="Capture and analyse an interface live (through dumpcap).")(live)


def live(
    interface: list[str] = typer.Option(..., "-i", "--interface", help="Interface to capture on (repeatable; see `dumpcap -D`)."),
    capture_filter: Optional[str] = typer.Option(None, "-f", "--filter", help="Capture filter (BPF), e.g. 'tcp port 25 or udp port 161'."),
    duration: Optional[float] = typer.Option(None, "--duration", "-a", help="Stop after this many seconds."),
    count: Optional[int] = typer.Option(None, "--count", "-c", help="Stop after this many packets."),
    snaplen: Optional[int] = typer.Option(None, "--snaplen", "-s", help="Snap length (bytes kept per packet)."),
    write: Optional[Path] = typer.Option(None, "--write", "-w", help="Keep the raw capture in this pcapng file."),
    ring_files: int = typer.Option(0, "--ring-files", help="With --write: keep a ring buffer of this many files..."),
    ring_size: float = typer.Option(0, "--ring-size", help="...of this many MB each."),
    export: Optional[Path] = typer.Option(None, "--export", help="Write every table to this folder at the end (and at each --rotate)."),
    export_format: str = typer.Option("parquet", "--format", help="Export format: parquet, csv or json."),
    stream_tables: bool = typer.Option(False, "--stream-tables", help="With --export (parquet): append finished rows to the Parquet files in row groups instead of keeping them in memory."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write the HTML report here at the end (and at each --rotate)."),
    rotate: Optional[float] = typer.Option(None, "--rotate", help="Write --export/--report every N minutes as well."),
    engine: str = typer.Option("dissect", "--engine", help=ENGINE_HELP),
    view: bool = typer.Option(True, "--view/--no-view", help="Live terminal view (refreshed every second)."),
    snmp_keys: Optional[Path] = typer.Option(None, "--snmp-keys", help="SNMPv3 keys file (TOML or Wireshark snmp_users)."),
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Show communities and passwords in full."),
    decode_as: Optional[list[str]] = decode_as_option(),
    cap: Optional[list[str]] = cap_option(),
) -> None:
    from dissect.io.live import DumpcapCapture, LiveCaptureError

    if engine not in ("dissect", "pyshark"):
        raise UserError(f"--engine must be dissect or pyshark, not {engine!r}")
    if export_format not in ("parquet", "csv", "json"):
        raise UserError(f"--format must be parquet, csv or json, not {export_format!r}")
    if stream_tables and (export is None or export_format != "parquet"):
        raise UserError("--stream-tables needs --export DIR with --format parquet")
    if (ring_files or ring_size) and write is None:
        raise UserError("--ring-files/--ring-size need --write FILE")
    if snmp_keys is not None and not snmp_keys.is_file():
        raise UserError(f"{snmp_keys}: no such keys file")
    options = build_options(decode_as=decode_as, caps=cap, snmp_keys=snmp_keys, show_secrets=show_secrets)

    session = LiveSession(options, export=export, export_format=export_format, report=report,
                          rotate=rotate, stream_tables=stream_tables)
    if engine == "pyshark":
        source = PysharkSource(interface, capture_filter, duration, count)
    else:
        try:
            source = DumpcapSource(DumpcapCapture(interface, bpf=capture_filter, snaplen=snaplen,
                                                  duration=duration, count=count, write=write,
                                                  ring_files=ring_files, ring_size_mb=ring_size))
        except LiveCaptureError as e:
            raise UserError(str(e)) from None
    try:
        source.start()
    except LiveCaptureError as e:
        raise UserError(str(e)) from None
    err_console.print(f"capturing on {', '.join(safe(i) for i in interface)} (Ctrl-C to stop)")
    analysis = session.run(source, view=view)
    session.print_summary(analysis)
    if getattr(source, "error", None):
        raise UserError(source.error)


# --------------------------------------------------------------------------------------------
class DumpcapSource:
    """Frames from dumpcap's pcapng pipe, parsed in a reader thread."""

    def __init__(self, cap):
        self.cap = cap
        self.error: str | None = None
        self.infos: list = []

    def start(self) -> None:
        self.stream = self.cap.start()

    def frames(self, q: "queue.Queue", weird) -> None:
        from dissect.errors import CaptureError
        from dissect.io import open_stream

        batch: list = []
        last = time.monotonic()
        try:
            for frame in open_stream(self.stream, name="live:" + ",".join(self.cap.interfaces),
                                     infos=self.infos, on_weird=weird):
                batch.append(frame)
                now = time.monotonic()
                if len(batch) >= 256 or now - last > 0.05:
                    q.put(batch)
                    batch = []
                    last = now
        except CaptureError as e:
            self.error = str(e)
        except (OSError, ValueError):
            pass
        finally:
            if batch:
                q.put(batch)
            q.put(None)
            err = self.cap.error()
            if err:
                self.error = err

    def stop(self) -> None:
        self.cap.stop()

    def close(self) -> None:
        self.cap.close()


class PysharkSource:
    """Frames from pyshark's LiveCapture (tshark), each with tshark's protocol stack."""

    def __init__(self, interfaces, bpf, duration, count):
        self.interfaces = interfaces
        self.bpf = bpf
        self.duration = duration
        self.count = count
        self.error: str | None = None
        self.infos: list = []
        self._stop = threading.Event()

    def start(self) -> None:
        from dissect.io.live import find_dumpcap

        find_dumpcap()
        try:
            import pyshark  # noqa: F401
        except ImportError:
            from dissect.io.live import LiveCaptureError
            raise LiveCaptureError("--engine pyshark needs pyshark: pip install 'pcap-dissect[live]'") from None

    def frames(self, q: "queue.Queue", weird) -> None:
        import asyncio

        import pyshark

        from dissect.live_records import TsharkPacket

        asyncio.set_event_loop(asyncio.new_event_loop())
        cap = pyshark.LiveCapture(interface=self.interfaces, bpf_filter=self.bpf, use_json=True,
                                  include_raw=True)
        self._cap = cap
        deadline = time.monotonic() + self.duration if self.duration else None
        n = 0
        try:
            for pkt in cap.sniff_continuously(packet_count=self.count or None):
                raw = pkt.get_raw_packet()
                ts = float(pkt.sniff_timestamp)
                linktype = _encap_to_linktype(pkt)
                protos = str(getattr(pkt.frame_info, "protocols", ""))
                q.put([(ts, linktype, raw, int(pkt.length))])
                q.put(TsharkPacket(ts=ts, number=int(pkt.number), interface=str(getattr(pkt, "interface_captured", "") or ""),
                                   protocols=protos, highest_layer=str(pkt.highest_layer), length=int(pkt.length)))
                n += 1
                if self._stop.is_set() or (deadline and time.monotonic() > deadline):
                    break
        except Exception as e:  # tshark errors surface here; one line for the user
            self.error = f"tshark capture failed: {e}"
        finally:
            try:
                cap.close()
            except Exception:
                pass
            q.put(None)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()


def _encap_to_linktype(pkt) -> int:
    layers = [layer.layer_name for layer in pkt.layers]
    first = layers[0] if layers else "eth"
    return {"eth": 1, "sll": 113, "ip": 101, "ipv6": 101, "null": 0, "loop": 108}.get(first, 1)


# --------------------------------------------------------------------------------------------
class LiveSession:
    """Runs the pipeline on live frames with periodic flushing, streaming and rotation."""

    def __init__(self, options, *, export: Path | None, export_format: str, report: Path | None,
                 rotate: float | None, stream_tables: bool):
        from dissect.pipeline import Pipeline

        self.options = options
        self.pipeline = Pipeline(options)
        self.export = export
        self.export_format = export_format
        self.report = report
        self.rotate = rotate * 60 if rotate else None
        self.streamer = None
        if stream_tables and export:
            from dissect.spill import TableSpiller

            self.streamer = TableSpiller(export, "parquet", show_secrets=bool(options.show_secrets),
                                         min_rows=int(options.stream_rows))
        self.started = time.monotonic()
        self.packets = 0
        self.bytes = 0
        self.extra: list = []   # tshark_packets rows (pyshark engine)

    # one place that feeds the pipeline: the main thread
    def run(self, source, view: bool = True):
        # bounded: at most 256 batches (~64k frames) between the reader and the pipeline; when the
        # analysis falls behind, dumpcap's own buffer fills and the kernel counts drops
        q: "queue.Queue" = queue.Queue(maxsize=256)
        source.infos = self.pipeline.captures
        reader = threading.Thread(target=source.frames, args=(q, self.pipeline.on_weird), daemon=True)
        reader.start()
        live_ctx = None
        if view and console.is_terminal:
            from rich.live import Live

            live_ctx = Live(get_renderable=self.render, console=console, refresh_per_second=1,
                            transient=False)
            live_ctx.start()
        last_flush = last_rotate = time.monotonic()
        stopping = False
        try:
            while True:
                try:
                    item = q.get(timeout=0.5)
                except queue.Empty:
                    item = ()
                except KeyboardInterrupt:
                    raise
                if item is None:
                    break
                if isinstance(item, list):
                    feed = self.pipeline.feed_frame
                    for ts, lt, data, wl in item:
                        feed(ts, lt, data, wl)
                        self.packets += 1
                        self.bytes += wl
                    self.last_ts = item[-1][0] if item else getattr(self, "last_ts", None)
                elif item != ():
                    self.extra.append(item)
                now = time.monotonic()
                if now - last_flush >= 1.0:
                    last_flush = now
                    if getattr(self, "last_ts", None) is not None:
                        self.pipeline.flush_idle(self.last_ts)
                    if self.streamer:
                        self.streamer.drain(self.pipeline, final=False)
                if self.rotate and now - last_rotate >= self.rotate:
                    last_rotate = now
                    self.write_outputs(self.snapshot())
        except KeyboardInterrupt:
            stopping = True
        finally:
            source.stop()
            if stopping:
                # drain what dumpcap flushed on SIGINT
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    try:
                        item = q.get(timeout=0.5)
                    except queue.Empty:
                        continue
                    if item is None:
                        break
                    if isinstance(item, list):
                        for ts, lt, data, wl in item:
                            self.pipeline.feed_frame(ts, lt, data, wl)
                            self.packets += 1
                            self.bytes += wl
                    else:
                        self.extra.append(item)
            source.close()
            if live_ctx is not None:
                live_ctx.stop()
        if self.streamer:
            self.streamer.restore(self.pipeline)
        analysis = self.pipeline.finish()
        if self.extra:
            analysis.records.setdefault("tshark_packets", []).extend(self.extra)
        if self.streamer:
            self.streamer.write_records(analysis.records)
            self.streamer.close()
        self.write_outputs(analysis, final=True)
        return analysis

    def snapshot(self):
        """The tables so far (finished flows and transactions; live flows are not closed)."""
        from dissect.pipeline import Analysis, _group

        rows = list(self.pipeline.sink)
        if self.streamer:
            for kept in self.streamer.kept.values():
                rows.extend(kept)
        records = _group(rows)
        for name, proto in self.pipeline.detector.protos.items():
            if proto.finalize is not None:
                extra = proto.finalize(self.pipeline.shared.get(name), records)
                for r in extra or ():
                    records.setdefault(r.__table__, []).append(r)
        return Analysis(records, self.pipeline.captures, self.pipeline.stats, self.options)

    def write_outputs(self, analysis, final: bool = False) -> None:
        if analysis is None:
            return
        if self.export and not self.streamer:
            from dissect.export import export as export_tables

            export_tables(analysis, self.export, fmt=self.export_format,
                          show_secrets=self.options.show_secrets)
        if self.report:
            from dissect.reports import build_report

            if self.streamer and final:
                analysis = self.streamer.reload(analysis)
            build_report(analysis, self.report, show_secrets=self.options.show_secrets)

    # -- the live view --------------------------------------------------------------------
    def render(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        elapsed = max(time.monotonic() - self.started, 1e-6)
        nflows = getattr(self.pipeline.table, "nflows", None)
        head = Text(f"packets {self.packets:,}  bytes {self.bytes:,}  flows {nflows if nflows is not None else '-'}  "
                    f"{self.packets / elapsed:,.0f} pkt/s  elapsed {elapsed:,.0f}s  (Ctrl-C to stop)")
        sink = self.pipeline.sink
        parts: list[Any] = [head]

        def latest(name: str, n: int = 5, pred=None):
            out = []
            for r in reversed(sink[-5000:]):
                if getattr(r, "__table__", None) == name and (pred is None or pred(r)):
                    out.append(r)
                    if len(out) >= n:
                        break
            return out

        def table(title: str, cols: list[str], rows: list, fmt):
            if not rows:
                return
            t = Table(title=title, title_justify="left", expand=False)
            for c in cols:
                t.add_column(c, overflow="fold", max_width=60)
            for r in rows:
                t.add_row(*[safe(v) for v in fmt(r)])
            parts.append(t)

        g = lambda r, k: getattr(r, k, "")  # noqa: E731
        table("SMTP transactions", ["from", "rcpts", "outcome", "reply"], latest("smtp_transactions"),
              lambda r: (g(r, "mail_from"), g(r, "rcpt_count"), g(r, "outcome"), g(r, "data_reply_code")))
        table("Failed mail deliveries", ["rcpt", "code", "reason"],
              latest("smtp_recipients", pred=lambda r: g(r, "outcome") not in ("accepted", None, "")),
              lambda r: (g(r, "address"), g(r, "reply_code"), g(r, "reply_text")))
        table("HTTP errors", ["method", "host", "uri", "status"],
              latest("http_transactions", pred=lambda r: (g(r, "status_code") or 0) >= 400),
              lambda r: (g(r, "method"), g(r, "host"), g(r, "uri"), g(r, "status_code")))
        table("SNMP", ["src", "dst", "ver", "type", "community/user", "answered"], latest("snmp_pdus"),
              lambda r: (g(r, "src_h"), g(r, "dst_h"), g(r, "version"), g(r, "pdu_type"),
                         _mask(g(r, "community") or g(r, "user"), self.options.show_secrets), g(r, "answered")))
        return Group(*parts)

    def print_summary(self, analysis) -> None:
        from rich.table import Table

        t = Table(title="live capture summary", title_justify="left")
        t.add_column("table")
        t.add_column("rows", justify="right")
        counts = dict(self.streamer.counts) if self.streamer else {}
        for name, rows in (getattr(analysis, "records", {}) or {}).items():
            counts[name] = counts.get(name, 0) + len(rows)
        for name, n in sorted(counts.items()):
            if n:
                t.add_row(name, f"{n:,}")
        console.print(f"captured {self.packets:,} packets, {self.bytes:,} bytes")
        console.print(t)
        if self.export:
            console.print(f"tables: {self.export}")
        if self.report:
            console.print(f"report: {self.report}")


def _mask(value, show: bool):
    from dissect.schema import mask_secret

    return value if show else mask_secret(value)
