"""SMTP tables: sessions -> transactions -> recipients (joined by uid and trans_depth), plus the
optional credentials table (secrets, filled only with ``Options.credentials``).

Field meanings follow Zeek's smtp.log where they coincide (``helo``, ``mailfrom`` -> ``mail_from``,
``rcptto`` -> ``rcpt_to``, ``msg_id`` -> ``message_id``, ``last_reply``, ``tls``).
"""

from __future__ import annotations

from dissect.schema import col, record


@record("smtp_sessions", "One row per SMTP (or LMTP) connection: greeting, EHLO/HELO, extensions, AUTH, STARTTLS.")
class SmtpSession:
    uid: str = col("Flow id (flows.uid)")
    ts: float = col("Time of the first byte of the session")
    client: str = col("Client (originator) address")
    client_port: int = col("Client TCP port")
    server: str = col("Server (responder) address")
    server_port: int = col("Server TCP port")
    end_ts: float | None = col("Time of the last byte seen", default=None)
    banner: str | None = col("Text of the server greeting (first reply, usually 220)", default=None)
    banner_code: int | None = col("Reply code of the greeting (220 ready, 421/554 refused)", default=None)
    helo: str | None = col("Argument of the last EHLO/HELO/LHLO the client sent in clear text", default=None)
    helo_verb: str | None = col("EHLO, HELO or LHLO (LMTP)", default=None)
    extensions: tuple = col("Extensions advertised in the last clear-text EHLO reply (keywords with parameters, "
                            "e.g. 'SIZE 52428800'); the client must forget them after STARTTLS", default=())
    tls: bool = col("STARTTLS succeeded (220): the rest of the session is encrypted", default=False)
    tls_bytes: int = col("Bytes (both directions) after STARTTLS, counted but not parsed", default=0)
    starttls_injection: bool = col("Clear text the client sent after STARTTLS before the server's reply "
                                   "(command injection pattern, CVE-2011-0411 class)", default=False)
    auth_mechanism: str | None = col("SASL mechanism of the last AUTH attempt (PLAIN, LOGIN, CRAM-MD5, ...)", default=None)
    auth_user: str | None = col("User name of the last AUTH attempt (the secret is only in smtp_credentials)", default=None)
    auth_result: str | None = col("Outcome of the last AUTH attempt: success (235), failure (535/4xx/5xx), "
                                  "cancelled (client sent *), unanswered", default=None)
    auth_attempts: int = col("AUTH commands sent", default=0)
    transactions: int = col("Mail transactions started (MAIL FROM commands)", default=0)
    commands: int = col("Commands sent by the client (all verbs, incl. unknown ones)", default=0)
    other_commands: tuple = col("VRFY/EXPN/NOOP/HELP/ETRN/TURN/unknown commands with their argument, in order "
                                "(capped at 100)", default=())
    client_bytes: int = col("Bytes sent by the client (clear text and TLS)", default=0)
    server_bytes: int = col("Bytes sent by the server (clear text and TLS)", default=0)
    last_reply: str | None = col("Last reply of the server (code and text, first line)", default=None)
    quit: bool = col("The client sent QUIT", default=False)
    lmtp: bool = col("The session speaks LMTP (RFC 2033: LHLO, one reply per recipient after DATA)", default=False)
    incomplete: bool = col("Bytes were missing (gap, mid-stream start) or the flow ended mid-exchange", default=False)


