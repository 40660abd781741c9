"""SMTP analyzer (see its issue). Filled in by the smtp work."""

PROTOCOL = None
