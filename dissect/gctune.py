"""Garbage-collector settings for the hot loops (packets, DataFrame building).

CPython's cyclic GC runs a young-generation pass every 700 net allocations and a full pass when
the objects that survived into the old generation grew by 25%. A run allocates millions of short
objects and keeps hundreds of thousands of long ones (flows, records), and every flow that lives
a few seconds is promoted before it dies: measured on the 200k-packet benchmark capture, 1,800
collections took 17% of the CPU time (2.3 s of it in full passes) while finding almost nothing,
because the pipeline's objects are freed by reference counting (the flow table breaks the
reference cycles of an ended flow; see ``FlowTable._end``).

:func:`enter` raises the young-generation threshold for the duration of a loop (50,000: ~20
collections instead of ~1,800, no full pass) and :func:`leave` restores the caller's settings, so a
library user's own GC configuration is untouched outside our calls. Nested calls are no-ops.
The collector stays enabled: real cyclic garbage is still found, just in fewer, larger passes.
"""

from __future__ import annotations

import gc

__all__ = ["enter", "leave", "THRESHOLD0"]

THRESHOLD0 = 50_000


def enter() -> tuple[int, ...] | None:
    """Raise the threshold; returns what :func:`leave` needs (None: nothing was changed)."""
    old = gc.get_threshold()
    if old[0] >= THRESHOLD0 or old[0] == 0:     # already tuned (nested), or the caller chose 0
        return None
    gc.set_threshold(THRESHOLD0, max(old[1], 20), old[2])
    return old


def leave(saved: tuple[int, ...] | None) -> None:
    """Restore the thresholds :func:`enter` changed."""
    if saved is not None:
        gc.set_threshold(*saved)
