"""SNMP analyzer over UDP datagrams or a TCP stream, with and without the sample keys (so USM
authentication and decryption run on real engines). Target in ``fuzz/fuzz_snmp.py``."""

from __future__ import annotations

import _common  # noqa: F401  (sys.path)
import fuzz_snmp

INSTRUMENT = ("dissect.snmp.analyzer", "dissect.snmp.message", "dissect.snmp.ber", "dissect.snmp.usm",
              "dissect.snmp.keys")

target = fuzz_snmp.target


def seeds() -> list[bytes]:
    return fuzz_snmp.seeds()
