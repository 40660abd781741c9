#!/usr/bin/env python3
"""Re-create the interop captures of tests/data/interop/ with real programs on loopback (root needed).

    .venv/bin/python tests/data/interop/make_interop.py [mail] [mua] [auth] [http] [snmp] [formats]

mail:    Postfix 3.7 (Debian `postfix`, private config dir under /tmp, never the system instance)
         on 127.0.0.1:10025 relaying to a catch-all aiosmtpd on 127.0.0.1:10026; clients: swaks,
         Python raw sockets (PIPELINING, BDAT), smtplib (SMTPUTF8), Postfix's own smtp(8) client for
         the relay leg and the bounce (DSN) it generates.  Postfix's mail log is kept as postfix-maillog.txt.
http:    lighttpd (Debian `lighttpd`) with mod_deflate, mod_auth, mod_cgi; clients wget, curl, urllib, headless Chromium;
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
        elif tool == "tshark":
            cmd = ["tshark", "-q", "-i", iface, "-f", filt, "-F", "pcapng", "-w", out, *extra]
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


def postfix_setup():
    """Private Postfix config under /tmp/interop-work/postfix and the catch-all script; returns (etc, log, script)."""
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
    run(["postfix", "-c", etc, "set-permissions", "create-missing"], check=False)
    return etc, catch_log, script


def mail():
    etc, catch_log, script = postfix_setup()
    pcap = os.path.join(HERE, "postfix-relay.pcap")
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


MUTTRC = """\
set from="Jörg Müller <sender@example.org>"
set use_from=yes
set use_envelope_from=yes
set hostname="mua.example.org"
set smtp_url="smtp://127.0.0.1:10025/"
set ssl_starttls=no
set ssl_force_tls=no
set charset="utf-8"
set send_charset="utf-8"
set record="{work}/mutt-sent.mbox"
set copy=yes
set edit_headers=no
"""


def mua():
    """Mail user agents (mutt 2.2, s-nail 14.9) submitting MIME messages with attachments to Postfix."""
    import hashlib
    etc, catch_log, script = postfix_setup()
    base = os.path.join(WORK, "mua")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    atts = {
        "Übersicht März.pdf": b"%PDF-1.4\n" + b"".join(hashlib.sha512(b"%d" % i).digest() for i in range(48)),
        "data.csv": "name;value\nÄpfel;3\nBirnen;5\n".encode(),
        "photo.png": bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                   "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"),
    }
    for name, data in atts.items():
        with open(os.path.join(base, name), "wb") as f:
            f.write(data)
    body = os.path.join(base, "body.txt")
    with open(body, "w", encoding="utf-8") as f:
        f.write("Hallo Alice,\n\nanbei die Übersicht für März – mit Grüßen.\n\n-- \nJörg\n")
    with open(os.path.join(base, "muttrc"), "w") as f:
        f.write(MUTTRC.format(work=base))
    env = dict(os.environ, HOME=base, LANG="C.UTF-8", LC_ALL="C.UTF-8")
    pcap = os.path.join(HERE, "mua-postfix.pcap")
    cap = Capture(pcap, "tcp port 10025 or tcp port 10026 or tcp port 10888")
    catch = subprocess.Popen([PY, script, catch_log])
    out = {"attachments": {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in atts.items()},
           "body": open(body, encoding="utf-8").read()}
    try:
        wait_port(10026)
        run(["postfix", "-c", etc, "start"])
        wait_port(10025)
        time.sleep(1.0)
        with open(body, "rb") as b:
            r = run(["mutt", "-n", "-F", os.path.join(base, "muttrc"), "-s", "Quartalsbericht – Übersicht März 📊",
                     "-c", "bob@example.net", "-a", *[os.path.join(base, n) for n in atts], "--", "alice@example.net"],
                    stdin=b, env=env, capture_output=True, check=False)
        out["mutt"] = {"rc": r.returncode, "stderr": r.stderr.decode(errors="replace")}
        with open(body, "rb") as b:
            r = run(["s-nail", "-:/", "-Sv15-compat", "-Smta=smtp://127.0.0.1:10025", "-Shostname=snail.example.org",
                     "-Ssmtp-auth=none", "-Sttycharset=utf-8", "-Ssendcharsets=utf-8", "-Sexpandaddr", "-r", "sender@example.org",
                     "-s", "s-nail Anhang ünïcode", "-a", os.path.join(base, "data.csv"),
                     "-a", os.path.join(base, "Übersicht März.pdf"), "carol@example.net"],
                    stdin=b, env=env, capture_output=True, check=False)
        out["s-nail"] = {"rc": r.returncode, "stderr": r.stderr.decode(errors="replace")}
        # curl's SMTP client through an HTTP CONNECT tunnel (tinyproxy) to Postfix
        tconf = os.path.join(base, "tinyproxy.conf")
        with open(tconf, "w") as f:
            f.write(TINYPROXY_CONF.format(logs=base).replace("ConnectPort 10080", "ConnectPort 10025"))
        prox = subprocess.Popen(["tinyproxy", "-d", "-c", tconf])
        try:
            wait_port(10888)
            msg = os.path.join(base, "tunnel.eml")
            with open(msg, "wb") as f:
                f.write(b"From: sender@example.org\r\nTo: dave@example.net\r\nSubject: through the tunnel\r\n"
                        b"Message-ID: <tunnel.1@example.org>\r\n\r\nsent by curl via tinyproxy CONNECT\r\n")
            r = run(["curl", "-sS", "-p", "-x", "http://127.0.0.1:10888", "smtp://127.0.0.1:10025/curl.example.org",
                     "--mail-from", "sender@example.org", "--mail-rcpt", "dave@example.net", "-T", msg],
                    capture_output=True, check=False)
            out["curl-tunnel"] = {"rc": r.returncode, "stderr": r.stderr.decode(errors="replace"),
                                  "size": os.path.getsize(msg),
                                  "sha256": hashlib.sha256(open(msg, "rb").read()).hexdigest()}
        finally:
            prox.send_signal(signal.SIGTERM)
            prox.wait(10)
        time.sleep(4.0)
    finally:
        run(["postfix", "-c", etc, "stop"], check=False)
        time.sleep(1.0)
        catch.send_signal(signal.SIGTERM)
        catch.wait(10)
        cap.stop()
    shutil.copy(os.path.join(PFX, "maillog"), os.path.join(HERE, "mua-maillog.txt"))
    shutil.copy(catch_log, os.path.join(HERE, "mua-catchall.jsonl"))
    if os.path.exists(os.path.join(base, "mutt-sent.mbox")):
        shutil.copy(os.path.join(base, "mutt-sent.mbox"), os.path.join(HERE, "mua-mutt-sent.mbox"))
    with open(os.path.join(HERE, "mua-clients.json"), "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)


def auth():
    """Postfix smtpd with Cyrus SASL: swaks AUTH PLAIN, LOGIN (wrong password), CRAM-MD5, and a client that
    cancels AUTH LOGIN with '*'. Note: Debian's Cyrus SASL did not take the private smtpd.conf (its sasldb
    path) and fell back to /etc/sasldb2, which smtpd cannot read: Postfix answered every AUTH with
    "454 4.7.0 Temporary authentication failure: generic failure" (a real misconfiguration, kept as is)."""
    etc, catch_log, script = postfix_setup()
    sasldb = os.path.join(etc, "sasldb2")
    subprocess.run(["saslpasswd2", "-c", "-p", "-f", sasldb, "-u", "interop.test", "alice"],
                   input=b"Wonder-Land-42", check=True)
    shutil.chown(sasldb, "postfix", "postfix")
    os.chmod(sasldb, 0o640)
    with open(os.path.join(etc, "smtpd.conf"), "w") as f:
        f.write(f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN CRAM-MD5\nsasldb_path: {sasldb}\n")
    with open(os.path.join(etc, "main.cf"), "a") as f:
        f.write(f"smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = cyrus\nsmtpd_sasl_path = smtpd\n"
                f"cyrus_sasl_config_path = {etc}\nsmtpd_sasl_local_domain = interop.test\n"
                "smtpd_sasl_security_options = noanonymous\nsmtpd_tls_security_level = none\n"
                "import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME "
                f"SASL_CONF_PATH={etc}\n")
    pcap = os.path.join(HERE, "postfix-auth.pcap")
    cap = Capture(pcap, "tcp port 10025")
    catch = subprocess.Popen([PY, script, catch_log])
    out = []
    try:
        wait_port(10026)
        run(["postfix", "-c", etc, "start"])
        wait_port(10025)
        time.sleep(1.0)
        for label, mech, pw in [("plain", "PLAIN", "Wonder-Land-42"), ("login-wrongpw", "LOGIN", "not-the-password"),
                                ("cram", "CRAM-MD5", "Wonder-Land-42")]:
            r = run(["swaks", "--server", "127.0.0.1:10025", "--helo", f"{label}.example.org", "--from",
                     "alice@interop.test", "--to", "bob@example.net", "--auth", mech, "--auth-user", "alice",
                     "--auth-password", pw, "--header", f"Subject: auth {label}"], capture_output=True, text=True,
                    check=False)
            out.append({"label": label, "mech": mech, "rc": r.returncode, "transcript": r.stdout})
        # a client that gives up in the middle of AUTH LOGIN (RFC 4954: "*" cancels, 501)
        t = smtp_raw([b"EHLO cancel.example.org\r\n", b"AUTH LOGIN\r\n", b"YWxpY2U=\r\n", b"*\r\n", b"QUIT\r\n"])
        out.append({"label": "cancel", "transcript": "".join(
            ("<- " if who == "S" else " -> ") + d.decode(errors="replace") for who, d in t)})
        time.sleep(2.0)
    finally:
        run(["postfix", "-c", etc, "stop"], check=False)
        time.sleep(1.0)
        catch.send_signal(signal.SIGTERM)
        catch.wait(10)
        cap.stop()
    shutil.copy(os.path.join(PFX, "maillog"), os.path.join(HERE, "postfix-auth-maillog.txt"))
    with open(os.path.join(HERE, "postfix-auth-clients.json"), "w") as f:
        json.dump(out, f, indent=1)


# ----------------------------------------------------------------------------------------------- http
LIGHTTPD_CONF = """\
server.document-root = "{www}"
server.bind = "127.0.0.1"
server.port = 10080
server.username = "www-data"
server.groupname = "www-data"
server.tag = "lighttpd/1.4.69"
server.stream-response-body = 2
server.modules = ("mod_access", "mod_auth", "mod_authn_file", "mod_deflate", "mod_cgi", "mod_accesslog")
server.errorlog = "{logs}/error.log"
accesslog.filename = "{logs}/access.log"
accesslog.format = "%h \\"%r\\" %>s %b %O \\"%{{Accept-Encoding}}i\\""
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html", ".txt" => "text/plain; charset=utf-8", ".css" => "text/css",
                   ".bin" => "application/octet-stream")
