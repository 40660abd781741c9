"""`dissect follow CAPTURE --flow UID`: both directions of one stream, in order, like Wireshark's
Follow TCP Stream.

The flow's bytes come from the same reassembly the analyzers see (retransmissions once, overlaps
first-seen-wins, gaps as ``[N bytes missing]``); the output is streamed as the capture is read,
so a large flow needs no memory. Text mode marks each change of direction with a header line
(``>>>`` originator to responder, ``<<<`` back) and neutralises control characters; ``--hex`` is a
hex dump with per-direction offsets; ``--raw`` writes the bytes themselves (binary) to stdout.
UDP flows are shown datagram by datagram.
"""

from __future__ import annotations

import sys
from typing import Optional

import click
import typer

from dissect.cli.cmd_summary import fmt_ts, make_cli_options, warn_truncated
from dissect.cli.common import CAPTURES, UserError, cap_option, check_paths, decode_as_option, safe

__all__ = ["register", "FollowWriter"]


class FollowWriter:
    """Receives the stream (direction, bytes, ts / gaps) and writes it in the chosen mode."""

    def __init__(self, mode: str, directions: set[int], out_text=None, out_bin=None):
        self.mode = mode
        self.directions = directions
        self.out_text = out_text or sys.stdout
        self.out_bin = out_bin
        self.found = False
        self.last_dir = None
        self.totals = [0, 0]
        self.missed = [0, 0]
        self.offsets = [0, 0]
        self.ends = None
        self.pending_cr = [False, False]

    def analyzer(self, ctx):
        self.found = True
        self.ends = (f"{ctx.orig_h}:{ctx.orig_p}", f"{ctx.resp_h}:{ctx.resp_p}")
        if self.mode != "raw":
            self._w(f"=== follow {ctx.proto} stream {ctx.uid}: {ctx.orig_h}:{ctx.orig_p} -> "
                    f"{ctx.resp_h}:{ctx.resp_p} ===\n")
        return _Tap(self)

    def _w(self, s: str) -> None:
        self.out_text.write(s)

    def _header(self, d: int, ts: float) -> None:
        if self.last_dir == d:
            return
        self.last_dir = d
        o, r = self.ends
        arrow = f">>> {o} -> {r}" if d == 0 else f"<<< {r} -> {o}"
        self._w(f"\n{arrow}  [{fmt_ts(ts)}]\n")

    def data(self, d: int, data: bytes, ts: float) -> None:
        if d not in self.directions or not data:
            return
        self.totals[d] += len(data)
        if self.mode == "raw":
            self.out_bin.write(data)
            return
        self._header(d, ts)
        if self.mode == "hex":
            self._hex(d, data)
        else:
            text = data.decode("utf-8", "backslashreplace").replace("\r\n", "\n")
            self._w(safe(text).replace("\\[", "["))

    def gap(self, d: int, n: int, ts: float) -> None:
        if d not in self.directions:
            return
        self.missed[d] += n
        self.offsets[d] += n
        if self.mode == "raw":
            return
        self._header(d, ts)
        self._w(f"\n[{n} bytes missing]\n")

    def _hex(self, d: int, data: bytes) -> None:
        off = self.offsets[d]
        lines = []
        for i in range(0, len(data), 16):
            chunk = data[i:i + 16]
            hx = " ".join(f"{b:02x}" for b in chunk)
            asc = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
            lines.append(f"{'    ' if d else ''}{off + i:08x}  {hx:<47}  |{asc}|\n")
        self.offsets[d] = off + len(data)
        self._w("".join(lines))

    def close(self) -> None:
        if self.out_bin is not None:
            self.out_bin.flush()
        if self.mode == "raw" or not self.found:
            return
        self._w(f"\n=== end: originator sent {self.totals[0]:,} bytes, responder {self.totals[1]:,} "
                f"bytes; missing {self.missed[0]:,} + {self.missed[1]:,} bytes ===\n")
        self.out_text.flush()


class _Tap:
    """The analyzer attached to the followed flow (instead of protocol detection)."""

    def __init__(self, w: FollowWriter):
        self.w = w

    def feed(self, direction: int, data: bytes, ts: float) -> None:
        self.w.data(direction, data, ts)

    def gap(self, direction: int, n: int, ts: float) -> None:
        self.w.gap(direction, n, ts)

    def close(self, ts: float) -> None:
        pass


def follow(
    captures: list[str] = CAPTURES,
    flow: str = typer.Option(..., "--flow", help="The flow's uid (see `dissect flows`)."),
    raw: bool = typer.Option(False, "--raw", help="Write the raw bytes (binary) to stdout."),
    hexdump: bool = typer.Option(False, "--hex", help="Hex dump with offsets per direction."),
    direction: str = typer.Option("both", "--direction", help="both, orig (originator's bytes) or resp."),
    decode_as: Optional[list[str]] = decode_as_option(),
    cap: Optional[list[str]] = cap_option(),
) -> None:
    """Show both directions of one TCP stream (or UDP flow) in order, gaps marked."""
    from dissect.errors import CaptureError
    from dissect.pipeline import analyze

    if raw and hexdump:
        raise UserError("--raw and --hex exclude each other")
    dirs = {"both": {0, 1}, "orig": {0}, "resp": {1}}.get(direction)
    if dirs is None:
        raise UserError(f"--direction expects both, orig or resp, got {direction!r}")
    uid = flow.strip()
    if not uid.startswith("C") or not uid[1:].isalnum():
        raise UserError(f"--flow expects a flow uid like CpcPcJca08nYdggjH (see `dissect flows`), got {uid!r}")
    options = make_cli_options(decode_as, cap, protocols=())
    check_paths(captures)
    mode = "raw" if raw else "hex" if hexdump else "text"
    writer = FollowWriter(mode, dirs, out_bin=sys.stdout.buffer if raw else None)
    try:
        a = analyze(captures, options=options, progress=False, follow={uid: writer.analyzer})
    except CaptureError as e:
        raise UserError(str(e)) from None
    writer.close()
    warn_truncated(a)
    if not writer.found:
        rec = next((r for r in a.records.get("flows", ()) if r.uid == uid), None)
        if rec is not None:
            raise UserError(f"flow {uid} is {rec.proto}: it has no stream to follow")
        raise UserError(f"no flow with uid {uid} in {', '.join(captures)} (list them with `dissect flows`)")
    if raw:
        missed = sum(writer.missed)
        if missed:
            print(f"dissect: note: {missed} bytes of this stream were not captured (gaps omitted)",
                  file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("follow")(follow)
