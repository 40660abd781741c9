"""SNMP analyzer (see its issue). Filled in by the snmp work."""

PROTOCOL = None
