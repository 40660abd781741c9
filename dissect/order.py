"""Canonical record order: the same tables, rows and values whatever the number of workers.

A single-process run emits records in processing order, which interleaves flows; a parallel run
(``--jobs N``, ``--engine dask``) processes each flow in exactly one worker, in the same order of
packets, but interleaves flows differently. :func:`canonical` therefore

1. renumbers ``snmp_pdus.pdu_index`` (and the columns that refer to it: ``snmp_pdus.request_index``,
   ``snmp_varbinds.pdu_index``) by the PDUs' canonical order ``(ts, uid, index within the flow)``:
   the index is a per-run row id, and the per-worker counters would otherwise collide;
2. concatenates the per-worker record lists (worker order) and sorts every table stably by
   ``(ts, uid)`` (tables without ``ts``: ``uid``); records of one flow share a uid and come from one
   worker in the same relative order as in a single-process run, so the stable sort gives the same
   sequence in both modes. Weirds without a flow are ordered by their remaining fields too.

Tables made by ``Protocol.finalize`` (cross-flow tables) are produced once, after this, from the
canonical records and the merged shared state, so they are identical as well.
Used by :meth:`dissect.pipeline.Pipeline.finish` (one worker) and :mod:`dissect.parallel`.
"""

from __future__ import annotations

from math import inf
from operator import attrgetter

__all__ = ["canonical", "sort_key"]

_NO_SORT = frozenset()     # tables left in emission order (none so far)


def _ts(v) -> float:
    return -inf if v is None else v


def sort_key(table: str, sample):
    """Key function for ``table`` given one of its records (None: keep the order)."""
    if table in _NO_SORT:
        return None
    has_ts = hasattr(sample, "ts")
    has_uid = hasattr(sample, "uid")
    if table == "weirds":
        def key(r):
            u = r.uid
            if u is not None:
                return (_ts(r.ts), u)
            return (_ts(r.ts), "", r.orig_h or "", r.orig_p or 0, r.resp_h or "", r.resp_p or 0,
                    r.name or "", r.source or "", r.addl or "")
        return key
    if table == "snmp_pdus":
        return lambda r: (_ts(r.ts), r.uid or "", r.pdu_index)
    if table == "snmp_varbinds":
        return lambda r: (_ts(r.ts), r.uid or "", r.pdu_index, r.index)
    if has_ts and has_uid:
        return lambda r: (_ts(r.ts), r.uid or "")
    if has_uid:
        return lambda r: r.uid or ""
    if has_ts:
        return lambda r: _ts(r.ts)
    return None


def canonical(parts: list[dict[str, list]]) -> dict[str, list]:
    """Merge per-worker ``{table: [records]}`` dicts into one, in canonical order.

    The lists of ``parts`` may be reused (and SNMP records renumbered in place).
    """
    _renumber_snmp(parts)
    out: dict[str, list] = {}
    for recs in parts:
        for name, lst in recs.items():
            if not lst:
                continue
            cur = out.get(name)
            if cur is None:
                out[name] = list(lst) if len(parts) > 1 else lst
            else:
                cur.extend(lst)
    for name, lst in out.items():
        if len(lst) > 1:
            _sort(name, lst)
    return out


def _sort(name: str, lst: list) -> None:
    """Stable sort in place; the C attrgetter key when no ts/uid is None (the common case)."""
    key = sort_key(name, lst[0])
    if key is None:
        return
    first = lst[0]
    if name not in ("weirds", "snmp_pdus", "snmp_varbinds") and hasattr(first, "uid"):
        fast = attrgetter("ts", "uid") if hasattr(first, "ts") else attrgetter("uid")
        try:
            got = sorted(lst, key=fast)        # a copy: a TypeError (None) leaves lst untouched
        except TypeError:
            pass
        else:
            lst[:] = got
            return
    lst.sort(key=key)


def _renumber_snmp(parts: list[dict[str, list]]) -> None:
    """Give snmp_pdus a run-wide pdu_index in canonical order (in place: the records are ours)."""
    tagged = []
    for w, recs in enumerate(parts):
        for r in recs.get("snmp_pdus", ()):
            tagged.append((_ts(r.ts), r.uid or "", r.pdu_index, w, r))
    if not tagged:
        return
    tagged.sort(key=lambda t: t[:4])
    maps: list[dict[int, int]] = [{} for _ in parts]
    changed = False
    for i, t in enumerate(tagged):
        maps[t[3]][t[2]] = i
        if t[2] != i:
            changed = True
    if not changed:
        return
    setattr_ = object.__setattr__
    for w, recs in enumerate(parts):
        m = maps[w]
        get = m.get
        pdus = recs.get("snmp_pdus", ())
        # request_index values are translated with the old numbering of their worker
        olds = [r.request_index for r in pdus]
        for r in recs.get("snmp_varbinds", ()):
            ni = get(r.pdu_index)
            if ni is not None and ni != r.pdu_index:
                setattr_(r, "pdu_index", ni)
        for r, ri in zip(pdus, olds):
            ni = m[r.pdu_index]
            if ni != r.pdu_index:
                setattr_(r, "pdu_index", ni)
            if ri is not None:
                nr = get(ri, ri)
                if nr != ri:
                    setattr_(r, "request_index", nr)
