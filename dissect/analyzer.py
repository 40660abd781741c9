"""The analyzer contract and the protocol registry.

Analyzers are sans-IO (in the style of h11): the flow table is their only caller and feeds them

* ``feed(direction, data, ts)``  in-order bytes of one direction (TCP) or one whole datagram (UDP)
* ``gap(direction, n, ts)``      ``n`` bytes of that direction are missing (never captured)
* ``close(ts)``                  the flow ended (FIN/RST, idle timeout, eviction or end of capture)

``direction`` is ``ORIG`` (0, originator -> responder) or ``RESP`` (1). Records produced go to
``ctx.emit`` (a plain ``list.append`` owned by the run) and anomalies through ``ctx.weird``; an
analyzer does no I/O, holds no globals, and must never raise on bad input. If it does raise, the
flow table records an ``analyzer_exception`` weird and detaches it from that flow (``--strict``
and the tests re-raise).

A :class:`Protocol` describes one analyzer family to the flow table: its name (the ``service``
column), well-known ports, a content probe, the factory, and an optional ``finalize`` that turns
a run's records into cross-flow tables at the end (e.g. the SNMP community audit).

Cross-flow tables over a long run should not need the rows themselves at the end: a protocol
names the tables it aggregates in ``observes`` and gets their rows through
``observe(shared, table, rows)`` as they leave the pipeline, each row exactly once per run
whatever the run mode, then ``finalize`` reads its aggregate (kept in ``shared``):

* in memory (:func:`dissect.analyze`, ``dissect live``): :meth:`~dissect.pipeline.Pipeline.finish`
  observes every row once the flows have ended (before the canonical renumbering of ``dissect.order``);
* streamed (``export --stream``, ``live --stream-tables``): the spiller observes each batch it
  writes and drops (:meth:`dissect.spill.TableSpiller.drain`), ``finish`` the rest;
* parallel (``--jobs``, ``--engine dask``): the workers do not observe; the parent observes the
  merged records (canonical order and numbering) once, then runs ``finalize``.

Batches can come in any order (production order when streamed, canonical order otherwise), and
``pdu_index``-like row ids use one numbering within a run. ``finalize`` then receives the records
*without* the observed tables; whoever calls it with observed tables in ``records_by_table`` (a
live snapshot) means rows not observed yet, and the protocol must not keep them (the run observes
them later).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from dissect.weird import Weird, excerpt

__all__ = ["ORIG", "RESP", "FlowContext", "Analyzer", "Protocol", "register", "protocols",
           "load_protocols", "PROTOCOL_MODULES"]

ORIG, RESP = 0, 1

#: The protocol packages; each exposes ``PROTOCOL`` (a :class:`Protocol`, or a list of them).
PROTOCOL_MODULES = ("dissect.smtp", "dissect.http", "dissect.snmp")


class FlowContext:
    """What an analyzer knows about its flow, and where its records go."""

    __slots__ = ("uid", "orig_h", "orig_p", "resp_h", "resp_p", "proto", "emit", "options",
                 "shared", "extractor")

    def __init__(self, uid: str, orig_h: str, orig_p: int, resp_h: str, resp_p: int, proto: str,
                 emit: Callable[[Any], None], options: Any = None, shared: Any = None,
                 extractor: Any = None):
        self.uid = uid
        self.orig_h = orig_h
        self.orig_p = orig_p
        self.resp_h = resp_h
        self.resp_p = resp_p
        self.proto = proto          # "tcp" or "udp"
        self.emit = emit            # list.append of the run's record sink
        self.options = options      # dissect.options.Options
        self.shared = shared        # the protocol's per-run shared state (Protocol.make_shared)
        self.extractor = extractor  # dissect.extract.Extractor or None (only when extracting)

    def weird(self, name: str, ts: float, addl: bytes | str = "", source: str = "") -> None:
        self.emit(Weird(ts=ts, uid=self.uid, name=name, source=source, addl=excerpt(addl),
                        orig_h=self.orig_h, orig_p=self.orig_p, resp_h=self.resp_h,
                        resp_p=self.resp_p))

    @classmethod
    def for_test(cls, sink: list | None = None, *, uid: str = "Ctest", orig=("10.0.0.1", 40000),
                 resp=("10.0.0.2", 25), proto: str = "tcp", options: Any = None,
                 shared: Any = None, extractor: Any = None) -> "FlowContext":
        """A context whose records land in ``sink`` (tests and notebooks)."""
        if sink is None:
            sink = []
        if options is None:
            from dissect.options import Options
            options = Options(strict=True)
        return cls(uid, orig[0], orig[1], resp[0], resp[1], proto, sink.append, options, shared,
                   extractor)


class Analyzer:
    """Base class; subclasses override what they need. ``source`` names the weird source."""

    source = "analyzer"

    def __init__(self, ctx: FlowContext):
        self.ctx = ctx

    def feed(self, direction: int, data: bytes, ts: float) -> None:  # pragma: no cover - interface
        pass

    def gap(self, direction: int, n: int, ts: float) -> None:  # pragma: no cover - interface
        pass

    def close(self, ts: float) -> None:  # pragma: no cover - interface
        pass

    def weird(self, name: str, ts: float, addl: bytes | str = "") -> None:
        self.ctx.weird(name, ts, addl, self.source)


@dataclass
class Protocol:
    """One analyzer family as the flow table sees it."""

    name: str                                          # service name, e.g. "smtp"
    factory: Callable[[FlowContext], Analyzer]         # makes the analyzer of one flow
    tcp_ports: frozenset[int] = frozenset()
    udp_ports: frozenset[int] = frozenset()
    # probe(direction, first_bytes, proto) -> True/False/None (None: need more bytes). Never raises.
    probe: Callable[[int, bytes, str], bool | None] | None = None
    # name recorded for ports that are known but not parsed (e.g. smtps on 465)
    labels: dict[int, str] = field(default_factory=dict)
    record_types: tuple[type, ...] = ()                # the tables this protocol fills
    make_shared: Callable[[Any], Any] | None = None    # per-run shared state from Options
    # finalize(shared, records_by_table: dict[str, list]) -> iterable of extra records
    finalize: Callable[[Any, dict[str, list]], Iterable[Any]] | None = None
    # the tables finalize reads row by row at the end (streamed runs keep only these in memory
    # until then: prefer ``observe``)
    finalize_reads: tuple[str, ...] = ()
    # observe(shared, table_name, rows): each row of the tables in ``observes`` exactly once per
    # run, in batches, as the rows leave the pipeline (see the module docstring); nothing returned
    observe: Callable[[Any, str, list], None] | None = None
    observes: tuple[str, ...] = ()
    # merge_shared([shared of each worker]) -> one shared state for finalize (parallel runs; also
    # called with a one-element list in single-process runs, to put the state in canonical order)
    merge_shared: Callable[[list], Any] | None = None


_REGISTRY: dict[str, Protocol] = {}


def register(proto: Protocol) -> Protocol:
    _REGISTRY[proto.name] = proto
    return proto


def load_protocols() -> dict[str, Protocol]:
    """Import every protocol package and return the registry (name -> Protocol)."""
    for mod in PROTOCOL_MODULES:
        m = importlib.import_module(mod)
        p = getattr(m, "PROTOCOL", None)
        if p is None:
            continue
        for one in (p if isinstance(p, (list, tuple)) else [p]):
            register(one)
    return dict(_REGISTRY)


def protocols() -> dict[str, Protocol]:
    if not _REGISTRY:
        load_protocols()
    return dict(_REGISTRY)
