"""`dissect smtp CAPTURE...` (sessions and transactions) and `dissect mail CAPTURE...` (did my mail
get delivered, to whom, and if not, why?).

`mail` prints one line per message and recipient with the outcome and the server's reason in
plain words (reply code and RFC 3463 enhanced status code explained), failures first. A
delivery status notification (bounce) seen on the wire that refers to an earlier message
(``dsn_recipients.original_message_id`` = ``smtp_transactions.message_id``) is shown with that
message: the relay accepted it, but it bounced later.
"""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from dissect.cli.cmd_summary import analyse_for_cli, fmt_ts
from dissect.cli.common import CAPTURES, UserError, cap_option, console, decode_as_option, safe
from dissect.smtp.delivery import MailRow, mail_rows

__all__ = ["register", "mail_rows", "MailRow"]


def _out() -> Console:
    if console.is_terminal:
        return console
    # piped / captured output: full rows rather than columns squeezed to 80 characters
    return Console(width=max(console.width, 240), highlight=False, soft_wrap=False)


def _ep(h, p) -> str:
    return f"[{h}]:{p}" if ":" in str(h) else f"{h}:{p}"


def _short(s, n: int = 60) -> str:
    s = safe(s)
    return s if len(s) <= n else s[: n - 1] + "…"


# ----------------------------------------------------------------------------- smtp
def smtp(
    captures: list[str] = CAPTURES,
    credentials: bool = typer.Option(False, "--credentials",
                                     help="Also list AUTH credentials (masked unless --show-secrets)."),
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Show passwords in full."),
    limit: int = typer.Option(200, "--limit", help="Rows per table (0 = all)."),
    decode_as: Optional[list[str]] = decode_as_option(),
    cap: Optional[list[str]] = cap_option(),
) -> None:
    """SMTP sessions (greeting, EHLO, TLS, AUTH) and their mail transactions."""
    if limit < 0:
        raise UserError("--limit must be 0 (all) or a positive number")
    a = analyse_for_cli(captures, decode_as, cap, credentials=credentials, show_secrets=show_secrets)
    out = _out()
    sessions = sorted(a.records.get("smtp_sessions", ()), key=lambda r: (r.ts, r.uid))
    txns = sorted(a.records.get("smtp_transactions", ()), key=lambda r: (r.ts, r.uid, r.trans_depth))
    if not sessions:
        out.print("No SMTP sessions found (use --decode-as smtp:PORT for an unusual port).")
        return
    t = Table(title=f"SMTP sessions ({len(sessions):,})", title_justify="left")
    for c in ("uid", "start (UTC)", "client", "server", "helo", "tls", "auth", "mails", "last reply", "notes"):
        t.add_column(c, justify="right" if c == "mails" else "left", no_wrap=c == "uid")
    for r in sessions[: limit or None]:
        auth = "-"
        if r.auth_mechanism:
            auth = f"{r.auth_mechanism} {r.auth_user or '?'}: {r.auth_result}"
        notes = []
        if r.lmtp:
            notes.append("LMTP")
        if r.starttls_injection:
            notes.append("STARTTLS injection!")
        if r.incomplete:
            notes.append("incomplete")
        if r.other_commands:
            notes.append(", ".join(r.other_commands[:4]) + (" ..." if len(r.other_commands) > 4 else ""))
        t.add_row(r.uid, fmt_ts(r.ts), safe(_ep(r.client, r.client_port)), safe(_ep(r.server, r.server_port)),
                  _short(r.helo or "-", 40), "yes" if r.tls else "no", _short(auth, 50), str(r.transactions),
                  _short(r.last_reply or "-", 50), _short("; ".join(notes), 50))
    out.print(t)
    if limit and len(sessions) > limit:
        out.print(f"... {len(sessions) - limit:,} more sessions (use --limit 0 for all)")
    if txns:
        t = Table(title=f"SMTP transactions ({len(txns):,})", title_justify="left")
        for c in ("uid", "#", "time (UTC)", "mail from", "rcpt ok/all", "subject", "size", "outcome", "reply"):
            t.add_column(c, justify="right" if c in ("#", "size", "rcpt ok/all") else "left", no_wrap=c == "uid")
        for r in txns[: limit or None]:
            frm = "<> (bounce)" if r.is_bounce else (r.mail_from or "-")
            reply = f"{r.data_reply_code} {r.data_reply_text or ''}" if r.data_reply_code else (r.last_reply or "-")
            t.add_row(r.uid, str(r.trans_depth), fmt_ts(r.ts), _short(frm, 40),
                      f"{r.accepted_count}/{r.rcpt_count}", _short(r.subject or "-", 50),
                      "-" if r.size is None else f"{r.size:,}",
                      _style(r.outcome) + (" (incomplete)" if r.incomplete and r.outcome != "incomplete" else ""),
                      _short(reply, 60))
        out.print(t)
        if limit and len(txns) > limit:
            out.print(f"... {len(txns) - limit:,} more transactions (use --limit 0 for all)")
    if credentials:
        creds = a.records.get("smtp_credentials", ())
        from dissect.schema import mask_secret

        t = Table(title=f"AUTH credentials ({len(creds):,})" + ("" if show_secrets else " - masked, use --show-secrets"),
                  title_justify="left")
        for c in ("uid", "time (UTC)", "mechanism", "user", "password / response", "result"):
            t.add_column(c)
        for r in creds:
            secret = r.password if r.password is not None else r.response
            if not show_secrets:
                secret = mask_secret(secret)
            t.add_row(r.uid, fmt_ts(r.ts), safe(r.mechanism), safe(r.user or "-"), safe(secret or "-"),
                      safe(r.result))
        out.print(t)


