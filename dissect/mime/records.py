"""The MIME tables (``mime_messages``, ``mime_parts``, ``dsn_recipients``) and the MIME weirds.

A message is referenced by ``uid`` (flow id) + ``trans_depth`` (the SMTP transaction or HTTP
transaction number within the flow) + ``source`` (``smtp``/``http``) + ``direction`` (HTTP
request/response). Part ids follow RFC 3501 (IMAP) numbering; see :mod:`dissect.mime.stream`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dissect.schema import col, record
from dissect.weird import declare

__all__ = ["MimeMessage", "MimePart", "DsnRecipient", "MessageSummary", "Attachment",
           "MIME_RECORD_TYPES"]


@record("mime_messages", "One row per MIME/RFC 5322 message seen (SMTP DATA/BDAT, HTTP message bodies).")
class MimeMessage:
    uid: str | None = col("Flow id (flows.uid) of the connection that carried the message")
    trans_depth: int | None = col("Transaction number within the flow (smtp_transactions.trans_depth or http_transactions.trans_depth)")
    source: str = col("Protocol that carried the message: smtp or http")
    ts: float = col("Time the message ended (or was cut)")
    direction: str | None = col("For HTTP: request or response; empty for SMTP", default=None)
    message_id: str | None = col("Message-ID header (as sent, angle brackets kept)", default=None)
    subject: str | None = col("Subject header, RFC 2047 encoded-words decoded (split multi-byte words joined)", default=None)
    subject_raw: str | None = col("Subject header as sent (unfolded, not decoded)", default=None)
    header_from: str | None = col("From header, decoded", default=None)
    header_to: str | None = col("To header, decoded", default=None)
    cc: str | None = col("Cc header, decoded", default=None)
    date: str | None = col("Date header as sent", default=None)
    in_reply_to: str | None = col("In-Reply-To header", default=None)
    received: tuple = col("Received headers, top (latest hop) first, unfolded", kind="list", default=())
    received_count: int = col("Number of Received headers (hops)", default=0)
    user_agent: str | None = col("User-Agent or X-Mailer header (the sending program)", default=None)
    content_type: str | None = col("Top-level content type (lower case, e.g. multipart/mixed)", default=None)
    size: int = col("Bytes of the whole message as transferred (headers + body, after SMTP dot-unstuffing / HTTP transfer decoding)", default=0)
    sha256: str | None = col("SHA-256 of the whole message bytes counted in size (hex)", default=None)
    parts: int = col("Number of leaf (non-multipart, non-message) parts, nested messages included", default=0)
    attachments: tuple = col("File names of the attachments, in part order", kind="list", default=())
    is_dsn: bool = col("The message is a delivery status notification (multipart/report; report-type=delivery-status)", default=False)
    truncated: bool = col("The message is incomplete: cut by a gap or the end of the capture, or a cap (size, part count) was hit", default=False)
    defects: int = col("Number of MIME/header defects found (malformed headers, missing boundaries, bad base64...)", default=0)
    extracted: str | None = col("File the message was written to by `dissect extract` (relative to the output folder)", default=None)


@record("mime_parts", "One row per MIME entity of a message (leaves, multipart containers, message/rfc822 parts).")
class MimePart:
    uid: str | None = col("Flow id of the connection that carried the message")
    trans_depth: int | None = col("Transaction number within the flow (joins mime_messages)")
    source: str = col("Protocol that carried the message: smtp or http")
    part_id: str = col("Part number, RFC 3501 (IMAP) style: 1, 2, 2.1, 2.1.3. A non-multipart message's single part is 1; "
                       "a multipart that has no IMAP number (the top-level multipart, or the multipart body of a "
                       "message/rfc822 part N) is 0 / N.0")
    parent_id: str | None = col("part_id of the enclosing multipart or message/rfc822 part; empty at the top")
    depth: int = col("Nesting depth: 0 for the top-level entity, +1 per multipart or message/rfc822 level")
    direction: str | None = col("For HTTP: request or response; empty for SMTP", default=None)
    content_type: str | None = col("Content type, lower case (text/plain when absent, message/rfc822 in multipart/digest)", default=None)
    charset: str | None = col("charset parameter, lower case", default=None)
    transfer_encoding: str | None = col("Content-Transfer-Encoding, lower case: 7bit, 8bit, binary, quoted-printable, base64 (as sent when unknown)", default=None)
    disposition: str | None = col("Content-Disposition type, lower case (inline, attachment, form-data)", default=None)
    filename: str | None = col("File name: Content-Disposition filename, else Content-Type name; RFC 2231 and RFC 2047 decoded", default=None)
    filename_raw: str | None = col("The file name parameter(s) as sent, before decoding", default=None)
    form_name: str | None = col("multipart/form-data field name (Content-Disposition name parameter)", default=None)
    size: int | None = col("Bytes of the decoded body (after base64/quoted-printable); raw bytes for message/rfc822; empty for multiparts", default=None)
    sha256: str | None = col("SHA-256 of the decoded body (hex); empty for multiparts", default=None)
    is_attachment: bool = col("Disposition attachment, or a leaf with a file name", default=False)
    truncated: bool = col("The part did not end normally (no closing boundary, cut message, cap)", default=False)
    extracted: str | None = col("File the part was written to by `dissect extract` (relative to the output folder)", default=None)


@record("dsn_recipients", "Per-recipient blocks of delivery status notifications (RFC 3464 message/delivery-status).")
class DsnRecipient:
    uid: str | None = col("Flow id of the connection that carried the bounce")
    trans_depth: int | None = col("Transaction number of the bounce within its flow")
    reporting_mta: str | None = col("Reporting-MTA of the report (type prefix such as dns; removed)", default=None)
    final_recipient: str | None = col("Final-Recipient address (rfc822; prefix removed)", default=None)
    original_recipient: str | None = col("Original-Recipient address (rfc822; prefix removed)", default=None)
    action: str | None = col("Action: failed, delayed, delivered, relayed or expanded", default=None)
    status: str | None = col("RFC 3463 status code, e.g. 5.1.1", default=None)
    diagnostic_code: str | None = col("Diagnostic-Code as sent (e.g. smtp; 550 5.1.1 user unknown), unfolded", default=None)
    remote_mta: str | None = col("Remote-MTA (type prefix removed)", default=None)
    original_message_id: str | None = col("Message-ID of the returned message (message/rfc822 or text/rfc822-headers part): joins the original mime_messages/smtp_transactions row", default=None)
    source: str = col("Protocol that carried the bounce", default="smtp")
    ts: float | None = col("Time the bounce message ended", default=None)


MIME_RECORD_TYPES = (MimeMessage, MimePart, DsnRecipient)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str | None
    content_type: str | None
    size: int | None
    sha256: str | None


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """What :meth:`MimeStream.close` returns to the calling analyzer (not a table row)."""

    message_id: str | None = None
    subject: str | None = None
    subject_raw: str | None = None
    header_from: str | None = None
    header_to: str | None = None
    cc: str | None = None
    date: str | None = None
    in_reply_to: str | None = None
    received: tuple[str, ...] = ()
    size: int = 0
    sha256: str | None = None
    parts: int = 0
    attachments: tuple[Attachment, ...] = ()
    is_dsn: bool = False
    dsn: tuple[DsnRecipient, ...] = ()
    truncated: bool = False
    defects: int = 0
    content_type: str | None = None
    user_agent: str | None = None
    extracted: str | None = None
    part_records: tuple[MimePart, ...] = ()


W_DEPTH = declare("mime_depth_cap", "MIME nesting deeper than caps.mime_depth; the deeper content was kept as one opaque part", "warning")
W_PARTS = declare("mime_parts_cap", "A message has more MIME parts than caps.mime_parts; the rest was hashed, not parsed", "warning")
W_HEADER_CAP = declare("mime_header_cap", "A MIME header block exceeded caps.header_count or caps.header_bytes; the extra headers were ignored", "warning")
W_HEADER_DEFECT = declare("mime_header_defect", "A malformed message header (no colon, bad folding, undecodable structured value)", "info")
W_BAD_B64 = declare("mime_bad_base64", "A base64 body had characters outside the alphabet or a broken final quantum", "info")
W_MESSAGE_CAP = declare("mime_message_cap", "A message exceeded caps.message_bytes; the rest was counted and hashed, not parsed", "warning")
W_EXCEPTION = declare("mime_parser_exception", "The stdlib email parser raised on a header; what parsed before was kept", "warning")
W_NO_CLOSE = declare("mime_missing_close_boundary", "A multipart ended without its closing boundary (--boundary--)", "info")
W_NO_BOUNDARY = declare("mime_multipart_no_boundary", "A multipart content type without a boundary parameter; body kept as one part", "warning")
W_LONG_LINE = declare("mime_long_line", "A message line longer than caps.line_length (RFC 5322 allows 998)", "info")
W_TRUNCATED = declare("mime_truncated_message", "A message was cut (gap or end of capture) before its end", "info")
W_EXTRACT = declare("extract_failed", "A file could not be written to the extraction folder (disk full, permissions); analysis went on", "warning")