@record("smtp_transactions", "One row per mail transaction (MAIL FROM ... end of data, RSET or end of session).")
class SmtpTransaction:
    uid: str = col("Flow id (flows.uid, smtp_sessions.uid)")
    trans_depth: int = col("Transaction number within the session, from 1 (Zeek trans_depth)")
    ts: float = col("Time of the MAIL command")
    end_ts: float | None = col("Time of the final reply (or of the event that ended the transaction)", default=None)
    helo: str | None = col("EHLO/HELO argument at the time (as in Zeek's smtp.log)", default=None)
    mail_from: str | None = col("Reverse path of MAIL FROM without <> (empty string for the null path <>)", default=None)
    mail_params: tuple = col("ESMTP parameters of MAIL FROM (SIZE=, BODY=, SMTPUTF8, RET=, ENVID=, AUTH=)", default=())
    mail_reply_code: int | None = col("Reply code to MAIL FROM", default=None)
    rcpt_to: tuple = col("Every RCPT TO address, in order (Zeek rcptto)", default=())
    rcpt_count: int = col("RCPT TO commands", default=0)
    accepted_count: int = col("Recipients the server accepted (2xx to RCPT)", default=0)
    data_mode: str | None = col("How the content was sent: DATA or BDAT (RFC 3030 CHUNKING)", default=None)
    data_reply_code: int | None = col("Reply code after the end of data (or the refusal of DATA/BDAT)", default=None)
    data_reply_text: str | None = col("Text of that reply (lines joined with a space, enhanced code included)", default=None)
    enhanced_status: str | None = col("RFC 3463 enhanced status code of that reply (e.g. 5.7.1)", default=None)
    last_reply: str | None = col("Last reply in the transaction (code and text, as in Zeek)", default=None)
    outcome: str = col("accepted (2xx after data), rejected (5xx), tempfail (4xx), aborted (RSET/QUIT/new MAIL "
                       "before the end), incomplete (capture ended or bytes missing)", default="incomplete")
    is_bounce: bool = col("Null reverse path <> (a delivery status notification or other bounce)", default=False)
    message_id: str | None = col("Message-ID header", default=None)
    subject: str | None = col("Subject header, RFC 2047 decoded", default=None)
    header_from: str | None = col("From header", default=None)
    header_to: str | None = col("To header", default=None)
    cc: str | None = col("Cc header", default=None)
    date: str | None = col("Date header", default=None)
    in_reply_to: str | None = col("In-Reply-To header", default=None)
    size: int | None = col("Message size in bytes after dot-unstuffing (DATA) or the sum of BDAT chunks", default=None)
    parts: int | None = col("MIME parts in the message (mime_parts rows)", default=None)
    attachments: int | None = col("Attachments in the message", default=None)
    sha256: str | None = col("SHA-256 of the whole message as transferred (after unstuffing)", default=None)
    tls: bool = col("The transaction ran inside STARTTLS (never parsed; kept for Zeek parity)", default=False)
    incomplete: bool = col("Part of the transaction is missing (gap, capture cut, no final reply)", default=False)


@record("smtp_recipients", "One row per RCPT TO, with the server's answer and, for accepted recipients, the final reply.")
class SmtpRecipient:
    uid: str = col("Flow id")
    trans_depth: int = col("Transaction (smtp_transactions.trans_depth)")
    ts: float = col("Time of the RCPT command")
    address: str = col("Forward path without <>")
    params: tuple = col("ESMTP parameters (NOTIFY=, ORCPT= with 'rfc822;' removed)", default=())
    reply_code: int | None = col("Reply code to RCPT TO", default=None)
    enhanced_status: str | None = col("RFC 3463 enhanced status code of the RCPT reply", default=None)
    reply_text: str | None = col("Text of the RCPT reply", default=None)
    outcome: str = col("accepted (2xx), tempfail (4xx), rejected (5xx), unanswered", default="unanswered")
    final_reply_code: int | None = col("For an accepted recipient: the reply after the end of data (LMTP: this "
                                       "recipient's own reply)", default=None)
    final_enhanced_status: str | None = col("Enhanced status code of the final reply", default=None)
    final_reply_text: str | None = col("Text of the final reply", default=None)
    delivery: str = col("End result for this recipient: accepted (server took the message for them), rejected, "
                        "tempfail, aborted, incomplete", default="incomplete")


@record("smtp_credentials", "AUTH secrets, one row per AUTH attempt; only built with --credentials (Options.credentials).")
class SmtpCredential:
    uid: str = col("Flow id")
    ts: float = col("Time of the AUTH command")
    mechanism: str = col("SASL mechanism")
    user: str | None = col("User (authentication identity)", default=None)
    authzid: str | None = col("Authorization identity (PLAIN), usually empty", default=None)
    password: str | None = col("Clear-text password (PLAIN, LOGIN)", default=None, secret=True)
    challenge: str | None = col("Server challenge (CRAM-MD5, decoded)", default=None)
    response: str | None = col("Client response digest (CRAM-MD5: hex HMAC-MD5; crackable as hashcat mode 10200)",
                               default=None, secret=True)
    result: str = col("success / failure / cancelled / unanswered", default="unanswered")
    reply_code: int | None = col("Final reply code to AUTH (235, 535, ...)", default=None)
