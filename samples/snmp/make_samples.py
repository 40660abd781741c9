#!/usr/bin/env python3
"""Re-create the SNMP sample captures with net-snmp on loopback (needs root for tcpdump).

    python3 samples/snmp/make_samples.py [CAPTURE...]   # writes *.pcap and manifest.json here

Runs our own snmpd (udp+tcp 127.0.0.1:16161) and snmptrapd (udp 127.0.0.1:16162) from the
configuration files next to this script, captures each scenario with ``tcpdump -i lo -U``, runs the
net-snmp command-line tools and records their printed output in ``manifest.json`` (the tests
compare decoded varbinds against it). Both daemons are stopped by their PIDs at the end.
Users, communities and passwords: README.md.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AGENT = "127.0.0.1:16161"
TRAPD = "127.0.0.1:16162"
BPF = "udp port 16161 or tcp port 16161 or udp port 16162 or udp port 16163"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"

work = Path(tempfile.mkdtemp(prefix="snmp-samples-"))
env = dict(os.environ, SNMP_PERSISTENT_DIR=str(work / "cli"), MIBS="", MIBDIRS=str(work / "nomibs"))
manifest = []


def start(cmd, log):
    return subprocess.Popen(cmd, stdout=open(work / log, "w"), stderr=subprocess.STDOUT, env=env)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def tool(capture, *args, note=""):
    cmd = list(args)
    cmd[1:1] = ["-On", "-Le"]  # numeric OIDs, errors on stderr
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=30)
    manifest.append({"capture": capture, "cmd": cmd, "rc": r.returncode, "stdout": r.stdout,
                     "stderr": r.stderr, "note": note, "time": time.time()})
    print("$", " ".join(cmd), "->", r.returncode, (r.stdout + r.stderr).strip()[:200].replace("\n", " | "))
    time.sleep(0.05)


def capture(name, body):
    path = HERE / name
    td = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", str(path), BPF],
                          stderr=subprocess.PIPE, text=True)
    td.stderr.readline()  # "listening on lo ..." once the capture is armed
    time.sleep(0.3)
    try:
        body(name)
    finally:
        time.sleep(1.0)
        stop(td)
    print(f"== {name}: {path.stat().st_size} bytes")


V3_USERS = {
    # name: (level, auth proto, auth pass, priv proto, priv pass)
    "noAuthUser": ("noAuthNoPriv", None, None, None, None),
    "md5User": ("authNoPriv", "MD5", "md5UserPass1", None, None),
    "shaUser": ("authNoPriv", "SHA", "shaUserPass1", None, None),
    "desUser": ("authPriv", "SHA", "desAuthPass1", "DES", "desPrivPass1"),
    "aesUser": ("authPriv", "SHA", "aesAuthPass1", "AES", "aesPrivPass1"),
    "sha256User": ("authPriv", "SHA-256", "sha256AuthPass1", "AES", "sha256PrivPass1"),
    "sha512User": ("authPriv", "SHA-512", "sha512AuthPass1", "AES", "sha512PrivPass1"),
    "aes192User": ("authPriv", "SHA", "aes192AuthPass1", "AES-192", "aes192PrivPass1"),
    "aes256User": ("authPriv", "SHA", "aes256AuthPass1", "AES-256", "aes256PrivPass1"),
    "aes192cUser": ("authPriv", "SHA", "aes192cAuthPass1", "AES-192-C", "aes192cPrivPass1"),
    "aes256cUser": ("authPriv", "SHA", "aes256cAuthPass1", "AES-256-C", "aes256cPrivPass1"),
    "sha224User": ("authPriv", "SHA-224", "sha224AuthPass1", "AES", "sha224PrivPass1"),
    "sha384User": ("authPriv", "SHA-384", "sha384AuthPass1", "AES-256", "sha384PrivPass1"),
}


def v3args(user, level=None, apass=None, ppass=None):
    lv, ap, apw, pp, ppw = V3_USERS.get(user, ("noAuthNoPriv", None, None, None, None))
    lv = level or lv
    a = ["-v3", "-u", user, "-l", lv, "-r", "1", "-t", "1"]
    if ap and lv != "noAuthNoPriv":
        a += ["-a", ap, "-A", apass or apw]
    if pp and lv == "authPriv":
        a += ["-x", pp, "-X", ppass or ppw]
    return a


def v1v2c(cap):
    tool(cap, "snmpget", "-v1", "-c", "public", AGENT, SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME)
    tool(cap, "snmpget", "-v2c", "-c", "public", AGENT, SYS_CONTACT, SYS_NAME, SYS_LOCATION)
    tool(cap, "snmpgetnext", "-v1", "-c", "public", AGENT, "1.3.6.1.2.1.1.1")
    tool(cap, "snmpgetnext", "-v2c", "-c", "public", AGENT, "1.3.6.1.2.1.1.4")
    tool(cap, "snmpbulkget", "-v2c", "-c", "public", "-Cn1", "-Cr3", AGENT, SYS_UPTIME, "1.3.6.1.2.1.2.2.1.2")
    tool(cap, "snmpwalk", "-v2c", "-c", "public", AGENT, "1.3.6.1.2.1.1.9.1.2")
    tool(cap, "snmpwalk", "-v1", "-c", "public", AGENT, "1.3.6.1.2.1.1.9.1.3.1")
    # value types: Counter32, Gauge32, Counter64, IpAddress, exceptions
    tool(cap, "snmpget", "-v2c", "-c", "public", AGENT, "1.3.6.1.2.1.2.2.1.10.1", "1.3.6.1.2.1.2.2.1.5.1",
         "1.3.6.1.2.1.31.1.1.1.6.1", "1.3.6.1.2.1.4.20.1.1.127.0.0.1", "1.3.6.1.2.1.1.99.0", "1.3.6.1.2.1.1.1.1")
    tool(cap, "snmpgetnext", "-v2c", "-c", "public", AGENT, "1.3.6.1.6.3.99")
    tool(cap, "snmpget", "-v1", "-c", "public", AGENT, "1.3.6.1.2.1.1.99.0", note="v1 noSuchName")
    # wrong and default communities
    tool(cap, "snmpget", "-v2c", "-c", "wrongComm", "-r", "1", "-t", "0.5", AGENT, SYS_DESCR, note="wrong community: no answer")
    tool(cap, "snmpget", "-v1", "-c", "private", "-r", "0", "-t", "0.5", AGENT, SYS_DESCR, note="default rw community not configured")
    # sets: accepted, notWritable, wrongType, read-only community
    tool(cap, "snmpset", "-v2c", "-c", "wr1teC0mm", AGENT, SYS_NAME, "s", "renamed-agent", note="set accepted")
    tool(cap, "snmpset", "-v2c", "-c", "wr1teC0mm", AGENT, SYS_LOCATION, "s", "elsewhere", note="notWritable (set in the config)")
    tool(cap, "snmpset", "-v2c", "-c", "wr1teC0mm", AGENT, SYS_NAME, "i", "5", note="wrongType")
    tool(cap, "snmpset", "-v1", "-c", "public", AGENT, SYS_NAME, "s", "nope", note="read-only community")
    tool(cap, "snmpget", "-v2c", "-c", "wr1teC0mm", AGENT, SYS_NAME)


def traps(cap):
    tool(cap, "snmptrap", "-v1", "-c", "public", TRAPD, "1.3.6.1.4.1.8072.2.3", "127.0.0.1", "6", "17", "",
         "1.3.6.1.4.1.8072.2.3.2.1", "i", "42", "1.3.6.1.2.1.1.5.0", "s", "trap-sender")
    tool(cap, "snmptrap", "-v1", "-c", "public", TRAPD, "1.3.6.1.4.1.8072.2.3", "127.0.0.1", "2", "0", "12345",
         "1.3.6.1.2.1.2.2.1.1.1", "i", "1")
    tool(cap, "snmptrap", "-v2c", "-c", "public", TRAPD, "4242", "1.3.6.1.6.3.1.1.5.3",
         "1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.7.2", "i", "2")
    tool(cap, "snmpinform", "-v2c", "-c", "public", TRAPD, "777", "1.3.6.1.6.3.1.1.5.4",
         "1.3.6.1.2.1.2.2.1.1.3", "i", "3", note="inform answered by snmptrapd")
    tool(cap, "snmpinform", "-v2c", "-c", "public", "-r", "1", "-t", "0.3", "127.0.0.1:16163", "778",
         "1.3.6.1.6.3.1.1.5.4", "1.3.6.1.2.1.2.2.1.1.4", "i", "4", note="inform without a receiver")
    tool(cap, "snmpinform", "-v3", "-u", "informUser", "-l", "authPriv", "-a", "SHA", "-A", "informAuthPass1",
         "-x", "AES", "-X", "informPrivPass1", TRAPD, "999", "1.3.6.1.6.3.1.1.5.1",
         "1.3.6.1.2.1.1.5.0", "s", "v3-inform", note="v3 inform: snmptrapd is the authoritative engine")
    tool(cap, "snmptrap", "-v3", "-e", "0x8000000001020304", "-u", "trapUser", "-l", "authPriv", "-a", "MD5",
         "-A", "trapAuthPass1", "-x", "DES", "-X", "trapPrivPass1", TRAPD, "1000", "1.3.6.1.6.3.1.1.5.2",
         "1.3.6.1.2.1.1.5.0", "s", "v3-trap", note="v3 trap: the sender is the authoritative engine")


def v3(cap):
    for user in V3_USERS:
        tool(cap, "snmpget", *v3args(user), AGENT, SYS_DESCR, SYS_UPTIME)
    tool(cap, "snmpgetnext", *v3args("aesUser"), AGENT, "1.3.6.1.2.1.1.4")
    tool(cap, "snmpbulkget", *v3args("sha256User"), "-Cn0", "-Cr3", AGENT, "1.3.6.1.2.1.1.9.1.3")
    tool(cap, "snmpset", *v3args("desUser"), AGENT, SYS_CONTACT, "s", "v3-contact", note="notWritable")
    tool(cap, "snmpget", *v3args("md5User", apass="notThePassword"), AGENT, SYS_DESCR, note="wrong auth password")
    tool(cap, "snmpget", *v3args("aesUser", ppass="notThePrivPass"), AGENT, SYS_DESCR, note="wrong priv password")
    tool(cap, "snmpget", "-v3", "-u", "ghostUser", "-l", "authNoPriv", "-a", "SHA", "-A", "ghostPass1",
         "-r", "1", "-t", "1", AGENT, SYS_DESCR, note="unknown user")
    tool(cap, "snmpget", *v3args("md5User", level="noAuthNoPriv"), AGENT, SYS_DESCR, note="unsupported security level")


def tcp(cap):
    tool(cap, "snmpget", "-v2c", "-c", "public", "tcp:" + AGENT, SYS_DESCR, SYS_UPTIME)
    tool(cap, "snmpwalk", "-v2c", "-c", "public", "tcp:" + AGENT, "1.3.6.1.2.1.1.9.1.3")
    tool(cap, "snmpget", *v3args("aesUser"), "tcp:" + AGENT, SYS_DESCR)


def extra(cap):
    tool(cap, "snmpget", "-v2c", "-c", "public", "udp6:[::1]:16161", SYS_DESCR, SYS_CONTACT)
    tool(cap, "snmpwalk", "-v2c", "-c", "public", "tcp6:[::1]:16161", "1.3.6.1.2.1.1.9.1.3")
    tool(cap, "snmpget", *v3args("shaUser"), "-e", "0x80001f8804" + b"pcapdissectsample".hex(), "-Z", "0,1",
         AGENT, SYS_DESCR, note="engine id given, stale boots/time: Report notInTimeWindows, then a retry in time")
    tool(cap, "snmpget", *v3args("shaUser"), "-n", "noSuchContext", AGENT, SYS_DESCR,
         note="unknown context: net-snmp drops the request (no Report)")
    tool(cap, "snmpgetnext", "-v1", "-c", "public", AGENT, "1.3.6.1.6.3.99", note="v1 end of MIB: noSuchName")


CAPTURES = {"snmp-v1v2c.pcap": v1v2c, "snmp-traps.pcap": traps, "snmp-v3.pcap": v3, "snmp-tcp.pcap": tcp,
            "snmp-extra.pcap": extra}


def main():
    if os.geteuid() != 0:
        sys.exit("needs root (tcpdump on lo)")
    (work / "agent").mkdir()
    agent_env = dict(env, SNMP_PERSISTENT_DIR=str(work / "agent"))
    snmpd = subprocess.Popen(["snmpd", "-f", "-Lo", "-C", "-c", str(HERE / "snmpd.conf")],
                             stdout=open(work / "snmpd.log", "w"), stderr=subprocess.STDOUT, env=agent_env)
    (work / "trapd").mkdir()
    trapd = subprocess.Popen(["snmptrapd", "-f", "-Lo", "-C", "-c", str(HERE / "snmptrapd.conf")],
                             stdout=open(work / "snmptrapd.log", "w"), stderr=subprocess.STDOUT,
                             env=dict(env, SNMP_PERSISTENT_DIR=str(work / "trapd")))
    time.sleep(1.5)
    wanted = [a for a in sys.argv[1:] if a in CAPTURES] or list(CAPTURES)
    try:
        for name in wanted:
            capture(name, CAPTURES[name])
    finally:
        stop(snmpd)
        stop(trapd)
    mf = HERE / "manifest.json"
    old = json.loads(mf.read_text()) if mf.exists() else []
    kept = [e for e in old if e.get("capture") not in wanted]
    mf.write_text(json.dumps(kept + manifest, indent=1) + "\n")
    print((work / "snmptrapd.log").read_text()[-2000:])
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
