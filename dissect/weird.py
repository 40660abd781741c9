"""Weirds: the registry of named anomalies (Zeek's word) and the record that reports one.

Every parser reports malformed input as a :class:`Weird` with a registered name, and every cap
that is hit is a weird too. Names are declared once with :func:`declare` (module import time) so
that ``docs/weirds.md`` and the report can explain them; an undeclared name is a bug caught by
the tests (``tests/test_weird_registry.py``).
"""

from __future__ import annotations

from dissect.schema import col, record

__all__ = ["Weird", "declare", "WEIRDS", "SEVERITIES"]

SEVERITIES = ("info", "warning", "error")

#: name -> (severity, description)
WEIRDS: dict[str, tuple[str, str]] = {}


def declare(name: str, description: str, severity: str = "warning") -> str:
    """Register a weird name (idempotent); returns the name for use as a constant."""
    if severity not in SEVERITIES:
        raise ValueError(severity)
    WEIRDS[name] = (severity, description)
    return name


@record("weirds", "Anomalies: malformed input, protocol violations and resource caps that were hit.")
class Weird:
    ts: float = col("Time of the packet or data that triggered the anomaly")
    uid: str | None = col("Flow id (flows.uid); empty for capture-level anomalies")
    name: str = col("Registered anomaly name, e.g. tcp_inconsistent_overlap (see docs/weirds.md)")
    source: str = col("Layer or analyzer that reported it: capture, ip, tcp, udp, smtp, mime, http, snmp")
    addl: str = col("Short excerpt or detail (escaped, at most 200 characters)", default="")
    orig_h: str | None = col("Originator address of the flow", default=None)
    orig_p: int | None = col("Originator port", default=None)
    resp_h: str | None = col("Responder address of the flow", default=None)
    resp_p: int | None = col("Responder port", default=None)


def excerpt(data: bytes | str, limit: int = 200) -> str:
    """A short printable excerpt of captured bytes for a weird's ``addl``."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data[:limit]).decode("latin-1")
    out = []
    for ch in data[:limit]:
        o = ord(ch)
        if 32 <= o < 127:
            out.append(ch)
        else:
            out.append("\\x%02x" % o if o < 256 else "\\u%04x" % o)
    return "".join(out)[:limit]


# Capture- and network-level names (the protocol modules declare their own).
declare("capture_truncated", "The capture file ends in the middle of a record; everything before it was read", "warning")
declare("capture_bad_record", "A capture record header is impossible (length beyond the cap); reading stopped", "error")
declare("pcapng_bad_block", "A pcapng block is malformed and was skipped", "warning")
declare("unknown_link_type", "Frames with a link type we do not decode were counted and skipped", "info")
declare("truncated_packet", "A packet was cut by the snap length; its headers were decoded as far as captured", "info")
declare("bad_link_header", "A link-layer header was too short or malformed", "warning")
declare("bad_ip_header", "An IPv4/IPv6 header was malformed", "warning")
declare("bad_tcp_header", "A TCP header was malformed", "warning")
declare("bad_udp_header", "A UDP header was malformed", "warning")
declare("ip_fragment_overlap", "IP fragments overlapped with different contents (first seen kept)", "warning")
declare("ip_fragment_timeout", "IP fragments never completed within the reassembly timeout", "info")
declare("ip_fragment_cap", "Too many pending IP fragments; the oldest reassembly was dropped", "warning")
declare("ip_fragment_too_big", "A reassembled IP datagram would exceed 65535 bytes", "warning")
declare("flow_cap_evicted", "The live-flow cap was hit; the least recently seen flow was evicted", "warning")
declare("tcp_inconsistent_overlap", "Retransmitted or overlapping TCP data differs from what was seen first", "warning")
declare("tcp_out_of_order_cap", "Buffered out-of-order TCP bytes hit the per-flow cap; a gap was declared", "warning")
declare("tcp_content_gap", "TCP data is missing (not captured); the analyzer got an explicit gap", "info")
declare("tcp_data_after_fin", "TCP data beyond the FIN sequence number", "info")
declare("tcp_data_before_syn", "TCP data before the connection was established", "info")
declare("analyzer_exception", "An analyzer raised an unexpected exception and was detached from the flow", "error")


def weirds_markdown() -> str:
    """docs/weirds.md: every declared anomaly name, its severity and meaning."""
    lines = ["# Weirds (anomalies)", "",
             "Generated from the registry by `python -m dissect.weird > docs/weirds.md`;",
             "`tests/test_weird_registry.py` fails when this file is out of date.", "",
             "Every name below can appear in the `weirds` table (`name` column). Hitting any resource cap",
             "(`dissect caps`) is a weird too.", "",
             "| name | severity | meaning |", "|---|---|---|"]
    for name in sorted(WEIRDS):
        sev, desc = WEIRDS[name]
        lines.append(f"| `{name}` | {sev} | {' '.join(desc.split()).replace('|', '/')} |")
    lines.append("")
    return "\n".join(lines)


def load_all() -> dict[str, tuple[str, str]]:
    """Import every module that declares weirds; returns the registry."""
    import importlib

    from dissect.pipeline import load_tables

    load_tables()
    for m in ("dissect.decode", "dissect.defrag", "dissect.tcp", "dissect.flows", "dissect.io",
              "dissect.mime", "dissect.extract", "dissect.snmp.audit", "dissect.snmp.keys"):
        try:
            importlib.import_module(m)
        except ImportError:  # pragma: no cover
            pass
    return WEIRDS


if __name__ == "__main__":  # pragma: no cover - exercised by the docs test
    import sys

    from dissect import weird as _w   # the registry of the imported module, not this __main__ copy

    _w.load_all()
    sys.stdout.write(_w.weirds_markdown())
