#!/usr/bin/env python3
"""Re-create the SMTP sample captures of this folder (real traffic on loopback).

Runs an aiosmtpd server (the policy handler below: accepts, rejects a recipient with 550,
tempfails with 451/452, rejects at end of data with 554, AUTH PLAIN/LOGIN/CRAM-MD5, STARTTLS
with a self-signed certificate made at run time) and drives it with swaks and Python's smtplib
(plus curl, and a raw socket client for PIPELINING), while tcpdump writes one capture per scenario.
``manifest.json`` records what was sent (addresses, subjects, Message-IDs, attachment names,
decoded sizes and SHA-256) and what the server received; the tests compare against it.

Needs root (tcpdump on lo), swaks, tcpdump, and the project venv (aiosmtpd, cryptography):

    sudo .venv/bin/python samples/smtp/make_samples.py [--out samples/smtp]

Only loopback is used (127.0.0.1). Timestamps and TLS bytes differ between runs; everything
the tests check is recorded in the manifest.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"
PORT = 2525          # a port the analyzer knows
ALT_PORT = 10025     # detected by content (220 greeting + EHLO)
LMTP_PORT = 10024    # LMTP (RFC 2033), detected by content (LHLO)
USERS = {"alice": "wonderland-42", "bob": "builder-7"}   # test accounts (see README.md)


# ----------------------------------------------------------------------------- server
class Policy:
    """Decides by the local part of the recipient, as documented in README.md."""

    def __init__(self):
        self.received: list[dict] = []
        self.n = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        # advertise what the clients below use (aiosmtpd handles pipelined commands in order)
        responses.insert(-1, "250-PIPELINING")
        responses.insert(-1, "250-ENHANCEDSTATUSCODES")
        responses.insert(-1, "250-CHUNKING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("nosuchuser"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        if local.startswith("greylist"):
            return "451 4.7.1 Greylisted, please try again later"
        if local.startswith("fullbox"):
            return "452 4.2.2 Mailbox full"
        if local.startswith("relay"):
            return "554 5.7.1 Relay access denied"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or b""
        self.n += 1
        self.received.append({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                              "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        if isinstance(server, LMTP):
            # RFC 2033: one reply per accepted recipient, in RCPT order
            return "\r\n".join(
                f"452 4.2.2 <{a}> mailbox over quota" if a.startswith("overquota") else
                f"250 2.0.0 <{a}> delivered to mailbox" for a in envelope.rcpt_tos)
        if b"X-Test-Policy: reject" in data:
            return "554 5.7.1 Message rejected: content violates local policy"
        if b"X-Test-Policy: tempfail" in data:
            return "451 4.3.0 Temporary local problem, try again later"
        return "250 2.0.0 Ok: queued as SAMPLE%04d" % self.n


class CramSMTP(SMTP):
    """aiosmtpd with CRAM-MD5 (method name: '-' is written '__') and RFC 3030 BDAT added."""

    async def smtp_BDAT(self, arg):
        parts = (arg or "").split()
        if not parts or not parts[0].isdigit() or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() != "LAST"):
            await self.push("501 5.5.4 Syntax: BDAT <size> [LAST]")
            return
        size, last = int(parts[0]), len(parts) == 2
        chunk = await self._reader.readexactly(size) if size else b""   # exact octets, no dot-stuffing
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        buf = getattr(self, "_bdat_buf", b"") + chunk
        if not last:
            self._bdat_buf = buf
            await self.push(f"250 2.0.0 {size} octets received")
            return
        self._bdat_buf = b""
        self.envelope.content = self.envelope.original_content = buf
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)

    async def auth_CRAM__MD5(self, _, args):
        challenge = b"<1896.697170952@sample.example>"
        resp = await self.challenge_auth(challenge)
        if resp is None or not isinstance(resp, bytes):
            return AuthResult(success=False, handled=False)
        try:
            user, digest = resp.decode().rsplit(" ", 1)
        except ValueError:
            return AuthResult(success=False, handled=False)
        pw = USERS.get(user)
        ok = pw is not None and hmac.compare_digest(
            hmac.new(pw.encode(), challenge, "md5").hexdigest(), digest)
        return AuthResult(success=ok, handled=False, auth_data=user)


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword):
        ok = USERS.get(auth_data.login.decode()) == auth_data.password.decode()
        return AuthResult(success=ok, handled=False)   # handled=False: aiosmtpd sends 535 itself
    return AuthResult(success=False, handled=False)


class MyController(Controller):
    def factory(self):
        return CramSMTP(self.handler, **self.SMTP_kwargs)


class LmtpController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


def make_cert(d: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.sample.example")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("mail.sample.example")]), False)
            .sign(key, hashes.SHA256()))
    c, k = d / "cert.pem", d / "key.pem"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return c, k


# ----------------------------------------------------------------------------- capture
class Capture:
    def __init__(self, path: Path, port: int):
        self.path = path
        self.port = port

    def __enter__(self):
        self.proc = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", str(self.path),
                                      f"tcp port {self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # wait until tcpdump listens
        deadline = time.time() + 10
        buf = b""
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            buf += line
            if b"listening on" in line or not line:
                break
        time.sleep(1.5)   # "listening on" comes before the filter is attached
        return self

    def __exit__(self, *exc):
        time.sleep(1.0)
        self.proc.terminate()
        self.proc.wait(timeout=10)


def swaks(*args: str) -> None:
    cmd = ["swaks", "--server", HOST, *args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode not in (0, 23, 24, 25, 27, 28, 29):  # swaks exits non-zero on rejections
        sys.stderr.write(r.stdout.decode(errors="replace"))
        raise SystemExit(f"swaks failed: {cmd}")


# ----------------------------------------------------------------------------- messages
def simple(subject: str, frm: str, to: list[str], body: str, policy_hdr: str | None = None) -> EmailMessage:
    m = EmailMessage(policy=policy.SMTP)
    m["From"] = frm
    m["To"] = ", ".join(to)
    m["Subject"] = subject
    m["Date"] = "Thu, 03 Dec 2026 17:00:00 +0000"
    m["Message-ID"] = make_msgid(domain="sample.example")
    if policy_hdr:
        m["X-Test-Policy"] = policy_hdr
    m.set_content(body)
    return m


def rich_message() -> tuple[EmailMessage, list[dict]]:
    """multipart/mixed: QP UTF-8 text, base64 HTML, binary attachments (one with an RFC 2231
    UTF-8 filename), a forwarded message/rfc822; RFC 2047 subject."""
    m = EmailMessage(policy=policy.SMTP)
    m["From"] = "Zoë Müller <zoe@sample.example>"
    m["To"] = "Team <team@sample.example>"
    m["Cc"] = "carol@sample.example"
    m["Subject"] = "Rapport trimestriel — données été 2026 ✓"
    m["Date"] = "Thu, 03 Dec 2026 17:05:00 +0000"
    m["Message-ID"] = "<rich-1@sample.example>"
    text = ("Bonjour à tous,\n\nVoici le rapport : chiffres clés, œuvres, naïveté… "
            "Straße, Ελληνικά, 日本語.\n" + "Ligne longue " * 12 + "\n.\n..deux points au début\n")
    m.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    html = "<html><body><h1>Rapport</h1><p>Données <b>été</b> ✓</p></body></html>\n"
    m.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    m.make_mixed()
    atts = []
    pdf = (b"%PDF-1.4\n" + bytes(range(256)) * 24 + b"\n%%EOF\n")
    m.add_attachment(pdf, maintype="application", subtype="pdf", filename="report-Q3.pdf")
    atts.append({"filename": "report-Q3.pdf", "content_type": "application/pdf", "data": pdf})
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
    fname = "schéma résumé été 2026 très long nom de fichier.png"
    m.add_attachment(png, maintype="image", subtype="png", filename=("utf-8", "", fname))
    atts.append({"filename": fname, "content_type": "image/png", "data": png})
    fwd = simple("Original note", "dave@sample.example", ["zoe@sample.example"],
                 "This is the forwarded message.\n")
    fwd.replace_header("Message-ID", "<fwd-inner@sample.example>")
    m.add_attachment(fwd, filename="forwarded.eml")
    return m, atts


def dsn_for(original: EmailMessage, rcpt: str, status: str, diag: str) -> bytes:
    """A delivery status notification (RFC 3464) about ``original``, as an MTA writes it."""
    hdrs = b"".join(f"{k}: {v}\r\n".encode() for k, v in original.items())
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@relay.sample.example>\r\n"
        b"To: " + original["From"].encode() + b"\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Date: Thu, 03 Dec 2026 17:10:00 +0000\r\n"
        b"Message-ID: <dsn-1@relay.sample.example>\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"dsn-b-1\"\r\n"
        b"\r\n"
        b"This is a MIME-encapsulated message.\r\n\r\n"
        b"--dsn-b-1\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"This is the mail system at relay.sample.example.\r\n\r\n"
        b"Your message could not be delivered to one or more recipients.\r\n\r\n"
        b"--dsn-b-1\r\n"
        b"Content-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; relay.sample.example\r\n"
        b"Arrival-Date: Thu, 03 Dec 2026 17:06:00 +0000\r\n\r\n"
        b"Final-Recipient: rfc822; " + rcpt.encode() + b"\r\n"
        b"Original-Recipient: rfc822; " + rcpt.encode() + b"\r\n"
        b"Action: failed\r\n"
        b"Status: " + status.encode() + b"\r\n"
        b"Remote-MTA: dns; mx.far.example\r\n"
        b"Diagnostic-Code: smtp; " + diag.encode() + b"\r\n\r\n"
        b"--dsn-b-1\r\n"
        b"Content-Type: text/rfc822-headers\r\n\r\n" + hdrs + b"\r\n"
        b"--dsn-b-1--\r\n")


# ----------------------------------------------------------------------------- scenarios
def pipelined_session(port: int, script: list[bytes]) -> list[bytes]:
    """A raw client: sends each element in one write (a flight), reads what is available."""
    out = []
    with socket.create_connection((HOST, port), timeout=10) as s:
        f = s.makefile("rb")
        out.append(f.readline())
        for flight, nreplies in script:
            s.sendall(flight)
            for _ in range(nreplies):
                line = f.readline()
                out.append(line)
                while line[3:4] == b"-":
                    line = f.readline()
                    out.append(line)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for tool in ("tcpdump", "swaks", "curl"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed")
    tmp = Path(tempfile.mkdtemp(prefix="smtp-samples-"))
    cert, key = make_cert(tmp)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    handler = Policy()
    ctls = []
    for port in (PORT, ALT_PORT):
        c = MyController(handler, hostname=HOST, port=port, server_hostname="mail.sample.example",
                         ident="Sample ESMTP (aiosmtpd)", tls_context=ctx, require_starttls=False,
                         auth_require_tls=False, authenticator=authenticator)
        c.start()
        ctls.append(c)
    c = LmtpController(handler, hostname=HOST, port=LMTP_PORT, server_hostname="lmtp.sample.example",
                       ident="Sample LMTP (aiosmtpd)")
    c.start()
    ctls.append(c)
    manifest: dict = {"server": "aiosmtpd", "port": PORT, "alt_port": ALT_PORT, "users": USERS,
                      "captures": {}}
    import smtplib

    def record(name, **info):
        manifest["captures"][name] = info

    try:
        # 1. accepted message, swaks
        with Capture(out / "smtp-accepted-swaks.pcap", PORT):
            swaks("--port", str(PORT), "--ehlo", "client.sample.example", "--from", "sender@sample.example",
                  "--to", "alice@sample.example", "--header", "Subject: Hello from swaks",
                  "--header", "Message-Id: <swaks-1@sample.example>", "--body", "Plain body.\n.dot line\n")
        record("smtp-accepted-swaks.pcap", client="swaks", helo="client.sample.example", transactions=[
            {"mail_from": "sender@sample.example", "outcome": "accepted", "data_reply_code": 250,
             "subject": "Hello from swaks", "message_id": "<swaks-1@sample.example>",
             "recipients": [{"address": "alice@sample.example", "reply_code": 250, "outcome": "accepted"}]}])

        # 2. recipient rejected (550) + one accepted; tempfails 451/452; 554 at end of data (smtplib)
        rej = simple("Quarterly numbers", "sender@sample.example",
                     ["alice@sample.example", "nosuchuser@sample.example"], "Numbers attached.\n")
        tmp_msg = simple("Greylisted note", "sender@sample.example", ["greylist@sample.example"],
                         "Will be retried.\n")
        full_msg = simple("Full mailbox", "sender@sample.example",
                          ["fullbox@sample.example", "bob@sample.example"], "Mailbox is full.\n",
                          policy_hdr="tempfail")
        bad = simple("Content policy test", "sender@sample.example", ["alice@sample.example"],
                     "This one is refused at end of data.\n", policy_hdr="reject")
        with Capture(out / "smtp-failures-smtplib.pcap", PORT):
            with smtplib.SMTP(HOST, PORT, local_hostname="relay.sample.example") as s:
                s.ehlo("relay.sample.example")
                refused = s.send_message(rej)       # nosuchuser -> 550, alice -> 250, message 250
                assert "nosuchuser@sample.example" in refused
                try:
                    s.send_message(tmp_msg)          # the only recipient 451 -> SMTPRecipientsRefused
                except smtplib.SMTPRecipientsRefused:
                    pass
                try:
                    s.send_message(full_msg)         # fullbox 452, bob 250, then 451 at end of data
                except smtplib.SMTPDataError:
                    pass
                try:
                    s.send_message(bad)              # 554 at end of data
                except smtplib.SMTPDataError:
                    pass
        record("smtp-failures-smtplib.pcap", client="smtplib", helo="relay.sample.example", transactions=[
            {"mail_from": "sender@sample.example", "outcome": "accepted", "data_reply_code": 250,
             "subject": "Quarterly numbers", "message_id": rej["Message-ID"],
             "recipients": [{"address": "alice@sample.example", "reply_code": 250, "outcome": "accepted"},
                            {"address": "nosuchuser@sample.example", "reply_code": 550,
                             "enhanced_status": "5.1.1", "outcome": "rejected"}]},
            {"mail_from": "sender@sample.example", "outcome": "tempfail", "data_reply_code": None,
             "subject": None, "message_id": None,
             "recipients": [{"address": "greylist@sample.example", "reply_code": 451,
                             "enhanced_status": "4.7.1", "outcome": "tempfail"}]},
            {"mail_from": "sender@sample.example", "outcome": "tempfail", "data_reply_code": 451,
             "enhanced_status": "4.3.0", "subject": "Full mailbox", "message_id": full_msg["Message-ID"],
             "recipients": [{"address": "fullbox@sample.example", "reply_code": 452,
                             "enhanced_status": "4.2.2", "outcome": "tempfail"},
                            {"address": "bob@sample.example", "reply_code": 250, "outcome": "accepted",
                             "final_reply_code": 451}]},
            {"mail_from": "sender@sample.example", "outcome": "rejected", "data_reply_code": 554,
             "enhanced_status": "5.7.1", "subject": "Content policy test", "message_id": bad["Message-ID"],
             "recipients": [{"address": "alice@sample.example", "reply_code": 250, "outcome": "accepted",
                             "final_reply_code": 554}]}])

        # 3. AUTH: PLAIN ok, LOGIN ok, CRAM-MD5 ok, PLAIN bad, LOGIN bad (one connection each, swaks)
        auth_runs = [("PLAIN", "alice", USERS["alice"], "success"),
                     ("LOGIN", "bob", USERS["bob"], "success"),
                     ("CRAM-MD5", "alice", USERS["alice"], "success"),
                     ("PLAIN", "alice", "not-the-password", "failure"),
                     ("LOGIN", "mallory", "guess123", "failure")]
        with Capture(out / "smtp-auth-swaks.pcap", PORT):
            for mech, user, pw, _ in auth_runs:
                swaks("--port", str(PORT), "--ehlo", "auth.sample.example", "--auth", mech, "--auth-user", user,
                      "--auth-password", pw, "--from", f"{user}@sample.example", "--to", "alice@sample.example",
                      "--header", f"Subject: AUTH {mech} as {user}")
                time.sleep(0.2)
        record("smtp-auth-swaks.pcap", client="swaks", sessions=[
            {"auth_mechanism": m, "auth_user": u, "password": p, "auth_result": r} for m, u, p, r in auth_runs])

        # 4. PIPELINING (raw client, one flight) + two messages on one connection with RSET
        m1 = simple("Pipelined one", "pipe@sample.example", ["alice@sample.example", "bob@sample.example"],
                    "First pipelined message.\n")
        m2 = simple("After RSET", "pipe@sample.example", ["carol@sample.example"], "Second message.\n")

        def wire(m):
            data = m.as_bytes(policy=policy.SMTP)
            data = data.replace(b"\r\n.", b"\r\n..")
            if data.startswith(b"."):
                data = b"." + data
            return data + b".\r\n"

        with Capture(out / "smtp-pipelining-rset.pcap", PORT):
            pipelined_session(PORT, [
                (b"EHLO pipe.sample.example\r\n", 1),
                (b"AUTH LOGIN\r\n", 1),            # 334 Username:
                (b"*\r\n", 1),                     # cancelled -> 501
                (b"MAIL FROM:<pipe@sample.example> SIZE=%d BODY=8BITMIME\r\n"
                 b"RCPT TO:<alice@sample.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@sample.example\r\n"
                 b"RCPT TO:<nosuchuser@sample.example>\r\n"
                 b"RCPT TO:<bob@sample.example>\r\nDATA\r\n" % len(m1.as_bytes()), 5),
                (wire(m1), 1),
                (b"MAIL FROM:<pipe@sample.example>\r\nRCPT TO:<relay@far.example>\r\n", 2),
                (b"RSET\r\n", 1),
                (b"NOOP\r\nVRFY alice\r\n", 2),
                (b"MAIL FROM:<pipe@sample.example>\r\nRCPT TO:<carol@sample.example>\r\nDATA\r\n", 3),
                (wire(m2), 1),
                (b"QUIT\r\n", 1),
            ])
        record("smtp-pipelining-rset.pcap", client="raw socket (pipelined flights)", helo="pipe.sample.example",
               auth_mechanism="LOGIN", auth_result="cancelled", other_commands=["NOOP", "VRFY alice"],
               transactions=[
                   {"mail_from": "pipe@sample.example", "outcome": "accepted", "data_reply_code": 250,
                    "mail_params": ["SIZE=%d" % len(m1.as_bytes()), "BODY=8BITMIME"],
                    "subject": "Pipelined one", "message_id": m1["Message-ID"],
                    # aiosmtpd does not implement DSN parameters: 555 for the RCPT that has them
                    "recipients": [{"address": "alice@sample.example", "reply_code": 555, "outcome": "rejected",
                                    "params": ["NOTIFY=SUCCESS,FAILURE", "ORCPT=alice@sample.example"]},
                                   {"address": "nosuchuser@sample.example", "reply_code": 550,
                                    "outcome": "rejected"},
                                   {"address": "bob@sample.example", "reply_code": 250, "outcome": "accepted"}]},
                   {"mail_from": "pipe@sample.example", "outcome": "rejected", "data_reply_code": None,
                    "recipients": [{"address": "relay@far.example", "reply_code": 554, "outcome": "rejected"}]},
                   {"mail_from": "pipe@sample.example", "outcome": "accepted", "data_reply_code": 250,
                    "subject": "After RSET", "message_id": m2["Message-ID"],
                    "recipients": [{"address": "carol@sample.example", "reply_code": 250,
                                    "outcome": "accepted"}]}])

        # 4b. curl as the client: AUTH LOGIN, one accepted and one refused recipient (allowed to fail)
        body = (b"From: curl@sample.example\r\nTo: alice@sample.example\r\nSubject: sent by curl\r\n"
                b"Message-ID: <curl-1@sample.example>\r\n\r\nhello from curl\r\n.leading dot\r\n")
        msgfile = tmp / "curl-msg.txt"
        msgfile.write_bytes(body)
        with Capture(out / "smtp-curl.pcap", PORT):
            subprocess.run(["curl", "-s", f"smtp://{HOST}:{PORT}/curl.sample.example", "--mail-from",
                            "curl@sample.example", "--mail-rcpt", "alice@sample.example", "--mail-rcpt",
                            "nosuchuser@sample.example", "--mail-rcpt-allowfails", "--upload-file", str(msgfile),
                            "--user", f"bob:{USERS['bob']}", "--login-options", "AUTH=LOGIN"],
                           check=True, timeout=60)
        record("smtp-curl.pcap", client="curl", helo="curl.sample.example", auth_mechanism="LOGIN",
               auth_user="bob", auth_result="success", transactions=[
                   {"mail_from": "curl@sample.example", "outcome": "accepted", "data_reply_code": 250,
                    "subject": "sent by curl", "message_id": "<curl-1@sample.example>",
                    "size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                    "recipients": [{"address": "alice@sample.example", "reply_code": 250, "outcome": "accepted"},
                                   {"address": "nosuchuser@sample.example", "reply_code": 550,
                                    "enhanced_status": "5.1.1", "outcome": "rejected"}]}])

        # 4c. CHUNKING: BDAT chunks (one of them with CRLF.CRLF and a leading dot inside: data, not an
        # end marker, never unstuffed), BDAT 0 LAST; pipelined with MAIL/RCPT (raw client)
        att = bytes(range(256)) * 3 + b"\r\n.\r\n..\r\n"
        bm = EmailMessage(policy=policy.SMTP)
        bm["From"] = "chunker@sample.example"
        bm["To"] = "alice@sample.example"
        bm["Subject"] = "Binary by BDAT"
        bm["Message-ID"] = "<bdat-1@sample.example>"
        bm.set_content("Binary attachment follows.\n.\n..two dots\n.\nend of text\n")   # CRLF.CRLF inside
        bm.add_attachment(att, maintype="application", subtype="octet-stream", filename="blob.bin")
        raw = bm.as_bytes(policy=policy.SMTP)
        c1, c2 = raw[:700], raw[700:]
        with Capture(out / "smtp-bdat-chunking.pcap", PORT):
            pipelined_session(PORT, [
                (b"EHLO chunk.sample.example\r\n", 1),
                (b"MAIL FROM:<chunker@sample.example> BODY=8BITMIME\r\nRCPT TO:<alice@sample.example>\r\n"
                 b"BDAT %d\r\n" % len(c1) + c1, 3),
                (b"BDAT %d\r\n" % len(c2) + c2 + b"BDAT 0 LAST\r\n", 2),
                (b"QUIT\r\n", 1),
            ])
        record("smtp-bdat-chunking.pcap", client="raw socket (BDAT)", helo="chunk.sample.example", transactions=[
            {"mail_from": "chunker@sample.example", "mail_params": ["BODY=8BITMIME"], "outcome": "accepted",
             "data_reply_code": 250, "subject": "Binary by BDAT", "message_id": "<bdat-1@sample.example>",
             "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
             "attachments": [{"filename": "blob.bin", "content_type": "application/octet-stream",
                              "size": len(att), "sha256": hashlib.sha256(att).hexdigest()}],
             "recipients": [{"address": "alice@sample.example", "reply_code": 250, "outcome": "accepted",
                             "final_reply_code": 250}]}])

        # 5. STARTTLS on a port the analyzer must find by content (swaks)
        with Capture(out / "smtp-starttls-swaks.pcap", ALT_PORT):
            swaks("--port", str(ALT_PORT), "--ehlo", "tls.sample.example", "--tls", "--from",
                  "secret@sample.example", "--to", "alice@sample.example", "--header", "Subject: encrypted")
        record("smtp-starttls-swaks.pcap", client="swaks --tls", helo="tls.sample.example", port=ALT_PORT,
               tls=True)

        # 6. MIME-rich message, then a bounce (DSN, MAIL FROM:<>) about a rejected message (smtplib)
        rich, atts = rich_message()
        orig = simple("Invoice 2026-11", "sender@sample.example", ["ghost@far.example"],
                      "Please find the invoice.\n")
        orig.replace_header("Message-ID", "<invoice-2026-11@sample.example>")
        dsn = dsn_for(orig, "ghost@far.example", "5.1.1",
                      "550 5.1.1 <ghost@far.example>: Recipient address rejected: User unknown")
        with Capture(out / "smtp-mime-dsn-smtplib.pcap", PORT):
            with smtplib.SMTP(HOST, PORT, local_hostname="mime.sample.example") as s:
                s.send_message(rich)
                s.send_message(orig)                   # accepted by this relay ...
                s.sendmail("", ["sender@sample.example"], dsn)  # ... bounced later (DSN, MAIL FROM:<>)
        received = handler.received[-3:]
        record("smtp-mime-dsn-smtplib.pcap", client="smtplib", helo="mime.sample.example", transactions=[
            {"mail_from": "zoe@sample.example", "outcome": "accepted", "subject": rich["Subject"],
             "message_id": "<rich-1@sample.example>", "size": received[0]["size"],
             "sha256": received[0]["sha256"],
             "attachments": [{"filename": a["filename"], "content_type": a["content_type"],
                              "size": len(a["data"]), "sha256": hashlib.sha256(a["data"]).hexdigest()}
                             for a in atts],
             "forwarded_message_id": "<fwd-inner@sample.example>"},
            {"mail_from": "sender@sample.example", "outcome": "accepted", "subject": "Invoice 2026-11",
             "message_id": "<invoice-2026-11@sample.example>", "size": received[1]["size"],
             "sha256": received[1]["sha256"]},
            {"mail_from": "", "is_bounce": True, "outcome": "accepted",
             "subject": "Undelivered Mail Returned to Sender", "message_id": "<dsn-1@relay.sample.example>",
             "size": received[2]["size"], "sha256": received[2]["sha256"],
             "dsn": {"original_message_id": "<invoice-2026-11@sample.example>",
                     "recipient": "ghost@far.example", "action": "failed", "status": "5.1.1"}}])
        # 7. LMTP: one reply per accepted recipient after the data (aiosmtpd LMTP, raw client)
        lm = simple("Local delivery", "list@sample.example", ["alice@sample.example"], "Delivered by LMTP.\n")
        with Capture(out / "lmtp-per-recipient.pcap", LMTP_PORT):
            pipelined_session(LMTP_PORT, [
                (b"LHLO mda.sample.example\r\n", 1),
                (b"MAIL FROM:<list@sample.example>\r\n", 1),
                (b"RCPT TO:<alice@sample.example>\r\n", 1),
                (b"RCPT TO:<nosuchuser@sample.example>\r\n", 1),
                (b"RCPT TO:<overquota@sample.example>\r\n", 1),
                (b"DATA\r\n", 1),
                (wire(lm), 2),                     # two accepted recipients: two replies
                (b"QUIT\r\n", 1),
            ])
        record("lmtp-per-recipient.pcap", client="raw socket", server="aiosmtpd LMTP", helo="mda.sample.example",
               port=LMTP_PORT, lmtp=True, transactions=[
                   {"mail_from": "list@sample.example", "outcome": "accepted", "subject": "Local delivery",
                    "message_id": lm["Message-ID"],
                    "recipients": [
                        {"address": "alice@sample.example", "reply_code": 250, "outcome": "accepted",
                         "final_reply_code": 250},
                        {"address": "nosuchuser@sample.example", "reply_code": 550, "outcome": "rejected"},
                        {"address": "overquota@sample.example", "reply_code": 250, "outcome": "accepted",
                         "final_reply_code": 452}]}])
        manifest["received"] = handler.received
    finally:
        for c in ctls:
            c.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    for p in sorted(out.glob("*.pcap")):
        print(f"{p.name}: {p.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
