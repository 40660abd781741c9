#!/usr/bin/env python3
"""Re-create the interop captures of tests/data/interop/ with real programs on loopback (root needed).

    .venv/bin/python tests/data/interop/make_interop.py [mail] [http] [snmp] [formats]

mail:    Postfix 3.7 (Debian `postfix`, private config dir under /tmp, never the system instance)
         on 127.0.0.1:10025 relaying to a catch-all aiosmtpd on 127.0.0.1:10026; clients: swaks,
         Python raw sockets (PIPELINING, BDAT), smtplib (SMTPUTF8), Postfix's own smtp(8) client for
         the relay leg and the bounce (DSN) it generates.  Postfix's mail log is kept as postfix-maillog.txt.
http:    lighttpd (Debian `lighttpd`) with mod_deflate, mod_auth, mod_cgi; clients wget, curl, urllib;
         tinyproxy CONNECT; a small Python server for br/zstd.  Access log kept as lighttpd-access.log.
snmp:    pysnmp agent answered net-snmp tools and net-snmp snmpd answered by pysnmp.
formats: the same traffic captured as pcapng by dumpcap, on `any` (SLL2) and with -s 96.
Only processes started here are stopped (by PID).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PY = os.path.join(ROOT, ".venv", "bin", "python")
WORK = "/tmp/interop-work"


def run(cmd, **kw):
    print("+", cmd if isinstance(cmd, str) else " ".join(cmd), flush=True)
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=kw.pop("check", True), **kw)


def wait_port(port, host="127.0.0.1", fam=socket.AF_INET, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect((host, port))
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


class Capture:
    """tcpdump (or dumpcap) writing one file; stopped by its PID."""

    def __init__(self, out, filt, iface="lo", tool="tcpdump", extra=()):
        self.out = out
        if tool == "tcpdump":
            cmd = ["tcpdump", "-U", "-n", "-i", iface, "-w", out, *extra, filt]
        else:
            cmd = ["dumpcap", "-q", "-i", iface, "-f", filt, "-w", out, *extra]
        self.p = subprocess.Popen(cmd, stderr=subprocess.PIPE)
        time.sleep(1.0)

    def stop(self):
        time.sleep(0.7)
        self.p.send_signal(signal.SIGINT)
        self.p.wait(10)
        print(self.p.stderr.read().decode(errors="replace").strip())


# ----------------------------------------------------------------------------------------------- mail
PFX = os.path.join(WORK, "postfix")

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {pfx}/spool
data_directory = {pfx}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.interop.test
mydomain = interop.test
myorigin = interop.test
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = example.net
relay_recipient_maps = texthash:{pfx}/etc/relay_recipients
relay_transport = smtp:[127.0.0.1]:10026
default_transport = smtp:[127.0.0.1]:10026
smtp_dns_support_level = disabled
smtpd_banner = $myhostname ESMTP Postfix (interop)
smtpd_recipient_restrictions = check_recipient_access texthash:{pfx}/etc/rcpt_access, permit_mynetworks, reject_unauth_destination
smtpd_recipient_limit = 3
header_checks = regexp:{pfx}/etc/header_checks
smtpd_tls_cert_file = {pfx}/etc/cert.pem
smtpd_tls_key_file = {pfx}/etc/key.pem
smtpd_tls_security_level = may
smtp_tls_security_level = none
maillog_file = {pfx}/maillog
maillog_file_prefixes = /var, /dev/stdout, {pfx}
delay_warning_time = 0
biff = no
smtputf8_enable = yes
smtpd_client_restrictions =
smtpd_helo_required = no
"""
MASTER_CF = """\
10025     inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

CATCHALL = r'''
import asyncio, hashlib, json, sys
from aiosmtpd.controller import Controller
LOG = sys.argv[1]
class H:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("gone@"):
            return "550 5.1.1 <%s>: mailbox is gone" % address
        if address.startswith("later@"):
            return "451 4.3.0 <%s>: mailbox busy, try later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 recipient ok"
    async def handle_DATA(self, server, session, envelope):
        with open(LOG, "a") as f:
            f.write(json.dumps({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                                "size": len(envelope.original_content),
                                "sha256": hashlib.sha256(envelope.original_content).hexdigest()}) + "\n")
        return "250 2.0.0 catch-all stored %d bytes" % len(envelope.original_content)
c = Controller(H(), hostname="127.0.0.1", port=10026, server_hostname="catchall.example.org",
               decode_data=False)
c.start()
import signal, threading
ev = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: ev.set())
ev.wait()
c.stop()
'''

MSG_PLAIN = (
    "From: Sender <sender@example.org>\r\nTo: Alice <alice@example.net>\r\n"
    "Subject: interop plain via postfix\r\nMessage-ID: <plain.1@example.org>\r\n"
    "Date: Thu, 03 Dec 2026 18:00:00 +0000\r\n\r\nHello Alice.\r\n.leading dot line\r\n"
)


def smtp_raw(chunks, port=10025, pause=0.4):
    """Send each chunk (bytes), reading whatever the server answers in between; returns the transcript."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(2.0)
    out = []

    def drain(t=pause):
        end = time.time() + t
        while time.time() < end:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            if not d:
                break
            out.append(("S", d))
    drain(1.0)
    for c in chunks:
        s.sendall(c)
        out.append(("C", c))
        drain()
    s.close()
    return out


