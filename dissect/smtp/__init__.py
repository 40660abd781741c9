"""SMTP (and LMTP) analysis: sessions, transactions, recipients, AUTH, STARTTLS.

``PROTOCOL`` registers the analyzer with the flow table: ports 25, 587 and 2525 (plus the
content probe on any port: a ``220`` greeting and ``EHLO/HELO``); 465 (implicit TLS) is
labelled ``smtps`` and not parsed.
"""

from dissect.analyzer import Protocol
from dissect.smtp.analyzer import SmtpAnalyzer, probe
from dissect.smtp.records import SmtpCredential, SmtpRecipient, SmtpSession, SmtpTransaction

__all__ = ["PROTOCOL", "SmtpAnalyzer", "SmtpSession", "SmtpTransaction", "SmtpRecipient",
           "SmtpCredential", "probe"]

PROTOCOL = Protocol(
    name="smtp",
    factory=SmtpAnalyzer,
    tcp_ports=frozenset({25, 587, 2525}),
    labels={465: "smtps"},
    probe=probe,
    record_types=(SmtpSession, SmtpTransaction, SmtpRecipient, SmtpCredential),
)