def _style(outcome: str) -> str:
    colour = {"accepted": "green", "rejected": "red", "tempfail": "yellow", "bounced": "red",
              "aborted": "magenta", "incomplete": "dim"}.get(outcome)
    return f"[{colour}]{outcome}[/{colour}]" if colour else safe(outcome)


def mail(
    captures: list[str] = CAPTURES,
    sender: Optional[str] = typer.Option(None, "--from", help="Only senders (MAIL FROM) containing this text."),
    recipient: Optional[str] = typer.Option(None, "--to", help="Only recipients containing this text."),
    failed: bool = typer.Option(False, "--failed", help="Only what was not delivered (rejected, tempfail, bounced...)."),
    limit: int = typer.Option(500, "--limit", help="Rows to show (0 = all)."),
    decode_as: Optional[list[str]] = decode_as_option(),
    cap: Optional[list[str]] = cap_option(),
) -> None:
    """Mail delivery troubleshooting: one line per message and recipient, failures first."""
    if limit < 0:
        raise UserError("--limit must be 0 (all) or a positive number")
    a = analyse_for_cli(captures, decode_as, cap)
    rows = mail_rows(a.records)
    if sender:
        s = sender.lower()
        rows = [m for m in rows if s in m.mail_from.lower()]
    if recipient:
        s = recipient.lower()
        rows = [m for m in rows if s in m.recipient.lower()]
    if failed:
        rows = [m for m in rows if m.failed]
    out = _out()
    nfail = sum(m.failed for m in rows)
    if not rows:
        out.print("No mail transactions match." if a.records.get("smtp_transactions") else
                  "No SMTP mail transactions found (use --decode-as smtp:PORT for an unusual port).")
        return
    t = Table(title=f"Mail delivery: {len(rows):,} message/recipient lines, {nfail:,} not delivered",
              title_justify="left")
    for c in ("time (UTC)", "from", "to", "subject", "result", "at", "server said", "meaning"):
        t.add_column(c, overflow="fold")
    for m in rows[: limit or None]:
        said = f"{m.code} {m.server_text}".strip() if m.code else (m.server_text or "-")
        t.add_row(fmt_ts(m.ts), _short(m.mail_from, 40), _short(m.recipient, 40), _short(m.subject or "-", 40),
                  _style(m.result), m.stage, _short(said, 80), safe(m.reason))
    out.print(t)
    if limit and len(rows) > limit:
        out.print(f"... {len(rows) - limit:,} more lines (use --limit 0 for all)")


def register(app: typer.Typer) -> None:
    app.command("smtp")(smtp)
    app.command("mail")(mail)
