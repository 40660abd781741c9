"""HTTP analyzer (see its issue). Filled in by the http work."""

PROTOCOL = None
