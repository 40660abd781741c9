"""Exceptions a user can cause; the CLI prints them as one line."""


class CaptureError(Exception):
    """A capture cannot be read at all (missing, not a capture, permission denied)."""


class KeysFileError(Exception):
    """A keys file (SNMPv3) is missing or malformed; the message names the file and line."""
