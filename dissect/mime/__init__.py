"""Shared MIME parsing: one message (RFC 5322 + MIME) fed in chunks by SMTP or HTTP.

    >>> ms = MimeStream(ctx, source="smtp", trans_depth=1, ts=ts)
    >>> ms.feed(data); ...
    >>> summary = ms.close(ts)          # emits mime_parts, mime_messages, dsn_recipients rows

Protocols that use it add ``MIME_RECORD_TYPES`` to their ``Protocol.record_types``.
Structure scanning is in :mod:`dissect.mime.stream`; the stdlib ``email`` package
(``policy.default``) is called only in :func:`dissect.mime.headers.parse_header_block`.
"""

from dissect.mime.records import (MIME_RECORD_TYPES, Attachment, DsnRecipient, MessageSummary,
                                  MimeMessage, MimePart)
from dissect.mime.stream import MimeStream

__all__ = ["MimeStream", "MessageSummary", "Attachment", "DsnRecipient", "MimeMessage", "MimePart",
           "MIME_RECORD_TYPES"]
