"""SNMP v1/v2c/v3: decoding, request/response pairing, SNMPv3 USM (with keys), the tables
``snmp_pdus`` and ``snmp_varbinds`` (and the audit's ``snmp_findings`` when present).

Modules: :mod:`.ber` (bounded BER reader), :mod:`.message` (message and PDU decoding),
:mod:`.analyzer` (the sans-IO analyzer and per-run shared state), :mod:`.records` (tables),
:mod:`.usm`/:mod:`.keys` (USM crypto and key store), :mod:`.audit` (findings).
"""

from __future__ import annotations

import importlib

from dissect.analyzer import Protocol
from dissect.snmp.analyzer import SnmpAnalyzer, make_shared, merge_shared, probe
from dissect.snmp.records import SnmpPdu, SnmpVarbind

_record_types: tuple = (SnmpPdu, SnmpVarbind)
_finalize = None
_observe = None
try:  # the community/v3 audit (another module; optional until it lands)
    _audit = importlib.import_module("dissect.snmp.audit")
except ModuleNotFoundError as _e:  # pragma: no cover - only while the audit is not written
    if _e.name != "dissect.snmp.audit":
        raise
    _audit = None
if _audit is not None:
    _finalize = getattr(_audit, "finalize", None)
    _observe = getattr(_audit, "observe", None)
    _record_types += tuple(getattr(_audit, "RECORD_TYPES", ()))

PROTOCOL = Protocol(
    name="snmp",
    factory=SnmpAnalyzer,
    tcp_ports=frozenset({161, 162}),
    udp_ports=frozenset({161, 162}),
    probe=probe,
    record_types=_record_types,
    make_shared=make_shared,
    finalize=_finalize,
    # the audit aggregates the PDUs as they leave the pipeline (nothing kept until the end)
    observe=_observe,
    observes=("snmp_pdus",) if _observe is not None else (),
    merge_shared=merge_shared,
)

__all__ = ["PROTOCOL", "SnmpAnalyzer", "SnmpPdu", "SnmpVarbind"]
