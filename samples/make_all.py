#!/usr/bin/env python3
"""Re-create every sample capture of samples/ (real programs on loopback; needs root for tcpdump).

Each folder has its own script and README saying how its captures were made:
  smtp/make_samples.py            aiosmtpd server, swaks / smtplib / curl clients
  http/make_samples.py            nginx + a Python backend, curl clients
  snmp/make_samples.py            net-snmp snmpd / snmptrapd and the snmp* tools
  snmp/make_pysnmp_samples.py     pysnmp for what net-snmp cannot make (3DES)
  snmp-audit/make_audit_sample.py an agent under attack (for the audit)
Run: `make samples` (installs the peers first) or `.venv/bin/python samples/make_all.py`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["smtp/make_samples.py", "http/make_samples.py", "snmp/make_samples.py",
           "snmp/make_pysnmp_samples.py", "snmp-audit/make_audit_sample.py"]


def main() -> int:
    failed = []
    for rel in SCRIPTS:
        print(f"== {rel}", flush=True)
        rc = subprocess.call([sys.executable, str(HERE / rel)], cwd=HERE / Path(rel).parent)
        if rc != 0:
            failed.append(rel)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
