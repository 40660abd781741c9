"""Streaming Content-Transfer-Encoding decoders: fed any chunking, same output as decoding whole.

Each decoder keeps only a few carried bytes between calls, so a large part is never held in
memory: the decoded bytes go straight to the hash (and to a spool file when extracting).
The output matches the stdlib's ``get_payload(decode=True)``: quoted-printable goes through
``binascii.a2b_qp`` (what ``quopri`` uses), base64 ignores characters outside the alphabet and
tolerates missing padding.
"""

from __future__ import annotations

import binascii

_B64_ALPHA = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_DROP = bytes(sorted(set(range(256)) - set(_B64_ALPHA) - {ord("=")}))
_B64_SANE = _B64_ALPHA + b"= \t\r\n"          # deleting these leaves only bad bytes


class Identity:
    __slots__ = ()
    bad = False

    def feed(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""


def _b64_full(head: bytes) -> tuple[bytes, bool]:
    bad = False
    r = len(head) % 4
    if r == 1:
        head, bad = head[:-1], True
    elif r:
        head += b"=" * (4 - r)
    if not head:
        return b"", bad
    try:
        return binascii.a2b_base64(head), bad
    except (binascii.Error, ValueError):
        return b"", True


class Base64:
    """Lenient streaming base64: non-alphabet bytes dropped (flagged unless whitespace),
    missing padding tolerated, a ``=`` ends a group (concatenated base64 blocks decode too)."""

    __slots__ = ("carry", "bad")

    def __init__(self) -> None:
        self.carry = b""
        self.bad = False

    def feed(self, data: bytes) -> bytes:
        if not self.bad and data.translate(None, _B64_SANE):
            self.bad = True
        s = self.carry + data.translate(None, _B64_DROP)
        out = []
        if b"=" in s:
            while True:
                i = s.find(b"=")
                if i < 0:
                    break
                chunk, bad = _b64_full(s[:i])
                if bad:
                    self.bad = True
                out.append(chunk)
                s = s[i:].lstrip(b"=")
        n = len(s) - len(s) % 4
        if n:
            try:
                out.append(binascii.a2b_base64(s[:n]))
            except (binascii.Error, ValueError):
                self.bad = True
        self.carry = s[n:]
        return b"".join(out)

    def finish(self) -> bytes:
        chunk, bad = _b64_full(self.carry)
        self.carry = b""
        if bad:
            self.bad = True
        return chunk


class QuotedPrintable:
    """Streaming quoted-printable: an ``=`` near the end of a chunk (a soft line break whose line
    end has not arrived yet, or a split ``=XX``) is carried to the next chunk."""

    __slots__ = ("carry",)
    bad = False

    def __init__(self) -> None:
        self.carry = b""

    def feed(self, data: bytes) -> bytes:
        s = self.carry + data
        i = s.find(b"=", max(0, len(s) - 3))
        if i >= 0:
            # a2b_qp reads "==" as one literal "=": never split a run of "=" inside a pair.
            # The run's start k is pair-aligned (every earlier split was), so cut at an even
            # distance from k, at most 64 bytes before the tail.
            k = len(s[:i].rstrip(b"="))
            j = max(k, i - 64)
            j += (j - k) % 2
            self.carry = s[j:]
            s = s[:j]
        else:
            self.carry = b""
        return binascii.a2b_qp(s) if s else b""

    def finish(self) -> bytes:
        s, self.carry = self.carry, b""
        if s == b"=" or s == b"=\r":
            return b""        # soft line break at the very end of the part
        return binascii.a2b_qp(s) if s else b""


def decoder_for(cte: str | None):
    if cte == "base64":
        return Base64()
    if cte == "quoted-printable":
        return QuotedPrintable()
    return Identity()