deflate.mimetypes = ("text/")
deflate.allowed-encodings = ("zstd", "br", "gzip", "deflate")
auth.backend = "plain"
auth.backend.plain.userfile = "{etc}/users"
auth.require = ("/private/" => ("method" => "basic", "realm" => "interop", "require" => "valid-user"))
cgi.assign = (".sh" => "/bin/sh")
"""

TINYPROXY_CONF = """\
Port 10888
Listen 127.0.0.1
Timeout 30
MaxClients 10
Allow 127.0.0.1
ConnectPort 10080
LogFile "{logs}/tinyproxy.log"
LogLevel Info
PidFile "{logs}/tinyproxy.pid"
"""


def http():
    import hashlib
    base = os.path.join(WORK, "http")
    shutil.rmtree(base, ignore_errors=True)
    www, logs, etc, out = (os.path.join(base, d) for d in ("www", "logs", "etc", "out"))
    for d in (www, logs, etc, out, os.path.join(www, "dir"), os.path.join(www, "private"), os.path.join(www, "cgi")):
        os.makedirs(d)
    files = {
        "index.html": ("<!doctype html><html><head><title>interop</title><link rel=stylesheet href=/style.css>"
                       "</head><body>" + "<p>lighttpd interop page</p>\n" * 40 + "</body></html>\n").encode(),
        "big.txt": "".join(f"line {i:05d}: the quick brown fox jumps over the lazy dog ünïcödé\n"
                           for i in range(300)).encode(),
        "style.css": b"body { font-family: sans-serif; color: #333; }\n" * 20,
        "data.bin": b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(128)),
        "dir/index.html": b"<html><body>directory index</body></html>\n",
        "private/secret.txt": b"the secret is 42\n",
        "cgi/stream.sh": b"#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nX-Interop: cgi\\r\\n\\r\\n'\n"
                         b"for i in 1 2 3; do echo \"chunk $i from cgi\"; sleep 0.2; done\n",
        "cgi/upload.sh": b"#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
                         b"head -c \"$CONTENT_LENGTH\" | sha256sum\n",
    }
    for name, data in files.items():
        path = os.path.join(www, name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (1767323045, 1767323045))      # Fri, 02 Jan 2026 03:04:05 GMT
    os.chmod(os.path.join(www, "cgi", "stream.sh"), 0o755)
    os.chmod(os.path.join(www, "cgi", "upload.sh"), 0o755)
    with open(os.path.join(etc, "users"), "w") as f:
        f.write("alice:wonderland\n")
    run(["chmod", "-R", "a+rX", base])
    shutil.chown(logs, "www-data", "www-data")
    conf = os.path.join(etc, "lighttpd.conf")
    with open(conf, "w") as f:
        f.write(LIGHTTPD_CONF.format(www=www, logs=logs, etc=etc))
    tconf = os.path.join(etc, "tinyproxy.conf")
    with open(tconf, "w") as f:
        f.write(TINYPROXY_CONF.format(logs=logs))
    pcap = os.path.join(HERE, "lighttpd.pcap")
    cap = Capture(pcap, "tcp port 10080 or tcp port 10888")
    srv = subprocess.Popen(["lighttpd", "-D", "-f", conf])
    prox = subprocess.Popen(["tinyproxy", "-d", "-c", tconf])
    U = "http://127.0.0.1:10080"
    results = {"served": {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()},
               "clients": []}

    def curl(label, *args):
        o = os.path.join(out, label)
        r = run(["curl", "-s", "-o", o, "-w", "%{http_code} %{size_download} %{size_header}\\n", *args],
                capture_output=True, text=True, check=False)
        body = open(o, "rb").read() if os.path.exists(o) else b""
        results["clients"].append({"label": label, "args": list(args), "curl": r.stdout.strip(),
                                   "size": len(body), "sha256": hashlib.sha256(body).hexdigest()})
    try:
        time.sleep(0.5)
        wait_port(10080)
        wait_port(10888)
        # wget: directory redirect 301 -> /dir/, keep-alive on one connection
        r = run(["wget", "-S", "-O", os.path.join(out, "wget-dir"), U + "/dir"], capture_output=True, text=True, check=False)
        results["clients"].append({"label": "wget-dir", "stderr": r.stderr})
        # curl: one connection, four content codings of the same text file (curl decodes with --compressed)
        curl("enc-zstd", "--compressed", "-H", "Accept-Encoding: zstd", U + "/big.txt")
        curl("enc-br", "--compressed", "-H", "Accept-Encoding: br", U + "/big.txt")
        curl("enc-gzip", "--compressed", "-H", "Accept-Encoding: gzip", U + "/big.txt")
        curl("enc-deflate", "--compressed", "-H", "Accept-Encoding: deflate", U + "/big.txt")
        curl("head", "-I", U + "/big.txt")
        curl("ims-304", "-H", "If-Modified-Since: Fri, 02 Jan 2026 03:04:05 GMT", U + "/style.css")
        curl("range-single", "-r", "0-99", U + "/data.bin")
        curl("range-multi", "-r", "0-9,100-199", U + "/data.bin")
        curl("auth-401", U + "/private/secret.txt")
        curl("auth-200", "-u", "alice:wonderland", U + "/private/secret.txt")
        curl("cgi-chunked", U + "/cgi/stream.sh")
        curl("http10", "-0", U + "/index.html")
        curl("notfound", U + "/missing.html")
        curl("put-405", "-X", "PUT", "--data-binary", "x", U + "/index.html")
        curl("proxy-get", "-x", "http://127.0.0.1:10888", U + "/style.css")
        curl("proxy-connect", "-p", "-x", "http://127.0.0.1:10888", U + "/index.html")
        # python urllib: multipart/form-data upload to the CGI (prints the SHA-256 of the body it read)
        upload = bytes(range(256)) * 12
        boundary = "----interopBoundary7MA4YWxk"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nhello from urllib\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob.bin\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + upload + f"\r\n--{boundary}--\r\n".encode()
        import urllib.request
        req = urllib.request.Request(U + "/cgi/upload.sh", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(req) as resp:
            printed = resp.read().decode()
        results["clients"].append({"label": "urllib-upload", "body_size": len(body),
                                   "body_sha256": hashlib.sha256(body).hexdigest(), "cgi_printed": printed,
                                   "file_size": len(upload), "file_sha256": hashlib.sha256(upload).hexdigest()})
        # curl: Expect: 100-continue POST, chunked PUT from stdin (both to the hashing CGI), 416, OPTIONS *
        blob = b"".join(hashlib.sha256(b"blob%d" % i).digest() for i in range(640))        # 20480 bytes
        with open(os.path.join(out, "blob"), "wb") as f:
            f.write(blob)
        for label, args in [("expect-100", ["-H", "Expect: 100-continue", "--data-binary", "@" + os.path.join(out, "blob")]),
                            ("chunked-put", ["-T", "-"])]:
            with open(os.path.join(out, "blob"), "rb") as stdin:
                r = run(["curl", "-s", *args, U + "/cgi/upload.sh"], stdin=stdin, capture_output=True, check=False)
            results["clients"].append({"label": label, "args": args, "cgi_printed": r.stdout.decode(),
                                       "body_size": len(blob), "body_sha256": hashlib.sha256(blob).hexdigest()})
        curl("range-416", "-r", "5000-6000", U + "/data.bin")
        curl("options-star", "-X", "OPTIONS", "--request-target", "*", U + "/")
        # headless Chromium (Debian's chromium): a real browser loading the page and its stylesheet
        r = run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--explicitly-allowed-ports=10080", "--user-data-dir=" + os.path.join(base, "chromium"),
                 "--dump-dom", U + "/index.html"], capture_output=True, check=False, timeout=60)
        results["clients"].append({"label": "chromium", "rc": r.returncode, "dom_size": len(r.stdout)})
        # raw socket: two pipelined requests on one connection
        s = socket.create_connection(("127.0.0.1", 10080))
        s.sendall(b"GET /style.css HTTP/1.1\r\nHost: 127.0.0.1:10080\r\nUser-Agent: raw-pipeline\r\n\r\n"
                  b"GET /dir/ HTTP/1.1\r\nHost: 127.0.0.1:10080\r\nUser-Agent: raw-pipeline\r\nConnection: close\r\n\r\n")
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()
        time.sleep(0.5)
    finally:
        prox.send_signal(signal.SIGTERM)
        srv.send_signal(signal.SIGTERM)
        prox.wait(10)
        srv.wait(10)
        cap.stop()
    shutil.copy(os.path.join(logs, "access.log"), os.path.join(HERE, "lighttpd-access.log"))
    with open(os.path.join(HERE, "lighttpd-clients.json"), "w") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)


# ----------------------------------------------------------------------------------------------- snmp
AGENT_ENGINE = "80004fb804" + b"interop-agent".hex()      # pysnmp's enterprise 20408, format 4 (text)
TRAP_ENGINE = "80004fb804" + b"interop-notifier".hex()
SNMP_USERS = {  # user: (pysnmp auth, auth password, pysnmp priv, priv password, net-snmp -a, net-snmp -x)
    "pyAgentUser": ("usmHMAC192SHA256AuthProtocol", "pyAgentAuth1", "usmAesCfb128Protocol", "pyAgentPriv1", "SHA-256", "AES"),
    "pyTrapUser": ("usmHMACSHAAuthProtocol", "pyTrapAuth1", "usmAesCfb128Protocol", "pyTrapPriv1", "SHA", "AES"),
}
LATIN1_COMMUNITY = b"caf\xe9-r\xf6"


def snmp_agent():
    """pysnmp 7 command responder on udp 127.0.0.1:16261 and udp6 [::1]:16261 (child process)."""
    from pysnmp.carrier.asyncio.dgram import udp, udp6
    from pysnmp.entity import config, engine
    from pysnmp.entity.rfc3413 import cmdrsp, context
    import pysnmp.hlapi.v3arch.asyncio as h

    eng = engine.SnmpEngine(snmpEngineID=bytes.fromhex(AGENT_ENGINE))
    config.add_transport(eng, udp.DOMAIN_NAME, udp.UdpTransport().open_server_mode(("127.0.0.1", 16261)))
    config.add_transport(eng, udp6.DOMAIN_NAME, udp6.Udp6Transport().open_server_mode(("::1", 16261)))
    config.add_v1_system(eng, "pub-area", "public")
    config.add_v1_system(eng, "latin-area", LATIN1_COMMUNITY)
    for model in (1, 2):
        for area in ("pub-area", "latin-area"):
            config.add_vacm_user(eng, model, area, "noAuthNoPriv", (1, 3, 6, 1), ())
    ap, apw, pp, ppw, _, _ = SNMP_USERS["pyAgentUser"]
    config.add_v3_user(eng, "pyAgentUser", getattr(h, ap), apw, getattr(h, pp), ppw)
    config.add_vacm_user(eng, 3, "pyAgentUser", "authPriv", (1, 3, 6, 1), ())
    ctx = context.SnmpContext(eng)
    for r in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder, cmdrsp.BulkCommandResponder,
              cmdrsp.SetCommandResponder):
        r(eng, ctx)
    eng.transport_dispatcher.job_started(1)
    try:
        eng.open_dispatcher()
    finally:
        eng.close_dispatcher()


async def snmp_notifier(results):
    import pysnmp.hlapi.v3arch.asyncio as h
    eng = h.SnmpEngine(snmpEngineID=h.OctetString(hexValue=TRAP_ENGINE))
    target = await h.UdpTransportTarget.create(("127.0.0.1", 16262), timeout=2, retries=1)
    vbs = [("1.3.6.1.2.1.2.2.1.1.7", h.Integer32(7)),
           ("1.3.6.1.2.1.31.1.1.1.6.7", h.Counter64(2 ** 40 + 5)),
           ("1.3.6.1.2.1.4.20.1.1.192.0.2.7", h.IpAddress("192.0.2.7")),
           ("1.3.6.1.4.1.8072.9999.1", h.Opaque(bytes.fromhex("9f78043fc00000"))),
           ("1.3.6.1.2.1.2.2.1.5.7", h.Gauge32(4000000000)),
           ("1.3.6.1.2.1.2.2.1.2.7", h.OctetString("Grüße eth7".encode()))]
    for label, auth, kind in [
            ("v2c-trap", h.CommunityData("public", mpModel=1), "trap"),
            ("v2c-inform", h.CommunityData("public", mpModel=1), "inform"),
            ("v1-trap", h.CommunityData("public", mpModel=0), "trap"),
            ("v3-trap", h.UsmUserData("pyTrapUser", "pyTrapAuth1", "pyTrapPriv1",
                                      authProtocol=h.usmHMACSHAAuthProtocol, privProtocol=h.usmAesCfb128Protocol), "trap")]:
        v = [vb for vb in vbs if label != "v1-trap" or not isinstance(vb[1], h.Counter64)]   # no Counter64 in v1
        v = [h.ObjectType(h.ObjectIdentity(o), val) for o, val in v]
        n = h.NotificationType(h.ObjectIdentity("1.3.6.1.6.3.1.1.5.3")).add_varbinds(*v)
        eng = h.SnmpEngine(snmpEngineID=h.OctetString(hexValue=TRAP_ENGINE))   # one engine per message model
        target = await h.UdpTransportTarget.create(("127.0.0.1", 16262), timeout=2, retries=1)
        err, status, index, got = await h.send_notification(eng, auth, target, h.ContextData(), kind, n)
        results.append({"label": label, "error": str(err or status or ""),
                        "varbinds": [(str(o), v.__class__.__name__, v.prettyPrint()) for o, v in got]})
        await asyncio.sleep(0.3)


def snmp():
    import asyncio
    globals()["asyncio"] = asyncio
    base = os.path.join(WORK, "snmp")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    trapconf = os.path.join(base, "snmptrapd.conf")
    with open(trapconf, "w") as f:
        f.write("snmpTrapdAddr udp:127.0.0.1:16262\nengineID interoptrapd\ndisableAuthorization yes\n"
                "authCommunity log public\n"
                f"createUser -e 0x{TRAP_ENGINE} pyTrapUser SHA pyTrapAuth1 AES pyTrapPriv1\n"
                "authUser log pyTrapUser priv\n")
    traplog = os.path.join(base, "snmptrapd.log")
    pcap = os.path.join(HERE, "pysnmp-netsnmp.pcap")
    cap = Capture(pcap, "udp port 16261 or udp port 16262", iface="lo")
    agent = subprocess.Popen([PY, __file__, "--snmp-agent"])
    trapd = subprocess.Popen(["snmptrapd", "-f", "-On", "-Lf", traplog, "-C", "-c", trapconf, "-p",
                              os.path.join(base, "trapd.pid")])
    outputs = []

    def tool(label, *args):
        r = subprocess.run(list(args), capture_output=True)
        outputs.append({"label": label, "cmd": [a if isinstance(a, str) else a.decode("latin-1") for a in args],
                        "rc": r.returncode, "stdout": r.stdout.decode("utf-8", "replace"),
                        "stderr": r.stderr.decode("utf-8", "replace")})
        print("+", label, r.returncode, r.stdout[:200], r.stderr[:200])
    try:
        time.sleep(4.0)
        A = "127.0.0.1:16261"
        tool("bulkwalk", "snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Cr10", A, "1.3.6.1.6.3.10")
        tool("bulkwalk-end", "snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Cr5", "-Cc", A, "1.3.6.1.6.3.18.1.1.1.8")
        tool("walk-v1", "snmpwalk", "-v1", "-c", "public", "-On", A, "1.3.6.1.2.1.1")
        tool("get-v3", "snmpget", "-v3", "-l", "authPriv", "-u", "pyAgentUser", "-a", "SHA-256", "-A", "pyAgentAuth1",
             "-x", "AES", "-X", "pyAgentPriv1", "-On", A, "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.6.3.10.2.1.1.0")
        tool("get-v3-wrongpass", "snmpget", "-v3", "-l", "authPriv", "-u", "pyAgentUser", "-a", "SHA-256", "-A",
             "wrongPassword", "-x", "AES", "-X", "pyAgentPriv1", "-r", "0", "-t", "1", "-On", A, "1.3.6.1.2.1.1.1.0")
        tool("get-udp6", "snmpget", "-v2c", "-c", "public", "-On", "udp6:[::1]:16261", "1.3.6.1.2.1.1.5.0",
             "1.3.6.1.2.1.1.2.0")
        tool("get-latin1-community", "snmpget", "-v2c", "-c", LATIN1_COMMUNITY, "-On", A, "1.3.6.1.2.1.1.6.0")
        tool("set-readonly", "snmpset", "-v2c", "-c", "public", "-On", A, "1.3.6.1.2.1.1.4.0", "s", "admin@example.net")
        tool("get-nosuch", "snmpget", "-v2c", "-c", "public", "-On", A, "1.3.6.1.2.1.1.99.0", "1.3.6.1.2.1.1.1.5")
        notif = []
        asyncio.run(snmp_notifier(notif))
        time.sleep(1.0)
    finally:
        agent.send_signal(signal.SIGTERM)
        trapd.send_signal(signal.SIGTERM)
        agent.wait(10)
        trapd.wait(10)
        cap.stop()
    with open(os.path.join(HERE, "pysnmp-netsnmp-outputs.json"), "w") as f:
        json.dump({"tools": outputs, "notifier": notif, "agent_engine": AGENT_ENGINE, "trap_engine": TRAP_ENGINE,
                   "users": {u: list(v) for u, v in SNMP_USERS.items()}}, f, indent=1, ensure_ascii=False)
    with open(traplog, encoding="utf-8", errors="replace") as f:
        log = f.read()
    with open(os.path.join(HERE, "snmptrapd.log"), "w") as f:     # without the MIB-loading noise
        f.write(log[log.find("NET-SNMP version"):])


# ----------------------------------------------------------------------------------------------- formats
def formats():
    """One run of traffic (Python http.server on the dual-stack wildcard, curl over IPv6 and IPv4 loopback,
    wget) captured at once by tcpdump (pcap, Ethernet on lo; also with nanosecond timestamps), dumpcap
    (pcapng), tshark -F pcapng, tcpdump on `any` (LINUX_SLL2 and LINUX_SLL), tcpdump with a 96-byte
    snap length; one copy gzip-compressed."""
    import gzip
    import hashlib
    base = os.path.join(WORK, "formats")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(os.path.join(base, "www"))
    page = b"".join(b"format check line %04d\n" % i for i in range(400))      # 9.6 KB
    with open(os.path.join(base, "www", "page.txt"), "wb") as f:
        f.write(page)
    filt = "tcp port 10090"
    caps = [Capture(os.path.join(HERE, "fmt-lo.pcap"), filt),
            Capture(os.path.join(HERE, "fmt-lo.pcapng"), filt, tool="dumpcap"),
            Capture(os.path.join(HERE, "fmt-any-sll2.pcap"), filt, iface="any", extra=("-y", "LINUX_SLL2")),
            Capture(os.path.join(HERE, "fmt-any-sll.pcap"), filt, iface="any", extra=("-y", "LINUX_SLL")),
            Capture(os.path.join(HERE, "fmt-snap96.pcap"), filt, extra=("-s", "96")),
            Capture(os.path.join(HERE, "fmt-lo-nano.pcap"), filt, extra=("--time-stamp-precision", "nano")),
            Capture(os.path.join(HERE, "fmt-tshark.pcapng"), filt, tool="tshark")]
    srv = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "::", "--directory",
                            os.path.join(base, "www"), "10090"], stderr=subprocess.PIPE)
    try:
        wait_port(10090)
        wait_port(10090, host="::1", fam=socket.AF_INET6)
        time.sleep(0.5)
        run(["curl", "-s", "-o", "/dev/null", "-g", "http://[::1]:10090/page.txt"])
        run(["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:10090/page.txt"])
        run(["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:10090/missing"], check=False)
        time.sleep(0.5)
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(10)
        log = srv.stderr.read().decode()
        for c in caps:
            c.stop()
    with open(os.path.join(HERE, "fmt-lo.pcap"), "rb") as f, gzip.open(os.path.join(HERE, "fmt-lo.pcap.gz"), "wb") as g:
        g.write(f.read())
    with open(os.path.join(HERE, "fmt-http-server.log"), "w") as f:
        f.write(log)
    with open(os.path.join(HERE, "fmt-page.json"), "w") as f:
        json.dump({"size": len(page), "sha256": hashlib.sha256(page).hexdigest()}, f)


if __name__ == "__main__":
    if sys.argv[1:] == ["--snmp-agent"]:
        snmp_agent()
        sys.exit(0)
    os.makedirs(WORK, exist_ok=True)
    what = sys.argv[1:] or ["mail", "mua", "auth", "http", "snmp", "formats"]
    for w in what:
        globals()[w]()
