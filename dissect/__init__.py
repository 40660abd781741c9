"""pcap-dissect: packet-capture analysis into pandas tables and HTML reports.

    >>> import dissect
    >>> a = dissect.analyze(["capture.pcap"])
    >>> a.flows.head()            # pandas DataFrame, one row per flow (like Zeek's conn.log)
    >>> a.tables.keys()           # every table by name

See docs/tables.md for every table and column.
"""

__version__ = "0.1.0"

__all__ = ["analyze", "__version__"]


def analyze(paths, **options):
    """Analyse one or more capture files (or ``"-"`` for stdin); returns an :class:`Analysis`.

    Keyword options are the fields of :class:`dissect.options.Options` (``decode_as``,
    ``snmp_keys``, ``show_secrets``, ``caps``...).
    """
    from dissect.pipeline import analyze as _analyze

    return _analyze(paths, **options)
