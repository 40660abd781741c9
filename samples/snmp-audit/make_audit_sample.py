#!/usr/bin/env python3
"""Re-create ``snmp-audit.pcap``: an SNMP agent under attack, for the audit tests (needs root for tcpdump).

    python3 samples/snmp-audit/make_audit_sample.py

Everything stays on loopback. Our own snmpd (udp 127.0.0.1:16261, config ``snmpd-audit.conf``,
authenticationFailure traps v1+v2c to 127.0.0.1:16262) is started, then net-snmp tools play:

* a legitimate manager (127.0.0.1): v2c get with ``public``; a Set with the RW community ``s3cr3tRW``
  (accepted); v3 gets as ``weakUser`` (SHA/AES, password ``password1``: in the built-in word list),
  ``md5User`` (MD5, ``listPass123``: only in the tests' word list) and ``strongUser`` (SHA-256/AES,
  a strong password);
* a scanner (127.0.0.9, net-snmp ``--clientaddr``): v1/v2c gets with 8 communities against the agent
  (only ``public`` works; each wrong one makes the agent send authenticationFailure traps), a sweep of
  ``public`` over 127.0.0.2-127.0.0.4 (nothing answers), 4 wrong passwords for ``md5User``
  (usmStatsWrongDigests reports) and 4 unknown user names (usmStatsUnknownUserNames reports).

Each command, its exit code and output go to ``manifest.json``. snmpd and tcpdump are stopped by PID.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AGENT = "127.0.0.1:16261"
SCANNER = "127.0.0.9"
BPF = "udp and (port 16261 or port 16262)"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"

work = Path(tempfile.mkdtemp(prefix="snmp-audit-"))
env = dict(os.environ, SNMP_PERSISTENT_DIR=str(work / "cli"), MIBS="", MIBDIRS=str(work / "nomibs"))
manifest = []


def run(*args, note=""):
    cmd = [args[0], "-On", "-Le", *args[1:]]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=30)
    manifest.append({"cmd": cmd, "rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr, "note": note})
    print("$", " ".join(cmd), "->", r.returncode, (r.stdout + r.stderr).strip()[:160].replace("\n", " | "))
    time.sleep(0.05)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    if os.geteuid() != 0:
        sys.exit("needs root (tcpdump on lo)")
    conf = work / "snmpd.conf"
    conf.write_text((HERE / "snmpd-audit.conf").read_text())
    snmpd = subprocess.Popen(["snmpd", "-f", "-Lo", "-C", "-c", str(conf), "-p", str(work / "snmpd.pid"),
                              ], stdout=open(work / "snmpd.log", "w"),
                             stderr=subprocess.STDOUT, env=dict(env, SNMP_PERSISTENT_DIR=str(work / "agent")))
    time.sleep(1.5)
    out = HERE / "snmp-audit.pcap"
    td = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", str(out), BPF],
                          stderr=subprocess.PIPE, text=True)
    td.stderr.readline()
    time.sleep(0.3)
    try:
        # the legitimate manager
        run("snmpget", "-v2c", "-c", "public", AGENT, SYS_DESCR, note="accepted read community")
        run("snmpset", "-v2c", "-c", "s3cr3tRW", AGENT, SYS_NAME, "s", "audited-agent", note="write access")
        run("snmpget", "-v3", "-u", "weakUser", "-l", "authPriv", "-a", "SHA", "-A", "password1",
            "-x", "AES", "-X", "password1", AGENT, SYS_DESCR, note="weak password (built-in list)")
        run("snmpget", "-v3", "-u", "md5User", "-l", "authNoPriv", "-a", "MD5", "-A", "listPass123",
            AGENT, SYS_DESCR, note="MD5 user; password only in the tests' word list")
        run("snmpget", "-v3", "-u", "strongUser", "-l", "authPriv", "-a", "SHA-256", "-A", "Zq8#vLp2!mXr9w",
            "-x", "AES", "-X", "Tn4$kB7@pWc2eY", AGENT, SYS_DESCR, note="strong password")
        # the scanner
        ca = f"--clientaddr={SCANNER}"
        for i, com in enumerate(["private", "cisco", "manager", "admin", "secret", "internal", "public",
                                 "snmp"]):
            v = "-v1" if i % 2 else "-v2c"
            run("snmpget", ca, v, "-c", com, "-r", "0", "-t", "0.3", AGENT, SYS_DESCR, note="community guessing")
        for host in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            run("snmpget", ca, "-v2c", "-c", "public", "-r", "0", "-t", "0.2", f"{host}:16261", SYS_DESCR,
                note="sweep: no agent")
        for guess in ("guess0001", "md5password", "letmein99", "listPass12"):
            run("snmpget", ca, "-v3", "-u", "md5User", "-l", "authNoPriv", "-a", "MD5", "-A", guess,
                "-r", "0", "-t", "0.5", AGENT, SYS_DESCR, note="wrong password")
        for user in ("admin", "root", "operator", "cisco"):
            run("snmpget", ca, "-v3", "-u", user, "-l", "noAuthNoPriv", "-r", "0", "-t", "0.5", AGENT,
                SYS_DESCR, note="unknown user")
    finally:
        time.sleep(1.0)
        stop(td)
        stop(snmpd)
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"== {out}: {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
