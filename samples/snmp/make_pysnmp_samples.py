#!/usr/bin/env python3
"""SNMPv3 traffic that net-snmp cannot make: 3DES-EDE (Reeder draft) privacy, with pysnmp as both
the agent and the manager over loopback (udp 127.0.0.1:16171). Captured with tcpdump (root).

    sudo .venv/bin/python samples/snmp/make_pysnmp_samples.py   # writes snmp-pysnmp-3des.pcap

The agent serves SNMPv2-MIB (sysDescr.0...) from pysnmp's MIB instrumentation; each manager
request's printed result goes to ``manifest.json`` (entries with capture snmp-pysnmp-3des.pcap).
Users (also in keys.toml): des3md5User MD5/3DES, des3shaUser SHA/3DES, aes192pyUser SHA/AES-192
(pysnmp usmAesCfb192Protocol = Reeder), aes256bpyUser SHA/AES-256 (Blumenthal).
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PORT = 16171
CAPTURE = "snmp-pysnmp-3des.pcap"

USERS = {
    "des3md5User": ("usmHMACMD5AuthProtocol", "des3md5AuthPass1", "usm3DESEDEPrivProtocol", "des3md5PrivPass1"),
    "des3shaUser": ("usmHMACSHAAuthProtocol", "des3shaAuthPass1", "usm3DESEDEPrivProtocol", "des3shaPrivPass1"),
    "aes192pyUser": ("usmHMACSHAAuthProtocol", "aes192pyAuthPass1", "usmAesCfb192Protocol", "aes192pyPrivPass1"),
    "aes256bpyUser": ("usmHMACSHAAuthProtocol", "aes256bpyAuthPass1", "usmAesBlumenthalCfb256Protocol", "aes256bpyPrivPass1"),
}


def agent():
    """The pysnmp command responder (runs in a child process)."""
    from pysnmp.carrier.asyncio.dgram import udp
    from pysnmp.entity import config, engine
    from pysnmp.entity.rfc3413 import cmdrsp, context
    import pysnmp.hlapi.v3arch.asyncio as h

    eng = engine.SnmpEngine(snmpEngineID=bytes.fromhex("800000090300005e005301"))  # MAC format
    config.add_transport(eng, udp.DOMAIN_NAME, udp.UdpTransport().open_server_mode(("127.0.0.1", PORT)))
    for user, (ap, apw, pp, ppw) in USERS.items():
        config.add_v3_user(eng, user, getattr(h, ap), apw, getattr(h, pp), ppw)
        config.add_vacm_user(eng, 3, user, "authPriv", (1, 3, 6, 1, 2, 1), (1, 3, 6, 1, 2, 1))
    ctx = context.SnmpContext(eng)
    cmdrsp.GetCommandResponder(eng, ctx)
    cmdrsp.NextCommandResponder(eng, ctx)
    cmdrsp.BulkCommandResponder(eng, ctx)
    eng.transport_dispatcher.job_started(1)
    try:
        eng.open_dispatcher()
    finally:
        eng.close_dispatcher()


async def manager(manifest):
    import pysnmp.hlapi.v3arch.asyncio as h

    eng = h.SnmpEngine()
    for user, (ap, apw, pp, ppw) in USERS.items():
        target = await h.UdpTransportTarget.create(("127.0.0.1", PORT), timeout=2, retries=2)
        err, status, index, vbs = await h.get_cmd(
            eng, h.UsmUserData(user, apw, ppw, authProtocol=getattr(h, ap), privProtocol=getattr(h, pp)),
            target, h.ContextData(),
            h.ObjectType(h.ObjectIdentity("1.3.6.1.2.1.1.1.0")),
            h.ObjectType(h.ObjectIdentity("1.3.6.1.2.1.1.5.0")))
        printed = [(str(o), v.__class__.__name__, v.prettyPrint()) for o, v in vbs]
        manifest.append({"capture": CAPTURE, "tool": "pysnmp get_cmd", "user": user, "auth": ap, "priv": pp,
                         "error": str(err or status or ""), "varbinds": printed, "time": time.time()})
        print(user, err or status or "", printed)
        await asyncio.sleep(0.1)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--agent":
        agent()
        return
    if os.geteuid() != 0:
        sys.exit("needs root (tcpdump on lo)")
    path = HERE / CAPTURE
    td = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", str(path), f"udp port {PORT}"],
                          stderr=subprocess.PIPE, text=True)
    td.stderr.readline()
    ag = subprocess.Popen([sys.executable, __file__, "--agent"])
    time.sleep(4.0)
    manifest: list = []
    try:
        asyncio.run(manager(manifest))
    finally:
        time.sleep(0.5)
        ag.send_signal(signal.SIGTERM)
        ag.wait(5)
        td.send_signal(signal.SIGINT)
        td.wait(5)
    mf = HERE / "manifest.json"
    old = [e for e in json.loads(mf.read_text()) if e.get("capture") != CAPTURE]
    mf.write_text(json.dumps(old + manifest, indent=1) + "\n")
    print(f"== {CAPTURE}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
