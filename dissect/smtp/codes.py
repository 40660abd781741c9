"""Plain-words meanings of SMTP reply codes (RFC 5321 4.2, RFC 4954, RFC 7504) and of enhanced
status codes (RFC 3463 class.subject.detail, with the later registrations of RFC 4954, 5248,
7372, 7505 and the IANA registry)."""

from __future__ import annotations

REPLY_CODES: dict[int, str] = {
    211: "system status",
    214: "help message",
    220: "service ready",
    221: "service closing the connection",
    235: "authentication succeeded",
    250: "requested action completed",
    251: "user not local; will forward",
    252: "cannot verify the user, but will accept the message",
    334: "authentication challenge",
    354: "start mail input",
    421: "service not available, closing the connection",
    432: "a password transition is needed",
    450: "mailbox unavailable (busy or temporarily blocked)",
    451: "local error in processing",
    452: "insufficient system storage (or too many recipients)",
    453: "no mail (ATRN)",
    454: "temporary authentication failure, or TLS not available",
    455: "server cannot accommodate the parameters",
    458: "unable to queue messages for the node",
    500: "syntax error, command unrecognized",
    501: "syntax error in parameters or arguments",
    502: "command not implemented",
    503: "bad sequence of commands",
    504: "command parameter not implemented",
    521: "host does not accept mail",
    523: "encryption needed",
    530: "authentication required",
    534: "authentication mechanism is too weak",
    535: "authentication credentials invalid",
    538: "encryption required for the requested authentication mechanism",
    550: "mailbox unavailable (not found, no access, or refused by policy)",
    551: "user not local",
    552: "exceeded storage allocation",
    553: "mailbox name not allowed",
    554: "transaction failed",
    555: "MAIL FROM/RCPT TO parameters not recognized or not implemented",
    556: "domain does not accept mail",
}

CLASSES = {
    "2": "success",
    "4": "temporary failure (the sender should retry)",
    "5": "permanent failure (do not retry as is)",
}

SUBJECTS = {
    "0": "other or undefined status",
    "1": "addressing",
    "2": "mailbox",
    "3": "mail system",
    "4": "network or routing",
    "5": "mail delivery protocol",
    "6": "message content or media",
    "7": "security or policy",
}

# subject.detail -> meaning
DETAILS = {
    "0.0": "other undefined status",
    "1.0": "other address status",
    "1.1": "bad destination mailbox address (no such user)",
    "1.2": "bad destination system address (no such domain)",
    "1.3": "bad destination mailbox address syntax",
    "1.4": "destination mailbox address ambiguous",
    "1.5": "destination address valid",
    "1.6": "destination mailbox has moved, no forwarding address",
    "1.7": "bad sender's mailbox address syntax",
    "1.8": "bad sender's system address",
    "1.9": "message relayed to a non-compliant mailer",
    "1.10": "recipient address has null MX",
    "2.0": "other or undefined mailbox status",
    "2.1": "mailbox disabled, not accepting messages",
    "2.2": "mailbox full",
    "2.3": "message length exceeds the administrative limit",
    "2.4": "mailing list expansion problem",
    "3.0": "other or undefined mail system status",
    "3.1": "mail system full",
    "3.2": "system not accepting network messages",
    "3.3": "system not capable of the selected features",
    "3.4": "message too big for the system",
    "3.5": "system incorrectly configured",
    "3.6": "requested priority was changed",
    "4.0": "other or undefined network or routing status",
    "4.1": "no answer from host",
    "4.2": "bad connection",
    "4.3": "directory server failure (e.g. DNS)",
    "4.4": "unable to route",
    "4.5": "mail system congestion",
    "4.6": "routing loop detected",
    "4.7": "delivery time expired",
    "5.0": "other or undefined protocol status",
    "5.1": "invalid command",
    "5.2": "syntax error",
    "5.3": "too many recipients",
    "5.4": "invalid command arguments",
    "5.5": "wrong protocol version",
    "5.6": "authentication exchange line is too long",
    "6.0": "other or undefined media error",
    "6.1": "media not supported",
    "6.2": "conversion required and prohibited",
    "6.3": "conversion required but not supported",
    "6.4": "conversion with loss performed",
    "6.5": "conversion failed",
    "6.6": "message content not available",
    "6.7": "non-ASCII addresses not permitted for that sender/recipient",
    "6.8": "UTF-8 string reply is required, but not permitted by the client",
    "6.9": "UTF-8 header message cannot be transferred to one or more recipients",
    "6.10": "non-ASCII addresses not permitted",
    "7.0": "other or undefined security status",
    "7.1": "delivery not authorized, message refused",
    "7.2": "mailing list expansion prohibited",
    "7.3": "security conversion required but not possible",
    "7.4": "security features not supported",
    "7.5": "cryptographic failure",
    "7.6": "cryptographic algorithm not supported",
    "7.7": "message integrity failure",
    "7.8": "authentication credentials invalid",
    "7.9": "authentication mechanism is too weak",
    "7.10": "encryption needed",
    "7.11": "encryption required for the requested authentication mechanism",
    "7.12": "a password transition is needed",
    "7.13": "user account disabled",
    "7.14": "trust relationship required",
    "7.15": "priority level is too low",
    "7.16": "message is too big for the specified priority",
    "7.17": "mailbox owner has changed",
    "7.18": "domain owner has changed",
    "7.19": "RRVS test cannot be completed",
    "7.20": "no passing DKIM signature found",
    "7.21": "no acceptable DKIM signature found",
    "7.22": "no valid author-matched DKIM signature found",
    "7.23": "SPF validation failed",
    "7.24": "SPF validation error",
    "7.25": "reverse DNS validation failed",
    "7.26": "multiple authentication checks failed",
    "7.27": "sender address has null MX",
    "7.28": "mail flood detected",
    "7.29": "ARC validation failure",
    "7.30": "REQUIRETLS support required",
}


def explain_reply(code: int | None) -> str:
    if code is None:
        return ""
    m = REPLY_CODES.get(int(code))
    if m:
        return m
    c = str(code)[:1]
    return {"2": "success", "3": "intermediate reply", "4": "temporary failure",
            "5": "permanent failure"}.get(c, "unknown reply code")


def explain_enhanced(status: str | None) -> str:
    """``5.1.1`` -> 'permanent failure: addressing: bad destination mailbox address (no such user)'."""
    if not status:
        return ""
    parts = str(status).split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return ""
    cls, subj, det = parts
    c = CLASSES.get(cls, "unknown class")
    detail = DETAILS.get(f"{int(subj)}.{int(det)}")
    if detail is None:
        detail = SUBJECTS.get(subj, "unknown subject") + " (detail %s)" % det
    return f"{c}: {detail}"


def explain(code: int | None, enhanced: str | None = None) -> str:
    """One line for a reply: the code's meaning and, when present, the enhanced code's."""
    a = explain_reply(code)
    b = explain_enhanced(enhanced)
    if b and a:
        return f"{a}; {enhanced} = {b}"
    return a or b