def mail():
    shutil.rmtree(PFX, ignore_errors=True)
    etc = os.path.join(PFX, "etc")
    os.makedirs(etc)
    os.makedirs(os.path.join(PFX, "spool"))
    os.makedirs(os.path.join(PFX, "data"))
    shutil.chown(os.path.join(PFX, "data"), "postfix", "postfix")
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write(MAIN_CF.format(pfx=PFX))
    with open(os.path.join(etc, "master.cf"), "w") as f:
        f.write(MASTER_CF)
    with open(os.path.join(etc, "relay_recipients"), "w") as f:
        for u in ("alice", "bob", "carol", "dave", "erin", "gone", "later", "jörg"):
            f.write(f"{u}@example.net OK\n")
    with open(os.path.join(etc, "rcpt_access"), "w") as f:
        f.write("grey@example.net 450 4.2.0 Recipient greylisted, try again in 300 seconds\n")
    with open(os.path.join(etc, "header_checks"), "w") as f:
        f.write("/^Subject:.*REJECTME/ REJECT 5.7.1 Message content rejected by interop policy\n")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj",
         "/CN=mx.interop.test", "-keyout", os.path.join(etc, "key.pem"), "-out", os.path.join(etc, "cert.pem")],
        capture_output=True)
    os.chmod(os.path.join(etc, "key.pem"), 0o600)
    catch_log = os.path.join(WORK, "catchall.jsonl")
    if os.path.exists(catch_log):
        os.remove(catch_log)
    script = os.path.join(WORK, "catchall.py")
    with open(script, "w") as f:
        f.write(CATCHALL)
    pcap = os.path.join(HERE, "postfix-relay.pcap")
    run(["postfix", "-c", etc, "set-permissions", "create-missing"], check=False)
    cap = Capture(pcap, "tcp port 10025 or tcp port 10026")
    catch = subprocess.Popen([PY, script, catch_log])
    try:
        wait_port(10026)
        run(["postfix", "-c", etc, "start"])
        wait_port(10025)
        time.sleep(1.0)
        # 1. swaks with PIPELINING: one accepted, one unknown (550 5.1.1), one greylisted (450 4.2.0)
        run(["swaks", "--server", "127.0.0.1:10025", "--pipeline", "--helo", "swaks.example.org",
             "--from", "sender@example.org", "--to", "alice@example.net,nosuch@example.net,grey@example.net",
             "--header", "Subject: interop swaks pipelined", "--header", "Message-ID: <swaks.1@example.org>",
             "--body", "pipelined body\n"], check=False)
        # 2. raw pipelined session: too many recipients (452 4.5.3), then DATA, RSET, second transaction
        t = smtp_raw([
            b"EHLO raw.example.org\r\n",
            b"MAIL FROM:<sender@example.org> SIZE=300\r\nRCPT TO:<alice@example.net>\r\nRCPT TO:<bob@example.net>\r\n"
            b"RCPT TO:<carol@example.net>\r\nRCPT TO:<dave@example.net>\r\nDATA\r\n",
            MSG_PLAIN.encode() + b"..\r\n.\r\n",
            b"RSET\r\n", b"VRFY alice@example.net\r\n", b"NOOP\r\n",
            b"MAIL FROM:<sender@example.org>\r\nRCPT TO:<erin@example.net>\r\nDATA\r\n",
            b"From: sender@example.org\r\nTo: erin@example.net\r\nSubject: REJECTME please\r\n"
            b"Message-ID: <reject.1@example.org>\r\n\r\nthis one is refused at end of data\r\n.\r\n",
            b"QUIT\r\n"])
        # 3. BDAT (CHUNKING) with 8BITMIME body
        body = ("From: sender@example.org\r\nTo: bob@example.net\r\nSubject: =?UTF-8?Q?BDAT_gr=C3=BC=C3=9Fe?=\r\n"
                "Message-ID: <bdat.1@example.org>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                "Grüße aus dem BDAT-Test.\r\n.not a terminator\r\n").encode()
        c1, c2 = body[:100], body[100:]
        smtp_raw([b"EHLO bdat.example.org\r\n",
                  b"MAIL FROM:<sender@example.org> BODY=8BITMIME\r\nRCPT TO:<bob@example.net>\r\n",
                  b"BDAT %d\r\n" % len(c1) + c1, b"BDAT %d LAST\r\n" % len(c2) + c2, b"QUIT\r\n"])
        # 4. smtplib with SMTPUTF8 (UTF-8 local part and headers)
        run([PY, "-c", r'''
import smtplib
msg = ("From: Jörg Sender <sender@example.org>\r\nTo: jörg@example.net\r\nSubject: Größe ünïcode\r\n"
       "Message-ID: <utf8.1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
       "Grüße, Jörg\r\n").encode()
s = smtplib.SMTP("127.0.0.1", 10025, local_hostname="utf8.example.org")
s.ehlo()
s.sendmail("sender@example.org", ["jörg@example.net"], msg, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
s.quit()
'''])
        # 5. STARTTLS (swaks); the rest is opaque
        run(["swaks", "--server", "127.0.0.1:10025", "-tls", "--helo", "tls.example.org",
             "--from", "sender@example.org", "--to", "alice@example.net"], check=False, capture_output=True)
        # 6. a recipient the next hop refuses (550 -> Postfix bounce DSN to sender@example.org), and one deferred (451)
        run(["swaks", "--server", "127.0.0.1:10025", "--helo", "bounce.example.org",
             "--from", "sender@example.org", "--to", "gone@example.net,later@example.net",
             "--header", "Subject: to be bounced", "--header", "Message-ID: <bounce.1@example.org>"],
            check=False, capture_output=True)
        time.sleep(6.0)
    finally:
        run(["postfix", "-c", etc, "stop"], check=False)
        time.sleep(1.0)
        catch.send_signal(signal.SIGTERM)
        catch.wait(10)
        cap.stop()
    shutil.copy(os.path.join(PFX, "maillog"), os.path.join(HERE, "postfix-maillog.txt"))
    shutil.copy(catch_log, os.path.join(HERE, "postfix-catchall.jsonl"))


if __name__ == "__main__":
    os.makedirs(WORK, exist_ok=True)
    what = sys.argv[1:] or ["mail", "http", "snmp", "formats"]
    for w in what:
        globals()[w]()
